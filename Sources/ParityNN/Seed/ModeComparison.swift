/// One model run PyTorch-style (eager, op by op) and Keras-style (traced, optimised graph), in
/// Float32, against a Float64 reference run of the same weights; with the cause of any difference
/// found by experiment: the graph is rerun with fusion off, and if that matches eager bit for bit,
/// fusion is what changed the rounding.
public struct ModeComparison: Sendable {
    public let eager: Tensor
    public let graph: Tensor
    public let reference: Tensor
    public let difference: ErrorMetrics
    /// Max absolute error of each Float32 run against the Float64 reference.
    public let eagerError: Double
    public let graphError: Double
    /// The ops the optimised graph ran that eager mode does not have (fused kernels), with counts.
    public let fusedOps: [(name: String, count: Int)]
    /// Whether the graph with fusion off matches eager mode bit for bit.
    public let unfusedGraphMatchesEager: Bool

    public init(model: any Model, input: Tensor) throws {
        let input32 = input.cast(to: .float32)
        eager = try model.run([input32], mode: .eager)
        graph = try model.run([input32], mode: .graph(.standard))
        reference = try model.run([input.cast(to: .float64)], mode: .eager)
        difference = try ErrorMetrics(eager, graph)
        eagerError = try ErrorMetrics(eager.cast(to: .float64), reference).maxAbsolute
        graphError = try ErrorMetrics(graph.cast(to: .float64), reference).maxAbsolute
        let optimised = try GraphOptimizer.standard.optimize(model.tracedGraph(for: [TensorType(of: input32)]))
        fusedOps = optimised.opCounts.filter { $0.name.hasPrefix("fused") }
        let unfused = try model.run([input32], mode: .graph(.withoutFusion))
        unfusedGraphMatchesEager = try ErrorMetrics(unfused, eager).isBitIdentical
    }

    /// "eager", "graph" or "tie": which Float32 run is closer to the Float64 reference.
    public var closerToReference: String {
        eagerError == graphError ? "tie" : (eagerError < graphError ? "eager" : "graph")
    }

    /// One line on what caused the difference.
    public var cause: String {
        let fused = fusedOps.map { "\($0.name) ×\($0.count)" }.joined(separator: ", ")
        if difference.isBitIdentical {
            return fusedOps.isEmpty
                ? "no difference: same ops, same kernels, same accumulation order"
                : "no difference: the graph fused (\(fused)) but every output rounded to the same float"
        }
        if unfusedGraphMatchesEager {
            return "fusion changed rounding: the graph ran \(fused); with fusion off it matches eager bit for bit"
        }
        return "not explained by fusion: with fusion off the graph still differs from eager (accumulation order or kernels)"
    }
}
