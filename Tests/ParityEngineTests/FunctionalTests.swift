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
