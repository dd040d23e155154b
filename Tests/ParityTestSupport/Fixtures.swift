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

    /// A tensor from `{"shape": [...], "values": [...], "dtype": ...}`: int64, int32 and bool (values 0/1)
    /// in their dtype, float16 and bfloat16 rounded to theirs, other floats as float64 (when the dtype is
    /// missing too) converted to `dtype` when given. Non-finite values are the strings "NaN",
    /// "Infinity", "-Infinity".
    public static func tensor(_ value: JSONValue?, as dtype: DType? = nil) throws -> Tensor {
        guard let value, let shape = value["shape"]?.ints, let values = value["values"]?.array else {
            throw FixtureError.malformed("tensor")
        }
        switch value["dtype"]?.string {
        case "int64": return Tensor(shape: shape, int64: values.map { $0.int.map(Int64.init) ?? Int64($0.double ?? 0) })
        case "int32": return Tensor(shape: shape, int64: values.map { Int64($0.double ?? 0) }).cast(to: .int32)
        case "bool": return Tensor(shape: shape, bools: values.map { ($0.double ?? 0) != 0 })
        case "float16": return Tensor(shape: shape, values: values.map { number($0) ?? .nan }).cast(to: .float16)
        case "bfloat16": return Tensor(shape: shape, values: values.map { number($0) ?? .nan }).cast(to: .bfloat16)
        case "complex64", "complex128":
            // (real, imaginary) pairs, as torch.view_as_real lays them out
            let pairs = try Tensor(shape: shape + [2], values: values.map { number($0) ?? .nan }).complexFromPairs()
            return value["dtype"]?.string == "complex64" ? pairs.cast(to: .complex64) : pairs
        default:
            let tensor = Tensor(shape: shape, values: values.map { number($0) ?? .nan })
            return dtype.map { tensor.cast(to: $0) } ?? tensor
        }
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
