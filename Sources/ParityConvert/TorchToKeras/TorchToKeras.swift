import ParityKeras
import ParityNN
import ParityTorch

/// PyTorch → Keras conversion of a `ParityTorch/TorchProgram` (a torch.export ATen graph): one
/// converter per operator family (`TorchToKeras+<Family>.swift`), each writing the Keras layer, its
/// config with the program's own constants (epsilon, momentum, slopes, axes) and its weights with the
/// transform applied to each PyTorch tensor.
///
/// Layouts: every value remembers how its Keras axes relate to the PyTorch tensor
/// (`KerasValue/perm`). Keras's axis 0 is always the batch, which no Keras layer moves; NCHW values
/// are held channels-last where a Keras layer needs it (convolution, pooling) and put back in PyTorch's
/// order with explicit `Permute` layers where an order matters (Flatten, Reshape, the model's
/// outputs), so the Keras model takes and returns PyTorch's layout.
public enum TorchToKeras {
    /// A converted model, and what is exact only up to a stated rounding.
    public struct Conversion: Sendable {
        /// The Keras Functional model: its layers, config and weights.
        public var model: KerasModelSource
        /// One line per conversion that is exact only up to a rounding it names (an LSTM's two biases summed).
        public var notes: [String]

        /// The `.keras` archive writer for the converted model (the config is built into a
        /// `ParityKeras/KerasNetwork` first, so a layer Parity cannot run is refused before writing).
        public func archive(metadata: KerasArchiveMetadata = .now()) throws -> KerasArchiveWriter {
            try KerasArchiveWriter(config: model.config, layerWeights: model.layerWeights, metadata: metadata)
        }
    }

    nonisolated(unsafe) static let families: [any TorchToKerasFamily.Type] = [
        CoreOps.self, ActivationOps.self, ArithmeticOps.self, ConvolutionOps.self, NormalizationOps.self, PoolingOps.self,
        ReshapingOps.self, RecurrentOps.self, UpsamplingOps.self, OperationNodes.self,
    ]

    /// Every ATen operator that converts (in at least one form), sorted.
    public static var supportedTargets: [String] {
        var all: [String] = []
        for family in families { all += family.targets }
        return all.sorted()
    }

    static func family(for target: String) -> (any TorchToKerasFamily.Type)? {
        for family in families where family.targets.contains(target) { return family }
        return nil
    }

    /// Floating-point constants (folded tables, stored tensors read by operation nodes) over this many
    /// elements are stored as layer weights in the `.weights.h5` rather than as `__numpy__` arrays in
    /// `config.json`, which cost ~20 bytes of JSON per element: BEiT's folded relative-position biases
    /// made a 126 MB config.
    public static let inlineConstantLimit = 1 << 16

    /// Converts `program` into a Keras Functional model named `name`. Throws
    /// ``ConvertError/unsupportedNode(node:target:modulePath:moduleClass:reason:)`` for the first node
    /// without an exact Keras equivalent.
    public static func convert(_ program: TorchProgram, name: String, inlineConstantLimit: Int = inlineConstantLimit) throws -> Conversion {
        let program = program.replacingGraph(try inliningAutocast(program.graph))
        let writer = KerasGraphWriter(inlineConstantLimit: inlineConstantLimit)
        var env: [String: TorchOperand] = [:]
        var weights: [String: String] = [:]
        var inputs: [KerasModelSource.TensorRef] = []
        for input in program.inputs {
            switch input.kind {
            case .parameter(let fqn), .buffer(let fqn, _), .tensorConstant(let fqn):
                weights[input.name] = fqn
            case .userInput:
                guard let meta = program.graph.tensorMeta[input.name], !meta.shape.isEmpty else {
                    throw ConvertError.shape(layer: input.name, message: "the program input has no static shape with a batch axis")
                }
                guard let dtype = KerasDTypes.name(scalarType: meta.scalarType) else {
                    throw ConvertError.shape(layer: input.name, message: "the program input has dtype code \(meta.scalarType), which has no Keras dtype")
                }
                let value = writer.input(name: input.name, shape: meta.shape, dtype: dtype)
                inputs.append(value.ref)
                env[input.name] = .value(value)
            }
        }
        let nodes = program.graph.nodes
        var (constant, writes, stale) = Self.constantNodes(program)
        var folded = constant.isEmpty ? [:] : try Self.folding(program, nodes: constant)
        for write in writes {
            guard let base = folded[write.base], let value = folded[write.node] else { stale.insert(write.base); continue }
            folded[write.base] = try Self.written(base, views: write.views, value: value)
        }
        let aliasing = Aliasing(nodes, outputs: program.outputs)
        for (index, node) in nodes.enumerated() {
            let functional = Self.functionalForm(of: node.target)
            let c = NodeConversion(writer: writer, node: node, program: program, env: env, weightNames: weights, target: functional ?? node.target,
                                   folded: folded)
            if constant.contains(node.name) { continue }
            if let read = node.arguments.flatMap(\.value.tensorNames).first(where: stale.contains) {
                throw c.refuse("reads '\(read)', a constant written in place by an earlier node; the folded value would miss the write")
            }
            if let complex = node.outputs.compactMap({ $0.flatMap { program.graph.tensorMeta[$0]?.scalarType } }).first(where: ScalarTypes.isComplex).map(ScalarTypes.name) {
                throw c.refuse("it computes a \(complex) tensor: Keras has no complex tensors in keras.ops on every backend, so a graph computing with complex numbers (torch.fft) does not convert; Parity runs it as it is (parity run)")
            }
            if functional != nil || filling[node.target] != nil {
                try write(c, index: index, aliasing: aliasing, env: &env)
                continue
            }
            guard let family = family(for: c.target) else {
                throw c.refuse("no Keras layer or operation computes \(node.target) exactly (the \(supportedTargets.count) operators that convert are listed in TorchToKeras.supportedTargets)")
            }
            let results = try family.convert(c)
            for (output, result) in zip(node.outputs, results) {
                if let output { env[output] = result }
            }
        }
        var outputs: [KerasModelSource.TensorRef] = []
        for (index, output) in program.outputs.enumerated() {
            guard case .value(let value)? = env[output] else {
                throw ConvertError.shape(layer: output, message: "output \(index) is not a tensor the converted model computes")
            }
            outputs.append(writer.arrange(value, as: Array(0..<value.rank), name: "output_\(index)").ref)
        }
        let model = KerasModelSource(name: KerasGraphWriter.identifier(name), layers: writer.layers, inputs: inputs, outputs: outputs).pruned()
        let kept = Set(model.layers.map(\.name))
        return Conversion(model: model, notes: writer.notes.filter { kept.contains($0.layer) }.map(\.text))
    }
}

extension TorchToKeras {
    /// `aten.relu_.default` → `aten.relu.default`, `aten.__iand__.Tensor` → `aten.__and__.Tensor`: the
    /// functional operator an in-place variant computes (torch.export keeps them for
    /// `nn.ReLU(inplace=True)`, `x += y`), ParityTorch's ``ATenTable/functional(_:)``, when it converts.
    /// An `out=` overload (it writes its `out` argument, not `self`) is not converted.
    static func functionalForm(of target: String) -> String? {
        guard ATenTable.isInPlace(target), !target.hasSuffix(".out") else { return nil }
        let functional = ATenTable.functional(target)
        return family(for: functional) == nil ? nil : functional
    }

    /// `graph` with every `higher_order.wrap_with_autocast` region that changes no dtype replaced by
    /// its body's nodes: a disabled region (`autocast(enabled=False)`, how models keep a block in
    /// float32) or one whose dtype is float32, which in a float32 model is the body itself (ParityTorch
    /// runs them the same way). Inner values are renamed `<region>__<name>`; the body's outputs take
    /// the region's output names. A region casting to float16/bfloat16 (mixed precision) is refused.
    static func inliningAutocast(_ graph: ExportedGraph) throws -> ExportedGraph {
        guard graph.allNodes.contains(where: { $0.target == "higher_order.wrap_with_autocast" }) else { return graph }
        var result = graph
        result.nodes = []
        for node in graph.nodes {
            guard node.target == "higher_order.wrap_with_autocast" else { result.nodes.append(node); continue }
            func refuse(_ reason: String) -> ConvertError {
                .unsupportedNode(node: node.name, target: node.target, modulePath: node.modulePath, moduleClass: node.moduleClass, reason: reason)
            }
            let args = node.arguments.map(\.value)
            guard args.count >= 5, case .bool(let enabled) = args[2], case .graph(_, let inner) = args[4] else {
                throw refuse("expected (device_type, dtype, enabled, cache_enabled, subgraph, operands…)")
            }
            if enabled, case .scalarType(let code) = args[1], code != 7 {
                throw refuse("an enabled autocast region to dtype code \(code) (mixed precision): the converted Keras model computes in float32")
            }
            if enabled, case .none = args[1] {
                throw refuse("an enabled autocast region with the device's default dtype (mixed precision): the converted Keras model computes in float32")
            }
            let body = try inliningAutocast(inner)
            let operands = try args.dropFirst(5).map { arg -> String in
                guard case .tensor(let name) = arg else { throw refuse("operand \(arg) is not a tensor") }
                return name
            }
            guard body.inputs.count == operands.count, body.outputs.count == node.outputs.count else {
                throw refuse("the region takes \(body.inputs.count) inputs for \(operands.count) operands and returns \(body.outputs.count) values for \(node.outputs.count) outputs")
            }
            var renamed = Dictionary(zip(body.inputs, operands), uniquingKeysWith: { first, _ in first })
            var aliases: [TorchNode] = []
            for (inner, outer) in zip(body.outputs, node.outputs) {
                guard let outer else { continue }
                if body.inputs.contains(inner) {  // an operand returned as it is
                    aliases.append(TorchNode(target: "aten.alias.default", name: "\(node.name)__\(outer)", arguments: [("self", .tensor(renamed[inner]!))],
                                             outputs: [outer], moduleStack: node.moduleStack))
                } else {
                    renamed[inner] = outer
                }
            }
            func name(_ inner: String) -> String {
                if let outer = renamed[inner] { return outer }
                let outer = "\(node.name)__\(inner)"
                renamed[inner] = outer
                return outer
            }
            for var child in body.nodes {
                child.name = "\(node.name)__\(child.name)"
                child.outputs = child.outputs.map { $0.map(name) }
                child.arguments = child.arguments.map { ($0.name, $0.value.renaming(name)) }
                if child.moduleStack.isEmpty { child.moduleStack = node.moduleStack }
                result.nodes.append(child)
            }
            result.nodes += aliases
            for (inner, meta) in body.tensorMeta where !body.inputs.contains(inner) { result.tensorMeta[name(inner)] = meta }
        }
        return result
    }

    /// A folded node writing in place into a constant, through a chain of `slice` / `select` views of it.
    struct ConstantWrite {
        var base: String
        var views: [TorchNode]
        var node: String
    }

    /// The nodes computed from weights, constants and nothing else (index tables, attention masks,
    /// `arange`), which become constants of the Keras model; the in-place writes among them into a
    /// constant through `slice`/`select` views (replayed on the folded base, Swin V2's
    /// `qkv_bias[n:2n].zero_()`); and the values written in place otherwise (through other views),
    /// which an activation must not read. An `aten.zeros` a recurrent layer reads stays a node (its
    /// initial state, which Keras starts from); any other is a constant (EdgeNeXt's positional mask).
    static func constantNodes(_ program: TorchProgram) -> (nodes: Set<String>, writes: [ConstantWrite], stale: Set<String>) {
        var known = Set(program.inputs.compactMap { input -> String? in
            if case .userInput = input.kind { return nil }
            return input.name
        })
        let initialStates = Set(program.graph.nodes.filter { RecurrentOps.targets.contains($0.target) }.flatMap { $0.arguments.flatMap(\.value.tensorNames) })
        var nodes: Set<String> = [], stale: Set<String> = [], writes: [ConstantWrite] = []
        var producer: [String: TorchNode] = [:]
        for node in program.graph.nodes {
            defer { for case let name? in node.outputs { producer[name] = node } }
            // `new_zeros(x, size)` and `zeros_like(x)` read only x's static dtype and shape.
            let reads = shapeOnly.contains(node.target) ? [] : node.arguments.flatMap(\.value.tensorNames)
            guard !(node.target == "aten.zeros.default" && node.outputs.contains(where: { $0.map(initialStates.contains) ?? false })),
                  !node.outputs.isEmpty, reads.allSatisfy(known.contains) else { continue }
            nodes.insert(node.name)
            for case let name? in node.outputs { known.insert(name) }
            guard ATenTable.isInPlace(node.target), var mutated = ParityTorch.Aliasing.source(of: node) else { continue }
            var views: [TorchNode] = [], replayable = true
            while let view = producer[mutated], ParityTorch.Aliasing.isView(view.target), let base = ParityTorch.Aliasing.source(of: view) {
                replayable = replayable && ["aten.slice.Tensor", "aten.select.int"].contains(view.target)
                views.insert(view, at: 0)
                stale.insert(mutated)
                mutated = base
            }
            if replayable { writes.append(ConstantWrite(base: mutated, views: views, node: node.name)) } else { stale.insert(mutated) }
        }
        return (nodes, writes, stale)
    }

    /// `base` with the elements `views` (a chain of `slice` / `select`) select replaced by `value`.
    static func written(_ base: Tensor, views: [TorchNode], value: Tensor) throws -> Tensor {
        // For each view axis, the base axis and the base index of its element i (start + i·step);
        // selected axes are fixed.
        var axes = base.shape.indices.map { (axis: $0, start: 0, step: 1) }, fixed: [Int: Int] = [:]
        for view in views {
            func int(_ name: String, _ fallback: Int) -> Int { if case .int(let v)? = view.argument(name) { return v } else { return fallback } }
            let d = int("dim", 0), position = d < 0 ? d + axes.count : d
            let size = base.shape[axes[position].axis]
            if view.target == "aten.select.int" {
                let index = int("index", 0)
                fixed[axes[position].axis] = axes[position].start + (index < 0 ? index + size : index) * axes[position].step
                axes.remove(at: position)
            } else {
                let start = ATenSlice.bounds(start: int("start", 0), end: nil, size: size).start
                axes[position].start += start * axes[position].step
                axes[position].step *= int("step", 1)
            }
        }
        var values = base.doubles
        let written = value.doubles
        var strides = Array(repeating: 1, count: base.rank)
        for axis in stride(from: base.rank - 2, through: 0, by: -1) { strides[axis] = strides[axis + 1] * base.shape[axis + 1] }
        let fixedOffset = fixed.reduce(0) { $0 + $1.value * strides[$1.key] }
        for flat in written.indices {
            var rest = flat, offset = fixedOffset
            for (i, axis) in axes.enumerated().reversed() {
                let extent = value.shape[i]
                offset += (axis.start + (rest % extent) * axis.step) * strides[axis.axis]
                rest /= extent
            }
            values[offset] = written[flat]
        }
        return Tensor(shape: base.shape, values: values).cast(to: base.dtype)
    }

    /// Operators that read only the static shape and dtype of their tensor argument.
    static let shapeOnly: Set<String> = [
        "aten.new_zeros.default", "aten.new_ones.default", "aten.new_full.default", "aten.new_empty.default", "aten.zeros_like.default",
        "aten.ones_like.default", "aten.full_like.default", "aten.empty_like.default",
    ]

    /// The values of `nodes` (``constantNodes(_:)``), from one eager run of the program on seeded
    /// inputs (they read none of them).
    static func folding(_ program: TorchProgram, nodes: Set<String>) throws -> [String: Tensor] {
        let context = EagerContext()
        var values: [String: Tensor] = [:]
        _ = try program.outputs(try exampleInputs(for: program).map { context.constant($0) }, in: context, floatType: .float32) { node, results in
            guard nodes.contains(node.name) else { return }
            for (name, result) in zip(node.outputs, results) { if let name { values[name] = result.tensor } }
        }
        return values
    }
}

extension TorchArgument {
    /// The argument with every graph value name passed through `rename`.
    func renaming(_ rename: (String) -> String) -> TorchArgument {
        switch self {
        case .tensor(let n): return .tensor(rename(n))
        case .tensors(let ns): return .tensors(ns.map(rename))
        case .optionalTensors(let ns): return .optionalTensors(ns.map { $0.map(rename) })
        case .symInts(let list): return .symInts(list.map { if case .name(let n) = $0 { return .name(rename(n)) } else { return $0 } })
        default: return self
        }
    }
}

/// A family of ATen operators converted to Keras layers (one file per family, as in ParityTorch).
protocol TorchToKerasFamily {
    static var targets: Set<String> { get }
    /// The node's results, one per node output (`.none` for outputs nothing may read).
    static func convert(_ c: NodeConversion) throws -> [TorchOperand]
}

/// A PyTorch tensor held as a Keras tensor: Keras axis `i` holds PyTorch axis `perm[i]` (identity:
/// PyTorch's layout; `[0, 2, 3, 1]`: an NCHW tensor held as NHWC). `perm[0]` is the PyTorch axis that is
/// Keras's batch axis.
struct KerasValue {
    var ref: KerasModelSource.TensorRef
    var perm: [Int]
    /// The PyTorch shape.
    var torchShape: [Int]
    var dtype: String

    var rank: Int { perm.count }
    /// The Keras shape, batch axis included.
    var kerasShape: [Int] { perm.map { torchShape[$0] } }

    /// Where PyTorch axis `axis` is held.
    func position(of axis: Int) -> Int { perm.firstIndex(of: axis)! }
}

/// What a graph value is during conversion.
enum TorchOperand {
    case value(KerasValue)
    /// `aten.zeros` of a shape: read only as a recurrent layer's initial state (Keras starts from zeros).
    case zeros([Int])
    /// A result nothing may read (a saved statistic of `_native_batch_norm_legit_no_training`).
    case none
}

/// `[0, 2, …, rank−1, 1]`: an (N, C, spatial…) tensor held channels-last, as Keras's convolutions and
/// pooling read it on TensorFlow's CPU kernels.
func channelsLast(_ rank: Int) -> [Int] { DataFormat.channelsLast.permutation(rank: rank) }
