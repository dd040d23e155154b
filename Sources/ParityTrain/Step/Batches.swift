import ParityNN

/// Consecutive batches of rows, in order, without shuffling: step `i` takes rows `[i·B, i·B + B)` of the
/// arrays, wrapping around at the end of the data (a new epoch, as `fit(shuffle=False)` and a
/// `DataLoader(shuffle=False)` go); the last batch of an epoch may be shorter (`drop_last=False`). Without a
/// batch size every step takes all rows.
public struct Batches: Sendable {
    /// The number of rows in the data.
    public let rows: Int
    /// Rows per batch (at most ``rows``).
    public let size: Int

    /// Batches of `size` rows (`nil`: all rows) over `rows` rows; throws when there are no rows or `size` < 1.
    public init(rows: Int, size: Int?) throws {
        guard rows > 0 else { throw TrainError.badInput(reason: "no rows to train on") }
        if let size, size < 1 { throw TrainError.badArgument(name: "batch size", value: "\(size)", reason: "must be at least 1") }
        self.rows = rows
        self.size = min(size ?? rows, rows)
    }

    /// Batches per epoch.
    public var perEpoch: Int { (rows + size - 1) / size }

    /// The rows step `step` takes.
    public func range(step: Int) -> Range<Int> {
        let start = (step % perEpoch) * size
        return start..<min(start + size, rows)
    }

    /// Rows `range` of each array, along its batch axis (`axes[i]`, axis 0 when not given).
    public static func slice(_ arrays: [Tensor], _ range: Range<Int>, axes: [Int]? = nil) throws -> [Tensor] {
        try arrays.enumerated().map { index, array in
            let axis = axes.map { index < $0.count ? $0[index] : 0 } ?? 0
            guard array.rank > axis else { throw TrainError.badInput(reason: "an array of shape \(array.shape) cannot be split into rows along axis \(axis)") }
            if range == 0..<array.shape[axis] { return array }
            let context = EagerContext()
            let slices = Array(repeating: SliceAxis(), count: axis) + [SliceAxis(start: range.lowerBound, end: range.upperBound)]
            return try context.slice(context.constant(array), slices).tensor
        }
    }
}

extension TrainingSession {
    /// Trains `steps` steps on consecutive batches of `inputs` and `target` (``Batches``); `onStep` sees each
    /// step's record. Returns each step's loss. `batchAxes`: the axis of each input that holds the rows (0 when
    /// not given; 1 for a time-first PyTorch RNN's `(T, N, F)` input).
    public mutating func train(inputs: [Tensor], target: Tensor, steps: Int, batchSize: Int? = nil, sampleWeight: Tensor? = nil,
                               batchAxes: [Int]? = nil, onStep: ((Int, StepRecord) throws -> Void)? = nil) throws -> [Double] {
        guard steps >= 1 else { throw TrainError.badArgument(name: "steps", value: "\(steps)", reason: "must be at least 1") }
        if case .oneCycleLR(let cycle)? = optimizer.schedule, steps > cycle.totalSteps {
            throw TrainError.badArgument(name: "steps", value: "\(steps)",
                                         reason: "OneCycleLR(total_steps=\(cycle.totalSteps)) runs at most that many steps (PyTorch's scheduler raises when it steps past them)")
        }
        let rows = target.shape.first ?? 0
        for (index, (name, input)) in zip(model.inputNames, inputs).enumerated() {
            let axis = batchAxes.map { index < $0.count ? $0[index] : 0 } ?? 0
            guard input.rank > axis, input.shape[axis] == rows else {
                let elsewhere = input.shape.indices.filter { $0 != axis && input.shape[$0] == rows }
                let hint = elsewhere.isEmpty ? "" : " (batches split axis \(axis); this input has \(rows) on axis \(elsewhere[0]): a time-first input must be given batch-first, "
                    + "or compared against a Keras model so that Parity finds its layout)"
                throw TrainError.badTarget(reason: "the target has \(rows) rows; input '\(name)' has shape \(input.shape)\(hint)")
            }
        }
        if let sampleWeight, sampleWeight.shape.first != rows {
            throw TrainError.badTarget(reason: "the target has \(rows) rows; the sample weights have \(sampleWeight.shape.first ?? 0)")
        }
        let batches = try Batches(rows: rows, size: batchSize)
        var losses: [Double] = []
        for index in 0..<steps {
            let range = batches.range(step: index)
            let batch = try Batches.slice(inputs + [target] + [sampleWeight].compactMap { $0 }, range, axes: batchAxes)
            let record = try step(inputs: Array(batch.prefix(inputs.count)), target: batch[inputs.count],
                                  sampleWeight: sampleWeight == nil ? nil : batch.last)
            losses.append(record.loss)
            try onStep?(index, record)
        }
        return losses
    }
}
