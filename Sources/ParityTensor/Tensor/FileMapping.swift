#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file mapped copy-on-write (`mmap` with `MAP_PRIVATE`: a write, which Parity never makes,
/// would change a private copy of the page, never the file), unmapped when the last
/// reference goes: tensors read in place from it (``Tensor/init(shape:dtype:mappedAt:in:)``) keep it
/// alive. Pages are read from the file when first touched, so mapping a large file costs about the
/// same whatever its size.
///
/// The file must not be truncated or rewritten in place while the mapping lives (reading a page past
/// a truncated end raises `SIGBUS`); replacing it by a rename, as Parity's writers do, is safe.
public final class FileMapping: @unchecked Sendable {
    /// The smallest float array the readers leave in a mapping (one page); a smaller one is copied at
    /// once, for less than its bookkeeping would cost.
    public static let inPlaceMinimumBytes = 4096

    /// The file's bytes.
    public let bytes: UnsafeRawBufferPointer

    /// Maps the file at `path`; `nil` when it cannot be opened or mapped (the caller then reads it
    /// another way and reports that way's errors). An empty file maps to an empty buffer.
    public init?(path: String) {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG, status.st_size >= 0 else { return nil }
        let size = Int(status.st_size)
        guard size > 0 else {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        let start = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, descriptor, 0)
        guard let start, start != MAP_FAILED else { return nil }
        bytes = UnsafeRawBufferPointer(start: start, count: size)
        Self.registry.add(self)
    }

    deinit {
        if let start = bytes.baseAddress {
            Self.registry.remove(self)
            munmap(UnsafeMutableRawPointer(mutating: start), bytes.count)
        }
    }

    /// The live mapping whose bytes hold all of `region`, if any. A reader that handed out views of a
    /// mapping as `Data` finds it again this way: a region inside a live mapping is that mapping's
    /// memory (not a copy), and stays valid while the returned reference is held.
    public static func containing(_ region: UnsafeRawBufferPointer) -> FileMapping? {
        registry.find(region)
    }

    // MARK: Registry

    private static let registry = Registry()

    /// The live mappings, by address; weakly held, so a mapping goes when its last user does. Nothing
    /// under the lock may release a strong reference (the last one would run `deinit`, which takes the
    /// lock again): `remove` matches addresses only, and `find` hands its strong reference to the caller.
    private final class Registry: @unchecked Sendable {
        private struct Entry { weak var mapping: FileMapping?; let start: UInt; let end: UInt }
        private var entries: [Entry] = []
        private let lock = Lock()

        func add(_ mapping: FileMapping) {
            let start = UInt(bitPattern: mapping.bytes.baseAddress)
            lock.run { entries.append(Entry(mapping: mapping, start: start, end: start + UInt(mapping.bytes.count))) }
        }

        func remove(_ mapping: FileMapping) {
            let start = UInt(bitPattern: mapping.bytes.baseAddress)
            lock.run { entries.removeAll { $0.start == start } }
        }

        func find(_ region: UnsafeRawBufferPointer) -> FileMapping? {
            guard let base = region.baseAddress else { return nil }
            let start = UInt(bitPattern: base), end = start + UInt(region.count)
            return lock.run { entries.first { $0.start <= start && end <= $0.end }?.mapping }
        }
    }
}

/// A pthread mutex at a stable address, for the registry and ``MappedElements`` (ParityTensor does
/// not import Foundation, and `Synchronization.Mutex` needs macOS 15).
private final class Lock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func run<R>(_ body: () throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}

/// The elements of a tensor read in place from a ``FileMapping``: `float32` or `float64`, aligned, in
/// the machine's (little-endian) byte order. The first use that needs a Swift array
/// (``Tensor/storage``) copies them once and keeps the copy; the kernels that take a pointer
/// (``Tensor/withUnsafeElements(as:_:)``) read the mapping itself.
final class MappedElements: @unchecked Sendable {
    let mapping: FileMapping
    let start: UnsafeRawPointer
    let dtype: DType
    let count: Int
    private let lock = Lock()
    private var copy: Tensor.Storage?

    init(mapping: FileMapping, start: UnsafeRawPointer, dtype: DType, count: Int) {
        self.mapping = mapping
        self.start = start
        self.dtype = dtype
        self.count = count
    }

    /// The elements as `T` in place (`nil` for the other precision).
    func buffer<T: FloatElement>(_: T.Type) -> UnsafeBufferPointer<T>? {
        guard T.dtype == dtype else { return nil }
        return UnsafeBufferPointer(start: start.assumingMemoryBound(to: T.self), count: count)
    }

    /// Whether the elements were copied into an array (``storage``).
    var isCopied: Bool { lock.run { copy != nil } }

    /// The elements as an array, copied from the mapping on first use.
    var storage: Tensor.Storage {
        lock.run {
            if let copy { return copy }
            func copied<T: FloatElement>(_: T.Type) -> Tensor.Storage? { buffer(T.self).map { T.storage(Array($0)) } }
            let made = copied(Float.self) ?? copied(Double.self)!
            copy = made
            return made
        }
    }
}
