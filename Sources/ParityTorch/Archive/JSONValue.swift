import Foundation

/// A JSON value as torch's serializer writes it. Integers are kept apart from floats (slice ends
/// are `9223372036854775807`, which a `Double` cannot hold), and `"Infinity"`, `"-Infinity"`,
/// `"NaN"` strings (how `torch/_export/serde/serialize.py` spells non-finite floats) read as floats.
enum SerializedJSON: Decodable, Sendable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([SerializedJSON])
    case object([String: SerializedJSON])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int.self) { self = .int(i) }
        else if let d = try? c.decode(Double.self) { self = .double(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([SerializedJSON].self) { self = .array(a) }
        else { self = .object(try c.decode([String: SerializedJSON].self)) }
    }

    static func parse(_ data: Data) throws -> SerializedJSON { try JSONDecoder().decode(SerializedJSON.self, from: data) }

    subscript(key: String) -> SerializedJSON? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    var object: [String: SerializedJSON]? { if case .object(let o) = self { return o }; return nil }
    var array: [SerializedJSON]? { if case .array(let a) = self { return a }; return nil }
    var string: String? { if case .string(let s) = self { return s }; return nil }
    var bool: Bool? { if case .bool(let b) = self { return b }; return nil }
    var int: Int? {
        switch self {
        case .int(let i): return i
        case .double(let d): return Int(exactly: d)
        default: return nil
        }
    }
    var double: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        case .string("Infinity"): return .infinity
        case .string("-Infinity"): return -.infinity
        case .string("NaN"): return .nan
        default: return nil
        }
    }
    var isNull: Bool { if case .null = self { return true }; return false }
}
