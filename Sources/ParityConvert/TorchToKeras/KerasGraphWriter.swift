import ParityKeras
import ParityNN
import ParityTorch

/// Collects the Keras layers while nodes are converted, with unique names (each layer is called once).
final class KerasGraphWriter {
    private(set) var layers: [KerasModelSource.Layer] = []
    /// Exactness notes by the layer they concern.
    private(set) var notes: [(layer: String, text: String)] = []
    private var used: Set<String> = []
    /// The model's first input, from which a stored constant's index is made (``storedConstant(_:name:)``).
    private var firstInput: KerasValue?
    /// `zeros_like(x[0:1, 0, …], int32)`: the index every stored constant's Embedding reads.
    private var zeroIndex: KerasValue?

    /// Floating-point constants over this many elements are stored as weights, not written into
    /// `config.json` (``storedConstant(_:name:)``).
    let inlineConstantLimit: Int

    init(inlineConstantLimit: Int = TorchToKeras.inlineConstantLimit) {
        self.inlineConstantLimit = inlineConstantLimit
    }

    /// A Keras name from a PyTorch module path or value name: `encoder.layers.0` → `encoder_layers_0`.
    static func identifier(_ text: String) -> String {
        let cleaned = String(text.map { $0.isLetter || $0.isNumber || $0 == "_" ? $0 : "_" })
        let name = cleaned.split(separator: "_", omittingEmptySubsequences: true).joined(separator: "_")
        return name.isEmpty ? "layer" : name
    }

    func unique(_ base: String) -> String {
        let base = Self.identifier(base)
        var name = base, n = 1
        while used.contains(name) { n += 1; name = "\(base)_\(n)" }
        used.insert(name)
        return name
    }

    /// An InputLayer for a program input of PyTorch shape `shape` (axis 0 the batch).
    func input(name: String, shape: [Int], dtype: String) -> KerasValue {
        let layer = unique(name)
        layers.append(KerasModelSource.Layer(
            name: layer, className: "InputLayer",
            config: ["batch_shape": .array([.null] + shape.dropFirst().map { .int($0) }), "dtype": .string(dtype),
                     "sparse": .bool(false), "ragged": .bool(false), "optional": .bool(false)],
            inputs: [], inputShapes: [], inputDTypes: [], weights: [], takesList: false))
        let value = KerasValue(ref: .init(layer: layer, tensor: 0), perm: Array(shape.indices), torchShape: shape, dtype: dtype)
        if firstInput == nil { firstInput = value }
        return value
    }

    /// A large constant as the weights of a built-in layer: an Embedding of one row holding the
    /// flattened tensor (`embeddings`, in the `.weights.h5`), read at index 0 — an int32
    /// `zeros_like` of one element of the first input, so that it is a node of the functional graph —
    /// then `Reshape`d to the tensor's shape. A gather: the values come out exactly.
    func storedConstant(_ tensor: Tensor, name base: String) -> KerasValue {
        if zeroIndex == nil, let x = firstInput {
            let slice = KerasJSON.kerasSlice(0, 1)
            let key = KerasJSON.array([slice] + Array(repeating: .int(0), count: max(x.rank - 1, 0)))
            let item = operation("GetItem", module: "numpy", name: "constant_index_source", config: [:], arguments: [.value(x), .constant(key)])
            let one = KerasValue(ref: .init(layer: item, tensor: 0), perm: [0], torchShape: [1], dtype: x.dtype)
            let zeros = operation("ZerosLike", module: "numpy", name: "constant_index", config: ["dtype": .string("int32")], arguments: [.value(one)])
            zeroIndex = KerasValue(ref: .init(layer: zeros, tensor: 0), perm: [0], torchShape: [1], dtype: "int32")
        }
        let count = tensor.count
        let row = (try? tensor.cast(to: .float32).reshaped([1, count])) ?? tensor
        let weight = KerasModelSource.Weight(name: "embeddings", tensor: row, sources: [], sourceShapes: [],
                                             transform: "a constant \(tensor.shape) computed while converting, flattened into one row")
        let table = layer("Embedding", name: base, config: ["input_dim": .int(1), "output_dim": .int(count), "mask_zero": .bool(false), "trainable": .bool(false)],
                          inputs: [zeroIndex!], weights: [weight])
        let rows = KerasValue(ref: .init(layer: table, tensor: 0), perm: [0, 1], torchShape: [1, count], dtype: "float32")
        let reshaped = operation("Reshape", module: "numpy", name: base + "_reshape", config: ["newshape": .ints(tensor.shape)], arguments: [.value(rows)])
        return KerasValue(ref: .init(layer: reshaped, tensor: 0), perm: Array(tensor.shape.indices), torchShape: tensor.shape, dtype: "float32")
    }

    /// Adds a layer called on `inputs`; returns its name (outputs are `(name, 0, i)`). `arguments`: the
    /// call's positional arguments when they are not `inputs` in order (a recurrent layer's
    /// `(sequence, [initial states])`).
    func layer(_ className: String, name base: String, config: JSONObject, inputs: [KerasValue],
               weights: [KerasModelSource.Weight] = [], takesList: Bool = false, arguments: [KerasModelSource.Argument]? = nil) -> String {
        let name = unique(base)
        var layer = KerasModelSource.Layer(
            name: name, className: className, config: config, inputs: inputs.map(\.ref),
            inputShapes: inputs.map { v in [nil] + v.kerasShape.dropFirst().map { Optional($0) } }, inputDTypes: inputs.map(\.dtype),
            weights: weights, takesList: takesList)
        layer.arguments = arguments
        layers.append(layer)
        return name
    }

    /// Adds a Keras operation node (`keras.ops.<function>` called in a functional model, saved as
    /// Keras 3 saves it: `module` `keras.src.ops.<module>`, the class, its constructor arguments as
    /// config, the call's tensors and constants as arguments); returns its name.
    func operation(_ className: String, module: String, name base: String, config: JSONObject,
                   arguments: [OperationArgument], keywords: JSONObject = [:]) -> String {
        let name = unique(base)
        var inputs: [KerasValue] = []
        func convert(_ argument: OperationArgument) -> KerasModelSource.Argument {
            switch argument {
            case .value(let v): inputs.append(v); return .tensor(inputs.count - 1)
            case .constant(let json): return .constant(json)
            case .tensor(let t) where t.dtype.isFloatingPoint && t.count > inlineConstantLimit && firstInput != nil:
                inputs.append(storedConstant(t, name: name + "_constant"))
                return .tensor(inputs.count - 1)
            case .tensor(let t): return .constant(NodeConversion.numpy(t))
            case .list(let items): return .list(items.map(convert))
            }
        }
        let converted = arguments.map(convert)
        var layer = KerasModelSource.Layer(
            name: name, className: className, config: config, inputs: inputs.map(\.ref),
            inputShapes: inputs.map { v in v.perm[0] == 0 ? [nil] + v.kerasShape.dropFirst().map { Optional($0) } : v.kerasShape.map { Optional($0) } },
            inputDTypes: inputs.map(\.dtype), weights: [], takesList: false)
        layer.module = "keras.src.ops." + module
        layer.arguments = converted
        layer.keywords = keywords
        layers.append(layer)
        return name
    }

    func note(_ layer: String, _ text: String) { notes.append((layer, text)) }

    /// `value` held as `perm` (Keras axis `i` holding PyTorch axis `perm[i]`): itself, or through a
    /// `Reshape` when only size-1 axes move, else a `Permute`; a `Transpose` operation node
    /// (`keras.ops.transpose`) when Keras's batch axis moves, which no layer does.
    func arrange(_ value: KerasValue, as perm: [Int], name: String) -> KerasValue {
        if value.perm == perm { return value }
        precondition(value.perm.count == perm.count && Set(perm) == Set(value.perm), "arrange: \(perm) is not an order of \(value.perm)")
        if value.perm[0] != perm[0] {
            let layer = operation("Transpose", module: "numpy", name: name + "_transpose",
                                  config: ["axes": .ints(perm.map { value.position(of: $0) })], arguments: [.value(value)])
            return KerasValue(ref: .init(layer: layer, tensor: 0), perm: perm, torchShape: value.torchShape, dtype: value.dtype)
        }
        let shape = perm.map { value.torchShape[$0] }
        let moved = perm.filter { value.torchShape[$0] != 1 } != value.perm.filter { value.torchShape[$0] != 1 }
        let layer: String
        if moved {
            let dims = perm.dropFirst().map { value.position(of: $0) }
            layer = self.layer("Permute", name: name + "_permute", config: ["dims": .ints(dims)], inputs: [value])
        } else {
            layer = self.layer("Reshape", name: name + "_reshape", config: ["target_shape": .ints(Array(shape.dropFirst()))], inputs: [value])
        }
        return KerasValue(ref: .init(layer: layer, tensor: 0), perm: perm, torchShape: value.torchShape, dtype: value.dtype)
    }
}

/// An argument of a Keras operation node being written: an activation, or a constant.
indirect enum OperationArgument {
    case value(KerasValue)
    case constant(KerasJSON)
    /// A stored or folded tensor: a `__numpy__` constant, or over ``KerasGraphWriter/inlineConstantLimit``
    /// floating-point elements a stored constant (``KerasGraphWriter/storedConstant(_:name:)``).
    case tensor(Tensor)
    case list([OperationArgument])
}

/// One ATen node being converted: its arguments read by schema name with PyTorch's defaults (torch.export
/// leaves defaults out), the values it reads, and the layers it adds, named after its module path.
struct NodeConversion {
    let writer: KerasGraphWriter
    let node: TorchNode
    let program: TorchProgram
    let env: [String: TorchOperand]
    /// The state_dict key (or constant name) of each graph input bound to a weight.
    let weightNames: [String: String]

    /// The operator converted: the node's, or the functional form of an in-place one (`relu_` → `relu`).
    var target: String
    /// Values computed from weights and constants alone, folded while converting (``TorchToKeras/folding(_:)``).
    var folded: [String: Tensor] = [:]

    /// The base name of this node's layers: its module path (`block.conv` → `block_conv`), the node's
    /// name for nodes called at the root.
    var layerName: String { node.modulePath.isEmpty ? node.name : node.modulePath }

    func refuse(_ reason: String) -> ConvertError {
        .unsupportedNode(node: node.name, target: node.target, modulePath: node.modulePath, moduleClass: node.moduleClass, reason: reason)
    }

    // MARK: Operands

    private func name(_ argument: String) throws -> String {
        guard case .tensor(let n)? = node.argument(argument) else { throw refuse("argument '\(argument)' is not a tensor") }
        return n
    }

    /// The activation a tensor argument reads (not a weight).
    func value(_ argument: String) throws -> KerasValue {
        let n = try name(argument)
        guard case .value(let v)? = env[n] else {
            throw refuse(weightNames[n].map { "'\(argument)' reads the tensor '\($0)' directly; only activations flow through Keras layers" }
                         ?? "'\(argument)' reads '\(n)', which is not a tensor the converted model computes")
        }
        return v
    }

    /// The activations of a tensor-list argument.
    func values(_ argument: String) throws -> [KerasValue] {
        guard case .tensors(let names)? = node.argument(argument) else { throw refuse("argument '\(argument)' is not a list of tensors") }
        return try names.map { n in
            guard case .value(let v)? = env[n] else { throw refuse("'\(argument)' reads '\(n)', which is not an activation") }
            return v
        }
    }

    /// The operand behind a graph value name.
    func operand(named n: String) -> TorchOperand? { env[n] }

    /// The parameter or buffer behind a tensor argument: its state_dict key and value.
    func weight(_ argument: String) throws -> (key: String, tensor: Tensor) {
        guard let w = try optionalWeight(argument) else { throw refuse("argument '\(argument)' is missing") }
        return w
    }

    func optionalWeight(_ argument: String) throws -> (key: String, tensor: Tensor)? {
        switch node.argument(argument) {
        case nil, .none?: return nil
        case .tensor(let n)?: return try weight(named: n, argument: argument)
        default: throw refuse("argument '\(argument)' is not a tensor")
        }
    }

    func weight(named n: String, argument: String) throws -> (key: String, tensor: Tensor) {
        if let tensor = folded[n] { return (n, tensor.dtype.isFloatingPoint ? tensor.cast(to: .float32) : tensor) }
        guard let key = weightNames[n], let tensor = program.weights[key] ?? program.constants[key] else {
            throw refuse("'\(argument)' is computed in the graph, not a stored weight: a Keras layer holds its weights as variables")
        }
        return (key, tensor.dtype.isFloatingPoint ? tensor.cast(to: .float32) : tensor)
    }

    // MARK: Scalar arguments

    func int(_ argument: String, default fallback: Int? = nil) throws -> Int {
        switch node.argument(argument) {
        case .int(let i)?: return i
        case .none?, nil:
            guard let fallback else { throw refuse("argument '\(argument)' is missing") }
            return fallback
        case let other?: throw refuse("argument '\(argument)' is \(other), not an int")
        }
    }

    /// An `int[]` (one int repeated `count` times, as ATen's `IntArrayRef[N]` allows).
    func ints(_ argument: String, default fallback: [Int]? = nil, count: Int? = nil) throws -> [Int] {
        let list: [Int]
        switch node.argument(argument) {
        case .ints(let l)?: list = l
        case .int(let i)?: list = [i]
        case .none?, nil:
            guard let fallback else { throw refuse("argument '\(argument)' is missing") }
            list = fallback
        case let other?: throw refuse("argument '\(argument)' is \(other), not a list of ints")
        }
        if let count, list.count == 1 { return Array(repeating: list[0], count: count) }
        return list
    }

    func double(_ argument: String, default fallback: Double? = nil) throws -> Double {
        switch node.argument(argument) {
        case .float(let d)?: return d
        case .int(let i)?: return Double(i)
        case .none?, nil:
            guard let fallback else { throw refuse("argument '\(argument)' is missing") }
            return fallback
        case let other?: throw refuse("argument '\(argument)' is \(other), not a number")
        }
    }

    func optionalDouble(_ argument: String) throws -> Double? {
        switch node.argument(argument) {
        case .none?, nil: return nil
        default: return try double(argument)
        }
    }

    func bool(_ argument: String, default fallback: Bool? = nil) throws -> Bool {
        switch node.argument(argument) {
        case .bool(let b)?: return b
        case .int(let i)?: return i != 0
        case .none?, nil:
            guard let fallback else { throw refuse("argument '\(argument)' is missing") }
            return fallback
        case let other?: throw refuse("argument '\(argument)' is \(other), not a bool")
        }
    }

    /// A dimension argument resolved against `rank` (negative counts from the end).
    func dim(_ d: Int, rank: Int) throws -> Int {
        guard d >= -rank, d < rank else { throw refuse("dimension \(d) is out of range for rank \(rank)") }
        return d < 0 ? d + rank : d
    }

    /// The PyTorch shape of output `index` (static in an export).
    func outputShape(_ index: Int = 0) throws -> [Int] {
        guard index < node.outputs.count, let n = node.outputs[index], let meta = program.graph.tensorMeta[n] else {
            throw refuse("output \(index) has no static shape in the program")
        }
        return meta.shape
    }

    // MARK: Layers

    /// `value` held as `perm`, through a Permute (or Reshape) layer when it is not, a Transpose
    /// operation node when Keras's batch axis moves.
    func arrange(_ value: KerasValue, as perm: [Int]) -> KerasValue {
        writer.arrange(value, as: perm, name: layerName)
    }

    /// `value` in PyTorch's own axis order.
    func inTorchOrder(_ value: KerasValue) -> KerasValue { arrange(value, as: Array(0..<value.rank)) }

    /// A Keras operation node (`keras.ops`) computing the node where no layer does; its output has
    /// PyTorch shape `shape` (the node's output shape by default) held as `perm`.
    func operation(_ className: String, module: String = "numpy", _ config: JSONObject = [:], arguments: [OperationArgument],
                   keywords: JSONObject = [:], perm: [Int]? = nil, shape: [Int]? = nil, dtype: String = "float32") throws -> KerasValue {
        let shape = try shape ?? outputShape()
        let layer = writer.operation(className, module: module, name: layerName, config: config, arguments: arguments, keywords: keywords)
        return KerasValue(ref: .init(layer: layer, tensor: 0), perm: perm ?? Array(shape.indices), torchShape: shape, dtype: dtype)
    }

    /// Adds one layer reading `inputs`; returns its outputs with PyTorch shapes `shapes` held as `perm`.
    func layer(_ className: String, _ config: JSONObject, inputs: [KerasValue], weights: [KerasModelSource.Weight] = [],
               perm: [Int], shapes: [[Int]]? = nil, name: String? = nil, takesList: Bool = false) throws -> [KerasValue] {
        let layer = writer.layer(className, name: name ?? layerName, config: config, inputs: inputs, weights: weights, takesList: takesList)
        let shapes = try shapes ?? [outputShape()]
        return shapes.enumerated().map { index, shape in
            KerasValue(ref: .init(layer: layer, tensor: index), perm: perm, torchShape: shape, dtype: "float32")
        }
    }

    /// A Keras weight made from the PyTorch tensors `keys` (with their shapes) by `transform`.
    func kerasWeight(_ name: String, _ tensor: Tensor, from sources: [(key: String, tensor: Tensor)], transform: String) -> KerasModelSource.Weight {
        KerasModelSource.Weight(name: name, tensor: tensor, sources: sources.map(\.key), sourceShapes: sources.map(\.tensor.shape), transform: transform)
    }

    /// The Keras variables of ``ParameterTable`` rows `rows`: row `i`'s from the PyTorch values `sources[i]`
    /// (one per PyTorch name of the row), with the row's inverse wording. `multiplier`: a depthwise kernel's M.
    func kerasWeights(_ rows: [ParameterRow], _ sources: [[(key: String, tensor: Tensor)]], multiplier: Int = 1) throws -> [KerasModelSource.Weight] {
        try zip(rows, sources).map { row, parts in
            kerasWeight(row.keras, try row.toKeras(parts.map(\.tensor), multiplier: multiplier), from: parts, transform: row.inverseTransform(multiplier: multiplier))
        }
    }
}
