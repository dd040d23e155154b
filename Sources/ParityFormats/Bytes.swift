import Foundation
import ParityTensor

/// A bounds-checked little-endian cursor over bytes copied out of a file (headers, pickles, zip
/// records). Every read checks the remaining length first and throws ``FormatError/truncated``, so no
/// file content can trap or over-read. `base` is the file offset of `bytes[0]`, for error messages.
struct ByteReader {
    let bytes: [UInt8]
    let base: Int
    let file: String
    var position = 0

    init(_ bytes: [UInt8], base: Int = 0, file: String) {
        self.bytes = bytes
        self.base = base
        self.file = file
    }

    /// The file offset of the next byte.
    var offset: Int { base + position }
    var remaining: Int { bytes.count - position }
    var isAtEnd: Bool { position >= bytes.count }

    func need(_ count: Int, _ what: String) throws {
        guard count >= 0, count <= remaining else {
            throw FormatError.truncated(file: file, what: what, offset: offset, needed: count, available: remaining)
        }
    }

    mutating func u8(_ what: String) throws -> UInt8 {
        try need(1, what)
        defer { position += 1 }
        return bytes[position]
    }

    mutating func le<T: FixedWidthInteger & UnsignedInteger>(_ type: T.Type, _ what: String) throws -> T {
        let size = MemoryLayout<T>.size
        try need(size, what)
        var value: T = 0
        for i in 0..<size { value |= T(bytes[position + i]) << (8 * i) }
        position += size
        return value
    }

    mutating func take(_ count: Int, _ what: String) throws -> ArraySlice<UInt8> {
        try need(count, what)
        defer { position += count }
        return bytes[position..<(position + count)]
    }

    /// The bytes up to (not including) the next `\n`, which is consumed.
    mutating func line(_ what: String, maxLength: Int) throws -> ArraySlice<UInt8> {
        let end = min(bytes.count, position + maxLength + 1)
        guard let newline = bytes[position..<end].firstIndex(of: 0x0a) else {
            if end - position > maxLength {
                throw FormatError.limitExceeded(file: file, what: "\(what) line at byte \(offset)",
                                                value: "> \(maxLength) bytes", limit: "\(maxLength) bytes")
            }
            throw FormatError.truncated(file: file, what: "\(what) (no newline)", offset: offset,
                                        needed: remaining + 1, available: remaining)
        }
        defer { position = newline + 1 }
        return bytes[position..<newline]
    }
}

extension Data {
    /// `count` bytes at `offset` (relative to the start of this data, slices included), copied; throws
    /// when the range is outside the data.
    func copyBytes(at offset: Int, count: Int, file: String, what: String) throws -> [UInt8] {
        guard offset >= 0, count >= 0, offset <= self.count, count <= self.count - offset else {
            throw FormatError.truncated(file: file, what: what, offset: offset, needed: count,
                                        available: Swift.max(0, self.count - Swift.max(0, offset)))
        }
        let start = startIndex + offset
        return [UInt8](self[start..<(start + count)])
    }

    /// `count` bytes at `offset` as a zero-copy slice (it keeps the parent's indices: read it with
    /// `withUnsafeBytes`); checked like ``copyBytes(at:count:file:what:)``.
    func checkedSlice(at offset: Int, count: Int, file: String, what: String) throws -> Data {
        guard offset >= 0, count >= 0, offset <= self.count, count <= self.count - offset else {
            throw FormatError.truncated(file: file, what: what, offset: offset, needed: count,
                                        available: Swift.max(0, self.count - Swift.max(0, offset)))
        }
        let start = startIndex + offset
        return self[start..<(start + count)]
    }

    func littleEndian<T: FixedWidthInteger & UnsignedInteger>(_ type: T.Type, at offset: Int, file: String,
                                                               what: String) throws -> T {
        let raw = try copyBytes(at: offset, count: MemoryLayout<T>.size, file: file, what: what)
        var value: T = 0
        for (i, byte) in raw.enumerated() { value |= T(byte) << (8 * i) }
        return value
    }
}

/// Reads a whole file, memory-mapped (``FileMapping``) when the platform allows, else read into
/// memory. Records sliced from a mapped file are views of the mapping, and ``ArrayRecord/toTensor()``
/// makes tensors that read them in place (``FileMapping/containing(_:)``), so tensor data is paged in
/// when used and never copied at load.
///
/// A mapped file must not be truncated by another process while records or tensors from it are alive.
func readFile(_ url: URL) throws -> Data {
    if let mapping = FileMapping(path: url.path) {
        guard let base = mapping.bytes.baseAddress else { return Data() }
        return Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: base), count: mapping.bytes.count,
                    deallocator: .custom { _, _ in withExtendedLifetime(mapping) {} })
    }
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
        throw FormatError.io(file: url.path, reason: "no such file")
    }
    if isDirectory.boolValue { throw FormatError.io(file: url.path, reason: "a directory, not a file") }
    do {
        return try Data(contentsOf: url)
    } catch {
        throw FormatError.io(file: url.path, reason: "cannot read: \(error.localizedDescription)")
    }
}

/// Writes `data` atomically to `url`.
func writeFile(_ data: Data, to url: URL) throws {
    do {
        try data.write(to: url, options: [.atomic])
    } catch {
        throw FormatError.io(file: url.path, reason: "cannot write: \(error.localizedDescription)")
    }
}

/// Checked arithmetic on counts read from files: `nil` on overflow or negative input.
enum Checked {
    static func product(_ values: [Int]) -> Int? {
        var result = 1
        for value in values {
            guard value >= 0 else { return nil }
            let (p, overflow) = result.multipliedReportingOverflow(by: value)
            if overflow { return nil }
            result = p
        }
        return result
    }

    static func multiply(_ a: Int, _ b: Int) -> Int? {
        let (p, overflow) = a.multipliedReportingOverflow(by: b)
        return overflow ? nil : p
    }

    static func add(_ a: Int, _ b: Int) -> Int? {
        let (s, overflow) = a.addingReportingOverflow(b)
        return overflow ? nil : s
    }
}

/// A short, printable rendering of bytes for error messages (`"\x93NUMPY"`).
func printable<S: Sequence>(_ bytes: S, limit: Int = 16) -> String where S.Element == UInt8 {
    var out = "\""
    var count = 0
    for byte in bytes {
        if count == limit { out += "…"; break }
        if byte >= 0x20 && byte < 0x7f && byte != 0x22 && byte != 0x5c {
            out.unicodeScalars.append(Unicode.Scalar(byte))
        } else {
            out += "\\x" + String(byte, radix: 16, uppercase: false).leftPadded(to: 2)
        }
        count += 1
    }
    return out + "\""
}

extension String {
    func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}

/// `bytes` as a String when they are valid UTF-8 (no overlong forms, surrogates or truncated
/// sequences), else `nil`. (`String(validating:as:)` needs macOS 15.)
func strictUTF8<C: Collection>(_ bytes: C) -> String? where C.Element == UInt8 {
    let text = String(decoding: bytes, as: UTF8.self)
    return text.utf8.elementsEqual(bytes) ? text : nil
}
