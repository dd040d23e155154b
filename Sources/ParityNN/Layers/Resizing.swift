/// Nearest-neighbour upsampling by integer factors: each cell repeated `factors[i]` times along
/// spatial axis `i` (Keras `UpSampling1D/2D/3D` with `nearest`: `ops.repeat`, equal to PyTorch
/// `nearest` for integer factors; docs/conventions.md, G.26).
public struct Upsampling: Model {
    /// The repetition factor per spatial axis.
    public var factors: [Int]
    /// Where the channel axis is.
    public var dataFormat: DataFormat

    /// A layer; the parameters are the properties of the same names.
    public init(factors: [Int], dataFormat: DataFormat = .channelsLast) {
        self.factors = factors
        self.dataFormat = dataFormat
    }

    public func callAsFunction<B: Builder>(_ inputs: [B.Value], in b: B) throws -> B.Value {
        try b.inChannelsLast(inputs[0], dataFormat) { x in
            let shape = b.shape(of: x)
            let spatial = Array(shape.dropFirst().dropLast())
            guard spatial.count == factors.count, factors.allSatisfy({ $0 >= 1 }) else {
                throw TensorError.invalidArgument(op: "Upsampling", message: "factors \(factors) for spatial axes \(spatial)")
            }
            let out = zip(spatial, factors).map { $0 * $1 }
            let sources = out.indices.map { axis in (0..<out[axis]).map { $0 / factors[axis] } }
            return try b.gatherGrid(x, sources: sources)
        }
    }
}

/// Image resizing to a fixed spatial size with TensorFlow's `tf.image.resize` (v2) semantics, which
/// Keras 3's `Resizing` and `UpSampling2D(interpolation="bilinear")` call
/// (`keras/src/backend/tensorflow/image.py`); half-pixel centres, no antialiasing:
///
/// - `bilinear` (`tensorflow/core/kernels/image/resize_bilinear_op.cc`): source coordinate
///   `in = (i + ½)·(inSize/outSize) − ½` in Float32, neighbours `max(⌊in⌋, 0)` and `min(⌈in⌉, inSize − 1)`,
///   weight `in − ⌊in⌋`; `top = tl + (tr − tl)·xw`, `bottom = bl + (br − bl)·xw`,
///   `y = top + (bottom − top)·yw`. The kernel computes in Float32 for every input type (a Float64
///   image is resized in Float32: `float32Compute`). Equals PyTorch `align_corners=False` up to rounding.
/// - `nearest` (`resize_nearest_neighbor_op.cc`): source `min(⌊(i + ½)·scale⌋, inSize − 1)` in Float32,
///   an exact copy (PyTorch `nearest-exact`, not `nearest`).
public struct ImageResize: Model {
    /// The interpolation (the two kernels above).
    public enum Method: String, Sendable, Hashable {
        /// TensorFlow's bilinear or nearest-neighbour resize, as described above.
        case bilinear, nearest
    }

    /// The output's spatial size.
    public var size: [Int]
    /// The interpolation.
    public var method: Method
    /// Where the channel axis is.
    public var dataFormat: DataFormat
    /// Whether a bilinear resize rounds its inputs to Float32 and computes in Float32 (TensorFlow's CPU kernel).
    public var float32Compute: Bool

    /// A layer; the parameters are the properties of the same names.
    public init(size: [Int], method: Method, dataFormat: DataFormat = .channelsLast, float32Compute: Bool = true) {
        self.size = size
        self.method = method
        self.dataFormat = dataFormat
        self.float32Compute = float32Compute
    }

    /// TensorFlow's half-pixel source coordinate, in Float32.
    static func source(_ i: Int, scale: Float) -> Float { (Float(i) + 0.5) * scale - 0.5 }

    public func callAsFunction<B: Builder>(_ inputs: [B.Value], in b: B) throws -> B.Value {
        try b.inChannelsLast(inputs[0], dataFormat) { x in
            let shape = b.shape(of: x)
            let spatial = Array(shape.dropFirst().dropLast())
            guard spatial.count == size.count, size.allSatisfy({ $0 >= 1 }) else {
                throw TensorError.invalidArgument(op: "ImageResize", message: "size \(size) for spatial axes \(spatial)")
            }
            let scales = zip(spatial, size).map { Float($0) / Float($1) }
            switch method {
            case .nearest:
                let sources = spatial.indices.map { axis in
                    (0..<size[axis]).map { i in min(Int(((Float(i) + 0.5) * scales[axis]).rounded(.down)), spatial[axis] - 1) }
                }
                return try b.gatherGrid(x, sources: sources)
            case .bilinear:
                guard spatial.count == 2 else {
                    throw TensorError.unsupported(op: "ImageResize", message: "bilinear resizing of \(spatial.count) spatial axes (2 supported)")
                }
                let dtype = b.type(of: x).dtype
                let input = float32Compute ? try b.cast(x, to: .float32) : x
                var lower = [[Int]](), upper = [[Int]](), weights = [[Double]]()
                for axis in 0..<2 {
                    let coordinates = (0..<size[axis]).map { Self.source($0, scale: scales[axis]) }
                    lower.append(coordinates.map { max(Int($0.rounded(.down)), 0) })
                    upper.append(coordinates.map { min(Int($0.rounded(.up)), spatial[axis] - 1) })
                    weights.append(coordinates.map { Double($0 - $0.rounded(.down)) })
                }
                let tl = try b.gatherGrid(input, sources: [lower[0], lower[1]])
                let tr = try b.gatherGrid(input, sources: [lower[0], upper[1]])
                let bl = try b.gatherGrid(input, sources: [upper[0], lower[1]])
                let br = try b.gatherGrid(input, sources: [upper[0], upper[1]])
                let wdtype = b.type(of: input).dtype
                let xw = b.constant(Tensor(shape: [1, 1, size[1], 1], values: weights[1]).cast(to: wdtype))
                let yw = b.constant(Tensor(shape: [1, size[0], 1, 1], values: weights[0]).cast(to: wdtype))
                let top = try b.add(tl, b.multiply(b.subtract(tr, tl), xw))
                let bottom = try b.add(bl, b.multiply(b.subtract(br, bl), xw))
                let y = try b.add(top, b.multiply(b.subtract(bottom, top), yw))
                return try b.cast(y, to: dtype)
            }
        }
    }
}

extension Builder {
    /// `y[b, i…, c] = x[b, sources[0][i₀], sources[1][i₁], …, c]` for channels-last `x`: one ``Remap``.
    public func gatherGrid(_ x: Value, sources: [[Int]]) throws -> Value {
        let shape = self.shape(of: x)
        let spatial = Array(shape.dropFirst().dropLast()), channels = shape.last ?? 1
        let out = sources.map(\.count)
        let inStrides = Shape.strides(spatial + [channels])
        var indices = [Int]()
        indices.reserveCapacity(Shape.count(out) * channels)
        var position = [Int](repeating: 0, count: out.count)
        for _ in 0..<Shape.count(out) {
            var base = 0
            for axis in 0..<out.count { base += sources[axis][position[axis]] * inStrides[axis] }
            for c in 0..<channels { indices.append(base + c) }
            Shape.advance(&position, within: out)
        }
        return try apply(Remap(indices: indices, innerShape: out + [channels], batchRank: 1, label: "gather grid"), [x])
    }
}
