import Testing
import ParityEngine
import ParityTestSupport

/// A convolution or pooling case from `Tests/Fixtures/engine/functional.json`
/// (scripts/make_functional_fixtures.py: PyTorch 2.15, channels-last, TensorFlow's `same` rule).
struct WindowCase: CustomTestStringConvertible, Sendable {
    let json: JSONValue
    var testDescription: String { json["name"]!.string! }

    static let all: [WindowCase] = {
        do { return try Fixtures.json("engine/functional.json")["cases"]!.array!.map(WindowCase.init) } catch {
            fatalError("cannot read Tests/Fixtures/engine/functional.json: \(error)")
        }
    }()

    var inputs: [Tensor] { json["inputs"]!.array!.map { try! Fixtures.tensor($0) } }

    var padding: Padding {
        switch json["padding"]!.string! {
        case "same": return .same
        case "causal": return .causal
        default: return .valid
        }
    }

    /// The case as a function written once against `Builder`.
    func apply<B: Builder>(_ b: B, _ xs: [B.Value]) throws -> B.Value {
        switch json["kind"]!.string! {
        case "conv":
            return try b.convolution(xs[0], kernel: xs[1], bias: xs.count > 2 ? xs[2] : nil, strides: json["strides"]!.ints!,
                                     dilations: json["dilations"]!.ints!, padding: padding, groups: json["groups"]!.int!)
        case let kind:
            return try b.pool(xs[0], kind == "maxpool" ? .max : .mean, window: json["window"]!.ints!, strides: json["strides"]!.ints!,
                              padding: padding, countPadding: json["countPadding"]!.bool!)
        }
    }
}

@Suite("Convolution and pooling against PyTorch")
struct FunctionalTests {
    @Test("float64 forward", arguments: WindowCase.all)
    func forward64(_ row: WindowCase) throws {
        let context = EagerContext()
        let y = try row.apply(context, row.inputs.map(context.constant)).tensor
        let violation = Tolerance(absolute: 1e-14, relative: 1e-13).violation(y, try Fixtures.tensor(row.json["output64"]))
        #expect(violation == nil, "\(violation ?? "")")
    }

    /// Float32: sums of up to 54 products in another order than oneDNN's: 2e-6 absolute.
    @Test("float32 forward, eager and graph", arguments: WindowCase.all)
    func forward32(_ row: WindowCase) throws {
        let inputs = row.inputs.map { $0.cast(to: .float32) }
        let expected = try Fixtures.tensor(row.json["output32"], as: .float32)
        let context = EagerContext()
        let eager = try row.apply(context, inputs.map(context.constant)).tensor
        #expect(Tolerance(absolute: 2e-6, relative: 1e-6).violation(eager, expected) == nil)
        let graph = try Graph.trace(inputs: inputs.map(TensorType.init(of:))) { b, xs in [try row.apply(b, xs)] }
        #expect(try GraphExecutor().run(GraphOptimizer.withoutFusion.optimize(graph), inputs: inputs)[0] == eager)
    }

    @Test("gradients match PyTorch autograd and the graph gradient", arguments: WindowCase.all)
    func gradients(_ row: WindowCase) throws {
        let cotangent = try Fixtures.tensor(row.json["cotangent"])
        let context = EagerContext(recording: true)
        let leaves = row.inputs.map(context.watch)
        let grads = try context.gradients(of: row.apply(context, leaves), withRespectTo: leaves, cotangent: cotangent)
        for (grad, expected) in zip(grads, row.json["gradients"]!.array!) {
            let violation = Tolerance(absolute: 1e-12, relative: 1e-10).violation(grad, try Fixtures.tensor(expected))
            #expect(violation == nil, "\(violation ?? "")")
        }
        let graph = try Graph.trace(inputs: row.inputs.map(TensorType.init(of:))) { b, xs in [try row.apply(b, xs)] }
            .gradient(withRespectTo: Array(row.inputs.indices))
        let outputs = try GraphExecutor().run(graph, inputs: row.inputs + [cotangent])
        #expect(Array(outputs.dropFirst()) == grads)
    }

    /// Geometries covering every path of the direct kernel: 1-D to 3-D, strides, dilations, padding,
    /// groups, depthwise, 1×1 (a plain GEMM), both patch orders; sizes that cross vector and tile edges.
    static let directCases: [(x: [Int], k: [Int], strides: [Int], dilations: [Int], padding: Padding, groups: Int)] = [
        ([2, 9, 11, 6], [3, 3, 3, 10], [1, 1], [1, 1], .same, 2),
        ([1, 13, 7, 5], [3, 2, 5, 33], [2, 1], [1, 2], .explicit(before: [1, 0], after: [2, 1]), 1),
        ([2, 10, 10, 37], [3, 3, 1, 37], [2, 2], [1, 1], .same, 37),
        ([3, 8, 8, 24], [1, 1, 24, 20], [1, 1], [1, 1], .valid, 1),
        ([1, 8, 8, 24], [1, 1, 24, 20], [2, 2], [1, 1], .valid, 1),
        ([2, 17, 4], [4, 4, 6], [1], [2], .causal, 1),
        ([1, 5, 6, 4, 3], [2, 3, 2, 3, 7], [1, 2, 1], [1, 1, 2], .same, 1),
    ]

    /// Inputs with a signed zero, a subnormal product and an infinity among uniform values.
    static func directInputs(_ index: Int, dtype: DType) -> (Tensor, Tensor) {
        var rng = SeededGenerator(seed: UInt64(40 + index))
        let c = directCases[index]
        var x = Tensor.uniform(c.x, in: -1...1, generator: &rng).doubles, k = Tensor.uniform(c.k, in: -1...1, generator: &rng).doubles
        x[0] = -0.0; x[1] = 1e-30; k[1] = -1e-30; x[x.count - 1] = .infinity
        return (Tensor(shape: c.x, values: x).cast(to: dtype), Tensor(shape: c.k, values: k).cast(to: dtype))
    }

    @Test("the direct kernel gives the im2col formulation's bits on every instruction set, at 1 and 3 threads",
          arguments: 0..<directCases.count)
    func directConvolution(_ index: Int) throws {
        let c = Self.directCases[index]
        for dtype in [DType.float32, .float64] {
            let (x, k) = Self.directInputs(index, dtype: dtype)
            for order in [PatchOrder.windowThenChannels, .channelsThenWindow] {
                for numerics in [Numerics.matmulDefault, Numerics(accumulation: .sequential, fusedMultiplyAdd: false)] {
                    let geometry = try WindowGeometry(input: Array(c.x[1..<(c.x.count - 1)]), channels: c.x.last!, kernel: Array(c.k.prefix(c.k.count - 2)),
                                                      strides: c.strides, dilations: c.dilations, padding: c.padding)
                    let op = CrossCorrelation(geometry: geometry, groups: c.groups, order: order, numerics: numerics)
                    let eager = EagerContext()
                    let expected = try op.definition(eager, [eager.constant(x), eager.constant(k)]).tensor
                    for level in InstructionSet.available {
                        for threads in [1, 3] {
                            let y = try InstructionSet.forcing(level) { try KernelThreads.forcing(threads) { try op.forward([x, k]) } }
                            #expect(y.shape == expected.shape && y.doubles.map(\.bitPattern) == expected.doubles.map(\.bitPattern),
                                    "\(level), \(threads) threads, \(order), \(numerics), \(dtype)")
                        }
                    }
                }
            }
        }
    }

    @Test("the direct kernel's gradient is the formulation's, bit for bit", arguments: 0..<directCases.count)
    func directConvolutionGradient(_ index: Int) throws {
        let c = Self.directCases[index]
        var (x, k) = Self.directInputs(index, dtype: .float32)
        x = try x.map(.tanh)
        let geometry = try WindowGeometry(input: Array(c.x[1..<(c.x.count - 1)]), channels: c.x.last!, kernel: Array(c.k.prefix(c.k.count - 2)),
                                          strides: c.strides, dilations: c.dilations, padding: c.padding)
        let op = CrossCorrelation(geometry: geometry, groups: c.groups, order: .channelsThenWindow, numerics: .matmulDefault)
        func gradients(_ direct: Bool) throws -> [Tensor] {
            let tape = EagerContext(recording: true)
            let (xv, kv) = (tape.watch(x), tape.watch(k))
            let y = direct ? try tape.apply(op, [xv, kv]) : try op.definition(tape, [xv, kv])
            return try tape.gradients(of: tape.unary(.square, y), withRespectTo: [xv, kv])
        }
        #expect(try gradients(true) == gradients(false))
    }

    @Test("TensorFlow's same padding puts the extra cell after")
    func samePadding() {
        let (before, after) = Padding.same.amounts(input: [8, 7], kernel: [3, 3], strides: [2, 2], dilations: [1, 1])
        #expect(before == [0, 1] && after == [1, 1])
    }

    @Test("a window larger than its input is a clear error")
    func windowTooLarge() {
        #expect(throws: TensorError.self) {
            try WindowGeometry(input: [2], channels: 1, kernel: [5], strides: [1], dilations: [1], padding: .valid)
        }
    }

    @Test("patch order changes the summation order, not the math")
    func patchOrder() throws {
        var rng = SeededGenerator(seed: 4)
        let x = Tensor.uniform([1, 5, 5, 8], generator: &rng), k = Tensor.uniform([3, 3, 8, 2], generator: &rng)
        let c = EagerContext()
        let a = try c.convolution(c.constant(x), kernel: c.constant(k), strides: [1, 1], dilations: [1, 1], padding: .valid).tensor
        let b = try c.convolution(c.constant(x), kernel: c.constant(k), strides: [1, 1], dilations: [1, 1], padding: .valid,
                                  order: .channelsThenWindow).tensor
        let metrics = try ErrorMetrics(a, b)
        #expect(metrics.maxAbsolute < 1e-5)
        #expect(!metrics.isBitIdentical)
    }
}

@Suite("argmax and argmin lines")
struct ArgExtremumTests {
    @Test("first extremum wins, the first NaN wins over everything, -0 and +0 tie; contiguous and strided lines", arguments: [true, false])
    func lines(_ maximum: Bool) throws {
        var rng = SeededGenerator(seed: 40)
        // 37 lines of 9 (the C scan's blocks of 16 lines and a remainder) with ties, zeros of both
        // signs, infinities and NaN; and the transposed layout (strided lines).
        let pool: [Float] = [0, -0.0, 1, -1, 2, 2, .nan, .infinity, -.infinity]
        let values = (0..<333).map { _ in pool[Int.random(in: 0..<pool.count, using: &rng)] }
        for shape in [[37, 9], [9, 37]] {
            let x = Tensor(shape: shape, values: values)
            for axis in [0, 1] {
                let found = try ArgExtremum(maximum: maximum, axis: axis).forward([x]).int64s!
                let (n, inner, outer) = (shape[axis], axis == 1 ? 1 : shape[1], axis == 1 ? shape[0] : 1)
                var expected: [Int64] = []
                for o in 0..<outer {
                    for i in 0..<inner {
                        var best = 0
                        for k in 1..<n {
                            let v = values[(o * n + k) * inner + i], current = values[(o * n + best) * inner + i]
                            if current.isNaN { break }
                            if v.isNaN || (maximum ? v > current : v < current) { best = k }
                        }
                        expected.append(Int64(best))
                    }
                }
                #expect(found == expected, "\(shape) axis \(axis)")
            }
        }
    }
}
