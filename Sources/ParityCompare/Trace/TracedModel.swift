import ParityTensor

/// Stage 1 of a comparison: one model's graph run on its inputs in Float32 and in Float64 (the referee: the same
/// graph and weights, every op in Float64), every tensor kept.
struct TracedModel {
    let model: ComparedModel
    let graph: ModelGraph
    let dependence: Dependence
    let f32: [Tensor?]
    let f64: [Tensor?]
    /// The ops reading each tensor.
    let consumers: [[Int]]
    /// Per tensor, how far its Float64 value moves when the float32 constants computed before the export
    /// (``ModelGraph/Op/perturbed``) move by one float32 rounding: those constants hold float32 roundings of
    /// values the other library may compute in Float64 (Hugging Face's rotary `inv_freq`), so the Float64
    /// referee cannot resolve a difference below this. Empty when the model has no such constants.
    let constantSlack: [Double]

    init(_ model: ComparedModel, inputs: [Tensor], progress: CompareProgress) throws {
        self.model = model
        graph = try model.graph()
        dependence = Dependence(graph)
        var consumers = [[Int]](repeating: [], count: graph.tensors.count)
        for (index, op) in graph.ops.enumerated() { for input in Set(op.inputs) { consumers[input].append(index) } }
        self.consumers = consumers
        let n = graph.ops.count
        f32 = try graph.run(inputs, dtype: .float32) { progress.step("running \(model.label) in Float32", $0 + 1, of: n) }
        f64 = try graph.run(inputs, dtype: .float64) { progress.step("running \(model.label) in Float64", $0 + 1, of: n) }
        if graph.ops.contains(where: { $0.perturbed != nil }) {
            let moved = try graph.run(inputs, dtype: .float64, perturbingConstants: true)
            constantSlack = zip(f64, moved).map { base, moved in
                guard let base, let moved, base.dtype.isFloatingPoint, base.shape == moved.shape else { return 0 }
                return zip(base.doubles, moved.doubles).reduce(0) { Swift.max($0, Swift.abs($1.0 - $1.1)) }
            }
        } else {
            constantSlack = []
        }
    }

    /// ``constantSlack`` of one tensor.
    func slack(_ id: Int) -> Double { id < constantSlack.count ? constantSlack[id] : 0 }

    var framework: ComparedModel.Framework { model.framework }

    func shape(_ id: Int) -> [Int]? { f32[id]?.shape }

    /// Whether the tensor holds floating values worth pairing (token ids and indices are not).
    func isFloating(_ id: Int) -> Bool { f32[id]?.dtype.isFloatingPoint ?? false }

    /// The tensor's name as reports show it: the Keras layer, or the `.pt2` value with its module
    /// (`linear_1 (fc1)`).
    func displayName(_ id: Int) -> String {
        let info = graph.tensors[id]
        guard let producer = info.producer else { return info.name }
        let op = graph.ops[producer]
        if case .torch = op.origin, !op.module.isEmpty { return "\(info.name) (\(op.module))" }
        return info.name
    }

    /// The op's kind for reports: the Keras class, or the ATen target without its overload (`aten.linear`).
    func kind(_ id: Int) -> String {
        guard let producer = graph.tensors[id].producer else { return "input" }
        let kind = graph.ops[producer].kind
        if kind.hasPrefix("aten.") { return kind.split(separator: ".").prefix(2).joined(separator: ".") }
        return kind
    }
}

/// CompareProgress of a slow comparison, for a caller that reports it (the CLI prints it on stderr).
public struct CompareProgress: Sendable {
    let report: (@Sendable (String) -> Void)?

    /// Progress reported to `report`, one line per stage (none when `nil`).
    public init(_ report: (@Sendable (String) -> Void)? = nil) { self.report = report }

    /// No progress reports.
    public static let none = CompareProgress()

    func say(_ message: String) { report?(message) }

    /// Reports every tenth of a long stage (and its end).
    func step(_ stage: String, _ done: Int, of total: Int) {
        guard let report, total >= 50 else { return }
        let tenth = Swift.max(1, total / 10)
        if done % tenth == 0 || done == total { report("\(stage): \(done)/\(total)") }
    }
}
