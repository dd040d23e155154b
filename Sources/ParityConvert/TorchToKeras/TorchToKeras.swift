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
        ReshapingOps.self, RecurrentOps.self, UpsamplingOps.self,
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
                let dtype = [7, 8, 6, 13].contains(meta.scalarType) ? "float32" : "int64"
                let value = writer.input(name: input.name, shape: meta.shape, dtype: dtype)
                inputs.append(value.ref)
                env[input.name] = .value(value)
            }
        }
        for node in program.graph.nodes {
            let c = NodeConversion(writer: writer, node: node, program: program, env: env, weightNames: weights)
            guard let family = family(for: node.target) else {
                throw c.refuse("no Keras layer computes \(node.target) exactly (the \(supportedTargets.count) operators that convert are listed in TorchToKeras.supportedTargets)")
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
            let identity = Array(0..<value.rank)
            guard let arranged = writer.arrange(value, as: identity, name: "output_\(index)") else {
                throw ConvertError.shape(layer: output, message: "output \(index) has PyTorch axis \(value.perm[0]) as Keras's batch axis; Keras layers cannot move the batch axis back to the front")
            }
            outputs.append(arranged.ref)
        }
        let model = KerasModelSource(name: KerasGraphWriter.identifier(name), layers: writer.layers, inputs: inputs, outputs: outputs).pruned()
        let kept = Set(model.layers.map(\.name))
        return Conversion(model: model, notes: writer.notes.filter { kept.contains($0.layer) }.map(\.text))
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
