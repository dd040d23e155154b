import Testing
import ParityEngine
import ParityTestSupport

/// A small model written once against `Builder`: tanh(x·w + b) then `u·v + x2` elementwise.
private func mlp<B: Builder>(_ b: B, _ x: B.Value, _ w: Tensor, _ bias: Tensor) throws -> B.Value {
    let h = try b.unary(.tanh, b.add(b.matmul(x, b.constant(w)), b.constant(bias)))
    return try b.add(b.multiply(h, h), b.constant(bias))
}

@Suite("Graph mode")
struct GraphTests {
    let x: Tensor, w: Tensor, bias: Tensor

    init() {
        var rng = SeededGenerator(seed: 11)
        x = Tensor.uniform([6, 40], generator: &rng)
        w = Tensor.uniform([40, 8], generator: &rng)
        bias = Tensor.uniform([8], generator: &rng)
    }

    func traced() throws -> Graph {
        try Graph.trace(inputs: [TensorType(of: x)]) { b, xs in [try mlp(b, xs[0], w, bias)] }
    }

    @Test("graph without fusion equals eager bit for bit")
    func unfusedMatchesEager() throws {
        let context = EagerContext()
        let eager = try mlp(context, context.constant(x), w, bias).tensor
        for optimizer in [GraphOptimizer(passes: []), .withoutFusion] {
            let graph = try optimizer.optimize(traced())
            #expect(try GraphExecutor().run(graph, inputs: [x])[0] == eager)
        }
    }

    @Test("fusion rewrites MatMul+bias+tanh and a·b+c, within the rounding bound")
    func fusion() throws {
        let graph = try GraphOptimizer.standard.optimize(traced())
        let names = graph.opCounts.map(\.name)
        #expect(names.contains("fused linear + tanh"))
        #expect(names.contains("fused multiply-add"))
        #expect(!names.contains("matmul") && !names.contains("add"))
        let fused = try GraphExecutor().run(graph, inputs: [x])[0]
        let context = EagerContext()
        let eager = try mlp(context, context.constant(x), w, bias).tensor
        #expect(fused != eager, "fusion is expected to change some roundings")
        // Each output rounds differently in at most the K+1 additions of the dot product and the
        // final multiply-add: |Δ| ≤ 2(K+2)·ε·(|b| + Σ|x·w|) through tanh (Lipschitz 1), doubled for h².
        let k = Double(w.shape[0]), eps = Double(Float.ulpOfOne)
        let magnitudes = try x.map(.abs).matmul(w.map(.abs)).combining(bias.map(.abs), .add).cast(to: .float64).doubles
        for (i, (a, b)) in zip(fused.doubles, eager.doubles).enumerated() {
            let bound = 2 * 2 * (k + 2) * eps * (magnitudes[i] + 1)
            #expect(abs(a - b) <= bound, "output \(i): \(a) vs \(b)")
        }
    }

    @Test("constant folding evaluates weight-only subgraphs once, with the same bits")
    func constantFolding() throws {
        let graph = try Graph.trace(inputs: [TensorType(of: x)]) { b, xs in
            let wt = try b.transposeMatrix(b.transposeMatrix(b.constant(w)))
            return [try b.matmul(xs[0], wt)]
        }
        let folded = try GraphOptimizer.withoutFusion.optimize(graph)
        #expect(graph.opCounts.map(\.name) == ["permute", "matmul"])
        #expect(folded.opCounts.map(\.name) == ["matmul"])
        #expect(folded.nodes.count == 3)
        #expect(try GraphExecutor().run(folded, inputs: [x]) == GraphExecutor().run(graph, inputs: [x]))
    }

    @Test("dead code elimination removes what no output reads")
    func deadCode() throws {
        let graph = try Graph.trace(inputs: [TensorType(of: x)]) { b, xs in
            _ = try b.unary(.exp, xs[0])
            return [try b.unary(.tanh, xs[0])]
        }
        let pruned = try GraphOptimizer(passes: [.deadCodeElimination]).optimize(graph)
        #expect(pruned.opCounts.map(\.name) == ["tanh"])
    }

    @Test("a product read twice is not fused away")
    func fusionRespectsUses() throws {
        let graph = try Graph.trace(inputs: [TensorType(of: x), TensorType(of: x)]) { b, xs in
            let p = try b.multiply(xs[0], xs[1])
            return [try b.add(b.add(p, xs[0]), p)]
        }
        let optimised = try GraphOptimizer.standard.optimize(graph)
        #expect(optimised.opCounts.map(\.name).contains("multiply"))
    }

    /// ResNet's stem tail on a channels-last `x` ([2, 9, 9, 3], as a convolution writes it): permuted to
    /// NCHW, batch-norm-like multiply-add and ReLU, the 3×3/2 max pool (padding 1, PyTorch's −∞ cells),
    /// then permuted back into a convolution, and the pool also read by a residual add.
    static func poolBlock<B: Builder>(_ b: B, _ x: B.Value, kernel: Tensor, scale: Tensor) throws -> [B.Value] {
        var indices: [Int] = []
        for oy in 0..<5 { for ox in 0..<5 { for ky in 0..<3 { for kx in 0..<3 {
            let (iy, ix) = (oy * 2 + ky - 1, ox * 2 + kx - 1)
            indices.append(iy >= 0 && iy < 9 && ix >= 0 && ix < 9 ? iy * 9 + ix : -1)
        } } } }
        let h = try b.unary(.relu, b.multiply(b.permute(x, [0, 3, 1, 2]), b.constant(scale.reshaped([3, 1, 1]))))
        let pooled = try b.apply(WindowMax(indices: indices, patchShape: [5, 5, 9], windowAxis: 2, batchRank: 2), [h])
        let bare = try b.apply(WindowMax(indices: indices, patchShape: [5, 5, 9], windowAxis: 2, batchRank: 2), [b.permute(x, [0, 3, 1, 2])])
        let conv = try b.convolution(b.permute(pooled, [0, 2, 3, 1]), kernel: b.constant(kernel), strides: [1, 1], dilations: [1, 1],
                                     padding: .explicit(before: [1, 1], after: [1, 1]), groups: 1, order: .channelsThenWindow)
        return [try b.add(b.permute(conv, [0, 3, 1, 2]), pooled), try b.permute(bare, [0, 2, 3, 1])]
    }

    @Test("permute sinking moves an NCHW max pool into the channels-last layout: no permute around it, the same bits (NaN, ±0, −∞) on every level at 1 and 3 threads",
          arguments: [DType.float32, .float64])
    func poolSinking(_ dtype: DType) throws {
        var rng = SeededGenerator(seed: 31)
        var values: [Double] = (0..<(2 * 81 * 3)).map { (i: Int) -> Double in Double((i * 7919) % 13) - 6 }
        for i in stride(from: 0, to: values.count, by: 10) { values[i] = -0.0 }
        for i in stride(from: 5, to: values.count, by: 10) { values[i] = 0.0 }
        for (i, v) in [(17, Double.nan), (100, .infinity), (101, -.infinity), (300, -Double.nan), (301, .nan), (302, -.infinity)] { values[i] = v }
        let x = Tensor(shape: [2, 9, 9, 3], values: values).cast(to: dtype)
        let kernel = Tensor.uniform([3, 3, 3, 3], generator: &rng).cast(to: dtype)
        let scale = Tensor(shape: [3], values: [1, -1, 0.5]).cast(to: dtype)
        let graph = try Graph.trace(inputs: [TensorType(of: x)]) { b, xs in try Self.poolBlock(b, xs[0], kernel: kernel, scale: scale) }
        let expected = try GraphExecutor().run(graph, inputs: [x]).map { ($0.shape, $0.doubles.map(\.bitPattern)) }
        for optimizer in [GraphOptimizer.standard, .withoutFusion, GraphOptimizer(passes: [.permuteSinking])] {
            let optimised = try optimizer.optimize(graph)
            let counts = Dictionary(uniqueKeysWithValues: optimised.opCounts.map { ($0.name, $0.count) })
            // The pools and the residual add run channels-last: the one permute left is the add's, to
            // the NCHW graph output; the bare pool's output is channels-last as the output wants.
            #expect(counts["permute"] == 1, "\(optimised)")
            #expect(counts["window max"] == 2)
            for level in InstructionSet.available {
                for threads in [1, 3] {
                    let got = try InstructionSet.forcing(level) { try KernelThreads.forcing(threads) { try GraphExecutor().run(optimised, inputs: [x]) } }
                    for (y, e) in zip(got, expected) {
                        #expect(y.shape == e.0 && y.doubles.map(\.bitPattern) == e.1, "\(dtype) \(level) \(threads) threads")
                    }
                }
            }
        }
        // The gradient through the channels-last pool is the NCHW pool's (ties of ±0 go to the first cell).
        if dtype == .float64 {
            let finite = Tensor(shape: x.shape, values: values.map { $0.isNaN ? 1 : $0 })
            let single = try Graph.trace(inputs: [TensorType(of: finite)]) { b, xs in [try Self.poolBlock(b, xs[0], kernel: kernel, scale: scale)[0]] }
            let cotangent = Tensor.uniform([2, 3, 5, 5], generator: &rng).cast(to: .float64)
            func gradient(_ optimizer: GraphOptimizer) throws -> [UInt64] {
                let g = try GraphOptimizer.withoutFusion.optimize(optimizer.optimize(single).gradient(withRespectTo: [0]))
                return try GraphExecutor().run(g, inputs: [finite, cotangent])[1].doubles.map(\.bitPattern)
            }
            #expect(try gradient(GraphOptimizer(passes: [])) == gradient(GraphOptimizer(passes: [.permuteSinking])))
        }
    }

    /// A PyTorch-style residual block on NCHW `x` (permutes around each channels-last convolution,
    /// batch norm as a per-channel multiply-add, ReLU, a residual add), then a Keras-style NHWC tail
    /// (bias add, ReLU6, a depthwise convolution). `multiplyAdd` writes the batch norms.
    static func convBlock<B: Builder>(_ b: B, _ x: B.Value, weights: [Tensor],
                                      multiplyAdd: (B, B.Value, B.Value, B.Value) throws -> B.Value) throws -> B.Value {
        let c = weights[0].shape[3]
        func conv(_ v: B.Value, _ kernel: Tensor, groups: Int = 1) throws -> B.Value {
            try b.convolution(v, kernel: b.constant(kernel), strides: [1, 1], dilations: [1, 1],
                              padding: .explicit(before: [1, 1], after: [1, 1]), groups: groups, order: .channelsThenWindow)
        }
        func batchNorm(_ v: B.Value, _ scale: Tensor, _ shift: Tensor) throws -> B.Value {
            try multiplyAdd(b, v, b.constant(scale.reshaped([c, 1, 1])), b.constant(shift.reshaped([c, 1, 1])))
        }
        var h = try b.permute(try conv(b.permute(x, [0, 2, 3, 1]), weights[0]), [0, 3, 1, 2])
        h = try b.unary(.relu, batchNorm(h, weights[1], weights[2]))
        h = try b.permute(try conv(b.permute(h, [0, 2, 3, 1]), weights[3]), [0, 3, 1, 2])
        h = try b.unary(.relu, b.add(batchNorm(h, weights[4], weights[5]), x))
        var t = try conv(b.permute(h, [0, 2, 3, 1]), weights[3])
        t = try b.unary(.relu6, b.add(t, b.constant(weights[2])))
        t = try b.unary(.relu, conv(t, weights[6], groups: c))
        return try b.permute(t, [0, 3, 1, 2])
    }

    @Test("convolution fusion and permute sinking: a PyTorch residual block keeps the unfused graph's bits, with two permutes")
    func convolutionFusion() throws {
        var rng = SeededGenerator(seed: 12)
        let c = 5
        let x = Tensor.uniform([2, c, 7, 7], generator: &rng)
        let weights = [Tensor.uniform([3, 3, c, c], generator: &rng), Tensor.uniform([c], in: -3...3, generator: &rng),
                       Tensor.uniform([c], generator: &rng), Tensor.uniform([3, 3, c, c], generator: &rng),
                       Tensor.uniform([c], in: -3...3, generator: &rng), Tensor.uniform([c], generator: &rng),
                       Tensor.uniform([3, 3, 1, c], generator: &rng)]
        // Batch norm written as a multiply and an add: the fusion pass makes it an FMA, then folds it.
        let graph = try Graph.trace(inputs: [TensorType(of: x)]) { b, xs in
            [try Self.convBlock(b, xs[0], weights: weights) { b, v, s, t in try b.add(b.multiply(v, s), t) }]
        }
        let optimised = try GraphOptimizer.standard.optimize(graph)
        let counts = Dictionary(uniqueKeysWithValues: optimised.opCounts.map { ($0.name, $0.count) })
        #expect(counts["permute"] == 2, "\(optimised)")
        #expect(counts["fused convolution + fused multiply-add + relu"] == 1)
        #expect(counts["fused convolution + fused multiply-add + residual + relu"] == 1)
        #expect(counts["fused convolution + add + clip(0.0, 6.0)"] == 1)
        #expect(counts["fused convolution + relu"] == 1)
        #expect(["relu", "add", "fused multiply-add", "convolution"].allSatisfy { counts[$0] == nil })
        // The same block with the FMA written out, run op by op: the same bits.
        let reference = try Graph.trace(inputs: [TensorType(of: x)]) { b, xs in
            [try Self.convBlock(b, xs[0], weights: weights) { b, v, s, t in try b.apply(MultiplyAdd(fused: true), [v, s, t]) }]
        }
        let expected = try GraphExecutor().run(reference, inputs: [x])[0]
        #expect(try GraphExecutor().run(optimised, inputs: [x])[0] == expected)
        // Permute sinking alone never changes a value.
        let sunk = try GraphOptimizer(passes: [.constantFolding, .permuteSinking]).optimize(reference)
        #expect(sunk.opCounts.first { $0.name == "permute" }?.count == 2)
        #expect(try GraphExecutor().run(sunk, inputs: [x])[0] == expected)
        // The gradient of the fused op is its definition's.
        let op = try #require(optimised.nodes.compactMap { node -> FusedConvolution? in
            if case .op(let op as FusedConvolution) = node.operation, op.residual { return op }
            return nil
        }.first)
        let inputs = try [Tensor.uniform([2, 7, 7, c], generator: &rng), weights[3], weights[4].reshaped([1, 1, 1, c]),
                      weights[5].reshaped([c]), Tensor.uniform([2, 7, 7, c], generator: &rng)]
        let eager = EagerContext()
        #expect(try op.forward(inputs) == op.definition(eager, inputs.map(eager.constant)).tensor)
    }

    @Test("kernel packing: a constant kernel is kept packed with the graph, a kernel fed as an input (a training variable) is not; the same bits run after run")
    func kernelPacking() throws {
        var rng = SeededGenerator(seed: 13)
        let x = Tensor.uniform([2, 6, 6, 8], generator: &rng)
        let constant = Tensor.uniform([3, 3, 8, 20], generator: &rng)
        let variable = Tensor.uniform([3, 3, 20, 16], generator: &rng)
        let graph = try Graph.trace(inputs: [TensorType(of: x), TensorType(of: variable)]) { b, xs in
            let padding = Padding.explicit(before: [1, 1], after: [1, 1])
            var h = try b.convolution(xs[0], kernel: b.constant(constant), strides: [1, 1], dilations: [1, 1], padding: padding, order: .channelsThenWindow)
            h = try b.unary(.relu, h)
            return [try b.convolution(h, kernel: xs[1], strides: [2, 2], dilations: [1, 1], padding: padding, order: .channelsThenWindow)]
        }
        let optimised = try GraphOptimizer.standard.optimize(graph)
        let kept = optimised.nodes.compactMap { node -> KeptConvolutionKernel?? in
            switch node.operation {
            case .op(let op as FusedConvolution): return .some(op.product.kept)
            case .op(let op as CrossCorrelation): return .some(op.kept)
            default: return nil
            }
        }
        #expect(kept.count == 2 && kept.compactMap { $0 }.count == 1 && kept.compactMap { $0 }.first?.holds(constant) == true, "\(optimised)")
        var passes = GraphOptimizer.standard.passes
        passes.removeAll { $0 == .kernelPacking }
        let unpacked = try GraphOptimizer(passes: passes).optimize(graph)
        // The variable changes between runs (a training step); the constant's pack serves every run.
        var changed = variable.values(Float.self)!
        changed[5] = -changed[5]
        for w in [variable, Tensor(shape: variable.shape, values: changed), variable] {
            let expected = try GraphExecutor().run(unpacked, inputs: [x, w])[0]
            for threads in [1, 3] {
                #expect(try KernelThreads.forcing(threads) { try GraphExecutor().run(optimised, inputs: [x, w])[0] } == expected)
            }
        }
    }

    @Test("weight packing: a linear layer's constant weight is kept packed, a weight fed as an input is not; the same bits on every level, 1 and 3 threads, run after run")
    func linearWeightPacking() throws {
        var rng = SeededGenerator(seed: 29)
        for dtype in [DType.float32, .float64] {
            // 130 rows: more than one block of rows (b packed per call before); 7 rows: b read in place before.
            for rows in [130, 7] {
                let x = Tensor.uniform([rows, 40], generator: &rng).cast(to: dtype)
                let (constant, bias) = (Tensor.uniform([40, 70], generator: &rng).cast(to: dtype), Tensor.uniform([70], generator: &rng).cast(to: dtype))
                let variable = Tensor.uniform([70, 33], generator: &rng).cast(to: dtype)
                let bias2 = Tensor.uniform([33], generator: &rng).cast(to: dtype)
                let graph = try Graph.trace(inputs: [TensorType(of: x), TensorType(of: variable)]) { b, xs in
                    let h = try b.unary(.relu, b.add(b.matmul(xs[0], b.constant(constant)), b.constant(bias)))
                    return [try b.add(b.matmul(h, xs[1]), b.constant(bias2))]
                }
                let optimised = try GraphOptimizer.standard.optimize(graph)
                let kept = optimised.nodes.compactMap { node -> KeptWeightMatrix?? in
                    if case .op(let op as FusedLinear) = node.operation { return .some(op.kept) }
                    return nil
                }
                #expect(kept.count == 2 && kept.compactMap { $0 }.count == 1 && kept.compactMap { $0 }.first?.holds(constant) == true, "\(optimised)")
                var passes = GraphOptimizer.standard.passes
                passes.removeAll { $0 == .kernelPacking }
                let unpacked = try GraphOptimizer(passes: passes).optimize(graph)
                var changed = variable.doubles
                changed[5] = -changed[5]
                for w in [variable, Tensor(shape: variable.shape, values: changed).cast(to: dtype), variable] {
                    let expected = try GraphExecutor().run(unpacked, inputs: [x, w])[0].doubles.map(\.bitPattern)
                    for level in InstructionSet.available {
                        for threads in [1, 3] {
                            let y = try InstructionSet.forcing(level) { try KernelThreads.forcing(threads) { try GraphExecutor().run(optimised, inputs: [x, w])[0] } }
                            #expect(y.doubles.map(\.bitPattern) == expected, "\(dtype) \(rows) rows \(level) \(threads) threads")
                        }
                    }
                }
                // A kept matrix serves only its own tensor: an equal copy in another buffer is packed per call.
                let copy = Tensor(shape: constant.shape, values: constant.doubles.map { $0 * 1 }).cast(to: dtype)
                #expect(kept.compactMap { $0 }.first?.holds(copy) == false)
                #expect(kept.compactMap { $0 }.first?.holds(try constant.reshaped([70, 40])) == false)
            }
        }
    }

    /// PyTorch's `MultiheadAttention` (batch second, as `torch.export` records it): the packed projection
    /// `[L, B, 3·H·E]` unflattened, permuted and selected into q, k, v, each viewed `[L, B·H, E]`,
    /// transposed and viewed `[B, H, L, E]`; the output permuted back to `[L, B, H, E]` and flattened.
    static func multiheadAttention<B: Builder>(_ b: B, _ xs: [B.Value], _ attention: Attention) throws -> B.Value {
        let (l, batch, heads, e) = (6, 2, 2, 4)
        let packed = try b.permute(b.reshape(b.reshape(xs[0], [l, batch, 3, heads * e]), [1, l, batch, 3, heads * e]), [3, 1, 2, 0, 4])
        let split = try b.reshape(packed, [3, l, batch, heads * e])
        func operand(_ i: Int) throws -> B.Value {
            let one = try b.reshape(b.slice(split, [SliceAxis(start: i, end: i + 1)]), [l, batch, heads * e])
            return try b.reshape(b.permute(b.reshape(one, [l, batch * heads, e]), [1, 0, 2]), [batch, heads, l, e])
        }
        let y = try b.apply(attention, [operand(0), operand(1), operand(2)] + xs.dropFirst())
        return try b.reshape(b.permute(y, [2, 0, 1, 3]), [l * batch, heads * e])
    }

    @Test("attention reads q, k, v through the head split in place and writes the merged heads: the same bits, every level, 1 and 3 threads")
    func attentionViews() throws {
        var rng = SeededGenerator(seed: 23)
        let attentions = [Attention(scale: 0.5, normalization: .afterProduct), Attention(scale: 0.5, normalization: .afterProduct, causal: true),
                          Attention(scale: 0.25, normalization: .afterProduct, mask: .additive),
                          Attention(scale: 0.25, normalization: .afterProduct, mask: .keep(fill: -.infinity, zeroProbabilities: false)),
                          Attention(scale: nil, normalization: .softmaxFirst)]
        for dtype in [DType.float32, .float64] {
            for attention in attentions {
                var inputs = [Tensor.uniform([6, 2, 24], in: -2...2, generator: &rng).cast(to: dtype)]
                switch attention.mask {
                case .none: break
                case .additive: inputs.append(Tensor.uniform([6, 6], in: -1...1, generator: &rng).cast(to: dtype))
                case .keep: inputs.append(Tensor(shape: [6, 6], int64: (0..<36).map { Int64($0 % 5 == 0 ? 0 : 1) }))
                }
                let graph = try Graph.trace(inputs: inputs.map(TensorType.init(of:))) { b, xs in [try Self.multiheadAttention(b, xs, attention)] }
                let copied = try GraphOptimizer(passes: [.constantFolding, .permuteSinking]).optimize(graph)
                let viewed = try GraphOptimizer.withoutFusion.optimize(graph)
                let counts = Dictionary(uniqueKeysWithValues: viewed.opCounts.map { ($0.name, $0.count) })
                #expect(counts["attention (operands in place)"] == 1 && counts["attention"] == nil, "\(viewed)")
                #expect(counts["permute"] == nil && counts["slice"] == nil, "\(viewed)")
                let expected = try GraphExecutor().run(copied, inputs: inputs)[0].doubles.map(\.bitPattern)
                for level in InstructionSet.available {
                    for threads in [1, 3] {
                        let y = try InstructionSet.forcing(level) { try KernelThreads.forcing(threads) { try GraphExecutor().run(viewed, inputs: inputs)[0] } }
                        #expect(y.doubles.map(\.bitPattern) == expected, "\(attention), \(level), \(threads) threads, \(dtype)")
                    }
                }
                // The gradient is the views', the attention's and the permute's.
                if dtype == .float64, attention.mask != .keep(fill: -.infinity, zeroProbabilities: false) {
                    let cotangent = Tensor.uniform([12, 8], generator: &rng).cast(to: .float64)
                    func gradient(_ optimizer: GraphOptimizer) throws -> [UInt64] {
                        let g = try GraphOptimizer.withoutFusion.optimize(optimizer.optimize(graph).gradient(withRespectTo: [0]))
                        return try GraphExecutor().run(g, inputs: inputs + [cotangent])[1].doubles.map(\.bitPattern)
                    }
                    #expect(try gradient(.withoutFusion) == gradient(GraphOptimizer(passes: [.constantFolding, .permuteSinking])))
                }
            }
        }
    }

    /// A random chain of reshapes (an axis split or two merged, `-1` or not), permutes and slices
    /// (offsets, steps 1-3 and −1) ending in `target`, built backwards: the source's shape and the ops.
    static func viewChain(to target: [Int], _ rng: inout SeededGenerator) -> (source: [Int], ops: [any Op]) {
        var shape = target
        var ops: [any Op] = []
        for _ in 0..<Int.random(in: 1...5, using: &rng) {
            switch Int.random(in: 0..<3, using: &rng) {
            case 0:
                let order = Array(0..<shape.count).shuffled(using: &rng)
                var before = shape
                for (i, axis) in order.enumerated() { before[axis] = shape[i] }
                ops.insert(Permute(order: order), at: 0)
                shape = before
            case 1:
                let axis = Int.random(in: 0..<shape.count, using: &rng), count = shape[axis]
                var axes = [SliceAxis](repeating: .all, count: axis + 1)
                let step = [1, 2, 3, -1].randomElement(using: &rng)!
                if step > 0 {
                    let start = Int.random(in: 0...2, using: &rng)
                    axes[axis] = SliceAxis(start: start, end: start + (count - 1) * step + 1, step: step)
                    shape[axis] = start + (count - 1) * step + 1 + Int.random(in: 0...2, using: &rng)
                } else {
                    axes[axis] = SliceAxis(start: count - 1, end: nil, step: -1)
                }
                ops.insert(Slice(axes: axes), at: 0)
            default:
                var before = shape
                if shape.count >= 2, Bool.random(using: &rng) {
                    let a = Int.random(in: 0..<(shape.count - 1), using: &rng)
                    before = Array(shape[..<a]) + [shape[a] * shape[a + 1]] + Array(shape[(a + 2)...])
                } else {
                    let a = Int.random(in: 0..<shape.count, using: &rng)
                    let f = (1...shape[a]).filter { shape[a] % $0 == 0 }.randomElement(using: &rng)!
                    before = Array(shape[..<a]) + [f, shape[a] / f] + Array(shape[(a + 1)...])
                }
                ops.insert(Reshape(shape: Bool.random(using: &rng) ? shape : [-1] + shape.dropFirst()), at: 0)
                shape = before
            }
        }
        return (shape, ops)
    }

    /// Chains the pass must either view exactly or leave alone (splits that do not divide, permutes
    /// moving the last axis, stepped and reversed slices, size-1 axes), a view also read by another
    /// consumer, the output permuted or not: graph mode with the views has the copies' bits.
    @Test("attention views over 600 random reshape/permute/slice chains: the copies' bits, other readers of a view unchanged")
    func attentionViewChains() throws {
        var rng = SeededGenerator(seed: 31)
        var viewed = 0
        for iteration in 0..<600 {
            let target = [[2, 3, 4, 6], [3, 5, 4], [1, 2, 3, 4], [2, 1, 6], [4, 1]].randomElement(using: &rng)!
            let rank = target.count
            var k = target, v = target
            k[rank - 2] = Int.random(in: 1...5, using: &rng)
            v[rank - 2] = k[rank - 2]
            v[rank - 1] = Int.random(in: 1...5, using: &rng)
            let chains = [target, k, v].map { Self.viewChain(to: $0, &rng) }
            let dtype: DType = Bool.random(using: &rng) ? .float32 : .float64
            let inputs = chains.map { Tensor.uniform($0.source, in: -2...2, generator: &rng).cast(to: dtype) }
            let shared = Int.random(in: 0..<4, using: &rng)
            let order: [Int]? = Bool.random(using: &rng) ? Array(0..<(rank - 1)).shuffled(using: &rng) + [rank - 1] : nil
            let attention = Bool.random(using: &rng) ? Attention(scale: 0.5, normalization: .afterProduct)
                                                     : Attention(scale: nil, normalization: .softmaxFirst, causal: true)
            let graph = try Graph.trace(inputs: inputs.map(TensorType.init(of:))) { b, xs in
                var operands: [Symbol] = [], others: [Symbol] = []
                for (n, (x, chain)) in zip(xs, chains).enumerated() {
                    var value = x
                    for (i, op) in chain.ops.enumerated() {
                        value = try b.apply(op, [value])
                        if n == shared, i == chain.ops.count / 2 { others.append(try b.unary(.tanh, value)) }
                    }
                    operands.append(value)
                }
                var y = try b.apply(attention, operands)
                if let order { y = try b.permute(y, order) }
                return [y] + others
            }
            let optimised = try GraphOptimizer.withoutFusion.optimize(graph)
            if optimised.opCounts.contains(where: { $0.name == "attention (operands in place)" }) { viewed += 1 }
            let expected = try GraphExecutor().run(GraphOptimizer(passes: [.constantFolding]).optimize(graph), inputs: inputs)
            let y = try GraphExecutor().run(optimised, inputs: inputs)
            let same = y.map { $0.doubles.map(\.bitPattern) } == expected.map { $0.doubles.map(\.bitPattern) }
            #expect(same, "\(iteration): \(chains.map { ($0.source, $0.ops.map(\.name)) }), output order \(String(describing: order))")
        }
        #expect(viewed > 500)
    }

    /// ``ViewedAttention`` holds its operands' layouts as planned for the graph's shapes; applied to
    /// inputs of other shapes whose views are the same [2, 4, 6] (batches 4·6 or 6·6 apart instead of
    /// 5·6) it must not read through the planned strides.
    @Test("attention views planned for one input shape are refused on another, naming the op")
    func attentionViewsOtherShapes() throws {
        var rng = SeededGenerator(seed: 29)
        let planned = Tensor.uniform([2, 5, 6], generator: &rng)
        let graph = try Graph.trace(inputs: [TensorType(of: planned)]) { b, xs in
            let q = try b.slice(xs[0], [.all, SliceAxis(start: 0, end: 4)])
            return [try b.apply(Attention(scale: 0.5, normalization: .afterProduct), [q, q, q])]
        }
        let viewed = try GraphOptimizer.withoutFusion.optimize(graph)
        let op = try #require(viewed.nodes.lazy.compactMap { node -> ViewedAttention? in
            if case .op(let op as ViewedAttention) = node.operation { return op }
            return nil
        }.first)
        #expect(try op.forward([planned, planned, planned]) == GraphExecutor().run(graph, inputs: [planned])[0])
        // One row shorter (the planned strides reach past it) and one longer (they stay inside but read
        // batch 1 from the wrong rows).
        for shape in [[2, 4, 6], [2, 6, 6]] {
            let other = Tensor.uniform(shape, generator: &rng)
            #expect(try op.checkedOutputType([TensorType](repeating: TensorType(of: other), count: 3)) == TensorType(.float32, [2, 4, 6]))
            #expect {
                _ = try op.forward([other, other, other])
            } throws: { error in
                "\(error)".contains("attention")
            }
        }
    }

    /// A layer's input projection `reshape(matmul(reshape(x), W))` feeding an LSTM (ParityNN's and the
    /// Keras importer's graph) moves into the op's loop (``GraphPass/recurrentProjection``), as does
    /// PyTorch's `x·W_ihᵀ + b_ih` once ``GraphPass/fusion`` has made it a ``FusedLinear``; a projection
    /// another node reads stays where it is.
    enum ProjectionCase: String, CaseIterable, Sendable { case keras, torch, readTwice }

    @Test("recurrent projection: an LSTM's input projection moves into its loop, the same bits and gradient, every level, 1 and 3 threads",
          arguments: ProjectionCase.allCases)
    func recurrentProjection(_ form: ProjectionCase) throws {
        var rng = SeededGenerator(seed: 31)
        let (batch, time, features, units) = (3, 6, 11, 37)
        let lstm = RecurrentSequence.Cell.lstm(activation: .tanh, recurrentActivation: .sigmoid)
        let op = form == .torch ? RecurrentSequence(cell: lstm, reversed: true, recurrentBias: true) : RecurrentSequence(cell: lstm, outputBias: true)
        for dtype in [DType.float32, .float64] {
            func uniform(_ shape: [Int]) -> Tensor { Tensor.uniform(shape, in: -1...1, generator: &rng).cast(to: dtype) }
            let (w, u, bias, inputBias) = (uniform([features, 4 * units]), uniform([units, 4 * units]), uniform([4 * units]), uniform([4 * units]))
            let inputs = [uniform([batch, time, features]), uniform([batch, units]), uniform([batch, units])]
            let graph = try Graph.trace(inputs: inputs.map(TensorType.init(of:))) { b, xs in
                var product = try b.matmul(b.reshape(xs[0], [batch * time, features]), b.constant(w))
                if form == .torch { product = try b.add(product, b.constant(inputBias)) }
                let projected = try b.reshape(product, [batch, time, 4 * units])
                let run = try b.recurrence(op, [projected, xs[1], xs[2], b.constant(u), b.constant(bias)])
                return [run.sequence, run.states[1]] + (form == .readTwice ? [projected] : [])
            }
            for optimizer in [GraphOptimizer.withoutFusion, .standard] {
                let optimised = try optimizer.optimize(graph)
                let reference = try GraphOptimizer(passes: optimizer.passes.filter { $0 != .recurrentProjection }).optimize(graph)
                let expected = try GraphExecutor().run(reference, inputs: inputs).map { $0.doubles.map(\.bitPattern) }
                let projecting = optimised.nodes.compactMap { node -> RecurrentSequence? in
                    if case .op(let op as RecurrentSequence) = node.operation, op.projection != nil { return op }
                    return nil
                }
                // PyTorch's bias add is a separate op without fusion, which the pass leaves alone.
                let moved = form == .keras || (form == .torch && optimizer.passes.contains(.fusion))
                let counts = Dictionary(uniqueKeysWithValues: optimised.opCounts.map { ($0.name, $0.count) })
                #expect(projecting.count == (moved ? 1 : 0) && projecting.allSatisfy { $0.projectionBias == (form == .torch) }, "\(optimised)")
                // U and W (constants) kept packed: the runs below fill each level's pack at 1 thread, and at 3
                // threads (another split of the units) pack as without one.
                let recurrences = optimised.nodes.compactMap { node -> RecurrentSequence? in
                    if case .op(let op as RecurrentSequence) = node.operation { return op }
                    return nil
                }
                #expect(recurrences.count == 1 && recurrences.allSatisfy { $0.keptMatrix != nil && ($0.keptProjection != nil) == moved })
                #expect(counts["matmul"] == (moved ? nil : 1) && counts["fused linear"] == nil, "\(optimised)")
                for level in InstructionSet.available {
                    for threads in [1, 3] {
                        let y = try InstructionSet.forcing(level) { try KernelThreads.forcing(threads) { try GraphExecutor().run(optimised, inputs: inputs) } }
                        #expect(y.map { $0.doubles.map(\.bitPattern) } == expected, "\(optimizer.passes), \(level), \(threads) threads, \(dtype)")
                    }
                }
                // A kept pack serves only its own tensor: the op run again with another U and W (same shapes).
                if let op = projecting.first {
                    let (otherU, otherW) = (uniform([units, 4 * units]), uniform([features, 4 * units]))
                    var operands = inputs + [u, bias, w] + (form == .torch ? [inputBias] : [])
                    _ = try op.forward(operands)
                    operands[3] = otherU
                    operands[5] = otherW
                    let eager = EagerContext()
                    #expect(try op.forward(operands) == op.definition(eager, operands.map(eager.constant)).tensor)
                }
                // The gradient is the definition's: the product's and the loop's.
                if dtype == .float64 {
                    let cotangent = Tensor.uniform([batch, time, units], generator: &rng).cast(to: .float64)
                    func gradient(_ g: Graph) throws -> [[UInt64]] {
                        let g = try GraphOptimizer.withoutFusion.optimize(g.gradient(ofOutput: 0, withRespectTo: [0, 1, 2]))
                        return try GraphExecutor().run(g, inputs: inputs + [cotangent]).map { $0.doubles.map(\.bitPattern) }
                    }
                    #expect(try gradient(optimised) == gradient(reference))
                }
            }
        }
    }

    @Test("recurrent projection on edge shapes (empty batch, no features, one feature, one unit; 0 steps is refused while tracing, as before): the graph's bits without the pass, 1 and 3 threads",
          arguments: [[0, 3, 2, 2], [2, 3, 1, 1], [1, 1, 1, 1], [2, 3, 0, 2], [3, 2, 5, 1]])
    func recurrentProjectionEdges(_ sizes: [Int]) throws {
        var rng = SeededGenerator(seed: 7)
        let (batch, time, features, units) = (sizes[0], sizes[1], sizes[2], sizes[3])
        let op = RecurrentSequence(cell: .lstm(activation: .tanh, recurrentActivation: .sigmoid), outputBias: true)
        for dtype in [DType.float32, .float64] {
            func uniform(_ shape: [Int]) -> Tensor { Tensor.uniform(shape, in: -1...1, generator: &rng).cast(to: dtype) }
            let (w, u, bias) = (uniform([features, 4 * units]), uniform([units, 4 * units]), uniform([4 * units]))
            let inputs = [uniform([batch, time, features]), uniform([batch, units]), uniform([batch, units])]
            let graph = try Graph.trace(inputs: inputs.map(TensorType.init(of:))) { b, xs in
                let product = try b.matmul(b.reshape(xs[0], [batch * time, features]), b.constant(w))
                let run = try b.recurrence(op, [b.reshape(product, [batch, time, 4 * units]), xs[1], xs[2], b.constant(u), b.constant(bias)])
                return [run.sequence, run.states[1]]
            }
            let optimised = try GraphOptimizer.standard.optimize(graph)
            let reference = try GraphOptimizer(passes: GraphOptimizer.standard.passes.filter { $0 != .recurrentProjection }).optimize(graph)
            let expected = try GraphExecutor().run(reference, inputs: inputs).map { $0.doubles.map(\.bitPattern) }
            for threads in [1, 3] {
                let y = try KernelThreads.forcing(threads) { try GraphExecutor().run(optimised, inputs: inputs) }
                #expect(y.map { $0.doubles.map(\.bitPattern) } == expected, "\(sizes), \(dtype), \(threads) threads")
            }
        }
    }

    @Test("shape errors are raised while tracing, naming the op and shapes")
    func traceErrors() throws {
        do {
            _ = try Graph.trace(inputs: [TensorType(.float32, [2, 3])]) { b, xs in [try b.matmul(xs[0], xs[0])] }
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("matmul") && "\(error)".contains("[2, 3]"))
        }
        let graph = try traced()
        #expect(throws: TensorError.self) { try GraphExecutor().run(graph, inputs: [Tensor.zeros([2, 2])]) }
    }
}

/// `sum(x) > 0 ? x·w₁ : exp(x)·w₂`, one definition for both modes.
private func branching<B: Builder>(_ b: B, _ x: B.Value, _ w1: Tensor, _ w2: Tensor) throws -> B.Value {
    let predicate = try b.binary(.greater, b.reduce(.sum, x, axes: []), b.scalar(0, like: x))
    return try b.cond(predicate, operands: [x],
                      then: { b, xs in try b.matmul(xs[0], b.constant(w1)) },
                      else: { b, xs in try b.matmul(b.unary(.exp, xs[0]), b.constant(w2)) })
}

@Suite("cond")
struct CondTests {
    let w1: Tensor, w2: Tensor
    init() {
        var rng = SeededGenerator(seed: 3)
        w1 = Tensor.uniform([4, 3], generator: &rng).cast(to: .float64)
        w2 = Tensor.uniform([4, 3], generator: &rng).cast(to: .float64)
    }

    static let inputs = [
        Tensor(shape: [2, 4], values: [0.5, 1, 0.25, 2, 0.1, 0.3, 0.7, 0.2]),
        Tensor(shape: [2, 4], values: [-0.5, 1, -0.25, -2, 0.1, -0.3, 0.7, -0.2]),
    ]

    @Test("graph cond takes the same branch as eager if, and equals it", arguments: inputs)
    func forward(_ x: Tensor) throws {
        let eager = EagerContext()
        let expected = try branching(eager, eager.constant(x), w1, w2).tensor
        let graph = try Graph.trace(inputs: [TensorType(of: x)]) { b, xs in [try branching(b, xs[0], w1, w2)] }
        #expect(graph.opCounts.map(\.name).contains("cond"))
        #expect(try GraphExecutor().run(graph, inputs: [x])[0] == expected)
        let positive = x.doubles.reduce(0, +) > 0
        let direct = positive ? try x.matmul(w1) : try x.map(.exp).matmul(w2)
        #expect(expected == direct)
    }

    @Test("gradient through cond: graph gradient graph equals the eager tape", arguments: inputs)
    func gradient(_ x: Tensor) throws {
        let eager = EagerContext(recording: true)
        let leaf = eager.watch(x)
        let y = try branching(eager, leaf, w1, w2)
        let cotangent = Tensor(shape: [2, 3], values: [1.0, -2, 0.5, 0.25, 3, -1])
        let expected = try eager.gradients(of: y, withRespectTo: [leaf], cotangent: cotangent)[0]
        let graph = try Graph.trace(inputs: [TensorType(of: x)]) { b, xs in [try branching(b, xs[0], w1, w2)] }
        let gradientGraph = try GraphOptimizer.withoutFusion.optimize(graph.gradient(withRespectTo: [0]))
        #expect(try GraphExecutor().run(gradientGraph, inputs: [x, cotangent])[1] == expected)
    }

    @Test("a branch that reads an outer value instead of an operand is refused")
    func outerValue() throws {
        #expect(throws: TensorError.self) {
            try Graph.trace(inputs: [TensorType(.float64, [2])]) { outer, xs in
                let x = xs[0]
                let p = try outer.reduce(.sum, x, axes: [])
                return [try outer.cond(p, operands: [], then: { b, _ in try b.unary(.exp, x) }, else: { b, _ in try b.unary(.exp, x) })]
            }
        }
    }

    @Test("branches must agree on their type")
    func branchTypes() throws {
        #expect(throws: TensorError.self) {
            try Graph.trace(inputs: [TensorType(.float64, [2])]) { b, xs in
                let p = try b.reduce(.sum, xs[0], axes: [])
                return [try b.cond(p, operands: xs, then: { b, v in v[0] }, else: { b, v in try b.reduce(.sum, v[0], axes: []) })]
            }
        }
    }
}

@Suite("Eager mode and its tape")
struct EagerTests {
    @Test("gradients of a composite function match finite differences")
    func composite() throws {
        var rng = SeededGenerator(seed: 5)
        let x = Tensor.uniform([3, 4], generator: &rng).cast(to: .float64)
        let w = Tensor.uniform([4, 2], generator: &rng).cast(to: .float64)
        func f<B: Builder>(_ b: B, _ x: B.Value, _ w: B.Value) throws -> B.Value {
            let h = try b.unary(.sigmoid, b.matmul(x, w))
            return try b.reduce(.mean, b.multiply(h, h), axes: [])
        }
        let context = EagerContext(recording: true)
        let (lx, lw) = (context.watch(x), context.watch(w))
        let grads = try context.gradients(of: f(context, lx, lw), withRespectTo: [lx, lw])
        func value(_ x: Tensor, _ w: Tensor) throws -> Double {
            let c = EagerContext()
            return try f(c, c.constant(x), c.constant(w)).tensor.doubles[0]
        }
        let h = 1e-6
        for (index, tensor) in [x, w].enumerated() {
            for j in 0..<tensor.count {
                var plus = tensor.doubles, minus = tensor.doubles
                plus[j] += h
                minus[j] -= h
                let (p, m) = (Tensor(shape: tensor.shape, values: plus), Tensor(shape: tensor.shape, values: minus))
                let numeric = index == 0 ? (try value(p, w) - value(m, w)) / (2 * h) : (try value(x, p) - value(x, m)) / (2 * h)
                #expect(abs(grads[index].doubles[j] - numeric) < 1e-8)
            }
        }
    }

    @Test("a value used twice accumulates; an unused leaf gets zeros")
    func accumulation() throws {
        let context = EagerContext(recording: true)
        let x = context.watch(Tensor(shape: [2], values: [3.0, -1]))
        let unused = context.watch(Tensor(shape: [1], values: [1.0]))
        let y = try context.multiply(x, x)
        let grads = try context.gradients(of: y, withRespectTo: [x, unused])
        #expect(grads[0].doubles == [6, -2])
        #expect(grads[1].doubles == [0])
    }

    @Test("asking a non-recording context for gradients is an error")
    func notRecording() throws {
        let context = EagerContext()
        let x = context.watch(Tensor(shape: [1], values: [1.0]))
        #expect(throws: TensorError.self) { try context.gradients(of: x, withRespectTo: [x]) }
    }
}

/// ``LayerNormRows`` (``GraphPass/layerNorm``): the chain PyTorch's `layer_norm` lowers to, in one kernel.
@Suite("Layer norm in one op")
struct LayerNormTests {
    static let pairwise = Numerics(accumulation: .pairwise(leaf: 16), fusedMultiplyAdd: false)
    /// (scaled, shifted, fused shift): every affine form the pass produces.
    static let forms: [(Bool, Bool, Bool)] = [(false, false, false), (true, false, false), (true, true, false), (true, true, true),
                                              (false, true, false), (false, true, true)]

    /// Each element's bits (a Float32's own bit pattern, not its Double's).
    static func bits(_ t: Tensor) -> [UInt64] {
        switch t.storage {
        case .float32(let v): return v.map { UInt64($0.bitPattern) }
        default: return t.doubles.map(\.bitPattern)
        }
    }

    /// `rows` rows of `n` values in −3…3, with rows of specials: NaN, ±∞, ±0, huge values whose squares
    /// overflow, subnormals, all zeros (variance 0), one constant value, and a large offset.
    static func input(rows: Int, n: Int, dtype: DType, _ rng: inout SeededGenerator) -> Tensor {
        var v = Tensor.uniform([rows, n], in: -3...3, generator: &rng).doubles
        let huge = dtype == .float32 ? 3e38 : 1.7e308, tiny = dtype == .float32 ? Double(Float.leastNonzeroMagnitude) * 3 : 5e-323
        let specials: [[Double]] = [[.nan], [.infinity], [-.infinity], [0, -0.0], [huge, -huge], [tiny, -tiny, 0], [0],
                                    [2.5], [1e6 + 1, 1e6 - 1, 1e6], [.infinity, -.infinity]]
        for (row, pattern) in specials.enumerated() where row * 3 < rows {
            for j in 0..<n where row == 6 || row == 7 || row == 3 || row == 5 || j % 3 == 0 || row == 8 {
                v[row * 3 * n + j] = pattern[j % pattern.count]
            }
        }
        return Tensor(shape: [rows, n], values: v).cast(to: dtype)
    }

    @Test("the kernel gives the chain's bits: every level, 1 and 3 threads, rows 1…1000 long, NaN/±∞/±0/huge/subnormal, Float32 and Float64, every affine form",
          arguments: [1, 7, 16, 17, 33, 256, 1000])
    func kernel(_ n: Int) throws {
        var rng = SeededGenerator(seed: UInt64(n))
        for dtype in [DType.float32, .float64] {
            let rows = n >= 256 ? 70 : 37
            let x = Self.input(rows: rows, n: n, dtype: dtype, &rng)
            let gamma = Tensor.uniform([n], in: -2...2, generator: &rng).cast(to: dtype)
            let beta = Tensor.uniform([n], in: -2...2, generator: &rng).cast(to: dtype)
            for (scaled, shifted, fused) in Self.forms {
                let op = LayerNormRows(axes: 1, numerics: Self.pairwise, epsilon: dtype == .float32 ? Double(Float(1e-5)) : 1e-5,
                                       scaled: scaled, shifted: shifted, fusedShift: fused)
                let inputs = [x] + (scaled ? [gamma] : []) + (shifted ? [beta] : [])
                let eager = EagerContext()
                let expected = try Self.bits(op.definition(eager, inputs.map(eager.constant)).tensor)
                for level in InstructionSet.available {
                    for threads in [1, 3] {
                        let y = try InstructionSet.forcing(level) { try KernelThreads.forcing(threads) { try op.forward(inputs) } }
                        #expect(Self.bits(y) == expected, "n \(n), \(dtype), \(level), \(threads) threads, scaled \(scaled), shifted \(shifted), fused \(fused)")
                    }
                }
            }
        }
    }

    @Test("several trailing axes and other leaves: the chain's bits; parameters that are not one per normalised element are refused, naming the op")
    func axesAndLeaves() throws {
        var rng = SeededGenerator(seed: 3)
        let x = Tensor.uniform([5, 3, 4, 9], in: -3...3, generator: &rng)
        let gamma = Tensor.uniform([1, 4, 9], in: -2...2, generator: &rng), beta = Tensor.uniform([4, 9], generator: &rng)
        for leaf in [1, 5, 16, 64] {
            let op = LayerNormRows(axes: 2, numerics: Numerics(accumulation: .pairwise(leaf: leaf), fusedMultiplyAdd: false), epsilon: 1e-3,
                                   scaled: true, shifted: true, fusedShift: true)
            let eager = EagerContext()
            let expected = try op.definition(eager, [x, gamma, beta].map(eager.constant)).tensor
            #expect(try Self.bits(op.forward([x, gamma, beta])) == Self.bits(expected), "leaf \(leaf)")
        }
        let op = LayerNormRows(axes: 2, numerics: Self.pairwise, epsilon: 1e-5, scaled: true)
        #expect(throws: TensorError.self) { try op.forward([x, Tensor.uniform([9], generator: &rng)]) }
        #expect(throws: TensorError.self) { try op.forward([x, Tensor.uniform([3, 4, 9], generator: &rng)]) }
        #expect(throws: TensorError.self) { try LayerNormRows(axes: 1, numerics: .reductionDefault, epsilon: 1e-5).forward([x]) }
    }

    /// PyTorch's `layer_norm` chain as `NormalizationOps` lowers it (ParityTorch), written out.
    static func chain<B: Builder>(_ b: B, _ x: B.Value, gamma: B.Value?, beta: B.Value?, meanToo: Bool = false) throws -> [B.Value] {
        let axes = [b.shape(of: x).count - 1]
        let mean = try b.reduce(.mean, x, axes: axes, keepDims: true, numerics: pairwise)
        let centred = try b.subtract(x, mean)
        let variance = try b.reduce(.mean, b.multiply(centred, centred), axes: axes, keepDims: true, numerics: pairwise)
        let rstd = try b.unary(.reciprocal, b.unary(.sqrt, b.add(variance, b.scalar(1e-5, like: x))))
        var y = try b.multiply(centred, rstd)
        if let gamma { y = try b.multiply(y, gamma) }
        if let beta { y = try b.add(y, beta) }
        return meanToo ? [y, mean] : [y]
    }

    @Test("the pass replaces the chain after fusion and without it: the same bits and gradient as the graph without the pass; a chain whose mean is read elsewhere stays")
    func pass() throws {
        var rng = SeededGenerator(seed: 8)
        let x = Self.input(rows: 40, n: 33, dtype: .float64, &rng).cast(to: .float32)
        let gamma = Tensor.uniform([33], in: -2...2, generator: &rng), beta = Tensor.uniform([33], in: -2...2, generator: &rng)
        for (scaled, shifted) in [(false, false), (true, false), (true, true), (false, true)] {
            for dtype in [DType.float32, .float64] {
                let inputs = [x.cast(to: dtype)]
                let graph = try Graph.trace(inputs: inputs.map(TensorType.init(of:))) { b, xs in
                    try Self.chain(b, xs[0], gamma: scaled ? b.constant(gamma.cast(to: dtype)) : nil, beta: shifted ? b.constant(beta.cast(to: dtype)) : nil)
                }
                for optimizer in [GraphOptimizer.standard, .withoutFusion] {
                    let without = GraphOptimizer(passes: optimizer.passes.filter { $0 != .layerNorm })
                    let fused = try optimizer.optimize(graph)
                    let counts = Dictionary(uniqueKeysWithValues: fused.opCounts.map { ($0.name, $0.count) })
                    #expect(counts["layer norm"] == 1 && fused.opCounts.count == 1, "\(fused)")
                    let expected = try Self.bits(GraphExecutor().run(without.optimize(graph), inputs: inputs)[0])
                    for threads in [1, 3] {
                        let y = try KernelThreads.forcing(threads) { try GraphExecutor().run(fused, inputs: inputs)[0] }
                        #expect(Self.bits(y) == expected, "scaled \(scaled), shifted \(shifted), \(dtype), \(optimizer.passes), \(threads) threads")
                    }
                    if dtype == .float64 {
                        let cotangent = Tensor.uniform([40, 33], generator: &rng).cast(to: .float64)
                        let finite = [Tensor.uniform([40, 33], in: -3...3, generator: &rng).cast(to: .float64)]
                        func gradient(_ o: GraphOptimizer) throws -> [UInt64] {
                            let g = try GraphOptimizer.withoutFusion.optimize(o.optimize(graph).gradient(withRespectTo: [0]))
                            return try Self.bits(GraphExecutor().run(g, inputs: finite + [cotangent])[1])
                        }
                        #expect(try gradient(optimizer) == gradient(without), "scaled \(scaled), shifted \(shifted), \(optimizer.passes)")
                    }
                }
            }
        }
        // `native_layer_norm`'s mean read as an output: the chain stays as it is.
        let graph = try Graph.trace(inputs: [TensorType(of: x)]) { b, xs in try Self.chain(b, xs[0], gamma: b.constant(gamma), beta: nil, meanToo: true) }
        let optimized = try GraphOptimizer.standard.optimize(graph)
        #expect(!optimized.opCounts.contains { $0.name == "layer norm" }, "\(optimized)")
    }

    @Test("an empty normalised axis (x [4, 0]) and an empty batch: the pass's op gives the graph's empty result, not an error")
    func emptyRows() throws {
        for shape in [[4, 0], [0, 5]] {
            for dtype in [DType.float32, .float64] {
                let n = shape[1]
                let inputs = [Tensor.zeros(shape).cast(to: dtype)]
                let gamma = Tensor.zeros([n]).cast(to: dtype), beta = Tensor.zeros([n]).cast(to: dtype)
                let graph = try Graph.trace(inputs: inputs.map(TensorType.init(of:))) { b, xs in
                    try Self.chain(b, xs[0], gamma: b.constant(gamma), beta: b.constant(beta))
                }
                let without = GraphOptimizer(passes: GraphOptimizer.standard.passes.filter { $0 != .layerNorm })
                let fused = try GraphOptimizer.standard.optimize(graph)
                #expect(fused.opCounts.contains { $0.name == "layer norm" }, "\(fused)")
                let expected = try GraphExecutor().run(without.optimize(graph), inputs: inputs)[0]
                let y = try GraphExecutor().run(fused, inputs: inputs)[0]
                #expect(y.shape == expected.shape && y.dtype == dtype && y.count == 0, "\(shape), \(dtype)")
            }
        }
    }

    /// Rows whose transposed row group would pass the kernel's scratch limit (4 MB: 2^19 values make 8 MB
    /// even at the portable level's 2 Float64 lanes) are summed one at a time on the row: the same bits.
    @Test("rows over the kernel's row-group scratch limit (2^19 and 2^19 + 3 values, NaN and ±∞ rows): the chain's bits on every level, Float32 and Float64")
    func longRow() throws {
        var rng = SeededGenerator(seed: 12)
        for n in [1 << 19, (1 << 19) + 3] {
            for dtype in [DType.float32, .float64] {
                let x = Self.input(rows: 4, n: n, dtype: dtype, &rng)
                let gamma = Tensor.uniform([n], in: -2...2, generator: &rng).cast(to: dtype)
                let op = LayerNormRows(axes: 1, numerics: Self.pairwise, epsilon: 1e-5, scaled: true, shifted: true, fusedShift: true)
                let eager = EagerContext()
                let expected = try Self.bits(op.definition(eager, [x, gamma, gamma].map(eager.constant)).tensor)
                for level in InstructionSet.available {
                    let y = try InstructionSet.forcing(level) { try op.forward([x, gamma, gamma]) }
                    #expect(Self.bits(y) == expected, "n \(n), \(dtype), \(level)")
                }
            }
        }
    }
}
