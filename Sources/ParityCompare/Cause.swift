import ParityNN

/// A cause id and its documentation: what differs and how Parity tests it. The cause tables of
/// docs/conventions.md are generated from these (``Conventions/markdown``), so an id, its wording and its
/// test are written once, here.
public protocol DocumentedCause: RawRepresentable, CaseIterable where RawValue == String, AllCases: Collection {
    /// What differs, in a few words.
    var summary: String { get }
    /// How Parity tests the hypothesis.
    var test: String { get }
}

extension DocumentedCause {
    /// The Markdown table of every case: id, what differs, how Parity tests it.
    static var markdownTable: [String] {
        func cell(_ s: String) -> String { s.replacingOccurrences(of: "|", with: "\\|") }
        return ["| cause id | what differs | how Parity tests it |", "|---|---|---|"]
            + allCases.map { "| `\($0.rawValue)` | \(cell($0.summary)) | \(cell($0.test)) |" }
    }
}

/// The causes `parity compare` names: one id per convention a port can get wrong, and `float-noise` when
/// nothing but rounding separates the models.
public enum Cause: String, Sendable, Codable, DocumentedCause {
    case floatNoise = "float-noise"
    case batchNormEpsilon = "batchnorm-epsilon"
    case layerNormEpsilon = "layernorm-epsilon"
    case trainingMode = "training-mode"
    case paddingSame = "padding-same"
    case padOrder = "pad-order"
    case poolCountIncludePad = "pool-count-include-pad"
    case poolCeilMode = "pool-ceil-mode"
    case flattenOrder = "flatten-order"
    case kernelLayout = "kernel-layout"
    case lstmGateOrder = "lstm-gate-order"
    case gruGateOrder = "gru-gate-order"
    case lstmBiasDoubled = "lstm-bias-doubled"
    case rnnBiasDoubled = "rnn-bias-doubled"
    case weightsDiffer = "weights-differ"
    case weightsPrecision = "weights-precision"
    case gruResetAfter = "gru-reset-after"
    case geluApproximation = "gelu-approximation"
    case activationVariant = "activation-variant"
    case softmaxAxis = "softmax-axis"
    case interpolationMode = "interpolation-mode"
    case attentionScaling = "attention-scaling"

    public var summary: String {
        switch self {
        case .floatNoise: return "nothing but rounding: every layer within its measured float noise"
        case .batchNormEpsilon: return "BatchNorm epsilon: Keras \(NormalizationDefaults.kerasEpsilon), PyTorch \(NormalizationDefaults.pyTorchEpsilon)"
        case .layerNormEpsilon: return "LayerNorm epsilon: Keras \(NormalizationDefaults.kerasEpsilon), PyTorch \(NormalizationDefaults.pyTorchEpsilon)"
        case .trainingMode: return "batch norm on batch statistics (model.eval() forgotten)"
        case .paddingSame: return "TensorFlow's asymmetric 'same' padding against a symmetric one"
        case .padOrder: return "padding amounts on the wrong axes or sides (F.pad lists the last axis first)"
        case .poolCountIncludePad: return "padded cells counted in an average pooling"
        case .poolCeilMode: return "pooling output size rounded the other way"
        case .flattenOrder: return "flatten in (C, H, W) order against Keras's (H, W, C)"
        case .kernelLayout: return "a kernel copied with the wrong axis order (or reshaped instead of transposed)"
        case .lstmGateOrder: return "LSTM gate blocks in another order"
        case .gruGateOrder: return "GRU gate blocks in another order (\(Conventions.gates("GRU").keras) against \(Conventions.gates("GRU").torch))"
        case .lstmBiasDoubled: return "Keras's LSTM bias copied into both PyTorch biases"
        case .rnnBiasDoubled: return "Keras's RNN bias copied into both PyTorch biases"
        case .weightsDiffer: return "different numbers in the weights"
        case .weightsPrecision: return "one side's weights rounded to float16 or bfloat16 (a converter casting them)"
        case .gruResetAfter: return "GRU reset gate before against after the recurrent matmul"
        case .geluApproximation: return "tanh-approximated against exact GELU"
        case .activationVariant: return "another activation function or constant (slope, alpha)"
        case .softmaxAxis: return "softmax over another axis"
        case .interpolationMode: return "another resampling (align_corners, nearest against bilinear)"
        case .attentionScaling: return "attention scores scaled by another factor"
        }
    }

    public var test: String {
        switch self {
        case .floatNoise: return "every pair within its measured noise"
        case .batchNormEpsilon: return "A rebuilt with B's `eps`"
        case .layerNormEpsilon: return "A rebuilt with B's `eps`; inside a composite layer, B's `eps` nodes and the scalar added before `rsqrt` set to A's epsilon"
        case .trainingMode: return "A normalised with its input's batch statistics"
        case .paddingSame: return "A's conv with B's padding"
        case .padOrder: return "B's pad node applied to A's input (for a Cropping layer, B's slices)"
        case .poolCountIncludePad: return "A's pooling counting them"
        case .poolCeilMode: return "B's pooling node reproduces B's shape"
        case .flattenOrder: return "A's input flattened channels-first"
        case .kernelLayout: return "A rebuilt with B's weights; the permutation named"
        case .lstmGateOrder: return "A rebuilt with B's weights; the block order named"
        case .gruGateOrder: return "A rebuilt with B's weights; the block order named"
        case .lstmBiasDoubled: return "A rebuilt with B's weights (b_ih + b_hh)"
        case .rnnBiasDoubled: return "A rebuilt with B's weights (b_ih + b_hh)"
        case .weightsDiffer: return "A rebuilt with B's weights; count and largest difference"
        case .weightsPrecision: return "the other side's part rerun with its weights rounded the same way (B's parameters read by its nodes, or A's layers rebuilt)"
        case .gruResetAfter: return "A as a reset-after GRU with B's weights"
        case .geluApproximation: return "B's gelu node on A's input; inside a composite layer, B's `approximate` flipped"
        case .activationVariant: return "B's activation node on A's input"
        case .softmaxAxis: return "B's softmax node on A's input"
        case .interpolationMode: return "B's upsampling node on A's input"
        case .attentionScaling: return "A's attention with B's scale"
        }
    }
}
