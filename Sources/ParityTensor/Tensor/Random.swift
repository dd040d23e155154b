/// A small, fast, seedable generator (SplitMix64) so that "one fixed set of weights" is the same
/// on every machine and in every run.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// A generator starting from `seed`.
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension Tensor {
    /// Float32 values drawn uniformly from `range` by a ``SeededGenerator``. Weights are drawn in
    /// Float32 so that widening them to Float64 gives the float64 reference run the same weights.
    public static func uniform(_ shape: [Int], in range: ClosedRange<Float> = -1...1,
                               generator: inout SeededGenerator) -> Tensor {
        let values = (0..<Shape.count(shape)).map { _ in Float.random(in: range, using: &generator) }
        return Tensor(shape: shape, values: values)
    }
}
