import ParityKeras
import ParityNN
import ParityTorch

/// PyTorch → Keras conversion of a ``ParityTorch/TorchProgram`` (a torch.export ATen graph): one
/// converter per operator family (`TorchToKeras+<Family>.swift`), each writing the Keras layer, its
/// config with the program's own constants (epsilon, momentum, slopes, axes) and its weights with the
/// transform applied to each PyTorch tensor.
///
/// Layouts: every value remembers how its Keras axes relate to the PyTorch tensor
/// (``KerasValue/perm``). Keras's axis 0 is always the batch, which no Keras layer moves; NCHW values
/// are held channels-last where a Keras layer needs it (convolution, pooling) and put back in PyTorch's
/// order with explicit `Permute` layers where an order matters (Flatten, Reshape, the model's
/// outputs), so the Keras model takes and returns PyTorch's layout.
public enum TorchToKeras {
    /// A converted model, and what is exact only up to a stated rounding.
    public struct Conversion: Sendable {
        public var model: KerasModelSource
        /// One line per conversion that is exact only up to a rounding it names (an LSTM's two biases summed).
        public var notes: [String]

        /// The `.keras` archive writer for the converted model (the config is built into a
        /// ``ParityKeras/KerasNetwork`` first, so a layer Parity cannot run is refused before writing).
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

    /// Converts `program` into a Keras Functional model named `name`. Throws
    /// ``ConvertError/unsupportedNode(node:target:modulePath:moduleClass:reason:)`` for the first node
    /// without an exact Keras equivalent.
    public static func convert(_ program: TorchProgram, name: String) throws -> Conversion {
        let writer = KerasGraphWriter()
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
        for (index, node) in nodes.enumerated() {
            let functional = Self.functionalForm(of: node.target)
            let c = NodeConversion(writer: writer, node: node, program: program, env: env, weightNames: weights, target: functional ?? node.target)
            guard let family = family(for: c.target) else {
                throw c.refuse("no Keras layer or operation computes \(node.target) exactly (the \(supportedTargets.count) operators that convert are listed in TorchToKeras.supportedTargets)")
            }
            if functional != nil { try checkInPlace(c, index: index, nodes: nodes, outputs: program.outputs) }
            let results = try family.convert(c)
            for (output, result) in zip(node.outputs, results) {
                if let output { env[output] = result }
            }
            // An in-place operator's input holds the result from now on.
            if functional != nil, case .tensor(let mutated)? = node.argument("self"), let result = results.first { env[mutated] = result }
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
    /// `aten.relu_.default` → `aten.relu.default`: the functional operator an in-place variant
    /// computes (torch.export keeps them for `nn.ReLU(inplace=True)`, `x += y`), when it converts.
    static func functionalForm(of target: String) -> String? {
        let parts = target.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[1].hasSuffix("_"), !parts[1].hasPrefix("_") else { return nil }
        let functional = "\(parts[0]).\(parts[1].dropLast()).\(parts[2])"
        return family(for: functional) == nil ? nil : functional
    }

    /// Operators whose result is a view sharing its input's storage.
    static let viewOperators: Set<String> = [
        "aten.view.default", "aten.slice.Tensor", "aten.select.int", "aten.permute.default", "aten.transpose.int", "aten.t.default",
        "aten.unsqueeze.default", "aten.squeeze.dim", "aten.squeeze.dims", "aten.expand.default", "aten.alias.default", "aten.narrow.default",
        "aten.split.Tensor", "aten.split_with_sizes.default", "aten.chunk.default", "aten.unbind.int", "aten.unflatten.int",
        "aten.flatten.using_ints", "aten.reshape.default", "aten.diagonal.default", "aten.as_strided.default",
    ]

    /// Refuses an in-place node that writes through a view whose base is read afterwards: the
    /// converted graph rebinds the mutated value only, not the storage it shares.
    static func checkInPlace(_ c: NodeConversion, index: Int, nodes: [TorchNode], outputs: [String]) throws {
        guard case .tensor(let mutated)? = c.node.argument("self"),
              let producer = nodes[..<index].last(where: { $0.outputs.contains(Optional(mutated)) }),
              viewOperators.contains(producer.target) else { return }
        let bases = Set(producer.arguments.flatMap(\.value.tensorNames))
        let later = nodes[(index + 1)...].contains { node in node.arguments.contains { !bases.isDisjoint(with: $0.value.tensorNames) } }
        if later || !bases.isDisjoint(with: outputs) {
            throw c.refuse("writes in place through a view (\(producer.target)) of a tensor read later; the converted graph would not see the write")
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
func channelsLast(_ rank: Int) -> [Int] { [0] + Array(2..<max(rank, 2)) + (rank >= 2 ? [1] : []) }
