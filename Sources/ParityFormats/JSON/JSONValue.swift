/// A JSON value as Parity reads and writes it: Keras configs (`config.json`, the legacy `model_config`
/// attribute), torch.export programs (`models/*.json`), safetensors headers, fixture files.
///
/// Integers and other numbers stay apart (``int(_:)`` for a number written without fraction or
/// exponent that fits an `Int`, ``double(_:)`` otherwise): torch writes slice ends as
/// `9223372036854775807`, which a `Double` cannot hold, and Keras writes `1.0` where it means a float.
/// Objects keep their members in file order (``JSONObject``), so a Keras config is written back in the
/// order Keras wrote it. ``parse(_:)-(Data)`` reads JSON text under one set of rules for hostile input
/// (``JSONReader``); ``pythonText`` and ``compactText`` write it (``JSONWriter``).
public enum JSONValue: Sendable, Equatable, CustomStringConvertible {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number written without fraction or exponent that fits an `Int` (`3`, `-0`, `9223372036854775807`).
    case int(Int)
    /// Any other number (`3.0`, `1e-05`, `99999999999999999999`), and Python's `NaN`, `Infinity`, `-Infinity`.
    case double(Double)
    /// A string.
    case string(String)
    /// An array.
    case array([JSONValue])
    /// An object, its members in order.
    case object(JSONObject)

    /// The member `key` of an object; `nil` for a missing key or a value that is not an object.
    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    /// Any number as a `Double` (an integer beyond 2^53 rounds to the nearest double). Strings are not
    /// numbers here: torch's `"Infinity"` / `"NaN"` spellings are read where torch's schema is read.
    public var double: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }

    /// An integer, or a float with an integral value that an `Int` holds exactly (`3.0` → 3), else `nil`.
    public var int: Int? {
        switch self {
        case .int(let i): return i
        case .double(let d): return Int(exactly: d)
        default: return nil
        }
    }

    /// An array of integers (each as ``int``), `nil` when any item is not one.
    public var ints: [Int]? { items(\.int) }

    /// An array of numbers (each as ``double``), `nil` when any item is not one.
    public var doubles: [Double]? { items(\.double) }

    /// Each item of an array read by `read`, `nil` when this is not an array or an item does not read.
    private func items<T>(_ read: (JSONValue) -> T?) -> [T]? {
        guard let a = array else { return nil }
        var values: [T] = []
        values.reserveCapacity(a.count)
        for item in a {
            guard let value = read(item) else { return nil }
            values.append(value)
        }
        return values
    }

    /// The string, when the value is one.
    public var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The boolean, when the value is one.
    public var bool: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// The elements, when the value is an array.
    public var array: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// The object, when the value is one.
    public var object: JSONObject? {
        if case .object(let o) = self { return o }
        return nil
    }

    /// Whether the value is `null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// What the value is, for error messages: `the number 3`, `the string "x"`, `an array`.
    public var kind: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return "the boolean \(b)"
        case .int, .double: return "the number \(pythonText)"
        case .string(let s): return "the string \"\(s)\""
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    /// Structural equality; `NaN` equals `NaN` (the same text), `1` does not equal `1.0`.
    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.int(x), .int(y)): return x == y
        case let (.double(x), .double(y)): return x == y || (x.isNaN && y.isNaN)
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)): return x == y
        default: return false
        }
    }

    /// The value as Python's `json.dumps` writes it (``pythonText``).
    public var description: String { pythonText }

    /// An array of integers.
    public static func ints(_ values: [Int]) -> JSONValue { .array(values.map(JSONValue.int)) }
}

/// A JSON object: members in the order they were read or added, each key once. Reading a member is a
/// hash lookup; iteration goes in order. Two objects are equal when they have the same members in any
/// order (as Python compares dicts).
public struct JSONObject: Sendable, Equatable, Sequence, ExpressibleByDictionaryLiteral {
    /// The keys, in order.
    public private(set) var keys: [String] = []
    private var members: [String: JSONValue] = [:]

    /// An empty object.
    public init() {}

    /// Members in the literal's order; a repeated key keeps its first place and its last value.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        for (key, value) in elements { self[key] = value }
    }

    /// Members in `pairs`' order; a repeated key keeps its first place and its last value.
    public init<S: Sequence>(_ pairs: S) where S.Element == (String, JSONValue) {
        for (key, value) in pairs { self[key] = value }
    }

    /// A dictionary's members with the keys sorted (a Swift dictionary has no order to keep).
    public init(_ dictionary: [String: JSONValue]) {
        keys = dictionary.keys.sorted()
        members = dictionary
    }

    /// The member `key`; setting `nil` removes it, setting a new key appends it.
    public subscript(key: String) -> JSONValue? {
        get { members[key] }
        set {
            switch (members[key] != nil, newValue) {
            case (true, nil): keys.removeAll { $0 == key }
            case (false, .some): keys.append(key)
            default: break
            }
            members[key] = newValue
        }
    }

    /// Adds `value` under `key` when the key is new; returns `false` (and changes nothing) when it is not.
    mutating func insertNew(_ key: String, _ value: JSONValue) -> Bool {
        guard members.updateValue(value, forKey: key) == nil else { return false }
        keys.append(key)
        return true
    }

    /// These members with `other`'s added; `combine` picks the value of a key in both (a dictionary's `merging`).
    public func merging(_ other: JSONObject, uniquingKeysWith combine: (JSONValue, JSONValue) throws -> JSONValue) rethrows -> JSONObject {
        var result = self
        for (key, value) in other { result[key] = try result[key].map { try combine($0, value) } ?? value }
        return result
    }

    /// The first member, as a dictionary's `first`.
    public var first: (key: String, value: JSONValue)? { keys.first.map { ($0, members[$0]!) } }
    /// The number of members.
    public var count: Int { keys.count }
    /// Whether there are no members.
    public var isEmpty: Bool { keys.isEmpty }
    /// The members' values, in order.
    public var values: [JSONValue] { keys.map { members[$0]! } }

    public func makeIterator() -> AnyIterator<(key: String, value: JSONValue)> {
        var index = 0
        return AnyIterator {
            guard index < keys.count else { return nil }
            defer { index += 1 }
            return (keys[index], members[keys[index]]!)
        }
    }

    public static func == (a: JSONObject, b: JSONObject) -> Bool { a.members == b.members }
}
