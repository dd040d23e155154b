/// The causes `parity compare` names: one id per convention a port can get wrong, and `float-noise` when
/// nothing but rounding separates the models. docs/compare.md documents each (what differs, how Parity tests
/// it); `PortCorpusTests.everyCauseIsDocumented` checks that every case is there.
public enum Cause: String, Sendable, Codable, CaseIterable {
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

    /// What differs, in a few words.
    public var summary: String {
        switch self {
        case .floatNoise: return "nothing but rounding: every layer within its measured float noise"
        case .batchNormEpsilon: return "BatchNorm epsilon: Keras 1e-3, PyTorch 1e-5"
        case .layerNormEpsilon: return "LayerNorm epsilon: Keras 1e-3, PyTorch 1e-5"
        case .trainingMode: return "batch norm on batch statistics (model.eval() forgotten)"
        case .paddingSame: return "TensorFlow's asymmetric 'same' padding against a symmetric one"
        case .padOrder: return "padding amounts on the wrong axes or sides (F.pad lists the last axis first)"
        case .poolCountIncludePad: return "padded cells counted in an average pooling"
        case .poolCeilMode: return "pooling output size rounded the other way"
        case .flattenOrder: return "flatten in (C, H, W) order against Keras's (H, W, C)"
        case .kernelLayout: return "a kernel copied with the wrong axis order (or reshaped instead of transposed)"
        case .lstmGateOrder: return "LSTM gate blocks in another order"
        case .gruGateOrder: return "GRU gate blocks in another order ([z, r, h] against [r, z, n])"
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
}
