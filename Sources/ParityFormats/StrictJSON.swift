/// A JSON value that keeps object members in file order, for the safetensors header (Foundation's
/// parsers lose member order and accept duplicate keys silently).
indirect enum JSONNode {
    case null
    case bool(Bool)
    /// The number as written; ``unsignedInteger`` reads it when it is a plain non-negative integer.
    case number(String)
    case string(String)
    case array([JSONNode])
    case object([(key: String, value: JSONNode)])

    var kind: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number(let text): return "the number \(text)"
        case .string(let s): return "the string \"\(s)\""
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    /// The value as an `Int` when it is written as a non-negative integer without fraction or exponent.
    var unsignedInteger: Int? {
        guard case .number(let text) = self, !text.isEmpty, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        return Int(text)
    }
}

/// A strict RFC 8259 parser: UTF-8 input, no trailing commas or comments, string escapes checked
/// (lone surrogates refused, as serde_json does), nesting bounded by `maxDepth` (serde_json's 128),
/// duplicate object keys refused. Errors give the byte offset (`base` + position).
struct StrictJSON {
    let bytes: [UInt8]
    let base: Int
    let file: String
    let maxDepth: Int
    var position = 0

    init(_ bytes: [UInt8], base: Int, file: String, maxDepth: Int = 128) {
        self.bytes = bytes
        self.base = base
        self.file = file
        self.maxDepth = maxDepth
    }

    private func fail(_ reason: String) -> FormatError {
        .malformedHeader(file: file, offset: base + position, reason: "invalid JSON: \(reason)")
    }

    private var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    private mutating func skipSpace() {
        while let c = current, c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d { position += 1 }
    }

    /// Parses one value followed only by whitespace.
    mutating func parseDocument() throws -> JSONNode {
        let value = try parseValue(depth: 0)
        skipSpace()
        guard position == bytes.count else { throw fail("trailing characters after the value") }
        return value
    }

    private mutating func parseValue(depth: Int) throws -> JSONNode {
        skipSpace()
        guard let c = current else { throw fail("unexpected end of input") }
        switch c {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw fail("unexpected character \(printable([c]))")
        }
    }

    private mutating func literal(_ word: String) throws {
        let letters = Array(word.utf8)
        guard position + letters.count <= bytes.count, Array(bytes[position..<(position + letters.count)]) == letters else {
            throw fail("expected '\(word)'")
        }
        position += letters.count
    }

    private mutating func parseObject(depth: Int) throws -> JSONNode {
        guard depth <= maxDepth else { throw fail("nesting deeper than \(maxDepth)") }
        position += 1
        var members: [(key: String, value: JSONNode)] = []
        var keys: Set<String> = []
        skipSpace()
        if current == UInt8(ascii: "}") { position += 1; return .object(members) }
        while true {
            skipSpace()
            guard current == UInt8(ascii: "\"") else { throw fail("expected a string key") }
            let key = try parseString()
            guard keys.insert(key).inserted else { throw FormatError.duplicateKey(file: file, key: key) }
            skipSpace()
            guard current == UInt8(ascii: ":") else { throw fail("expected ':' after key \"\(key)\"") }
            position += 1
            members.append((key, try parseValue(depth: depth)))
            skipSpace()
            if current == UInt8(ascii: ",") { position += 1; continue }
            if current == UInt8(ascii: "}") { position += 1; return .object(members) }
            throw fail("expected ',' or '}' in an object")
        }
    }

    private mutating func parseArray(depth: Int) throws -> JSONNode {
        guard depth <= maxDepth else { throw fail("nesting deeper than \(maxDepth)") }
        position += 1
        var items: [JSONNode] = []
        skipSpace()
        if current == UInt8(ascii: "]") { position += 1; return .array(items) }
        while true {
            items.append(try parseValue(depth: depth))
            skipSpace()
            if current == UInt8(ascii: ",") { position += 1; continue }
            if current == UInt8(ascii: "]") { position += 1; return .array(items) }
            throw fail("expected ',' or ']' in an array")
        }
    }

    private mutating func parseNumber() throws -> String {
        let start = position
        func digits() -> Int {
            let from = position
            while let c = current, c >= 0x30, c <= 0x39 { position += 1 }
            return position - from
        }
        if current == UInt8(ascii: "-") { position += 1 }
        if current == UInt8(ascii: "0") {
            position += 1
        } else if digits() == 0 {
            throw fail("invalid number")
        }
        if current == UInt8(ascii: ".") {
            position += 1
            guard digits() > 0 else { throw fail("invalid number: digits expected after '.'") }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            position += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
            guard digits() > 0 else { throw fail("invalid number: digits expected in the exponent") }
        }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    private mutating func hex4() throws -> UInt32 {
        guard position + 4 <= bytes.count else { throw fail("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[position]
            let digit: UInt32
            switch c {
            case 0x30...0x39: digit = UInt32(c - 0x30)
            case 0x41...0x46: digit = UInt32(c - 0x41 + 10)
            case 0x61...0x66: digit = UInt32(c - 0x61 + 10)
            default: throw fail("invalid \\u escape")
            }
            value = value << 4 | digit
            position += 1
        }
        return value
    }

    private mutating func parseString() throws -> String {
        position += 1  // opening quote
        var out = [UInt8]()
        while true {
            guard let c = current else { throw fail("unterminated string") }
            position += 1
            switch c {
            case UInt8(ascii: "\""):
                guard let text = strictUTF8(out) else { throw fail("string is not valid UTF-8") }
                return text
            case UInt8(ascii: "\\"):
                guard let e = current else { throw fail("unterminated escape") }
                position += 1
                switch e {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5c)
                case UInt8(ascii: "/"): out.append(0x2f)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0c)
                case UInt8(ascii: "n"): out.append(0x0a)
                case UInt8(ascii: "r"): out.append(0x0d)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xd800...0xdbff).contains(scalar) {
                        guard current == UInt8(ascii: "\\"), position + 1 < bytes.count, bytes[position + 1] == UInt8(ascii: "u") else {
                            throw fail("lone surrogate in \\u escape")
                        }
                        position += 2
                        let low = try hex4()
                        guard (0xdc00...0xdfff).contains(low) else { throw fail("lone surrogate in \\u escape") }
                        scalar = 0x10000 + ((scalar - 0xd800) << 10) + (low - 0xdc00)
                    } else if (0xdc00...0xdfff).contains(scalar) {
                        throw fail("lone surrogate in \\u escape")
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { throw fail("invalid \\u escape") }
                    out.append(contentsOf: Array(String(Character(unicode)).utf8))
                default:
                    throw fail("invalid escape \\\(printable([e]))")
                }
            case 0x00..<0x20:
                throw fail("control character in string")
            default:
                out.append(c)
            }
        }
    }

    // MARK: Writing (serde_json's compact form)

    /// `text` as a JSON string, escaped as serde_json does (`"`, `\`, and control characters only).
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0c}": out += "\\f"
            default:
                if scalar.value < 0x20 {
                    out += "\\u" + String(scalar.value, radix: 16).leftPadded(to: 4)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
