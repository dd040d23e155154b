import ParityNN

/// Tensors created from sizes and values (`torch/_refs/__init__.py`, `aten/src/ATen/native/RangeFactories.cpp`):
///
/// - `zeros`, `ones`, `full`, `empty` (zeros: its values are undefined in PyTorch, and an export only
///   keeps one that is written before it is read), `scalar_tensor`, and the `*_like` / `new_*` forms that
///   take the size (`*_like`) and the dtype from `self` unless `dtype` is given; `fill` is `full_like`.
/// - The dtype when none is given: `full` / `scalar_tensor` from the fill value (int → int64, bool →
///   bool, float → the default float32), the others float32; a floating dtype computes in the run's.
/// - `arange(start, end, step)`: `⌈(end − start) / step⌉` elements `start + i·step`, computed in float64
///   and converted to the dtype (int64 when start, end and step are all integers).
enum FactoryOps: ATenFamily {
    static let targets: Set<String> = [
        "aten.zeros.default", "aten.ones.default", "aten.full.default", "aten.empty.memory_format",
        "aten.empty_strided.default", "aten.scalar_tensor.default",
        "aten.zeros_like.default", "aten.ones_like.default", "aten.full_like.default", "aten.empty_like.default",
        "aten.new_zeros.default", "aten.new_ones.default", "aten.new_full.default", "aten.new_empty.default", "aten.new_empty_strided.default",
        "aten.fill.Scalar", "aten.fill.Tensor", "aten.zero.default",
        "aten.arange.default", "aten.arange.start", "aten.arange.start_step",
    ]

    static func lower<B: Builder>(_ c: ATenCall<B>) throws -> [B.Value] {
        let b = c.b
        let name = ArithmeticOps.name(c.target)
        if name == "arange" { return [try arange(c)] }
        // The fill value and the dtype it implies when none is given.
        var value: Double = 0
        var implied: DType = c.floatType
        switch name {
        case "ones", "ones_like", "new_ones": value = 1
        case "full", "full_like", "new_full", "scalar_tensor", "fill":
            let argument = name == "full" || name == "new_full" || name == "full_like" ? "fill_value" : (name == "fill" ? "value" : "s")
            switch c.node.argument(argument) {
            case .int(let i)?: value = Double(i); implied = .int64
            case .float(let d)?: value = d
            case .bool(let flag)?: value = flag ? 1 : 0; implied = .bool
            case .tensor?:
                guard let known = c.knownTensor(argument), let scalar = known.scalarValue else {
                    guard name == "fill" else { throw c.unsupported("\(name) with a value computed at run time is not mapped") }
                    // `fill.Tensor` with a computed 0-D value: the value broadcast, in self's dtype.
                    let x = try c.tensor("self"), v = try c.tensor(argument)
                    guard c.shape(v).isEmpty else { throw c.fail(argument, "expected a 0-D tensor; received shape \(c.shape(v))") }
                    return [try b.broadcast(b.cast(v, to: b.type(of: x).dtype), to: c.shape(x))]
                }
                value = scalar
                implied = known.dtype.isFloatingPoint ? c.floatType : known.dtype
            case let other: throw c.fail(argument, "expected a number; received \(other.map { "\($0)" } ?? "nothing")")
            }
        default: break
        }
        let size: [Int]
        var dtype: DType
        if name.hasSuffix("_like") || name == "fill" || name == "zero" || name.hasPrefix("new_") {
            let x = try c.tensor("self")
            size = name.hasPrefix("new_") ? try c.size("size") : c.shape(x)
            dtype = b.type(of: x).dtype
        } else {
            size = name == "scalar_tensor" ? [] : try c.size("size")
            dtype = implied
        }
        if let given = try c.dtype("dtype") { dtype = given }
        if dtype.isFloatingPoint { dtype = c.floatType }
        return [b.constant(Tensor(repeating: value, shape: size, dtype: dtype))]
    }

    static func arange<B: Builder>(_ c: ATenCall<B>) throws -> B.Value {
        var integral = true
        func number(_ name: String, _ fallback: Double) throws -> Double {
            switch c.node.argument(name) {
            case .int(let i)?: return Double(i)
            case .float(let d)?: integral = false; return d
            case .none?, nil: return fallback
            case let other?: throw c.fail(name, "expected a number; received \(other)")
            }
        }
        let start = try number("start", 0), end = try number("end", 0), step = try number("step", 1)
        guard step != 0, start.isFinite, end.isFinite, step.isFinite else { throw c.fail("step", "arange(\(start), \(end), \(step)) is not a finite range") }
        let count = Swift.max(((end - start) / step).rounded(.up), 0)
        guard count <= Double(ATenCall<B>.maxCreatedElements) else { throw c.fail("end", "arange(\(start), \(end), \(step)) has \(count) elements") }
        let values = (0..<Int(count)).map { start + Double($0) * step }
        var dtype: DType = try c.dtype("dtype") ?? (integral ? .int64 : c.floatType)
        if dtype.isFloatingPoint { dtype = c.floatType }
        return c.b.constant(Tensor(shape: [values.count], values: values).cast(to: dtype))
    }
}
