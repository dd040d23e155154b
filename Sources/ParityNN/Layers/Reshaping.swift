/// Flattens every axis but the batch, in channels-last order (`keras/src/layers/reshaping/flatten.py`):
/// a `channelsFirst` input is transposed to channels-last first, so Keras always flattens (H, W, C)
/// where PyTorch's `nn.Flatten` flattens (C, H, W) (docs/conventions.md, A.5).
public struct Flatten: Model {
    /// Where the input's channel axis is (a `channelsFirst` input is made channels-last before flattening).
    public var dataFormat: DataFormat
    /// A layer for inputs in `dataFormat`.
    public init(dataFormat: DataFormat = .channelsLast) { self.dataFormat = dataFormat }

    public func callAsFunction<B: Builder>(_ inputs: [B.Value], in b: B) throws -> B.Value {
        var x = inputs[0]
        let shape = b.shape(of: x)
        if dataFormat == .channelsFirst && shape.count > 2 { x = try b.channelsLast(x) }
        return try b.reshape(x, [shape[0], Shape.count(Array(shape.dropFirst()))])
    }
}

/// Reshapes every axis but the batch to `targetShape` (one `-1` inferred), Keras `Reshape`
/// (`keras/src/layers/reshaping/reshape.py`).
public struct ReshapeLayer: Model {
    /// The shape without the batch axis.
    public var targetShape: [Int]
    /// A layer reshaping to `targetShape`.
    public init(targetShape: [Int]) { self.targetShape = targetShape }

    public func callAsFunction<B: Builder>(_ inputs: [B.Value], in b: B) throws -> B.Value {
        try b.reshape(inputs[0], [b.shape(of: inputs[0])[0]] + targetShape)
    }
}

/// Reorders the non-batch axes, Keras `Permute` (`keras/src/layers/reshaping/permute.py`): `dims` are
/// 1-indexed and exclude the batch (`(2, 1)` swaps the two axes after it); `torch.permute` counts
/// from 0 and includes the batch.
public struct PermuteAxes: Model {
    /// The new order of the non-batch axes, numbered from 1.
    public var dims: [Int]
    /// A layer with Keras's `dims`.
    public init(dims: [Int]) { self.dims = dims }

    public func callAsFunction<B: Builder>(_ inputs: [B.Value], in b: B) throws -> B.Value {
        try b.permute(inputs[0], [0] + dims)
    }
}

/// `[batch, features]` → `[batch, n, features]`, Keras `RepeatVector`.
public struct RepeatVector: Model {
    /// The number of repetitions.
    public var n: Int
    /// A layer repeating `n` times.
    public init(n: Int) { self.n = n }

    public func callAsFunction<B: Builder>(_ inputs: [B.Value], in b: B) throws -> B.Value {
        let shape = b.shape(of: inputs[0])
        guard shape.count == 2 else { throw TensorError.shapeMismatch(op: "RepeatVector", expected: "[batch, features]", received: [shape]) }
        return try b.broadcast(b.reshape(inputs[0], [shape[0], 1, shape[1]]), to: [shape[0], n, shape[1]])
    }
}

/// Zeros added before and after each spatial axis (Keras `ZeroPadding1D/2D/3D`: `((top, bottom),
/// (left, right))`; `F.pad` lists the last axis first, docs/conventions.md, H.27).
public struct ZeroPadding: Model {
    /// Zeros before each spatial axis, in axis order.
    public var before: [Int]
    /// Zeros after each spatial axis, in axis order.
    public var after: [Int]
    /// Where the channel axis is.
    public var dataFormat: DataFormat

    /// A layer; the parameters are the properties of the same names.
    public init(before: [Int], after: [Int], dataFormat: DataFormat = .channelsLast) {
        self.before = before
        self.after = after
        self.dataFormat = dataFormat
    }

    public func callAsFunction<B: Builder>(_ inputs: [B.Value], in b: B) throws -> B.Value {
        try b.inChannelsLast(inputs[0], dataFormat) { x in
            try b.apply(Pad(before: [0] + before + [0], after: [0] + after + [0]), [x])
        }
    }
}

/// Cells removed from the start and end of each spatial axis (Keras `Cropping1D/2D/3D`).
public struct Cropping: Model {
    /// Cells removed at the start of each spatial axis, in axis order.
    public var before: [Int]
    /// Cells removed at the end of each spatial axis, in axis order.
    public var after: [Int]
    /// Where the channel axis is.
    public var dataFormat: DataFormat

    /// A layer; the parameters are the properties of the same names.
    public init(before: [Int], after: [Int], dataFormat: DataFormat = .channelsLast) {
        self.before = before
        self.after = after
        self.dataFormat = dataFormat
    }

    public func callAsFunction<B: Builder>(_ inputs: [B.Value], in b: B) throws -> B.Value {
        try b.inChannelsLast(inputs[0], dataFormat) { x in
            let shape = b.shape(of: x)
            let axes = (0..<before.count).map { SliceAxis(start: before[$0], end: shape[$0 + 1] - after[$0]) }
            for (i, axis) in axes.enumerated() where (axis.end ?? 0) <= before[i] {
                throw TensorError.invalidArgument(op: "Cropping", message: "cropping \(before[i])+\(after[i]) leaves nothing of spatial axis \(i) of size \(shape[i + 1])")
            }
            return try b.slice(x, [.all] + axes)
        }
    }
}
