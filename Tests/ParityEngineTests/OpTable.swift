import Testing
import ParityEngine
import ParityTestSupport

/// One row of the op table: a case from `Tests/Fixtures/engine/ops.json` (made by PyTorch, see
/// scripts/make_engine_fixtures.py) with the Parity op its spec names.
struct OpCase: CustomTestStringConvertible, Sendable {
    let name: String
    let op: any Op
    let family: String
    let inputs: [Tensor]
    let output64: Tensor
    let output32: Tensor
    let cotangent: Tensor?
    let gradients: [Tensor?]

    var testDescription: String { name }

    /// Every case of the fixture.
    static let all: [OpCase] = {
        do {
            return try Fixtures.json("engine/ops.json")["cases"]!.array!.map(OpCase.init)
        } catch {
            fatalError("cannot read Tests/Fixtures/engine/ops.json: \(error)")
        }
    }()

    init(_ json: JSONValue) throws {
        name = json["name"]!.string!
        let spec = json["spec"]!
        family = spec["op"]!.string!
        op = try OpCase.makeOp(spec)
        inputs = try json["inputs"]!.array!.map { try Fixtures.tensor($0) }
        output64 = try Fixtures.tensor(json["output64"])
        output32 = try Fixtures.tensor(json["output32"], as: .float32)
        let outputShape = output64.shape
        cotangent = json["cotangent"]?.doubles.map { Tensor(shape: outputShape, values: $0) }
        let grads = json["gradients"]?.array ?? []
        gradients = zip(grads, inputs).map { grad, input in grad.doubles.map { Tensor(shape: input.shape, values: $0) } }
    }

    static func makeOp(_ spec: JSONValue) throws -> any Op {
        func double(_ key: String) -> Double { spec[key]!.double! }
        func ints(_ key: String) -> [Int] { spec[key]!.ints! }
        func int(_ key: String) -> Int { spec[key]!.int! }
        func string(_ key: String) -> String { spec[key]!.string! }
        switch string("op") {
        case "unary":
            let function: UnaryFunction
            switch string("function") {
            case "negate": function = .negate
            case "abs": function = .abs
            case "exp": function = .exp
            case "log": function = .log
            case "sqrt": function = .sqrt
            case "square": function = .square
            case "reciprocal": function = .reciprocal
            case "tanh": function = .tanh
            case "sigmoid": function = .sigmoid
            case "relu": function = .relu
            case "silu": function = .silu
            case "softsign": function = .softsign
            case "selu": function = .selu
            case "clip": function = .clip(lower: double("lower"), upper: double("upper"))
            case "leakyRelu": function = .leakyRelu(slope: double("slope"))
            case "elu": function = .elu(alpha: double("alpha"))
            case "gelu": function = .gelu(approximate: spec["approximate"]!.bool!)
            case "softplus": function = .softplus(beta: double("beta"), threshold: double("threshold"))
            case "hardSigmoid": function = .hardSigmoid
            case "linearHardSigmoid": function = .linearHardSigmoid(slope: double("slope"), offset: double("offset"))
            case "hardSwish": function = .hardSwish
            case "celu": function = .celu(alpha: double("alpha"))
            case "logSigmoid": function = .logSigmoid
            case "mish": function = .mish
            case "tanhShrink": function = .tanhShrink
            case "softShrink": function = .softShrink(threshold: double("threshold"))
            case "hardShrink": function = .hardShrink(threshold: double("threshold"))
            case let other: throw FixtureError.malformed("unary function \(other)")
            }
            return Unary(function)
        case "binary": return Binary(BinaryFunction(rawValue: string("function"))!)
        case "matmul": return MatMul()
        case "fusedLinear": return FusedLinear(activation: spec["activation"]?.string.map { _ in .tanh })
        case "multiplyAdd": return MultiplyAdd(fused: false)
        case "where": return Select()
        case "reduce":
            return Reduce(kind: ReductionKind(rawValue: string("kind"))!, axes: ints("axes"), keepDims: spec["keepDims"]!.bool!)
        case "softmax": return Softmax(axis: int("axis"), logarithm: spec["logarithm"]!.bool!)
        case "reshape": return Reshape(shape: ints("shape"))
        case "permute": return Permute(order: ints("order"))
        case "broadcast": return BroadcastTo(shape: ints("shape"))
        case "sumToShape": return SumToShape(shape: ints("shape"))
        case "concat": return Concat(axis: int("axis"))
        case "slice": return Slice(axes: try sliceAxes(spec["axes"]!))
        case "embedSlice":
            return EmbedSlice(shape: ints("shape"), axes: try sliceAxes(spec["axes"]!))
        case "scatterAdd": return ScatterAdd(axis: int("axis"), shape: ints("shape"))
        case "pad": return Pad(before: ints("before"), after: ints("after"), value: double("value"))
        case "gather": return Gather(axis: int("axis"))
        case "cast": return Cast(dtype: DType(rawValue: string("dtype"))!)
        case let other: throw FixtureError.malformed("op \(other)")
        }
    }

    static func sliceAxes(_ json: JSONValue) throws -> [SliceAxis] {
        try json.array!.map { axis in
            guard let a = axis.array, a.count == 3, let step = a[2].int else { throw FixtureError.malformed("slice axis") }
            return SliceAxis(start: a[0].int, end: a[1].int, step: step)
        }
    }

    /// The float32 bound against PyTorch's float32 result, per op family, and why.
    var float32Tolerance: Tolerance {
        switch family {
        // Same formula, one rounding per element: bit-identical.
        case "binary", "where", "reshape", "permute", "broadcast", "concat", "slice", "embedSlice", "pad", "gather", "cast", "multiplyAdd":
            return name.contains("power") ? Tolerance(ulps: 2) : .exact
        // libm (glibc) vs PyTorch's vectorised SLEEF/ATen kernels, each within ~1 ULP of the true
        // value: 4 ULP, or 1.2e-7 absolute (1 ULP at 1.0) where an output passes near zero through
        // cancellation (GELU's x·Φ(x) for negative x).
        case "unary": return Tolerance(absolute: 1.2e-7, ulps: 4)
        // Sums of ≤ 24 terms: PyTorch's vectorised reductions and oneDNN/MKL GEMM may add in another order.
        case "reduce", "sumToShape", "scatterAdd", "matmul", "fusedLinear", "softmax": return Tolerance(absolute: 4e-6, relative: 4e-6)
        default: return Tolerance(ulps: 0)
        }
    }

    /// The bound for gradients against `torch.autograd` (Float64).
    var gradientTolerance: Tolerance {
        // PyTorch's celu backward divides by `alpha.toFloat()` (tools/autograd/derivatives.yaml): with an
        // alpha that Float32 cannot hold (0.7), its Float64 gradient is off by ~4e-8 relative.
        if case let unary as Unary = op, case .celu(let alpha) = unary.function, Double(Float(alpha)) != alpha {
            return Tolerance(absolute: 1e-12, relative: 1e-7)
        }
        return Tolerance(absolute: 1e-12, relative: 1e-10)
    }

    /// The float64 bound against PyTorch's float64 result.
    var float64Tolerance: Tolerance {
        switch float32Tolerance.ulps {
        case .some(0): return .exact
        default: return Tolerance(absolute: 1e-14, relative: 1e-13)
        }
    }
}
