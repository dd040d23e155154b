import ParityNN

/// Copies, dtype conversions and the no-op nodes torch.export keeps.
///
/// - `copy(self, src)` (`self.copy_(src)` functionally): `src` broadcast to `self`'s shape and dtype.
/// - Copies: values are always dense and never aliased, so `clone`, `contiguous`, `lift_fresh_copy`,
///   `detach`, `alias` and `_to_copy` / `to` without a dtype are the value itself.
/// - Conversions (`_to_copy`, `to.dtype`, `to.dtype_layout`, `to.device` with a dtype, `to.other`,
///   `type_as`): floats narrow by rounding to nearest even, floats become integers by truncation toward
///   zero, int64 → int32 wraps, anything → bool is `x ≠ 0` (``ParityTensor/Tensor/cast(to:)``). A
///   floating target computes in the run's float dtype; in a float32 run a float16 / bfloat16 target
///   rounds to it (a float64 run, the referee, keeps full precision).
/// - `_local_scalar_dense` (`tensor.item()`): the single element as a 0-d value.
/// - Checks that produce nothing: `_assert_tensor_metadata` (inserted before a `.to()`),
///   `_assert_scalar`, `_assert_async`, `sym_constrain_range(_for_size)` (shape guards of an export;
///   the shapes are fixed when Parity runs).
enum ConversionOps: ATenFamily {
    static let identities: Set<String> = [
        "aten.clone.default", "aten.contiguous.default", "aten.lift_fresh_copy.default", "aten.lift_fresh.default",
        "aten.detach.default", "aten.alias.default", "aten.resolve_conj.default", "aten.resolve_neg.default",
    ]
    static let checks: Set<String> = [
        "aten._assert_tensor_metadata.default", "aten._assert_scalar.default", "aten._assert_async.default", "aten._assert_async.msg",
        "aten.sym_constrain_range.default", "aten.sym_constrain_range_for_size.default", "aten._functional_assert_async.msg",
    ]
    static let conversions: Set<String> = [
        "aten._to_copy.default", "aten.to.dtype", "aten.to.dtype_layout", "aten.to.device", "aten.to.other", "aten.type_as.default",
        "aten.to.prim_dtype", "aten.to.prim_Device", "aten.copy.default",
    ]
    static let targets: Set<String> = identities.union(checks).union(conversions).union(["aten._local_scalar_dense.default"])

    static func lower<B: Builder>(_ c: ATenCall<B>) throws -> [B.Value] {
        if identities.contains(c.target) { return [try c.tensor("self")] }
        // The functional assertion returns its dependency token.
        if c.target == "aten._functional_assert_async.msg" { return [try c.tensor("dep_token")] }
        if checks.contains(c.target) { return [] }
        let x = try c.tensor("self")
        switch c.target {
        case "aten._local_scalar_dense.default":
            // `tensor.item()`: the one element as a number (a 0-d value; a size read from it must be known
            // when the program is lowered, see ``SymbolicOps``).
            guard c.shape(x).reduce(1, *) == 1 else { throw c.fail("self", "item() of a tensor of shape \(c.shape(x)), not one element") }
            return [try c.b.reshape(x, [])]
        case "aten.copy.default":
            // `self.copy_(src)` functionally: src broadcast to self's shape in self's dtype.
            let src = try c.tensor("src")
            return [try c.b.cast(c.b.broadcast(src, to: c.shape(x)), to: c.b.type(of: x).dtype)]
        case "aten.to.other", "aten.type_as.default":
            // `other` in its compute dtype; a 16-bit or int32 result is conformed to the recorded dtype.
            return [try c.b.cast(x, to: c.b.type(of: c.tensor("other")).dtype)]
        default:
            switch c.node.argument("dtype") {
            case .none?, nil: return [x]
            case .scalarType(let code)?, .int(let code)?: return [try convert(c, x, to: code)]  // `to.prim_dtype` takes an int
            case let other?: throw c.fail("dtype", "expected a dtype; received \(other)")
            }
        }
    }

    /// `x` converted to the ScalarType `code`, in the run's representation (see the type's comment).
    static func convert<B: Builder>(_ c: ATenCall<B>, _ x: B.Value, to code: Int) throws -> B.Value {
        guard let dtype = ScalarTypes.dtype(code) else {
            throw c.unsupported("conversion to \(ScalarTypes.name(code)) is not supported")
        }
        if dtype.isHalf { return try c.b.cast(x, to: c.floatType == .float32 ? dtype : c.floatType) }
        if dtype.isFloatingPoint { return try c.b.cast(x, to: c.floatType) }
        return try c.b.cast(x, to: dtype == .int32 ? .int64 : dtype)
    }
}
