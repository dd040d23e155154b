/// Why a model file could not be read or written. Every case names the file (its path, or the
/// `source` name given to an in-memory reader) and says where: a tensor key, an entry, or a byte
/// offset, and echoes the offending value.
///
/// Mirrors the errors of the reference readers (numpy's `ValueError("Header does not contain the
/// correct keys: ...")`, safetensors' `SafeTensorError::InvalidOffset(name)`, torch's
/// `UnpicklingError("Unsupported global: GLOBAL posix.system ...")`) as typed cases, so that tests and
/// callers can match on them.
public enum FormatError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file could not be opened, mapped or written.
    case io(file: String, reason: String)
    /// The file ends inside a structure: `needed` bytes of `what` at `offset`, `available` left.
    case truncated(file: String, what: String, offset: Int, needed: Int, available: Int)
    /// The file does not start with the signature of its format.
    case badMagic(file: String, expected: String, found: String)
    /// A header (npy dict, safetensors JSON, zip record) is malformed; `offset` is where parsing stopped.
    case malformedHeader(file: String, offset: Int, reason: String)
    /// An element type this reader does not handle (npy `descr`, safetensors `dtype`, torch storage).
    case unsupportedDType(file: String, key: String, dtype: String)
    /// A declared size, count, length or nesting depth exceeds a stated limit.
    case limitExceeded(file: String, what: String, value: String, limit: String)
    /// A tensor's byte range, shape, strides or offsets do not fit its data.
    case invalidTensor(file: String, key: String, reason: String)
    /// The same key (tensor name, zip entry, npz member) appears twice.
    case duplicateKey(file: String, key: String)
    /// A pickle names a global outside the allowlist. Nothing was imported or called.
    case forbiddenGlobal(file: String, global: String, offset: Int)
    /// A pickle is malformed, or uses an opcode or construct outside the restricted subset.
    case malformedPickle(file: String, offset: Int, reason: String)
    /// The zip container is malformed (directory, local header, compression, checksum).
    case malformedZip(file: String, offset: Int, reason: String)
    /// A record the format requires is missing (e.g. `archive/data.pkl`, `archive/data/3`).
    case missingEntry(file: String, entry: String)
    /// A value cannot be represented in the requested element type or file format.
    case unrepresentable(key: String, reason: String)

    public var description: String {
        switch self {
        case let .io(file, reason):
            return "\(file): \(reason)"
        case let .truncated(file, what, offset, needed, available):
            return "\(file): truncated \(what) at byte \(offset): needs \(needed) bytes, \(available) left"
        case let .badMagic(file, expected, found):
            return "\(file): not the expected format: expected \(expected), found \(found)"
        case let .malformedHeader(file, offset, reason):
            return "\(file): malformed header at byte \(offset): \(reason)"
        case let .unsupportedDType(file, key, dtype):
            return "\(file): tensor '\(key)': unsupported dtype \(dtype)"
        case let .limitExceeded(file, what, value, limit):
            return "\(file): \(what) \(value) exceeds the limit \(limit)"
        case let .invalidTensor(file, key, reason):
            return "\(file): tensor '\(key)': \(reason)"
        case let .duplicateKey(file, key):
            return "\(file): duplicate key '\(key)'"
        case let .forbiddenGlobal(file, global, offset):
            return "\(file): pickle at byte \(offset) references the global \(global), which is not allowed "
                + "(only tensor rebuild functions, storage classes, dtypes and OrderedDict are)"
        case let .malformedPickle(file, offset, reason):
            return "\(file): pickle at byte \(offset): \(reason)"
        case let .malformedZip(file, offset, reason):
            return "\(file): zip at byte \(offset): \(reason)"
        case let .missingEntry(file, entry):
            return "\(file): missing record '\(entry)'"
        case let .unrepresentable(key, reason):
            return "'\(key)': \(reason)"
        }
    }
}
