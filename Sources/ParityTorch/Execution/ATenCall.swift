import ParityNN

/// How PyTorch's CPU kernels add up many terms: `sum`/`mean` in cascaded partial sums
/// (`cascade_sum`, `aten/src/ATen/native/cpu/SumKernel.cpp`) and the normalisations' row moments in
/// cascaded Welford steps (`RowwiseMoments`), whose error grows like log n. Pairwise summation has that
/// accuracy (not the same bits); a sequential float32 sum of a GroupNorm's 200 000 terms is ~1e-4 off.
enum TorchNumerics {
    static let reduction = Numerics(accumulation: .pairwise(leaf: 16), fusedMultiplyAdd: false)
}

/// A number or a tensor operand (ATen's `Scalar` / `Tensor` overloads); a Python bool scalar is kept
/// apart, as it promotes as a bool.
enum Operand<Value> {
    case tensor(Value)
    case number(Double, isInteger: Bool)
    case boolean(Bool)
}

/// One node being lowered: its arguments resolved by schema name, with PyTorch's defaults supplied
/// by the caller (torch omits arguments left at their default).
struct ATenCall<B: Builder> {
    let b: B
    let node: TorchNode
    let env: [String: B.Value]
    let known: [String: Tensor]
    let floatType: DType

    /// The functional form of the node's operator (an in-place `relu_` lowers as `relu`).
    var target: String { ATenTable.functional(node.target) }

    func fail(_ argument: String, _ message: String) -> TorchError {
        .badArgument(target: node.target, node: node.name, argument: argument, message: message)
    }

    func unsupported(_ message: String) -> TorchError {
        .unsupportedArgument(target: node.target, node: node.name, modulePath: node.modulePath, message: message)
    }

    /// The value named `name` in its compute dtype: a 16-bit float widened to float32, an int32 to int64
    /// (the node's result is brought back to the dtype torch recorded by ``conformed(_:to:)``, so each
    /// op computes in float and rounds once, as PyTorch's CPU kernels do for Half and BFloat16, and int32
    /// arithmetic wraps).
    func value(named name: String) throws -> B.Value {
        guard let v = env[name] else { throw fail(name, "refers to '\(name)', which no earlier node produced") }
        switch b.type(of: v).dtype {
        case .float16, .bfloat16: return try b.cast(v, to: .float32)
        case .int32: return try b.cast(v, to: .int64)
        default: return v
        }
    }

    /// `value` in the dtype torch recorded for a node's result (`ScalarType` `code`): integers and bools
    /// as recorded; a 16-bit float rounded to it in a float32 run (a float64 run, the referee, keeps its
    /// precision); any other float as the run's float dtype.
    func conformed(_ value: B.Value, to code: Int) throws -> B.Value {
        let current = b.type(of: value).dtype
        guard let recorded = ScalarTypes.dtype(code) else { return value }
        if recorded.isComplex {
            // complex64 in a float32 run, complex128 in a float64 one (the referee keeps its precision).
            let run = recorded == .complex128 ? DType.complex128 : floatType.complexCounterpart!
            return current == run ? value : try b.cast(value, to: run)
        }
        if recorded.isFloatingPoint {
            if recorded.isHalf && floatType == .float32 { return try b.cast(value, to: recorded) }
            return current.isFloatingPoint ? value : try b.cast(value, to: floatType)
        }
        return try b.cast(value, to: recorded)
    }

    func has(_ name: String) -> Bool {
        guard let arg = node.argument(name) else { return false }
        if case .none = arg { return false }
        return true
    }

    func tensor(_ name: String) throws -> B.Value {
        guard let arg = node.argument(name) else { throw fail(name, "missing") }
        guard case .tensor(let n) = arg else { throw fail(name, "expected a tensor; received \(arg)") }
        return try value(named: n)
    }

    func optionalTensor(_ name: String) throws -> B.Value? {
        guard let arg = node.argument(name) else { return nil }
        switch arg {
        case .none: return nil
        case .tensor(let n): return try value(named: n)
        default: throw fail(name, "expected a tensor or None; received \(arg)")
        }
    }

    func tensors(_ name: String) throws -> [B.Value] {
        guard let arg = node.argument(name) else { throw fail(name, "missing") }
        switch arg {
        case .tensors(let ns): return try ns.map(value(named:))
        case .optionalTensors(let ns):
            return try ns.map { n in
                guard let n else { throw fail(name, "None inside a tensor list is not supported") }
                return try value(named: n)
            }
        default: throw fail(name, "expected a list of tensors; received \(arg)")
        }
    }

    /// The fixed tensor behind a tensor argument (a weight or buffer), when it is one.
    func knownTensor(_ name: String) -> Tensor? {
        guard case .tensor(let n)? = node.argument(name) else { return nil }
        return known[n]
    }

    /// The number a symbolic int, float or bool names (`as_sym_int`: a `sym_size`, an `_operator.mul`):
    /// a one-element tensor known by the time the node is lowered, as sizes derive from the input shapes.
    func symbolic(_ argument: String, _ valueName: String) throws -> Double {
        guard let t = known[valueName], t.count == 1 else {
            throw fail(argument, "'\(valueName)' is a size that depends on the data, not on the input shapes: it cannot be resolved")
        }
        return t.doubles[0]
    }

    func int(_ name: String, default fallback: Int? = nil) throws -> Int {
        switch node.argument(name) {
        case .int(let i)?: return i
        case .tensor(let n)?: return try exactInt(name, symbolic(name, n))
        case .none?, nil:
            guard let fallback else { throw fail(name, "missing") }
            return fallback
        case let other?: throw fail(name, "expected an int; received \(other)")
        }
    }

    /// `value` as an Int when it is a whole number in range.
    func exactInt(_ argument: String, _ value: Double) throws -> Int {
        guard value.rounded() == value, abs(value) < 9.0e18 else { throw fail(argument, "expected an int; received \(value)") }
        return Int(value)
    }

    /// `aten.slice`'s window on an axis of `size` (`slice.Tensor`, `slice_scatter`): ``ATenSlice/bounds(start:end:size:)``
    /// of `start` and `end`, and `step` (1 when absent; it must be positive).
    func sliceAxis(size: Int) throws -> SliceAxis {
        let step = try int("step", default: 1)
        guard step >= 1 else { throw fail("step", "must be positive; received \(step)") }
        let (start, end) = ATenSlice.bounds(start: try optionalInt("start"), end: try optionalInt("end"), size: size)
        return SliceAxis(start: start, end: end, step: step)
    }

    /// `aten.select`'s `index` on an axis of `size` (`select.int`, `select_scatter`): negative counts from the end;
    /// out of range fails.
    func selectIndex(size: Int) throws -> Int {
        var index = try int("index")
        if index < 0 { index += size }
        guard index >= 0, index < size else { throw fail("index", "\(index) is out of range for size \(size)") }
        return index
    }

    func optionalInt(_ name: String) throws -> Int? {
        switch node.argument(name) {
        case .int(let i)?: return i
        case .tensor(let n)?: return try exactInt(name, symbolic(name, n))
        case .none?, nil: return nil
        case let other?: throw fail(name, "expected an int or None; received \(other)")
        }
    }

    /// The largest magnitude an `int[]` element may have (sizes, strides, paddings, dilations, dims,
    /// pad amounts): larger values come from a corrupt file, and refusing them keeps the products the
    /// lowerings compute from overflowing. Scalar `int`s (a slice's end is `Int.max`) are not bounded.
    static var maxListElement: Int { Int(Int32.max) }

    /// An `int[]` argument (a single int is repeated `count` times, as ATen's `IntArrayRef[N]` allows).
    func ints(_ name: String, default fallback: [Int]? = nil, count: Int? = nil) throws -> [Int] {
        let list = try unboundedInts(name, default: fallback, count: count)
        if let bad = list.first(where: { $0 > Self.maxListElement || $0 < -Self.maxListElement }) {
            throw fail(name, "element \(bad) of \(list) is beyond any size, stride or padding")
        }
        return list
    }

    private func unboundedInts(_ name: String, default fallback: [Int]?, count: Int?) throws -> [Int] {
        switch node.argument(name) {
        case .ints(let list)?:
            if let count, list.count == 1 { return Array(repeating: list[0], count: count) }
            return list
        case .int(let i)?: return Array(repeating: i, count: count ?? 1)
        case .tensor(let n)?: return Array(repeating: try exactInt(name, symbolic(name, n)), count: count ?? 1)
        case .symInts(let list)?:
            return try list.map { element in
                switch element {
                case .int(let i): return i
                case .name(let n): return try exactInt(name, symbolic(name, n))
                }
            }
        case .none?, nil:
            guard let fallback else { throw fail(name, "missing") }
            if let count, fallback.count == 1 { return Array(repeating: fallback[0], count: count) }
            return fallback
        case let other?: throw fail(name, "expected a list of ints; received \(other)")
        }
    }

    func optionalInts(_ name: String) throws -> [Int]? {
        guard has(name) else { return nil }
        return try ints(name)
    }

    func double(_ name: String, default fallback: Double? = nil) throws -> Double {
        switch node.argument(name) {
        case .float(let d)?: return d
        case .int(let i)?: return Double(i)
        case .bool(let b)?: return b ? 1 : 0
        case .tensor(let n)? where known[n]?.count == 1: return try symbolic(name, n)
        case .none?, nil:
            guard let fallback else { throw fail(name, "missing") }
            return fallback
        case let other?: throw fail(name, "expected a number; received \(other)")
        }
    }

    func optionalDouble(_ name: String) throws -> Double? {
        guard has(name) else { return nil }
        return try double(name)
    }

    func optionalDoubles(_ name: String) throws -> [Double]? {
        switch node.argument(name) {
        case .floats(let list)?: return list
        case .ints(let list)?: return list.map(Double.init)
        case .none?, nil: return nil
        case let other?: throw fail(name, "expected a list of floats; received \(other)")
        }
    }

    func bool(_ name: String, default fallback: Bool? = nil) throws -> Bool {
        switch node.argument(name) {
        case .bool(let v)?: return v
        case .int(let i)?: return i != 0
        case .tensor(let n)?: return try symbolic(name, n) != 0
        case .none?, nil:
            guard let fallback else { throw fail(name, "missing") }
            return fallback
        case let other?: throw fail(name, "expected a bool; received \(other)")
        }
    }

    func string(_ name: String, default fallback: String? = nil) throws -> String {
        switch node.argument(name) {
        case .string(let s)?: return s
        case .none?, nil:
            guard let fallback else { throw fail(name, "missing") }
            return fallback
        case let other?: throw fail(name, "expected a string; received \(other)")
        }
    }

    func optionalString(_ name: String) throws -> String? {
        guard has(name) else { return nil }
        return try string(name)
    }

    func operand(_ name: String) throws -> Operand<B.Value> {
        switch node.argument(name) {
        case .tensor(let n)?: return .tensor(try value(named: n))
        case .int(let i)?: return .number(Double(i), isInteger: true)
        case .float(let d)?: return .number(d, isInteger: false)
        case .bool(let v)?: return .boolean(v)
        case let other: throw fail(name, "expected a tensor or a number; received \(other.map { "\($0)" } ?? "nothing")")
        }
    }

    /// The most elements a tensor created from a size argument (`zeros`, `full`) may have: sizes come
    /// from the file, and a corrupt one must be refused, not allocated.
    static var maxCreatedElements: Int { 1 << 28 }

    /// A size argument (`int[]`) checked to be non-negative (or `-1` when `inferable`, as `view`
    /// allows) and of a reasonable element count.
    func size(_ name: String, inferable: Bool = false) throws -> [Int] {
        let size = try ints(name)
        var count = 1
        for n in size {
            if inferable && n == -1 { continue }
            guard n >= 0 else { throw fail(name, "negative size \(size)") }
            let (product, overflow) = count.multipliedReportingOverflow(by: n)
            guard !overflow, product <= Self.maxCreatedElements else { throw fail(name, "\(size) has more than \(Self.maxCreatedElements) elements") }
            count = product
        }
        return size
    }

    /// Throws when `shape` has more than ``maxCreatedElements`` elements (an index map or tensor a
    /// lowering is about to build from sizes read in the file).
    func checkCount(_ shape: [Int], _ argument: String) throws {
        var count = 1
        for n in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: Swift.max(n, 0))
            guard !overflow, product <= Self.maxCreatedElements else { throw fail(argument, "gives \(shape), more than \(Self.maxCreatedElements) elements") }
            count = product
        }
    }

    /// The compute dtype for a `ScalarType` argument: floating types compute in the run's float dtype,
    /// integers in int64, bool as bool (the result is then conformed to the recorded dtype).
    func dtype(_ name: String) throws -> DType? {
        switch node.argument(name) {
        case .scalarType(let code)?:
            guard let dtype = ScalarTypes.dtype(code) else { throw unsupported("dtype \(ScalarTypes.name(code)) is not supported") }
            if dtype.isComplex { return dtype == .complex128 ? .complex128 : floatType.complexCounterpart }
            return dtype.isFloatingPoint ? floatType : (dtype == .bool ? .bool : .int64)
        case .none?, nil: return nil
        case let other?: throw fail(name, "expected a dtype; received \(other)")
        }
    }

    // MARK: helpers shared by families

    func shape(_ v: B.Value) -> [Int] { b.shape(of: v) }
    func rank(_ v: B.Value) -> Int { b.shape(of: v).count }

    /// A Python-style dimension (negative counts from the end) resolved against `rank`.
    func dim(_ d: Int, rank: Int, _ argument: String = "dim") throws -> Int {
        let r = Swift.max(rank, 1)
        guard d >= -r, d < r else { throw fail(argument, "dimension \(d) is out of range for a tensor of rank \(rank)") }
        return d < 0 ? d + r : d
    }

    /// `value` as a floating tensor of the run's dtype when it is an integer tensor (type promotion
    /// int → float).
    func floating(_ v: B.Value) throws -> B.Value {
        b.type(of: v).dtype.isFloatingPoint ? v : try b.cast(v, to: floatType)
    }

    /// A constant in `dtype` with `shape` filled from `values`.
    func constant(_ values: [Double], shape: [Int], dtype: DType) -> B.Value {
        b.constant(Tensor(shape: shape, values: values).cast(to: dtype))
    }
}

/// How `aten.slice` reads its bounds, as a Python slice does (`x[start:end]`): read by the ATen slice
/// operators and by the converter to Keras (slices of folded constants).
public enum ATenSlice {
    /// `start` and `end` on an axis of `size`: nil is 0 / `size`, a negative one counts from the end, both are
    /// clamped into `[0, size]`, and `end` is at least `start`.
    public static func bounds(start: Int?, end: Int?, size: Int) -> (start: Int, end: Int) {
        func clamp(_ v: Int) -> Int { Swift.min(Swift.max(v < 0 ? v + size : v, 0), size) }
        let first = clamp(start ?? 0)
        return (first, Swift.max(clamp(end ?? size), first))
    }
}
