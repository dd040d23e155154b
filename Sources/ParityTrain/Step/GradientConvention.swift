import ParityNN

/// Where the two frameworks' gradients differ at points where the derivative is undefined, as a value: the
/// gradient of a training step follows the side being run. Measured on the `gradients.npz` fixtures
/// (scripts/make_training_fixtures.py: `tf.GradientTape` against `torch.autograd`, TensorFlow 2.21 and
/// PyTorch 2.15); docs/training.md lists each point.
///
/// | point | TensorFlow (Keras) | PyTorch | in Parity |
/// |---|---|---|---|
/// | `maximum`/`minimum` tie | all to the first argument | half each | `TieRule` on `Binary`, set here |
/// | `ops.clip` / `clip_by_value` at a bound | passes (built from minimum/maximum) | `clamp` with number bounds: 0 | the lowering's op |
/// | relu6 / hardtanh at a bound | 0 | 0 | `Unary(.clip)` |
/// | max pooling tie | first in the window | first in the window | `pool`, `TieRule/first` |
/// | max reduction tie | split | split (`amax`) | `Reduce` |
/// | fused softmax cross-entropy | `softmax − labels` | `softmax·Σlabels − labels` | `SoftmaxCrossEntropy` |
/// | relu, abs at 0; sqrt at 0; leaky relu at 0 | 0; 0; ∞; slope | the same | the ops' own rules |
public enum GradientConvention: String, Sendable, Hashable, CustomStringConvertible {
    /// TensorFlow's gradient rules (`tf.GradientTape`), Keras's.
    case tensorFlow
    /// PyTorch's (`torch.autograd`, ATen's derivative formulas).
    case aten

    /// The framework's own rules.
    public static func of(_ framework: Framework) -> GradientConvention { framework == .keras ? .tensorFlow : .aten }

    public var description: String { self == .tensorFlow ? "TensorFlow" : "ATen" }

    /// The op with this convention's rule where its VJP depends on one.
    func adapt(_ op: any Op) -> any Op {
        guard self == .tensorFlow, var binary = op as? Binary, binary.function == .maximum || binary.function == .minimum else { return op }
        binary.ties = .first
        return binary
    }
}
