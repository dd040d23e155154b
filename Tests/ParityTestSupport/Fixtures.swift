import Foundation
@_exported import ParityFormats
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

public enum FixtureError: Error, CustomStringConvertible {
    case malformed(String)
    public var description: String {
        switch self {
        case .malformed(let what): return "malformed fixture: \(what)"
        }
    }
}
