import ParityKeras
import ParityNN
import ParityTorch

/// Collects the converted module while layers are converted: submodules, state_dict entries, helper
/// modules, and `forward`'s steps (Python lines and ATen nodes), with unique names for each.
final class TorchWriter {
    /// A helper `nn.Module` written into model.py once (by class name).
    struct Helper {
        var name: String
        var source: String
    }

    /// `forward` is one chain, held in `x` (set per nested model while it is converted).
    var sequential: Bool
    private(set) var submodules: [TorchModuleSource.Submodule] = []
    private(set) var parameters: [TorchModuleSource.Parameter] = []
    private(set) var graphNames: [String: String] = [:]
    private(set) var helpers: [Helper] = []
    private(set) var steps: [TorchModuleSource.Step] = []
    /// Docstring lines saying which fixed input size a padding was computed for.
    private(set) var shapeNotes: [String] = []
    private var current: TorchModuleSource.Step?
    private var modules: [String: String] = [:]
    private var usedModules: Set<String> = []
    private var variables: [String: String] = [:]
    private var usedVariables: Set<String> = []
    private var counter = 0

    init(sequential: Bool) { self.sequential = sequential }

    /// The attribute name of a Keras layer's submodule, made from `layer` (unique; the same for every
    /// call of a shared layer, identified by `key`, the layer name unless given).
    func module(for layer: String, key: String? = nil) -> String {
        if let name = modules[key ?? layer] { return name }
        let name = unique(Py.identifier(layer), in: &usedModules)
        modules[key ?? layer] = name
        return name
    }

    /// The Python variable of a Keras tensor, made from `name` (unique; the same for the same `key`,
    /// the name unless given).
    func variable(for name: String, key: String? = nil) -> String {
        if let v = variables[key ?? name] { return v }
        let v = unique(Py.identifier(name), in: &usedVariables)
        variables[key ?? name] = v
        return v
    }

    private func unique(_ base: String, in used: inout Set<String>) -> String {
        var name = base, n = 1
        while used.contains(name) { n += 1; name = "\(base)_\(n)" }
        used.insert(name)
        return name
    }

    func begin(_ layer: String) { current = TorchModuleSource.Step(layer: layer, python: [], nodes: []) }

    func end() {
        if let step = current, !step.python.isEmpty || !step.nodes.isEmpty { steps.append(step) }
        current = nil
    }

    func line(_ text: String) { current?.python.append(text) }

    /// Adds an ATen node; returns its output names in the graph.
    func node(_ target: String, _ arguments: [(String, TorchArgument)], outputs: Int = 1, module: String) -> [String] {
        let names = (0..<outputs).map { _ in fresh() }
        let node = TorchNode(target: target, name: "n\(counter)", arguments: arguments.map { (name: $0.0, value: $0.1) }, outputs: names,
                             moduleStack: [ModuleFrame(path: module, className: current?.layer ?? "")])
        current?.nodes.append(node)
        return names
    }

    func fresh() -> String {
        counter += 1
        return "v\(counter)"
    }

    /// Declares `self.<name> = constructor` once.
    func submodule(_ name: String, _ constructor: String, comment: String?) {
        guard !submodules.contains(where: { $0.name == name }) else { return }
        submodules.append(TorchModuleSource.Submodule(name: name, constructor: constructor, comment: comment))
    }

    /// Registers a state_dict entry once; returns its graph name.
    @discardableResult
    func parameter(_ key: String, _ tensor: Tensor, buffer: Bool, kerasWeight: String?, kerasShape: [Int]?, transform: String) -> String {
        if let name = graphNames[key] { return name }
        let name = "p_" + key.replacingOccurrences(of: ".", with: "_")
        graphNames[key] = name
        parameters.append(TorchModuleSource.Parameter(key: key, tensor: tensor, isBuffer: buffer, kerasWeight: kerasWeight,
                                                      kerasShape: kerasShape, transform: transform))
        return name
    }

    func helper(_ name: String, _ source: String) {
        guard !helpers.contains(where: { $0.name == name }) else { return }
        helpers.append(Helper(name: name, source: source))
    }

    func shapeNote(_ text: String) { if !shapeNotes.contains(text) { shapeNotes.append(text) } }

    /// `into = value.permute(...)`, with a comment saying which layout it goes to.
    func permute(_ value: TorchValue, to perm: [Int], into variable: String) -> TorchValue {
        let order = perm.map { value.position(of: $0) }
        let identity = perm == Array(perm.indices)
        let comment = identity ? "back to Keras's layout" : (perm.first == 0 && perm.count > 2 && perm[1] == perm.count - 1
            ? "channels-last → channels-first (PyTorch's layout)" : "Keras axes \(perm) in this order")
        line("\(variable) = \(value.python).permute(\(order.map(String.init).joined(separator: ", ")))  # \(comment)")
        let graph = node("aten.permute.default", [("self", .tensor(value.graph)), ("dims", .ints(order))], module: "")[0]
        return TorchValue(graph: graph, python: variable, perm: perm)
    }
}

/// One Keras layer call being converted: the layer the loader built (``typed(_:)``; no converter reads the
/// Keras config again), its inputs as converted values with their Keras shapes, and the names its module
/// and result get.
struct LayerConversion {
    let writer: TorchWriter
    let layer: KerasNetwork.Layer
    let call: Int
    let inputs: [TorchValue]
    /// Keras shapes (batch included) of the inputs and outputs in the conversion run.
    let inputShapes: [[Int]]
    let outputShapes: [[Int]]
    /// The submodule attribute (`self.<module>`).
    let module: String
    /// The Python variable the result is assigned to.
    let output: String

    var name: String { layer.name }
    var className: String { layer.className }

    /// The layer the Keras loader built, as `T`: the converters read what it holds (weights, epsilon,
    /// axes) from it rather than from the config again.
    func typed<T>(_ type: T.Type) throws -> T {
        guard let model = layer.model as? T else {
            throw ConvertError.shape(layer: name, message: "was loaded as \(Swift.type(of: layer.model)), not as \(T.self)")
        }
        return model
    }

    func refuse(_ key: String, _ value: String, _ reason: String) -> ConvertError {
        .unsupportedSetting(layer: name, className: className, key: key, value: value, reason: reason)
    }

    /// Input `index` held in layout `perm` (permuted here if it is not).
    func input(_ index: Int, perm: [Int]) -> TorchValue {
        let value = inputs[index]
        if value.perm == perm { return value }
        return writer.permute(value, to: perm, into: inputs.count == 1 ? output : "\(output)_\(index)")
    }

    /// Input `index` in Keras's layout.
    func kerasInput(_ index: Int = 0) -> TorchValue { input(index, perm: Array(0..<inputs[index].rank)) }

    /// `[0, channel, rest…]`: Keras axis `channel` moved to position 1, PyTorch's channel axis.
    static func channelFirst(_ channel: Int, rank: Int) -> [Int] {
        [0, channel] + (1..<rank).filter { $0 != channel }
    }

    /// The layout PyTorch's layers read a Keras tensor of `rank` in `format` as: channels-first
    /// (``ParityNN/DataFormat/permutation(rank:)``; a `channels_first` Keras tensor as it is).
    static func channelsFirst(from format: DataFormat, rank: Int) -> [Int] {
        format == .channelsLast ? DataFormat.channelsFirst.permutation(rank: rank) : Array(0..<rank)
    }

    /// Declares this layer's submodule (`self.<module><suffix>`); returns `self.<name>`.
    @discardableResult
    func submodule(_ constructor: String, comment: String? = nil, suffix: String = "") -> String {
        writer.submodule(module + suffix, constructor, comment: comment)
        return "self.\(module + suffix)"
    }

    /// A state_dict entry of this layer's submodule; returns its graph name.
    func parameter(_ name: String, _ tensor: Tensor, from kerasWeight: String?, kerasShape: [Int]? = nil, transform: String,
                   buffer: Bool = false, suffix: String = "") -> String {
        writer.parameter("\(module + suffix).\(name)", tensor, buffer: buffer, kerasWeight: kerasWeight.map { "\(layer.name)/\($0)" },
                         kerasShape: kerasShape, transform: transform)
    }

    /// The state_dict entries of ``ParameterTable`` rows `rows` from this layer's Keras variables `weights`
    /// (one per row): each PyTorch part with the row's wording (a zero part of a bias sum is PyTorch's
    /// alone); returns their graph names in row order. `nameSuffix`: after each PyTorch name (`_reverse`);
    /// `source`: before each Keras name (`forward_layer/`).
    func parameters(_ rows: [ParameterRow], _ weights: [Tensor], nameSuffix: String = "", source: String = "") throws -> [String] {
        var names: [String] = []
        for (row, weight) in zip(rows, weights) {
            for (i, (name, value)) in zip(row.torch, try row.toTorch(weight)).enumerated() {
                let own = row.parts == .sum && i > 0
                names.append(parameter(name + nameSuffix, value, from: own ? nil : source + row.keras, kerasShape: own ? nil : weight.shape,
                                       transform: row.transform(part: i), buffer: row.buffer, suffix: row.module))
            }
        }
        return names
    }

    /// The state_dict entry of the one-part row among `rows` whose PyTorch name is `torch` (from `weights[i]`
    /// for row `i`); `nil` when the layer has no such row (Keras's `scale=False`).
    func parameter(_ torch: String, of rows: [ParameterRow], _ weights: [Tensor]) throws -> String? {
        guard let i = rows.firstIndex(where: { $0.torch == [torch] }) else { return nil }
        return try parameters([rows[i]], [weights[i]])[0]
    }

    /// `output = python  # comment` computed by one ATen node; the result has layout `perm`.
    func apply(_ python: String, _ target: String, _ arguments: [(String, TorchArgument)], perm: [Int], comment: String? = nil) -> TorchValue {
        writer.line("\(output) = \(python)" + (comment.map { "  # " + $0 } ?? ""))
        let graph = writer.node(target, arguments, module: module)[0]
        return TorchValue(graph: graph, python: output, perm: perm)
    }

    /// A comment line in `forward`.
    func comment(_ text: String) { writer.line("# " + text) }
}
