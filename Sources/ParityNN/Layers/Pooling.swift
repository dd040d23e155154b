/// Max or average pooling in Keras's convention (`keras/src/layers/pooling/base_pooling.py`, TensorFlow's
/// `tf.nn.max_pool` / `avg_pool`): TensorFlow's asymmetric `same` padding, padded cells never win a max
/// and are left out of an average's divisor. PyTorch pads symmetrically and counts padding in
/// averages by default (docs/conventions.md, B.8 and B.9).
public struct Pooling: Model {
    /// `.max` or `.mean`.
    public var kind: ReductionKind
    /// The window size per spatial axis.
    public var window: [Int]
    /// The stride per spatial axis.
    public var strides: [Int]
    /// How the input is padded.
    public var padding: Padding
    /// Whether an average divides by the whole window including padding (PyTorch `count_include_pad`).
    public var countPadding: Bool
    /// Where the channel axis is.
    public var dataFormat: DataFormat

    /// A layer; the parameters are the properties of the same names.
    public init(_ kind: ReductionKind, window: [Int], strides: [Int], padding: Padding, countPadding: Bool = false,
                dataFormat: DataFormat = .channelsLast) {
        self.kind = kind
        self.window = window
        self.strides = strides
        self.padding = padding
        self.countPadding = countPadding
        self.dataFormat = dataFormat
    }

    public func callAsFunction<B: Builder>(_ inputs: [B.Value], in b: B) throws -> B.Value {
        try b.inChannelsLast(inputs[0], dataFormat) { x in
            try b.pool(x, kind, window: window, strides: strides, padding: padding, countPadding: countPadding)
        }
    }
}

/// Global max or average pooling over every spatial axis (`keras/src/layers/pooling/global_*_pooling*d.py`:
/// `ops.mean` / `ops.max` over the spatial axes), optionally keeping them as size-1 axes.
public struct GlobalPooling: Model {
    /// `.max` or `.mean`.
    public var kind: ReductionKind
    /// Whether the spatial axes stay as size-1 axes (Keras `keepdims`).
    public var keepDims: Bool
    /// Where the channel axis is.
    public var dataFormat: DataFormat

    /// A layer; the parameters are the properties of the same names.
    public init(_ kind: ReductionKind, keepDims: Bool = false, dataFormat: DataFormat = .channelsLast) {
        self.kind = kind
        self.keepDims = keepDims
        self.dataFormat = dataFormat
    }

    public func callAsFunction<B: Builder>(_ inputs: [B.Value], in b: B) throws -> B.Value {
        let rank = b.shape(of: inputs[0]).count
        let axes = dataFormat == .channelsLast ? Array(1..<(rank - 1)) : Array(2..<rank)
        return try b.reduce(kind, inputs[0], axes: axes, keepDims: keepDims)
    }
}
