import CHDF5
import Foundation

/// An HDF5 file opened read-only through the system libhdf5 (Keras `.h5` and `.weights.h5`).
///
/// ```swift
/// let file = try HDF5File(url: url)
/// let config = try file.attribute("model_config").string          // root attributes
/// let names = try file.group(at: "model_weights").attribute("layer_names").strings
/// let kernel = try file.dataset(at: "model_weights/dense/dense/kernel:0").readTensor()
/// ```
///
/// Groups and datasets are lightweight values (this file and a path); each call opens the object,
/// does its work under the library lock and closes every handle again, so values can be shared
/// across threads. The file stays open while any of them is alive.
///
/// Corrupt files: the signature is checked before libhdf5 sees the file; truncation is caught by
/// libhdf5's end-of-file check; every read checks its size against ``maxReadBytes`` and the file
/// size before allocating; global heap collections are checked before variable-length strings are
/// read (`GlobalHeapCheck`). libhdf5 1.10.8 itself can still crash on some corrupted object
/// headers and variable-length descriptors (found by fuzzing): do not open untrusted files in a
/// process that must not die.
public final class HDF5File: Sendable {
    /// The default ``maxReadBytes``: 4 GiB.
    public static let defaultMaxReadBytes = 1 << 32

    /// The file's location.
    public let url: URL
    /// The file's size in bytes (`H5Fget_filesize`).
    public let size: UInt64
    /// The most memory one read may allocate; a dataset or attribute needing more is refused with
    /// ``HDF5Error/tooLarge(shape:bytes:limit:at:)`` before anything is allocated.
    public let maxReadBytes: Int
    let id: hid_t
    private let heapCheck = HeapCheckResult()

    /// libhdf5's version (`H5get_libversion`), e.g. `1.10.8`.
    public static var libraryVersion: String {
        let (major, minor, release) = HDF5Library.version()
        return "\(major).\(minor).\(release)"
    }

    /// Whether libhdf5 was built thread-safe (`H5is_library_threadsafe`; Debian's is). Parity
    /// serialises all calls under one lock either way.
    public static var libraryIsThreadSafe: Bool { HDF5Library.isThreadSafe() }

    /// Opens the file at `url` read-only (`H5Fopen` with `H5F_ACC_RDONLY`).
    ///
    /// - Throws: ``HDF5Error/fileNotFound(path:)``, ``HDF5Error/notHDF5(path:reason:)`` when the
    ///   file has no HDF5 signature, ``HDF5Error/cannotOpen(path:reason:)`` when libhdf5 refuses it
    ///   (a truncated or corrupt file; the reason is libhdf5's message).
    public init(url: URL, maxReadBytes: Int = HDF5File.defaultMaxReadBytes) throws(HDF5Error) {
        let path = url.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw .fileNotFound(path: path)
        }
        guard !isDirectory.boolValue else { throw .notHDF5(path: path, reason: "it is a directory") }
        try Self.checkSignature(path)
        let (id, size) = try HDF5Library.run { () throws(HDF5Error) -> (hid_t, hsize_t) in
            let id = H5Fopen(path, chdf5_acc_rdonly(), chdf5_p_default())
            guard id >= 0 else {
                throw .cannotOpen(path: path, reason: HDF5Library.errorStack() ?? "H5Fopen returned an error")
            }
            var size: hsize_t = 0
            guard H5Fget_filesize(id, &size) >= 0 else {
                let error = HDF5Library.failure("H5Fget_filesize", HDF5Location(file: path))
                H5Fclose(id)
                throw error
            }
            return (id, size)
        }
        self.url = url
        self.id = id
        self.size = UInt64(size)
        self.maxReadBytes = maxReadBytes
    }

    deinit {
        let id = id
        _ = HDF5Library.locked { H5Fclose(id) }
    }

    /// The HDF5 signature is at offset 0, or 512, 1024, 2048, ... after a user block.
    private static func checkSignature(_ path: String) throws(HDF5Error) {
        let signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw .cannotOpen(path: path, reason: "the file cannot be read")
        }
        defer { try? handle.close() }
        guard let end = try? handle.seekToEnd() else { throw .cannotOpen(path: path, reason: "the file cannot be read") }
        var offset: UInt64 = 0
        while offset + 8 <= end {
            guard (try? handle.seek(toOffset: offset)) != nil, let bytes = try? handle.read(upToCount: 8) else { break }
            if Array(bytes) == signature { return }
            offset = offset == 0 ? 512 : offset * 2
        }
        throw .notHDF5(path: path, reason: end < 8 ? "the file is only \(end) bytes"
                       : "no HDF5 signature at offset 0 or at 512, 1024, 2048, ...")
    }

    var location: HDF5Location { HDF5Location(file: url.path) }

    /// What is wrong with the file's global heap, checked once before the first variable-length
    /// read (see ``GlobalHeapCheck``); `nil` when it is consistent. Call with the lock held.
    var globalHeapProblem: String? {
        if let result = heapCheck.value { return result }
        let result = GlobalHeapCheck.problem(in: url, fileSize: size)
        heapCheck.value = .some(result)
        return result
    }

    /// The root group, `/`.
    public var root: HDF5Group { HDF5Group(file: self, path: "/") }

    /// The group or dataset at `path` (absolute or relative to the root; components separated by
    /// `/`, names may contain `:`, spaces, ...). Soft links are followed.
    public func object(at path: String) throws(HDF5Error) -> HDF5Object { try root.object(at: path) }

    /// The group at `path`; throws ``HDF5Error/wrongObjectKind(expected:found:at:)`` for a dataset.
    public func group(at path: String) throws(HDF5Error) -> HDF5Group { try root.group(named: path) }

    /// The dataset at `path`; throws ``HDF5Error/wrongObjectKind(expected:found:at:)`` for a group.
    public func dataset(at path: String) throws(HDF5Error) -> HDF5Dataset { try root.dataset(named: path) }

    /// The names of the file's attributes (those of the root group).
    public var attributeNames: [String] { get throws(HDF5Error) { try root.attributeNames } }

    /// A file (root group) attribute.
    public func attribute(_ name: String) throws(HDF5Error) -> HDF5Value { try root.attribute(name) }

    /// The element type of a file (root group) attribute.
    public func attributeType(_ name: String) throws(HDF5Error) -> HDF5ElementType { try root.attributeType(name) }
}

/// A group or a dataset found by path.
public enum HDF5Object: Sendable {
    /// A group.
    case group(HDF5Group)
    /// A dataset.
    case dataset(HDF5Dataset)

    /// The object's absolute path.
    public var path: String {
        switch self {
        case .group(let group): return group.path
        case .dataset(let dataset): return dataset.path
        }
    }

    /// The group or dataset as a node (for its attributes).
    public var node: any HDF5Node {
        switch self {
        case .group(let group): return group
        case .dataset(let dataset): return dataset
        }
    }

    /// The group, when the object is one.
    public var group: HDF5Group? {
        if case .group(let group) = self { return group }
        return nil
    }

    /// The dataset, when the object is one.
    public var dataset: HDF5Dataset? {
        if case .dataset(let dataset) = self { return dataset }
        return nil
    }
}

/// The cached result of ``GlobalHeapCheck`` for one file; read and written under the library lock.
private final class HeapCheckResult: @unchecked Sendable {
    var value: String??
}
