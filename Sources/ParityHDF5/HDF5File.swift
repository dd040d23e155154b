import CHDF5
import Foundation
import ParityTensor

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
///
/// Weights read in place: a float32 or float64 dataset stored contiguously, unfiltered and
/// little-endian (what h5py writes for Keras) becomes a `Tensor` reading the file's mapping
/// (``HDF5Dataset/readTensor()``), so loading costs about the metadata's reads whatever the size
/// of the weights. The file is mapped once, when it is opened (a `mmap` call; pages are read when used).
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
    /// Whether contiguous float datasets become tensors reading the file's bytes in place.
    let readsInPlace: Bool
    /// The bytes of a file opened with ``init(image:url:maxReadBytes:)``, which libhdf5 reads in place.
    private let image: ImageBytes?
    private let heapCheck = HeapCheckResult()
    private let mapped = MappingCache()

    /// libhdf5's version (`H5get_libversion`), e.g. `1.10.8`.
    public static var libraryVersion: String {
        let (major, minor, release) = HDF5Library.version()
        return "\(major).\(minor).\(release)"
    }

    /// Whether libhdf5 was built thread-safe (`H5is_library_threadsafe`; Debian's is). Parity
    /// serialises all calls under one lock either way.
    public static var libraryIsThreadSafe: Bool { HDF5Library.isThreadSafe() }

    /// Opens the file at `url` read-only (`H5Fopen` with `H5F_ACC_RDONLY`). With `readsInPlace` false,
    /// every dataset is copied through libhdf5 and the file is never mapped (for a temporary file removed
    /// after reading).
    ///
    /// - Throws: ``HDF5Error/fileNotFound(path:)``, ``HDF5Error/notHDF5(path:reason:)`` when the
    ///   file has no HDF5 signature, ``HDF5Error/cannotOpen(path:reason:)`` when libhdf5 refuses it
    ///   (a truncated or corrupt file; the reason is libhdf5's message).
    public init(url: URL, maxReadBytes: Int = HDF5File.defaultMaxReadBytes, readsInPlace: Bool = true) throws(HDF5Error) {
        let path = url.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw .fileNotFound(path: path)
        }
        guard !isDirectory.boolValue else { throw .notHDF5(path: path, reason: "it is a directory") }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw .cannotOpen(path: path, reason: "the file cannot be read")
        }
        defer { try? handle.close() }
        guard let end = try? handle.seekToEnd() else { throw .cannotOpen(path: path, reason: "the file cannot be read") }
        try Self.checkSignature(path, size: end) { offset in
            guard (try? handle.seek(toOffset: offset)) != nil, let bytes = try? handle.read(upToCount: 8) else { return nil }
            return Array(bytes)
        }
        (id, size) = try HDF5Library.run { () throws(HDF5Error) in try Self.open(path, access: chdf5_p_default()) }
        self.url = url
        self.maxReadBytes = maxReadBytes
        self.readsInPlace = readsInPlace
        image = nil
        if readsInPlace {
            // Mapped now, not on the first read, so that it is the file libhdf5 opened even if the path is
            // replaced later (a mapping of another size is not used).
            let mapping = FileMapping(path: path)
            mapped.value = .some(mapping?.bytes.count == Int(exactly: size) ? mapping : nil)
        }
    }

    /// Opens the HDF5 file whose bytes are `image` (a file inside an archive, such as a `.keras` zip's
    /// `model.weights.h5`), read-only. When `image` lies in a live ``FileMapping`` (a stored zip entry
    /// read through the mapping, `ZipContainer.contents(of:)`), libhdf5 reads it there and tensors read
    /// datasets in place from the mapping; other bytes are copied once. libhdf5 reads nothing outside
    /// the image. `url` names the image in messages (the archive's path and the entry's name); nothing is
    /// read from it.
    ///
    /// - Throws: ``HDF5Error/notHDF5(path:reason:)`` when the bytes have no HDF5 signature,
    ///   ``HDF5Error/cannotOpen(path:reason:)`` when libhdf5 refuses them.
    public init(image: Data, url: URL, maxReadBytes: Int = HDF5File.defaultMaxReadBytes) throws(HDF5Error) {
        let path = url.path
        let bytes = ImageBytes(image)
        try Self.checkSignature(path, size: UInt64(bytes.region.count)) { offset in
            let start = Int(offset)
            return start + 8 <= bytes.region.count ? Array(bytes.region[start..<(start + 8)]) : nil
        }
        (id, size) = try HDF5Library.run { () throws(HDF5Error) in
            let access = try Handle(H5Pcreate(chdf5_p_file_access()), .propertyList, call: "H5Pcreate", at: HDF5Location(file: path))
            try check(chdf5_set_image_in_place(access.id, bytes.region.baseAddress, bytes.region.count),
                      "H5Pset_file_image", at: HDF5Location(file: path))
            // libhdf5 needs a name for an image that no file has (it refuses the name of an existing file)
            // and that no other open image has (it takes an open file of the same name for this one).
            Self.images += 1
            let name = "/dev/null/parity-hdf5-image-\(Self.images)"
            do throws(HDF5Error) {
                return try Self.open(name, access: access.id)  // `access` is closed after a failure's stack is read
            } catch {
                guard case .cannotOpen(_, let reason) = error else { throw error }
                throw .cannotOpen(path: path, reason: reason.replacingOccurrences(of: name, with: path))
            }
        }
        self.url = url
        self.maxReadBytes = maxReadBytes
        readsInPlace = true
        self.image = bytes
    }

    /// How many images were opened; read and written under the library lock.
    nonisolated(unsafe) private static var images = 0

    /// Opens the file read-only with the file access property list `access`, and reads its size. Call with
    /// the lock held.
    private static func open(_ path: String, access: hid_t) throws(HDF5Error) -> (hid_t, UInt64) {
        let id = H5Fopen(path, chdf5_acc_rdonly(), access)
        guard id >= 0 else {
            throw .cannotOpen(path: path, reason: HDF5Library.errorStack() ?? "H5Fopen returned an error")
        }
        var size: hsize_t = 0
        guard H5Fget_filesize(id, &size) >= 0 else {
            let error = HDF5Library.failure("H5Fget_filesize", HDF5Location(file: path))
            H5Fclose(id)
            throw error
        }
        return (id, UInt64(size))
    }

    deinit {
        let id = id
        _ = HDF5Library.locked { H5Fclose(id) }
    }

    /// The HDF5 signature is at offset 0, or 512, 1024, 2048, ... after a user block; `read` gives the
    /// 8 bytes at an offset.
    private static func checkSignature(_ path: String, size end: UInt64, read: (UInt64) -> [UInt8]?) throws(HDF5Error) {
        let signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]
        var offset: UInt64 = 0
        while offset + 8 <= end {
            guard let bytes = read(offset) else { break }
            if bytes == signature { return }
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
        let result = bytes.map { GlobalHeapCheck.problem(in: $0.region) } ?? "the file cannot be read"
        heapCheck.value = .some(result)
        return result
    }

    /// The file's bytes, where libhdf5's addresses (`H5Dget_offset`) point: the image, or the file mapped
    /// (at open, or on first use with `readsInPlace` false; `nil` when it cannot be mapped). Call with
    /// the lock held.
    var bytes: (mapping: FileMapping?, region: UnsafeRawBufferPointer)? {
        if let image { return (image.mapping, image.region) }
        if let cached = mapped.value { return cached.map { ($0, $0.bytes) } }
        let mapping = FileMapping(path: url.path)
        mapped.value = .some(mapping)
        return mapping.map { ($0, $0.bytes) }
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

/// The mapping of a file opened by path; read and written under the library lock.
private final class MappingCache: @unchecked Sendable {
    var value: FileMapping??
}

/// An image's bytes at a stable address for as long as libhdf5 may read them: in place when they lie in a
/// live ``FileMapping`` (kept alive here), else a copy owned here.
private final class ImageBytes: @unchecked Sendable {
    let mapping: FileMapping?
    let region: UnsafeRawBufferPointer
    private let copy: UnsafeMutableRawBufferPointer?

    init(_ data: Data) {
        let found = data.withUnsafeBytes { bytes in FileMapping.containing(bytes).map { ($0, bytes) } }
        if let (mapping, bytes) = found {
            self.mapping = mapping
            region = bytes  // the mapping's own memory, valid while `mapping` is held
            copy = nil
        } else {
            let owned = UnsafeMutableRawBufferPointer.allocate(byteCount: max(data.count, 1), alignment: 16)
            data.withUnsafeBytes { if let base = $0.baseAddress { owned.baseAddress!.copyMemory(from: base, byteCount: $0.count) } }
            mapping = nil
            region = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(owned)[0..<data.count])
            copy = owned
        }
    }

    deinit { copy?.deallocate() }
}
