/// Axis permutations between the two frameworks' layouts, detected from shapes.
public enum Layout {
    /// `[N, C, spatial…]` → `[N, spatial…, C]` (PyTorch NCHW to Keras NHWC), for a rank.
    public static func channelsLast(rank: Int) -> [Int] { [0] + Array(2..<rank) + [1] }
    /// `[N, spatial…, C]` → `[N, C, spatial…]`.
    public static func channelsFirst(rank: Int) -> [Int] { [0, rank - 1] + Array(1..<(rank - 1)) }

    /// The inverse permutation: `inverse(p)[p[i]] = i`.
    public static func inverse(_ order: [Int]) -> [Int] {
        var result = [Int](repeating: 0, count: order.count)
        for (i, axis) in order.enumerated() { result[axis] = i }
        return result
    }

    public static func apply(_ order: [Int], to shape: [Int]) -> [Int] { order.map { shape[$0] } }

    static func fits(_ shape: [Int], _ expected: [Int?]) -> Bool {
        shape.count == expected.count && zip(shape, expected).allSatisfy { $1 == nil || $0 == $1 }
    }

    /// A short name for a permutation (`NHWC → NCHW`), or the axes.
    public static func describe(_ order: [Int]) -> String {
        let r = order.count
        if r >= 3, order == channelsFirst(rank: r) { return r == 4 ? "NHWC → NCHW" : "channels-last → channels-first" }
        if r >= 3, order == channelsLast(rank: r) { return r == 4 ? "NCHW → NHWC" : "channels-first → channels-last" }
        if r == 3, order == [1, 0, 2] { return "batch-first ↔ time-first" }
        return "axes \(order)"
    }

    /// The permutation that makes an array of `shape` fit `expected`: none when it fits as it is, else the
    /// first of channels-last → channels-first, channels-first → channels-last, batch ↔ time (rank 3) that
    /// fits; `nil` when nothing does.
    public static func inputPermutation(from shape: [Int], to expected: [Int?]) -> [Int]?? {
        if fits(shape, expected) { return .some(nil) }
        let r = shape.count
        guard r >= 3, r == expected.count else { return nil }
        var candidates = [channelsFirst(rank: r), channelsLast(rank: r)]
        if r == 3 { candidates.append([1, 0, 2]) }
        for order in candidates where fits(apply(order, to: shape), expected) { return .some(order) }
        return nil
    }
}
