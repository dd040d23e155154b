import Foundation
@_exported import ParityFormats
import ParityTensor

/// Where the committed fixtures live (`Tests/Fixtures/`), found from this file's path so tests run
/// from any working directory.
public enum Fixtures {
    public static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// A fixture JSON file, read with Parity's reader (exact numbers; Foundation's `JSONSerialization`
    /// on Linux does not round-trip every double, which would corrupt inputs).
    public static func json(_ path: String) throws -> JSONValue {
        try JSONValue.parse(Data(contentsOf: root.appendingPathComponent(path)))
    }

    /// A fixture number: a JSON number, or `"nan"`, `"inf"`, `"-inf"` as the fixture scripts write
    /// non-finite values.
    public static func number(_ value: JSONValue) -> Double? {
        value.double ?? value.string.flatMap(Double.init)
    }

    /// A tensor from `{"shape": [...], "values": [...], "dtype": "float64"|"int64"}` (float64 when the
    /// dtype is missing), converted to `dtype` when given.
    public static func tensor(_ value: JSONValue?, as dtype: DType? = nil) throws -> Tensor {
        guard let value, let shape = value["shape"]?.ints, let values = value["values"]?.array else {
            throw FixtureError.malformed("tensor")
        }
        if value["dtype"]?.string == "int64" {
            return Tensor(shape: shape, int64: values.map { $0.int.map(Int64.init) ?? Int64($0.double ?? 0) })
        }
        let tensor = Tensor(shape: shape, values: values.map { number($0) ?? .nan })
        return dtype.map { tensor.cast(to: $0) } ?? tensor
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
