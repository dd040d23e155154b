/// What went wrong when an op was given tensors it cannot work on. Every case echoes the values
/// it received, so a message can be acted on without a debugger.
public enum TensorError: Error, Sendable, Equatable, CustomStringConvertible {
    case shapeMismatch(op: String, expected: String, received: [[Int]])
    case dtypeMismatch(op: String, received: [DType])
    case unsupportedDType(op: String, dtype: DType)
    case invalidArgument(op: String, message: String)
    case unsupported(op: String, message: String)

    public var description: String {
        switch self {
        case let .shapeMismatch(op, expected, received):
            return "\(op): expected \(expected); received shapes \(received.map { "\($0)" }.joined(separator: ", "))"
        case let .dtypeMismatch(op, received):
            return "\(op): inputs must share one dtype; received \(received.map(\.rawValue).joined(separator: ", "))"
        case let .unsupportedDType(op, dtype):
            return "\(op): dtype \(dtype) is not supported"
        case let .invalidArgument(op, message):
            return "\(op): \(message)"
        case let .unsupported(op, message):
            return "\(op): \(message)"
        }
    }
}
