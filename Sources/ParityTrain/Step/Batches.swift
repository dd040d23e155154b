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

    /// Rows `range` of each array (all arrays share their first axis).
    public static func slice(_ arrays: [Tensor], _ range: Range<Int>) throws -> [Tensor] {
        try arrays.map { array in
            guard array.rank >= 1 else { throw TrainError.badInput(reason: "a scalar array cannot be split into rows") }
            if range == 0..<array.shape[0] { return array }
            let context = EagerContext()
            return try context.slice(context.constant(array), [SliceAxis(start: range.lowerBound, end: range.upperBound)]).tensor
        }
    }
}

extension TrainingSession {
    /// Trains `steps` steps on consecutive batches of `inputs` and `target` (``Batches``); `onStep` sees each
    /// step's record. Returns each step's loss.
    public mutating func train(inputs: [Tensor], target: Tensor, steps: Int, batchSize: Int? = nil, sampleWeight: Tensor? = nil,
                               onStep: ((Int, StepRecord) throws -> Void)? = nil) throws -> [Double] {
        guard steps >= 1 else { throw TrainError.badArgument(name: "steps", value: "\(steps)", reason: "must be at least 1") }
        let rows = target.shape.first ?? 0
        for (name, input) in zip(model.inputNames, inputs) where input.shape.first != rows {
            throw TrainError.badTarget(reason: "the target has \(rows) rows; input '\(name)' has \(input.shape.first ?? 0)")
        }
        if let sampleWeight, sampleWeight.shape.first != rows {
            throw TrainError.badTarget(reason: "the target has \(rows) rows; the sample weights have \(sampleWeight.shape.first ?? 0)")
        }
        let batches = try Batches(rows: rows, size: batchSize)
        var losses: [Double] = []
        for index in 0..<steps {
            let range = batches.range(step: index)
            let batch = try Batches.slice(inputs + [target] + [sampleWeight].compactMap { $0 }, range)
            let record = try step(inputs: Array(batch.prefix(inputs.count)), target: batch[inputs.count],
                                  sampleWeight: sampleWeight == nil ? nil : batch.last)
            losses.append(record.loss)
            try onStep?(index, record)
        }
        return losses
    }
}
