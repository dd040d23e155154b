import ParityNN

/// Copies and dtype conversions of core ATen: `clone` (values are always dense, so a copy is the
/// value itself), `_to_copy(dtype:)` and `_assert_tensor_metadata` (a check torch.export inserts
/// before a `.to()`; it produces nothing here).
///
/// `_to_copy` to a floating dtype (float32, float64) computes in the run's float dtype; to int64 it
/// truncates toward zero (`Tensor.long()`); to bool it gives the 1/0 mask of `x ≠ 0` in the run's float
/// dtype (the importer's representation of a bool). Narrower integers (which wrap) and float16 /
/// bfloat16 (which round) are refused rather than computed differently.
enum ConversionOps: ATenFamily {
    static let targets: Set<String> = ["aten.clone.default", "aten._to_copy.default", "aten._assert_tensor_metadata.default"]

    static func lower<B: Builder>(_ c: ATenCall<B>) throws -> [B.Value] {
        switch c.target {
        case "aten.clone.default":
            return [try c.tensor("self")]
        case "aten._assert_tensor_metadata.default":
            _ = try c.tensor("a")
            return []
        case "aten._to_copy.default":
            let x = try c.tensor("self")
            switch c.node.argument("dtype") {
            case .none?, nil: return [x]
            case .scalarType(let code)?:
                return [try convert(c, x, to: code, argument: "dtype")]
            case let other?: throw c.fail("dtype", "expected a dtype; received \(other)")
            }
        default:
            throw c.unsupported("not in the conversion table")
        }
    }

    /// `x` converted to the ScalarType `code` in the importer's representation.
    static func convert<B: Builder>(_ c: ATenCall<B>, _ x: B.Value, to code: Int, argument: String) throws -> B.Value {
        let b = c.b
        switch code {
        case 7, 8: return try c.floating(x)
        case 5: return try b.cast(x, to: .int64)
        case 12:
            let wide = b.type(of: x).dtype == .int64 ? try b.cast(x, to: .float64) : x
            let zero = try b.binary(.equal, wide, b.scalar(0, like: wide))
            return try b.cast(b.subtract(b.scalar(1, like: zero), zero), to: c.floatType)
        default:
            throw c.unsupported("conversion to \(ScalarTypes.name(code)) is not mapped (only float32, float64, int64 and bool)")
        }
    }
}
