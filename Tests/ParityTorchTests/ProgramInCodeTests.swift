import Foundation
import Testing
import ParityTorch
import ParityTestSupport
import ParityNN
import ParityEngine

/// `TorchProgram(source:graph:inputs:outputs:weights:)`: a program built in code (what `parity convert`
/// does) runs with the same op table as a loaded `.pt2`, after the same checks.
@Suite("TorchProgram built in code")
struct ProgramInCodeTests {
    static let linear = TorchNode(target: "aten.linear.default", name: "linear",
                                  arguments: [("input", .tensor("x")), ("weight", .tensor("p_w")), ("bias", .tensor("p_b"))],
                                  outputs: ["y"], moduleStack: [ModuleFrame(path: "fc", className: "Linear")])
    static let inputs = [TorchProgram.Input(name: "x", kind: .userInput), TorchProgram.Input(name: "p_w", kind: .parameter(fqn: "fc.weight")),
                         TorchProgram.Input(name: "p_b", kind: .parameter(fqn: "fc.bias"))]
    static let weights = ["fc.weight": Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6] as [Float]), "fc.bias": Tensor(shape: [2], values: [0.5, -1] as [Float])]

    @Test("aten.linear computes x·Wᵀ + b with the weight (out, in)")
    func linear() throws {
        let program = try TorchProgram(source: "test", graph: ExportedGraph(inputs: ["x", "p_w", "p_b"], nodes: [Self.linear], outputs: ["y"]),
                                       inputs: Self.inputs, outputs: ["y"], weights: Self.weights)
        let y = try program.run([Tensor(shape: [1, 3], values: [1, 0, -1] as [Float])], mode: .eager)
        #expect(y == [Tensor(shape: [1, 2], values: [-1.5, -3] as [Float])])
        #expect(program.stateDictKeys == ["fc.weight", "fc.bias"])
    }

    @Test("a missing weight or an unmapped operator is refused before running")
    func checks() throws {
        let graph = ExportedGraph(inputs: ["x", "p_w", "p_b"], nodes: [Self.linear], outputs: ["y"])
        #expect(throws: TorchError.self) {
            try TorchProgram(source: "test", graph: graph, inputs: Self.inputs, outputs: ["y"], weights: ["fc.weight": Self.weights["fc.weight"]!])
        }
        var unknown = Self.linear
        unknown.target = "aten.stft.default"
        #expect(throws: TorchError.self) {
            try TorchProgram(source: "test", graph: ExportedGraph(inputs: ["x", "p_w", "p_b"], nodes: [unknown], outputs: ["y"]),
                             inputs: Self.inputs, outputs: ["y"], weights: Self.weights)
        }
    }

    @Test("aten.minimum / aten.maximum: elementwise, broadcast, NaN from either side propagates (torch.minimum, not fmin)")
    func minimumMaximum() throws {
        for (target, expected) in [("aten.minimum.default", [1, Float.nan, Float.nan, -2, 0, Float.nan]),
                                   ("aten.maximum.default", [2, Float.nan, Float.nan, 2, 0.5, Float.nan])] {
            let node = TorchNode(target: target, name: "m", arguments: [("self", .tensor("a")), ("other", .tensor("b"))], outputs: ["y"], moduleStack: [])
            let program = try TorchProgram(source: "test", graph: ExportedGraph(inputs: ["a", "b"], nodes: [node], outputs: ["y"]),
                                           inputs: [.init(name: "a", kind: .userInput), .init(name: "b", kind: .userInput)], outputs: ["y"], weights: [:])
            let a = Tensor(shape: [2, 3], values: [1, .nan, 3, -2, 0, .nan] as [Float])
            let b = Tensor(shape: [1, 3], values: [2, 0.5, .nan] as [Float])
            let y = try program.run([a, b], mode: .eager)[0]
            #expect(y.shape == [2, 3])
            let values = y.doubles
            for (v, e) in zip(values, expected) { #expect(e.isNaN ? v.isNaN : v == Double(e), "\(target): \(values)") }
        }
    }

    @Test("aten._upsample_nearest_exact2d: half-pixel centres, as F.interpolate(mode='nearest-exact') (PyTorch 2.15's output)")
    func nearestExact() throws {
        let x = Tensor(shape: [1, 1, 3, 4], values: (0..<12).map(Float.init))
        for (target, expected) in [("aten._upsample_nearest_exact2d.vec", [0, 2, 3, 0, 2, 3, 4, 6, 7, 8, 10, 11, 8, 10, 11] as [Float]),
                                   ("aten.upsample_nearest2d.vec", [0, 1, 2, 0, 1, 2, 4, 5, 6, 4, 5, 6, 8, 9, 10])] {
            let node = TorchNode(target: target, name: "up", arguments: [("input", .tensor("x")), ("output_size", .ints([5, 3])), ("scale_factors", .none)],
                                 outputs: ["y"], moduleStack: [])
            let program = try TorchProgram(source: "test", graph: ExportedGraph(inputs: ["x"], nodes: [node], outputs: ["y"]),
                                           inputs: [.init(name: "x", kind: .userInput)], outputs: ["y"], weights: [:])
            #expect(try program.run([x], mode: .eager) == [Tensor(shape: [1, 1, 5, 3], values: expected)], "\(target)")
        }
    }

    @Test("aten.upsample_bicubic2d: Keys' weights as ATen writes them, the far tap at (1 − t) + 1 (PyTorch 2.15's float32 output, bit for bit)")
    func bicubicWeights() throws {
        // F.interpolate([[[[0, 1]]]], size=(1, 7), mode="bicubic", align_corners=True): each output is the
        // weights of the taps clamped onto cell 1; output 1 differs in its last bit when the far tap is at 2 − t.
        let node = TorchNode(target: "aten.upsample_bicubic2d.vec", name: "up",
                             arguments: [("input", .tensor("x")), ("output_size", .ints([1, 7])), ("align_corners", .bool(true)), ("scale_factors", .none)],
                             outputs: ["y"], moduleStack: [])
        let program = try TorchProgram(source: "test", graph: ExportedGraph(inputs: ["x"], nodes: [node], outputs: ["y"]),
                                       inputs: [.init(name: "x", kind: .userInput)], outputs: ["y"], weights: [:])
        let y = try program.run([Tensor(shape: [1, 1, 1, 2], values: [0, 1] as [Float])], mode: .eager)[0]
        let torch: [UInt32] = [0, 1041430148, 1050750818, 1056964608, 1060071499, 1062945375, 1065353216]
        #expect(y.doubles.map { Float($0).bitPattern } == torch, "\(y.doubles)")
    }

    @Test("aten.log_sigmoid / softshrink / hardshrink reproduce PyTorch 2.15's outputs (shrink thresholds inclusive: ±0.5 → 0)")
    func shrinkAndLogSigmoid() throws {
        let x = Tensor(shape: [7], values: [-3, -0.5, -0.25, 0, 0.5, 0.75, 30] as [Float])
        let cases: [(String, [(String, TorchArgument)], [Float])] = [
            ("aten.log_sigmoid.default", [], [-3.0485873222351074, -0.9740769863128662, -0.825939416885376, -0.6931471824645996, -0.4740769863128662,
                                              -0.38687101006507874, -9.357622912219837e-14]),
            ("aten.softshrink.default", [("lambd", .float(0.5))], [-2.5, 0, 0, 0, 0, 0.25, 29.5]),
            ("aten.hardshrink.default", [("lambd", .float(0.5))], [-3, 0, 0, 0, 0, 0.75, 30]),
        ]
        for (target, extra, expected) in cases {
            let node = TorchNode(target: target, name: "f", arguments: [("self", .tensor("x"))] + extra.map { (name: $0.0, value: $0.1) }, outputs: ["y"], moduleStack: [])
            let program = try TorchProgram(source: "test", graph: ExportedGraph(inputs: ["x"], nodes: [node], outputs: ["y"]),
                                           inputs: [.init(name: "x", kind: .userInput)], outputs: ["y"], weights: [:])
            let y = try program.run([x], mode: .eager)[0].doubles
            for (v, e) in zip(y, expected) { #expect(abs(v - Double(e)) <= 1e-7 * max(1, abs(Double(e))), "\(target): \(y)") }
        }
    }
}

/// Graph mode runs PyTorch's layer norm as one ``LayerNormRows`` op (``GraphPass/layerNorm``).
@Suite("TorchProgram layer norm in graph mode")
struct LayerNormGraphTests {
    @Test("layer_norm and native_layer_norm (γ, β present or absent) become one op, with the bits of the graph without the pass; native_layer_norm's mean read as an output keeps the chain")
    func fused() throws {
        var rng = SeededGenerator(seed: 13)
        let x = Tensor.uniform([3, 5, 40], in: -4...4, generator: &rng)
        let weights = ["ln.weight": Tensor.uniform([40], in: -2...2, generator: &rng), "ln.bias": Tensor.uniform([40], generator: &rng)]
        for target in ["aten.layer_norm.default", "aten.native_layer_norm.default"] {
            for (scaled, shifted) in [(true, true), (true, false), (false, true), (false, false)] {
                for meanOut in target == "aten.layer_norm.default" ? [false] : [false, true] {
                    let outputs = target == "aten.layer_norm.default" ? ["y"] : ["y", "mean", "rstd"]
                    let node = TorchNode(target: target, name: "ln",
                                         arguments: [("input", .tensor("x")), ("normalized_shape", .ints([40])),
                                                     ("weight", scaled ? .tensor("p_w") : .none), ("bias", shifted ? .tensor("p_b") : .none),
                                                     ("eps", .float(1e-5))],
                                         outputs: outputs, moduleStack: [ModuleFrame(path: "ln", className: "LayerNorm")])
                    let inputs: [TorchProgram.Input] = [.init(name: "x", kind: .userInput), .init(name: "p_w", kind: .parameter(fqn: "ln.weight")),
                                                        .init(name: "p_b", kind: .parameter(fqn: "ln.bias"))]
                    let returned = meanOut ? ["y", "mean"] : ["y"]
                    let program = try TorchProgram(source: "test", graph: ExportedGraph(inputs: ["x", "p_w", "p_b"], nodes: [node], outputs: returned),
                                                   inputs: inputs, outputs: returned, weights: weights)
                    for dtype in [DType.float32, .float64] {
                        let cast = x.cast(to: dtype)
                        let traced = try Graph.trace(inputs: [TensorType(of: cast)]) { b, xs in try program.outputs(xs, in: b, floatType: dtype) }
                        let optimized = try GraphOptimizer.standard.optimize(traced)
                        let fused = optimized.opCounts.contains { $0.name == "layer norm" }
                        #expect(fused == !meanOut, "\(target), scaled \(scaled), shifted \(shifted), mean read \(meanOut): \(optimized)")
                        let without = GraphOptimizer(passes: GraphOptimizer.standard.passes.filter { $0 != .layerNorm })
                        let y = try program.run([cast], mode: .graph(.standard))
                        let expected = try program.run([cast], mode: .graph(without))
                        #expect(y.map { $0.doubles.map(\.bitPattern) } == expected.map { $0.doubles.map(\.bitPattern) },
                                "\(target), scaled \(scaled), shifted \(shifted), \(dtype)")
                    }
                }
            }
        }
    }
}

/// An eager run holds each intermediate value only until its last reader (`Interpreter.releases`), and
/// `TorchProgram.plannedWorkingSet` says beforehand what it will hold.
@Suite("TorchProgram working set")
struct WorkingSetTests {
    /// `h1 = relu(x)`, then `depth` more nodes (every third in place, `relu_`, as `nn.ReLU(inplace=True)`
    /// exports), and `y = h1 + h_depth`: a residual over the chain, so h1 stays held to the end.
    static func chain(depth: Int, shape: [Int]) throws -> TorchProgram {
        var nodes: [TorchNode] = []
        var meta: [String: TorchTensorMeta] = ["x": TorchTensorMeta(scalarType: 7, shape: shape)]
        func node(_ target: String, _ input: String, _ output: String) {
            nodes.append(TorchNode(target: target, name: output, arguments: [("self", .tensor(input))], outputs: [output], moduleStack: []))
            meta[output] = TorchTensorMeta(scalarType: 7, shape: shape)
        }
        node("aten.relu.default", "x", "h1")
        for i in 2...depth { node(i % 3 == 0 ? "aten.relu_.default" : i % 2 == 0 ? "aten.neg.default" : "aten.tanh.default", "h\(i - 1)", "h\(i)") }
        nodes.append(TorchNode(target: "aten.add.Tensor", name: "y", arguments: [("self", .tensor("h1")), ("other", .tensor("h\(depth)"))],
                               outputs: ["y"], moduleStack: []))
        meta["y"] = TorchTensorMeta(scalarType: 7, shape: shape)
        return try TorchProgram(source: "chain", graph: ExportedGraph(inputs: ["x"], nodes: nodes, outputs: ["y"], tensorMeta: meta),
                                inputs: [.init(name: "x", kind: .userInput)], outputs: ["y"], weights: [:])
    }

    @Test("a chain of 40 nodes holds at most 4 activations (h1, the node's input and output, an in-place alias), not 41; the plan says the same")
    func chainHoldsFew() throws {
        let shape = [1, 4, 16, 16], activation = 4 * 16 * 16 * 4
        let program = try Self.chain(depth: 40, shape: shape)
        let x = Tensor(shape: shape, values: (0..<1024).map { Float($0 % 7) - 3 })
        let meter = WorkingSet()
        let y = try program.run([x], mode: .eager, workingSet: meter)
        var h = x.doubles.map { max($0, 0) }, h1 = h
        for i in 2...40 { h = h.map { i % 3 == 0 ? max($0, 0) : i % 2 == 0 ? -$0 : tanh($0) } }
        h1 = zip(h1, h).map(+)
        for (a, e) in zip(y[0].doubles, h1) { #expect(abs(a - e) <= 1e-6 * max(1, abs(e))) }
        #expect(meter.peakValues <= 4, "held \(meter.peakValues) values")
        #expect(meter.peakBytes <= 4 * activation, "held \(meter.peakBytes) bytes")
        #expect(program.plannedWorkingSet() == meter.peakBytes)
    }

    @Test("past its limit a run stops with WorkingSetExceeded naming the node, not by growing")
    func limit() throws {
        let program = try Self.chain(depth: 10, shape: [1, 256])
        let x = Tensor(shape: [1, 256], values: [Float](repeating: 1, count: 256))
        #expect(throws: WorkingSetExceeded(limit: 2048, reached: 3072, at: "h3 (aten.relu_.default)")) {
            try program.run([x], mode: .eager, workingSet: WorkingSet(limit: 2048))
        }
    }

    @Test("on the committed exported programs the plan from torch.export's shapes equals what the run holds",
          arguments: ["conv2d", "attention", "normalization", "recurrent", "shapes", "core_aten", "pooling", "convert_timm_forms"])
    func planMatchesRun(_ name: String) throws {
        let fixture = try TorchFixture(name)
        let program = try TorchProgram.load(fixture.archive)
        let meter = WorkingSet()
        _ = try program.run(fixture.tensors("inputs", as: .float32), mode: .eager, dtype: .float32, workingSet: meter)
        #expect(meter.peakBytes > 0)
        #expect(program.plannedWorkingSet() == meter.peakBytes, "\(name): planned \(program.plannedWorkingSet()), held \(meter.peakBytes)")
    }
}
