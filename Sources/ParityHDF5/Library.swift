import CHDF5
import Foundation

/// The one lock around libhdf5, its setup, and turning its failures into ``HDF5Error``s.
///
/// A serial libhdf5 build is not thread-safe, so every call into it, including closing handles,
/// runs inside ``run(_:)`` or ``locked(_:)``. (Debian's `libhdf5-dev` 1.10.8 happens to be built
/// with `--enable-threadsafe`, which makes its error stacks per thread: hence the stderr printing
/// is switched off on every entry, not once.) The lock is recursive so that a handle released
/// inside a locked region (a nested call, a deinit) does not deadlock.
enum HDF5Library {
    private static let lock = NSRecursiveLock()

    /// Runs `body` holding the lock, with the library initialised and its stderr output silenced.
    static func run<T>(_ body: () throws(HDF5Error) -> T) throws(HDF5Error) -> T {
        lock.lock()
        defer { lock.unlock() }
        guard chdf5_silence_errors() >= 0 else {  // also initialises the library (H5open)
            throw .library(call: "H5Eset_auto2", message: errorStack() ?? "cannot initialise libhdf5",
                           at: HDF5Location(file: "-"))
        }
        return try body()
    }

    /// Runs `body` holding the lock, for code that cannot fail (closing handles).
    static func locked<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        _ = chdf5_silence_errors()
        return body()
    }

    /// libhdf5's error stack, then cleared: the API call's description, the next level's, and the
    /// innermost one (where the error was detected), e.g. `unable to open file: unable to read
    /// superblock: truncated file: eof = 96, ...`; `nil` when the stack is empty.
    static func errorStack() -> String? {
        var messages: [String] = []
        let walker: H5E_walk2_t = { _, error, data in
            guard let error, let data else { return 0 }
            let messages = data.assumingMemoryBound(to: [String].self)
            if let desc = error.pointee.desc {
                let text = String(cString: desc)
                if !text.isEmpty && messages.pointee.last != text { messages.pointee.append(text) }
            }
            return 0
        }
        _ = withUnsafeMutablePointer(to: &messages) { pointer in
            H5Ewalk2(chdf5_e_default(), H5E_WALK_DOWNWARD, walker, pointer)
        }
        H5Eclear2(chdf5_e_default())
        if messages.count > 3, let last = messages.last { messages = Array(messages.prefix(2)) + [last] }
        return messages.isEmpty ? nil : messages.joined(separator: ": ")
    }

    /// An ``HDF5Error/library(call:message:at:)`` for a call that just failed.
    static func failure(_ call: String, _ location: HDF5Location) -> HDF5Error {
        .library(call: call, message: errorStack() ?? "\(call) returned an error", at: location)
    }

    /// Whether this libhdf5 was built thread-safe (`H5is_library_threadsafe`).
    static func isThreadSafe() -> Bool {
        var safe: hbool_t = false
        _ = locked { H5is_library_threadsafe(&safe) }
        return safe
    }

    /// libhdf5's version, `(major, minor, release)`.
    static func version() -> (Int, Int, Int) {
        var major: UInt32 = 0, minor: UInt32 = 0, release: UInt32 = 0
        _ = locked { H5get_libversion(&major, &minor, &release) }
        return (Int(major), Int(minor), Int(release))
    }
}

/// An open libhdf5 identifier (`hid_t`) that is closed, with the matching `H5*close`, when it goes
/// out of scope. Noncopyable, so each identifier is closed exactly once.
struct Handle: ~Copyable {
    enum Kind { case file, group, dataset, attribute, datatype, dataspace, propertyList, object }

    let id: hid_t
    let kind: Kind

    /// Wraps `id`, or throws the error stack's message when `id` is negative (a failed call).
    init(_ id: hid_t, _ kind: Kind, call: String, at location: HDF5Location) throws(HDF5Error) {
        guard id >= 0 else { throw HDF5Library.failure(call, location) }
        self.id = id
        self.kind = kind
    }

    deinit {
        let (id, kind) = (id, kind)
        _ = HDF5Library.locked { () -> herr_t in
            switch kind {
            case .file: return H5Fclose(id)
            case .group: return H5Gclose(id)
            case .dataset: return H5Dclose(id)
            case .attribute: return H5Aclose(id)
            case .datatype: return H5Tclose(id)
            case .dataspace: return H5Sclose(id)
            case .propertyList: return H5Pclose(id)
            case .object: return H5Oclose(id)
            }
        }
    }
}

/// Throws the error stack's message when a status (`herr_t`, `htri_t`, a count) is negative.
@discardableResult
func check<T: BinaryInteger>(_ status: T, _ call: String, at location: HDF5Location) throws(HDF5Error) -> T {
    guard status >= 0 else { throw HDF5Library.failure(call, location) }
    return status
}
