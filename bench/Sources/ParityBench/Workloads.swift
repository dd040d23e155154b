import ParityNN

/// One benchmark: the same computation in eager mode and in graph mode, Float32.
///
/// Keep ids, shapes and descriptions in step with `SUMMARIES` and `build()` in `bench/pytorch_bench.py`.
struct Workload {
    /// Stable key shared with the PyTorch JSON: `ffn`, `mlp`, `lstm`, `matmul`.
    let id: String
    let summary: String
    /// Floating-point operations per call (multiply and add counted separately, matmuls only).
    let flops: Double
    /// Eager: op by op, the `model.run(_, mode: .eager)` path.
    let eager: () throws -> Tensor
    /// Graph: traced and optimised once (`GraphOptimizer.standard`) outside the timed loop; only
    /// `GraphExecutor.run` is timed.
    let graph: () throws -> Tensor
}

enum Workloads {
    static let ids = ["ffn", "mlp", "lstm", "matmul"]

    /// Builds the workloads in `selected` (all by default), weights and inputs from a fixed seed.
    static func make(_ selected: Set<String> = Set(ids)) throws -> [Workload] {
        var rng = SeededGenerator(seed: 1)
        func glorot(_ fanIn: Int, _ fanOut: Int, shape: [Int]? = nil) -> Tensor {
            let limit = Float((6 / Double(fanIn + fanOut)).squareRoot())
            return Tensor.uniform(shape ?? [fanIn, fanOut], in: -limit...limit, generator: &rng)
        }
        func dense(_ inputs: Int, _ units: Int, _ activation: UnaryFunction? = nil) -> Dense {
            Dense(kernel: glorot(inputs, units), bias: Tensor.uniform([units], in: -0.1...0.1, generator: &rng),
                  activation: activation.map(Activation.unary))
        }
        func modelWorkload(_ id: String, _ summary: String, flops: Double, _ model: any Model, input: Tensor) throws -> Workload {
            let graph = try GraphOptimizer.standard.optimize(model.tracedGraph(for: [TensorType(of: input)]))
            let executor = GraphExecutor()
            return Workload(id: id, summary: summary, flops: flops,
                            eager: { try model.run([input], mode: .eager) },
                            graph: { try executor.run(graph, inputs: [input])[0] })
        }

        var workloads: [Workload] = []
        if selected.contains("ffn") {
            let model = Sequential([dense(5, 10, .sigmoid), dense(10, 1)])
            let input = Tensor.uniform([1, 5], generator: &rng)
            workloads.append(try modelWorkload(
                "ffn", "seed FFN Dense(5->10,sigmoid)->Dense(10->1), batch 1",
                flops: 2 * (5 * 10 + 10 * 1), model, input: input))
        }
        if selected.contains("mlp") {
            let model = Sequential([dense(1024, 1024, .relu), dense(1024, 1024, .relu), dense(1024, 10)])
            let input = Tensor.uniform([64, 1024], generator: &rng)
            workloads.append(try modelWorkload(
                "mlp", "MLP 1024-1024-1024-10 (relu), batch 64",
                flops: 2 * 64 * Double(1024 * 1024 * 2 + 1024 * 10), model, input: input))
        }
        if selected.contains("lstm") {
            let (features, units, steps, batch) = (32, 256, 100, 8)
            let model = LSTM(kernel: glorot(features, 4 * units), recurrentKernel: glorot(units, 4 * units),
                             bias: Tensor.uniform([4 * units], in: -0.1...0.1, generator: &rng))
            let input = Tensor.uniform([batch, steps, features], generator: &rng)
            workloads.append(try modelWorkload(
                "lstm", "LSTM(256), 32 features, 100 steps, batch 8, last h",
                flops: Double(steps) * 2 * Double(batch) * Double((features + units) * 4 * units), model, input: input))
        }
        if selected.contains("matmul") {
            let n = 1024
            let a = Tensor.uniform([n, n], generator: &rng), b = Tensor.uniform([n, n], generator: &rng)
            let graph = try GraphOptimizer.standard.optimize(
                Graph.trace(inputs: [TensorType(of: a), TensorType(of: b)]) { builder, xs in [try builder.matmul(xs[0], xs[1])] })
            let executor = GraphExecutor()
            workloads.append(Workload(
                id: "matmul", summary: "matmul 1024x1024 @ 1024x1024",
                flops: 2 * Double(n * n * n),
                eager: { try a.matmul(b) },
                graph: { try executor.run(graph, inputs: [a, b])[0] }))
        }
        return workloads
    }
}
