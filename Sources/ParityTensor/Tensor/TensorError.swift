/// What went wrong when an op was given tensors it cannot work on. Every case echoes the values
/// it received, so a message can be acted on without a debugger.
public enum TensorError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `op` needs shapes as `expected` says; it received these.
    case shapeMismatch(op: String, expected: String, received: [[Int]])
    /// `op` needs operands of one dtype; it received these.
    case dtypeMismatch(op: String, received: [DType])
    /// `op` does not compute in `dtype`.
    case unsupportedDType(op: String, dtype: DType)
    /// An argument of `op` (an axis, a size, a permutation) is out of range, as `message` says.
    case invalidArgument(op: String, message: String)
    /// `op` does not support this case, as `message` says.
    case unsupported(op: String, message: String)

    public var description: String {
        switch self {
        case let .shapeMismatch(op, expected, received):
            return "\(op): expected \(expected); received shapes \(received.map { "\($0)" }.joined(separator: ", "))"
        case let .dtypeMismatch(op, received):
            return "\(op): inputs must share one dtype; received \(received.map(\.rawValue).joined(separator: ", "))"
        case let .unsupportedDType(op, dtype):
            if dtype.isComplex {
                return "\(op): dtype \(dtype) is not supported (the op has no complex form; it is refused rather than run on the real and imaginary parts as separate numbers)"
            }
            return "\(op): dtype \(dtype) is not supported"
        case let .invalidArgument(op, message):
            return "\(op): \(message)"
        case let .unsupported(op, message):
            return "\(op): \(message)"
        }
    }
}
