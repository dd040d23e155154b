import Foundation

/// One NumPy `.npy` array, read and written as `numpy.save` / `numpy.load` do
/// (`numpy/lib/_format_impl.py`).
///
/// Layout: `\x93NUMPY`, major and minor version, the header length (u16 little-endian in version
/// 1.0, u32 in 2.0 and 3.0), then the header: a Python dict literal
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }` (latin-1 in 1.0/2.0, UTF-8 in
/// 3.0), space-padded and ending in `\n` so the data starts on a multiple of 64. The header is read
/// by a small strict parser of exactly that literal subset (never evaluated), with NumPy's checks:
/// the keys must be exactly `descr`, `fortran_order`, `shape`, and a header longer than 10,000
/// characters is refused (`_MAX_HEADER_SIZE`). Data is raw; big-endian and Fortran-order data are
/// converted to little-endian row-major. Bytes after the data are ignored, as NumPy does.
///
/// The writer produces the bytes `numpy.save` would: version 1.0 (2.0 when the header needs it),
/// little-endian, C order, keys sorted, with NumPy's spare space for growing the first axis
/// (`GROWTH_AXIS_MAX_DIGITS`). bfloat16 has no NumPy dtype and is refused.
public enum NumpyArray {
    /// NumPy's `_MAX_HEADER_SIZE`: longer headers are refused as unsafe.
    public static let maxHeaderLength = 10_000

    /// The array in the `.npy` file at `url`.
    public static func read(contentsOf url: URL) throws -> ArrayRecord {
        try read(readFile(url), source: url.path)
    }

    /// Reads an `.npy` image; `source` names it in errors, `key` names the array (an `.npz` member).
    public static func read(_ data: Data, source: String = "<memory>", key: String = "array") throws -> ArrayRecord {
        let magic = try data.copyBytes(at: 0, count: Swift.min(8, data.count), file: source, what: "magic")
        guard magic.count == 8, magic[0..<6].elementsEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]) else {
            throw FormatError.badMagic(file: source, expected: "\"\\x93NUMPY\"", found: printable(magic))
        }
        let version = (magic[6], magic[7])
        let headerStart: Int
        let headerLength: Int
        switch version {
        case (1, 0):
            headerLength = Int(try data.littleEndian(UInt16.self, at: 8, file: source, what: "header length"))
            headerStart = 10
        case (2, 0), (3, 0):
            headerLength = Int(try data.littleEndian(UInt32.self, at: 8, file: source, what: "header length"))
            headerStart = 12
        default:
            throw FormatError.malformedHeader(file: source, offset: 6,
                                              reason: "unsupported format version \(version.0).\(version.1) (1.0, 2.0 and 3.0 are read)")
        }
        guard headerLength <= data.count - headerStart else {
            throw FormatError.truncated(file: source, what: "npy header", offset: headerStart, needed: headerLength,
                                        available: data.count - headerStart)
        }
        // At most 4 bytes per character: a longer header cannot pass numpy's limit, so it is not copied.
        guard headerLength <= 4 * maxHeaderLength else {
            throw FormatError.limitExceeded(file: source, what: "npy header length", value: "\(headerLength) bytes",
                                            limit: "\(maxHeaderLength) characters (numpy's max_header_size)")
        }
        let headerBytes = try data.copyBytes(at: headerStart, count: headerLength, file: source, what: "npy header")
        let header: String
        if version.0 == 3 {
            guard let text = strictUTF8(headerBytes) else {
                throw FormatError.malformedHeader(file: source, offset: headerStart, reason: "version 3.0 header is not valid UTF-8")
            }
            header = text
        } else {
            header = String(String.UnicodeScalarView(headerBytes.map { Unicode.Scalar($0) }))  // latin-1
        }
        guard header.unicodeScalars.count <= maxHeaderLength else {
            throw FormatError.limitExceeded(file: source, what: "npy header length", value: "\(header.unicodeScalars.count) characters",
                                            limit: "\(maxHeaderLength) (numpy's max_header_size)")
        }
        var parser = HeaderParser(text: header, base: headerStart, file: source)
        let fields = try parser.parse()
        let (elementType, bigEndian) = try elementType(descr: fields.descr, file: source, key: key)
        guard let count = Checked.product(fields.shape),
              let byteCount = Checked.multiply(count, elementType.byteCount) else {
            throw FormatError.limitExceeded(file: source, what: "array '\(key)' shape \(fields.shape)",
                                            value: "element count", limit: "Int.max bytes")
        }
        let dataStart = headerStart + headerLength
        let available = Swift.max(0, data.count - dataStart)
        guard byteCount <= available else {
            throw FormatError.truncated(file: source, what: "data of '\(key)' (\(fields.descr) \(fields.shape))",
                                        offset: dataStart, needed: byteCount, available: available)
        }
        var bytes = try data.checkedSlice(at: dataStart, count: byteCount, file: source, what: "array data")
        if fields.fortranOrder && fields.shape.count > 1 {
            var strides = [Int](repeating: 1, count: fields.shape.count)
            for axis in 1..<fields.shape.count { strides[axis] = strides[axis - 1] * fields.shape[axis - 1] }
            bytes = bytes.withUnsafeBytes {
                Layout.gather($0, elementSize: elementType.byteCount, shape: fields.shape, strides: strides, offset: 0)
            }
        }
        if bigEndian && elementType.byteCount > 1 {
            Layout.byteSwap(&bytes, elementSize: elementType.byteCount)
        }
        return ArrayRecord(unchecked: elementType, shape: fields.shape, bytes: bytes)
    }

    /// The `.npy` bytes `numpy.save` writes for `record`.
    public static func encode(_ record: ArrayRecord, key: String = "array") throws -> Data {
        let descr = try descr(for: record.elementType, key: key)
        let shape: String
        switch record.shape.count {
        case 0: shape = "()"
        case 1: shape = "(\(record.shape[0]),)"
        default: shape = "(" + record.shape.map(String.init).joined(separator: ", ") + ")"
        }
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shape), }"
        if let first = record.shape.first {
            header += String(repeating: " ", count: Swift.max(0, 21 - String(first).count))
        }
        let headerLength = header.utf8.count + 1
        var prefixSize = 10
        var padding = 64 - ((prefixSize + headerLength) % 64)
        var major: UInt8 = 1
        if headerLength + padding > Int(UInt16.max) {
            major = 2
            prefixSize = 12
            padding = 64 - ((prefixSize + headerLength) % 64)
        }
        var out = Data([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0])
        let total = headerLength + padding
        if major == 1 {
            out.append(contentsOf: [UInt8(total & 0xff), UInt8(total >> 8)])
        } else {
            out.append(contentsOf: (0..<4).map { UInt8((total >> (8 * $0)) & 0xff) })
        }
        out.append(contentsOf: Array(header.utf8))
        out.append(contentsOf: [UInt8](repeating: 0x20, count: padding))
        out.append(0x0a)
        out.append(record.bytes)
        return out
    }

    /// Writes ``encode(_:key:)``'s bytes to `url`.
    public static func write(_ record: ArrayRecord, to url: URL) throws {
        try writeFile(encode(record), to: url)
    }

    // MARK: dtype strings

    static func elementType(descr: String, file: String, key: String) throws -> (ElementType, bigEndian: Bool) {
        let scalars = Array(descr.unicodeScalars)
        guard scalars.count >= 3 else { throw FormatError.unsupportedDType(file: file, key: key, dtype: "'\(descr)'") }
        let order = scalars[0]
        let code = String(String.UnicodeScalarView(scalars[1...]))
        let type: ElementType
        switch code {
        case "b1": type = .bool
        case "u1": type = .uint8
        case "i1": type = .int8
        case "i2": type = .int16
        case "u2": type = .uint16
        case "i4": type = .int32
        case "u4": type = .uint32
        case "i8": type = .int64
        case "u8": type = .uint64
        case "f2": type = .float16
        case "f4": type = .float32
        case "f8": type = .float64
        case "c8": type = .complex64
        case "c16": type = .complex128
        default:
            let hint = code.hasPrefix("O") ? " (object arrays need pickle and are refused)" : ""
            throw FormatError.unsupportedDType(file: file, key: key, dtype: "'\(descr)'\(hint)")
        }
        switch order {
        case "<": return (type, false)
        case ">": return (type, true)
        case "|" where type.byteCount == 1: return (type, false)
        default: throw FormatError.unsupportedDType(file: file, key: key, dtype: "'\(descr)' (byte order '\(order)')")
        }
    }

    static func descr(for type: ElementType, key: String) throws -> String {
        switch type {
        case .bool: return "|b1"
        case .uint8: return "|u1"
        case .int8: return "|i1"
        case .int16: return "<i2"
        case .uint16: return "<u2"
        case .int32: return "<i4"
        case .uint32: return "<u4"
        case .int64: return "<i8"
        case .uint64: return "<u8"
        case .float16: return "<f2"
        case .float32: return "<f4"
        case .float64: return "<f8"
        case .complex64: return "<c8"
        case .complex128: return "<c16"
        case .bfloat16: throw FormatError.unrepresentable(key: key, reason: "NumPy has no bfloat16 dtype; convert to float32 first")
        }
    }
}

/// The header dict of an `.npy` file, parsed from the Python literal subset NumPy writes: string
/// keys, string / `True` / `False` / tuple-of-int values, optional trailing commas, whitespace.
private struct HeaderParser {
    struct Fields {
        var descr: String
        var fortranOrder: Bool
        var shape: [Int]
    }

    private enum Value {
        case string(String)
        case bool(Bool)
        case tuple([Int])
    }

    let scalars: [Unicode.Scalar]
    let base: Int
    let file: String
    var position = 0

    init(text: String, base: Int, file: String) {
        scalars = Array(text.unicodeScalars)
        self.base = base
        self.file = file
    }

    private func fail(_ reason: String) -> FormatError {
        .malformedHeader(file: file, offset: base + position, reason: reason)
    }

    private var current: Unicode.Scalar? { position < scalars.count ? scalars[position] : nil }

    private mutating func skipSpace() {
        while let c = current, c == " " || c == "\t" || c == "\n" || c == "\r" { position += 1 }
    }

    private mutating func expect(_ c: Unicode.Scalar, _ context: String) throws {
        skipSpace()
        guard current == c else {
            throw fail("expected '\(c)' \(context), found \(current.map { "'\($0)'" } ?? "end of header")")
        }
        position += 1
    }

    mutating func parse() throws -> Fields {
        try expect("{", "to open the header dict")
        var values: [String: Value] = [:]
        var order: [String] = []
        while true {
            skipSpace()
            if current == "}" { position += 1; break }
            let key = try string()
            try expect(":", "after key '\(key)'")
            let value = try self.value(for: key)
            guard values[key] == nil else { throw fail("duplicate key '\(key)'") }
            values[key] = value
            order.append(key)
            skipSpace()
            if current == "," { position += 1; continue }
            if current == "}" { position += 1; break }
            throw fail("expected ',' or '}' after the value of '\(key)', found \(current.map { "'\($0)'" } ?? "end of header (unterminated dict)")")
        }
        skipSpace()
        guard position == scalars.count else { throw fail("unexpected text after the header dict") }
        guard Set(order) == ["descr", "fortran_order", "shape"] else {
            let found = "[" + order.sorted().map { "'\($0)'" }.joined(separator: ", ") + "]"
            throw fail("header does not contain the correct keys: \(found) (expected ['descr', 'fortran_order', 'shape'])")
        }
        guard case .string(let descr)? = values["descr"] else { throw fail("descr is not a valid dtype descriptor (structured dtypes are not read)") }
        guard case .bool(let fortran)? = values["fortran_order"] else { throw fail("fortran_order is not a valid bool") }
        guard case .tuple(let shape)? = values["shape"] else { throw fail("shape is not valid: expected a tuple of ints") }
        return Fields(descr: descr, fortranOrder: fortran, shape: shape)
    }

    private mutating func string() throws -> String {
        skipSpace()
        guard let quote = current, quote == "'" || quote == "\"" else {
            throw fail("expected a quoted string, found \(current.map { "'\($0)'" } ?? "end of header")")
        }
        position += 1
        var out = String.UnicodeScalarView()
        while let c = current, c != quote {
            guard c != "\\", c != "\n" else { throw fail("escapes and newlines are not allowed in header strings") }
            out.append(c)
            position += 1
        }
        guard current == quote else { throw fail("unterminated string") }
        position += 1
        return String(out)
    }

    private mutating func value(for key: String) throws -> Value {
        skipSpace()
        switch current {
        case "'", "\"": return .string(try string())
        case "(": return .tuple(try tuple(for: key))
        default:
            for (word, value) in [("True", true), ("False", false)] {
                let letters = Array(word.unicodeScalars)
                if position + letters.count <= scalars.count, Array(scalars[position..<(position + letters.count)]) == letters {
                    position += letters.count
                    return .bool(value)
                }
            }
            throw fail("unsupported value for '\(key)' (only strings, True/False and tuples of ints are read)")
        }
    }

    private mutating func tuple(for key: String) throws -> [Int] {
        try expect("(", "to open a tuple")
        var items: [Int] = []
        var sawComma = false
        while true {
            skipSpace()
            if current == ")" { position += 1; break }
            items.append(try integer(for: key))
            skipSpace()
            if current == "," { position += 1; sawComma = true; continue }
            if current == ")" { position += 1; break }
            throw fail("expected ',' or ')' in the tuple of '\(key)'")
        }
        if items.count == 1 && !sawComma { throw fail("'(n)' is not a tuple: a one-element shape needs a trailing comma") }
        return items
    }

    private mutating func integer(for key: String) throws -> Int {
        let start = position
        var value = 0
        while let c = current, c.value >= 48, c.value <= 57 {
            guard let next = Checked.multiply(value, 10).flatMap({ Checked.add($0, Int(c.value - 48)) }) else {
                throw FormatError.limitExceeded(file: file, what: "dimension of '\(key)' at byte \(base + start)",
                                                value: "more than \(Int.max)", limit: "Int.max")
            }
            value = next
            position += 1
        }
        guard position > start else {
            throw fail("expected a non-negative integer in '\(key)', found \(current.map { "'\($0)'" } ?? "end of header")")
        }
        return value
    }
}
