import Foundation

/// A named array, in file order.
public typealias NamedArray = (name: String, record: ArrayRecord)

/// A NumPy `.npz` archive: a zip of `<name>.npy` members, as `numpy.savez` (stored) and
/// `numpy.savez_compressed` (deflated) write it and `numpy.load` reads it (`numpy/lib/_npyio_impl.py`).
///
/// Arrays come back in member order, keyed by the member name without `.npy` (`arr_0`, ... for
/// positional arrays). A member that is not an `.npy` file, or a name given twice, is an error.
public enum NumpyArchive {
    /// The arrays of the `.npz` file at `url`, in archive order, named without `.npy`.
    public static func read(contentsOf url: URL) throws -> [NamedArray] {
        try read(readFile(url), source: url.path)
    }

    /// The arrays of an `.npz` image; `source` names it in errors.
    public static func read(_ data: Data, source: String = "<memory>") throws -> [NamedArray] {
        let zip = try ZipContainer(data: data, file: source)
        var arrays: [NamedArray] = []
        var seen: Set<String> = []
        for member in zip.members where !member.isDirectory {
            guard member.name.hasSuffix(".npy") else {
                throw FormatError.malformedHeader(file: source, offset: member.dataOffset,
                                                  reason: "member '\(member.name)' is not an .npy array")
            }
            let name = String(member.name.dropLast(4))
            guard seen.insert(name).inserted else { throw FormatError.duplicateKey(file: source, key: name) }
            let bytes = try zip.contents(of: member)
            arrays.append((name, try NumpyArray.read(bytes, source: "\(source):\(member.name)", key: name)))
        }
        return arrays
    }

    /// The arrays keyed by name (for callers that do not need the order).
    public static func dictionary(contentsOf url: URL) throws -> [String: ArrayRecord] {
        Dictionary(try read(contentsOf: url).map { ($0.name, $0.record) }, uniquingKeysWith: { first, _ in first })
    }

    /// The `.npz` bytes for `arrays`: one `<name>.npy` member each, in order, stored or deflated.
    public static func encode(_ arrays: [NamedArray], compressed: Bool = false) throws -> Data {
        var seen: Set<String> = []
        var entries: [(path: String, data: Data)] = []
        for (name, record) in arrays {
            guard seen.insert(name).inserted else { throw FormatError.duplicateKey(file: "<npz writer>", key: name) }
            entries.append(("\(name).npy", try NumpyArray.encode(record, key: name)))
        }
        return try ZipContainer.archive(entries, compressed: compressed)
    }

    /// Writes ``encode(_:compressed:)``'s bytes to `url` (`numpy.savez`, or `numpy.savez_compressed` when `compressed`).
    public static func write(_ arrays: [NamedArray], to url: URL, compressed: Bool = false) throws {
        try writeFile(encode(arrays, compressed: compressed), to: url)
    }
}
