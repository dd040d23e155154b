import ParityTensor

/// Error figures between two tensors of one shape: `ErrorMetrics` plus cosine similarity.
public struct PairMetrics: Sendable, Codable, Equatable {
    /// The largest absolute difference.
    public var maxAbs: Double
    /// The largest relative difference.
    public var maxRel: Double
    /// The largest distance in units in the last place.
    public var maxUlp: UInt64
    /// The median distance in units in the last place.
    public var medianUlp: UInt64
    /// The cosine similarity of the two tensors as vectors (1 when both are zero).
    public var cosine: Double
    /// The number of elements compared.
    public var count: Int

    /// The figures between `a` and `b`; throws when their dtypes or shapes differ.
    public init(_ a: Tensor, _ b: Tensor) throws {
        let m = try ErrorMetrics(a, b)
        maxAbs = m.maxAbsolute
        maxRel = m.maxRelative
        maxUlp = m.maxUlps
        medianUlp = m.medianUlps
        count = m.count
        let (x, y) = (a.doubles, b.doubles)
        var (dot, nx, ny) = (0.0, 0.0, 0.0)
        for (u, v) in zip(x, y) { dot += u * v; nx += u * u; ny += v * v }
        cosine = nx == 0 && ny == 0 ? 1 : (nx == 0 || ny == 0 ? 0 : dot / (nx.squareRoot() * ny.squareRoot()))
    }

    enum CodingKeys: String, CodingKey {
        case maxAbs = "max_abs", maxRel = "max_rel", maxUlp = "max_ulp", medianUlp = "median_ulp", cosine, count
    }
}

/// How far apart two paired tensors are, against the float noise of the computations that produced them.
///
/// **Float noise**: `noise = max_i(|a32ᵢ − a64ᵢ| + |b32ᵢ − b64ᵢ|)`, the rounding each side actually made,
/// measured against its own Float64 run of the same computation. Since `|a32 − b32| ≤ |a32 − a64| +
/// |b32 − b64| + |a64 − b64|`, the pair **exceeds float noise** when `max|a32 − b32| > 2·noise` (only a
/// difference of the computations themselves gets there) or when `max|a64 − b64| > 16·2⁻²⁹·noise +
/// 64·2⁻⁵²·max|a64|`: the Float64 results differ by far more than Float64 rounding of the same operations
/// explains (the Float32 noise scaled by the ratio of unit roundoffs, 2⁻⁵³ / 2⁻²⁴, with a margin, plus a few
/// Float64 ulps of the largest value for operations that happen to round exactly in Float32), `+ slack`: twice
/// the effect of one float32 rounding of constants a side computed before it was saved (`TracedModel/constantSlack`).
/// The second test finds convention differences too small to see in Float32.
public struct PairMeasurement: Sendable, Codable, Equatable {
    /// One side of a pair.
    public enum Side: String, Sendable, Codable {
        /// Model A.
        case a
        /// Model B.
        case b
    }

    /// A float32 against B float32.
    public var metrics: PairMetrics
    /// Max |A float64 − B float64|: the difference with rounding taken out.
    public var maxAbsFloat64: Double
    /// Max |A float32 − A float64| and the same for B: each side's own rounding.
    public var roundingA: Double
    /// Max |B float32 − B float64|.
    public var roundingB: Double
    /// The side whose float32 result is closer to its own Float64 run (`nil` on a tie).
    public var float64Closer: Side?
    /// The float noise: max over the elements of both sides' rounding added.
    public var noise: Double
    /// What the Float64 test allows for float32 constants (`nil`: none).
    public var float64Slack: Double?
    /// Whether the pair differs by more than float noise (either test above).
    public var exceedsNoise: Bool

    /// The Float32 test's factor: the pair exceeds noise when `max|a32 − b32| > noiseFactor·noise`.
    public static let noiseFactor = 2.0
    /// The Float64 test's factor on the Float32 noise scaled to Float64 roundoff (`2⁻²⁹·noise`).
    public static let float64NoiseFactor = 16.0
    /// The Float64 test's floor, in Float64 ulps (`2⁻⁵²`) of the largest value.
    public static let float64Floor = 64.0

    /// Measures a pair from both sides' Float32 and Float64 results (one shape; B already in A's layout).
    public init(a32: Tensor, a64: Tensor, b32: Tensor, b64: Tensor, float64Slack: Double = 0) throws {
        metrics = try PairMetrics(a32.cast(to: .float32), b32.cast(to: .float32))
        let (x, x64, y, y64) = (a32.doubles, a64.doubles, b32.doubles, b64.doubles)
        var noise = 0.0, ra = 0.0, rb = 0.0, d64 = 0.0, scale = 0.0
        for i in x.indices {
            let u = Swift.abs(x[i] - x64[i]), v = Swift.abs(y[i] - y64[i])
            ra = Swift.max(ra, u)
            rb = Swift.max(rb, v)
            noise = Swift.max(noise, u + v)
            d64 = Swift.max(d64, Swift.abs(x64[i] - y64[i]))
            scale = Swift.max(scale, Swift.abs(x64[i]))
        }
        self.noise = noise
        roundingA = ra
        roundingB = rb
        maxAbsFloat64 = d64
        float64Closer = ra < rb ? .a : (rb < ra ? .b : nil)
        self.float64Slack = float64Slack > 0 ? float64Slack : nil
        let bound64 = Self.float64NoiseFactor * 0x1p-29 * noise + Self.float64Floor * 0x1p-52 * scale + float64Slack
        exceedsNoise = !(metrics.maxAbs <= Self.noiseFactor * noise) || !(d64 <= bound64)
    }

    enum CodingKeys: String, CodingKey {
        case metrics, maxAbsFloat64 = "max_abs_float64", roundingA = "rounding_a", roundingB = "rounding_b"
        case float64Closer = "float64_closer", noise, float64Slack = "float64_slack", exceedsNoise = "exceeds_noise"
    }
}
