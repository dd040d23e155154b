import Foundation
import ParityTensor

/// Where the committed fixtures live (`Tests/Fixtures/`), found from this file's path so tests run
/// from any working directory.
public enum Fixtures {
    public static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// A fixture JSON file. Read with `JSONDecoder`, whose number parsing round-trips every double
    /// exactly (Foundation's `JSONSerialization` on Linux does not, which would corrupt inputs).
    public static func json(_ path: String) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: root.appendingPathComponent(path)))
    }

    /// A tensor from `{"shape": [...], "values": [...], "dtype": "float64"|"int64"}` (float64 when the
    /// dtype is missing), converted to `dtype` when given.
    public static func tensor(_ value: JSONValue?, as dtype: DType? = nil) throws -> Tensor {
        guard let value, let shape = value["shape"]?.ints, let values = value["values"]?.array else {
            throw FixtureError.malformed("tensor")
        }
        if value["dtype"]?.string == "int64" {
            return Tensor(shape: shape, int64: values.map { Int64($0.double ?? 0) })
        }
        let tensor = Tensor(shape: shape, values: values.map { $0.double ?? .nan })
        return dtype.map { tensor.cast(to: $0) } ?? tensor
    }
}

/// Any JSON value, for fixtures whose records are heterogeneous.
public enum JSONValue: Codable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let b = try? container.decode(Bool.self) { self = .bool(b) }
        else if let d = try? container.decode(Double.self) { self = .number(d) }
        else if let s = try? container.decode(String.self) { self = .string(s) }
        else if let a = try? container.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let b): try container.encode(b)
        case .number(let d): try container.encode(d)
        case .string(let s): try container.encode(s)
        case .array(let a): try container.encode(a)
        case .object(let o): try container.encode(o)
        }
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    public var double: Double? {
        switch self {
        case .number(let d): return d
        case .string(let s): return Double(s)
        default: return nil
        }
    }

    public var int: Int? { double.map { Int($0) } }
    public var ints: [Int]? { array?.compactMap(\.int) }
    public var doubles: [Double]? { array?.map { $0.double ?? .nan } }

    public var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var bool: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    public var array: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }
}

public enum FixtureError: Error, CustomStringConvertible {
    case malformed(String)
    public var description: String {
        switch self {
        case .malformed(let what): return "malformed fixture: \(what)"
        }
    }
}
