import Foundation

/// Why JSON text was refused, with the byte offset where reading stopped.
public enum JSONError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The text breaks RFC 8259 or one of ``JSONReader``'s rules.
    case syntax(offset: Int, reason: String)
    /// An object names `key` twice.
    case duplicateKey(offset: Int, key: String)
    /// Arrays and objects nest deeper than ``JSONReader/maxDepth``.
    case tooDeep(offset: Int, limit: Int)

    /// The byte offset where reading stopped.
    public var offset: Int {
        switch self {
        case .syntax(let offset, _), .duplicateKey(let offset, _), .tooDeep(let offset, _): return offset
        }
    }

    /// The problem without the offset.
    public var reason: String {
        switch self {
        case .syntax(_, let reason): return reason
        case .duplicateKey(_, let key): return "duplicate key \"\(key)\""
        case .tooDeep(_, let limit): return "arrays and objects nested deeper than \(limit)"
        }
    }

    public var description: String { "invalid JSON at byte \(offset): \(reason)" }
}

extension JSONValue {
    /// Parses one JSON document (``JSONReader``'s rules).
    public static func parse(_ data: Data) throws(JSONError) -> JSONValue { try parse([UInt8](data)) }

    /// Parses one JSON document (``JSONReader``'s rules).
    public static func parse(_ text: String) throws(JSONError) -> JSONValue { try parse(Array(text.utf8)) }

    /// Parses one JSON document (``JSONReader``'s rules).
    public static func parse(_ bytes: [UInt8]) throws(JSONError) -> JSONValue {
        var reader = JSONReader(bytes)
        return try reader.document()
    }
}

/// The one JSON reader: a direct byte parser (through `Decodable`, trying each kind in turn, a 100 kB
/// torch program parsed ~50× slower). Its rules for what files written elsewhere may hold, stated once:
///
/// - Grammar: RFC 8259; no comments, trailing commas, single quotes or leading `+`; one value, then
///   only whitespace. A byte-order mark is refused (as Python's `json.loads` refuses one).
/// - Python's `NaN`, `Infinity` and `-Infinity` are read as numbers: `json.dumps` writes them so by
///   default (Keras's `config.json`, torch's serializer), and Python reads them back.
/// - Numbers: without fraction or exponent and within `Int`, an ``JSONValue/int(_:)``; otherwise a
///   ``JSONValue/double(_:)``, correctly rounded (`1e400` is infinity, as Python reads it).
/// - Strings must be valid UTF-8 (no lossy decoding) without raw control characters; `\u` escapes must
///   pair surrogates (a lone surrogate is refused, as serde_json refuses one; Python would keep it, but
///   a Swift `String` cannot).
/// - An object naming a key twice is refused (Python keeps the last; no framework writes one).
/// - Arrays and objects nest at most ``maxDepth`` deep, so hostile input cannot exhaust the stack.
///
/// Every refusal is a ``JSONError`` with the byte offset; callers wrap it in their file's error.
public struct JSONReader {
    /// The deepest nesting read (a Keras model nested in a model stays far below; serde_json allows 128).
    public static let maxDepth = 256

    let bytes: [UInt8]
    var i = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func fail(_ reason: String) -> JSONError { .syntax(offset: i, reason: reason) }

    mutating func document() throws(JSONError) -> JSONValue {
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { throw fail("a byte-order mark before the value") }
        let value = try self.value(depth: 0)
        skipSpace()
        guard i == bytes.count else { throw fail("trailing characters after the value") }
        return value
    }

    private mutating func skipSpace() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
    }

    private mutating func literal(_ word: StaticString, _ value: JSONValue) throws(JSONError) -> JSONValue {
        let count = word.utf8CodeUnitCount
        guard i + count <= bytes.count else { throw fail("unexpected end of input") }
        for k in 0..<count where bytes[i + k] != word.utf8Start[k] { throw fail("invalid literal, expected '\(word)'") }
        i += count
        return value
    }

    private mutating func value(depth: Int) throws(JSONError) -> JSONValue {
        skipSpace()
        guard i < bytes.count else { throw fail("unexpected end of input") }
        switch bytes[i] {
        case UInt8(ascii: "{"): return try object(depth: depth + 1)
        case UInt8(ascii: "["): return try array(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .null)
        case UInt8(ascii: "N"): return try literal("NaN", .double(.nan))
        case UInt8(ascii: "I"): return try literal("Infinity", .double(.infinity))
        case UInt8(ascii: "-") where i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "I"):
            i += 1
            return try literal("Infinity", .double(-.infinity))
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw fail("unexpected character \(printable([bytes[i]]))")
        }
    }

    private mutating func object(depth: Int) throws(JSONError) -> JSONValue {
        guard depth <= Self.maxDepth else { throw .tooDeep(offset: i, limit: Self.maxDepth) }
        i += 1
        var object = JSONObject()
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(object) }
        while true {
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
            let keyOffset = i
            let key = try string()
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw fail("expected ':' after the key \"\(key)\"") }
            i += 1
            guard object.insertNew(key, try value(depth: depth)) else { throw .duplicateKey(offset: keyOffset, key: key) }
            skipSpace()
            guard i < bytes.count else { throw fail("unterminated object") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(object) }
            throw fail("expected ',' or '}' in an object")
        }
    }

    private mutating func array(depth: Int) throws(JSONError) -> JSONValue {
        guard depth <= Self.maxDepth else { throw .tooDeep(offset: i, limit: Self.maxDepth) }
        i += 1
        var items: [JSONValue] = []
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
        while true {
            items.append(try value(depth: depth))
            skipSpace()
            guard i < bytes.count else { throw fail("unterminated array") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
            throw fail("expected ',' or ']' in an array")
        }
    }

    private mutating func digits() -> Int {
        let start = i
        while i < bytes.count, bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "9") { i += 1 }
        return i - start
    }

    private mutating func number() throws(JSONError) -> JSONValue {
        let start = i
        let negative = bytes[i] == UInt8(ascii: "-")
        if negative { i += 1 }
        let integerStart = i
        let integerDigits = digits()
        guard integerDigits > 0 else { throw fail("invalid number: a digit expected") }
        guard !(integerDigits > 1 && bytes[integerStart] == UInt8(ascii: "0")) else { throw fail("invalid number: a leading zero") }
        var integral = true
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            integral = false
            i += 1
            guard digits() > 0 else { throw fail("invalid number: digits expected after '.'") }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            integral = false
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard digits() > 0 else { throw fail("invalid number: digits expected in the exponent") }
        }
        if integral, integerDigits <= 19 {
            // Accumulate negatively so that Int.min fits.
            var value = 0, overflow = false
            for k in integerStart..<i {
                let (m, o1) = value.multipliedReportingOverflow(by: 10)
                let (s, o2) = m.subtractingReportingOverflow(Int(bytes[k] - UInt8(ascii: "0")))
                value = s
                overflow = overflow || o1 || o2
            }
            if !overflow, negative { return .int(value) }
            if !overflow, value != .min { return .int(-value) }
        }
        let text = String(decoding: bytes[start..<i], as: UTF8.self)
        guard let d = Double(text) else { throw fail("invalid number \(text)") }
        return .double(d)
    }

    private mutating func hex4() throws(JSONError) -> UInt32 {
        guard i + 4 <= bytes.count else { throw fail("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[i]
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw fail("invalid \\u escape")
            }
            v = v << 4 | d
            i += 1
        }
        return v
    }

    private mutating func string() throws(JSONError) -> String {
        i += 1  // the opening quote
        let start = i
        // Fast path: no escapes.
        while i < bytes.count, bytes[i] != UInt8(ascii: "\""), bytes[i] != UInt8(ascii: "\\"), bytes[i] >= 0x20 { i += 1 }
        var out = Array(bytes[start..<i])
        while true {
            guard i < bytes.count else { throw fail("unterminated string") }
            let c = bytes[i]
            i += 1
            switch c {
            case UInt8(ascii: "\""):
                guard let text = strictUTF8(out) else { i = start; throw fail("a string that is not valid UTF-8") }
                return text
            case UInt8(ascii: "\\"):
                guard i < bytes.count else { throw fail("unterminated escape") }
                let e = bytes[i]
                i += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        guard i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
                            throw fail("a lone surrogate \\u\(String(scalar, radix: 16))")
                        }
                        i += 2
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw fail("a lone surrogate \\u\(String(scalar, radix: 16))") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00..<0xE000).contains(scalar) {
                        throw fail("a lone surrogate \\u\(String(scalar, radix: 16))")
                    }
                    // Every scalar left is valid (surrogates were paired or refused above).
                    out += Array(String(Character(Unicode.Scalar(scalar)!)).utf8)
                default: throw fail("invalid escape \\\(printable([e]))")
                }
            case 0..<0x20:
                throw fail("a control character in a string")
            default:
                out.append(c)
            }
        }
    }
}
