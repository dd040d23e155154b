/// Where in an HDF5 file something went wrong: the file, and when known the object path and the
/// attribute name.
public struct HDF5Location: Sendable, Hashable, CustomStringConvertible {
    /// The file's path as given to ``HDF5File/init(url:maxReadBytes:readsInPlace:)``,
    /// ``HDF5File/init(image:url:maxReadBytes:)`` or ``HDF5FileWriter/init(creating:)``.
    public var file: String
    /// The object's absolute path inside the file (`/model_weights/dense`), if any.
    public var object: String?
    /// The attribute's name, if any.
    public var attribute: String?

    /// A location; the parameters are the properties of the same names.
    public init(file: String, object: String? = nil, attribute: String? = nil) {
        self.file = file
        self.object = object
        self.attribute = attribute
    }

    func attribute(_ name: String) -> HDF5Location {
        HDF5Location(file: file, object: object, attribute: name)
    }

    public var description: String {
        var text = "in \(file)"
        if let object { text += ", object '\(object)'" }
        if let attribute { text += ", attribute '\(attribute)'" }
        return text
    }
}

/// What went wrong reading or writing an HDF5 file. Every case echoes the offending value and says where
/// (``HDF5Location``); failures inside libhdf5 carry the message from its error stack.
public enum HDF5Error: Error, Sendable, Equatable, CustomStringConvertible {
    /// No file at the path.
    case fileNotFound(path: String)
    /// The file exists but has no HDF5 signature (`\x89HDF\r\n\x1a\n` at 0, 512, 1024, ...).
    case notHDF5(path: String, reason: String)
    /// libhdf5 refused to open the file: truncated, or a corrupt superblock.
    case cannotOpen(path: String, reason: String)
    /// No object at `path`; `reason` says which component is missing (or a dangling link).
    case objectNotFound(path: String, reason: String, at: HDF5Location)
    /// The object exists but is not the kind asked for (a group where a dataset was expected...).
    case wrongObjectKind(expected: String, found: String, at: HDF5Location)
    /// No attribute of that name; `available` lists the object's attributes.
    case attributeNotFound(name: String, available: [String], at: HDF5Location)
    /// The element type (or dataspace) cannot be read the way it was asked for.
    case unsupportedType(type: String, reading: String, at: HDF5Location)
    /// Reading would allocate more than the file's `maxReadBytes`.
    case tooLarge(shape: [UInt64], bytes: String, limit: Int, at: HDF5Location)
    /// The header claims more stored data than the file can hold (for compressed data: more than
    /// the file at deflate's maximum ratio): a corrupt file.
    case exceedsFile(shape: [UInt64], bytes: String, fileSize: UInt64, compressed: Bool, at: HDF5Location)
    /// The file's structure is inconsistent in a way libhdf5 would not survive (see `reason`).
    case corruptFile(reason: String, at: HDF5Location)
    /// A string's bytes are not valid UTF-8 (shown as hex, at most 32 bytes).
    case invalidString(hex: String, at: HDF5Location)
    /// An integer does not fit in `Int64` (an unsigned 64-bit value above `Int64.max`).
    case outOfRange(value: String, at: HDF5Location)
    /// A libhdf5 call failed; `message` is from its error stack.
    case library(call: String, message: String, at: HDF5Location)
    /// The file cannot be created (missing directory, a directory at the path, no permission...).
    case cannotCreate(path: String, reason: String)
    /// A write was refused before libhdf5 saw it: an array whose element count does not match its
    /// shape, an object that already exists, a bad path, a closed writer.
    case invalidWrite(reason: String, at: HDF5Location)

    public var description: String {
        switch self {
        case let .fileNotFound(path):
            return "HDF5: no file at '\(path)'"
        case let .notHDF5(path, reason):
            return "HDF5: '\(path)' is not an HDF5 file (\(reason))"
        case let .cannotOpen(path, reason):
            return "HDF5: cannot open '\(path)': \(reason)"
        case let .objectNotFound(path, reason, at):
            return "HDF5: no object '\(path)' \(at): \(reason)"
        case let .wrongObjectKind(expected, found, at):
            return "HDF5: expected a \(expected), found a \(found) \(at)"
        case let .attributeNotFound(name, available, at):
            let list = available.isEmpty ? "none" : available.map { "'\($0)'" }.joined(separator: ", ")
            return "HDF5: no attribute '\(name)' \(at); attributes: \(list)"
        case let .unsupportedType(type, reading, at):
            return "HDF5: cannot read \(type) \(reading) \(at)"
        case let .tooLarge(shape, bytes, limit, at):
            return "HDF5: shape \(shape) needs \(bytes) bytes, over the limit of \(limit) bytes \(at)"
        case let .exceedsFile(shape, bytes, fileSize, compressed, at):
            let ratio = compressed ? ", too many even when compressed at \(DataSource.maxCompressionRatio):1" : ""
            return "HDF5: shape \(shape) claims \(bytes) bytes of data but the file has \(fileSize) bytes\(ratio)"
                + " (corrupt header?) \(at)"
        case let .corruptFile(reason, at):
            return "HDF5: corrupt file: \(reason) \(at)"
        case let .invalidString(hex, at):
            return "HDF5: string is not valid UTF-8 (bytes \(hex)) \(at)"
        case let .outOfRange(value, at):
            return "HDF5: integer \(value) does not fit in Int64 \(at)"
        case let .library(call, message, at):
            return "HDF5: \(call) failed \(at): \(message)"
        case let .cannotCreate(path, reason):
            return "HDF5: cannot create '\(path)': \(reason)"
        case let .invalidWrite(reason, at):
            return "HDF5: cannot write \(at): \(reason)"
        }
    }
}
