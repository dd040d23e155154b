import ParityNN
import ParityTensor

/// Axis permutations between the two frameworks' layouts.
public enum Layout {
    /// `[N, C, spatial…]` → `[N, spatial…, C]` (PyTorch NCHW to Keras NHWC), for a rank.
    public static func channelsLast(rank: Int) -> [Int] { DataFormat.channelsLast.permutation(rank: rank) }
    /// `[N, spatial…, C]` → `[N, C, spatial…]`.
    public static func channelsFirst(rank: Int) -> [Int] { DataFormat.channelsFirst.permutation(rank: rank) }

    /// The inverse permutation: `inverse(p)[p[i]] = i`.
    public static func inverse(_ order: [Int]) -> [Int] {
        var result = [Int](repeating: 0, count: order.count)
        for (i, axis) in order.enumerated() { result[axis] = i }
        return result
    }

    /// `shape` with its axes permuted by `order` (result axis `i` is axis `order[i]`).
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

    /// The permutations a framework's layout convention can explain for a rank: channels-last ↔ channels-first,
    /// and for sequences batch- ↔ time-first and features ↔ time (Conv1D's NWC ↔ NCW), alone or together.
    public static func plausible(rank: Int) -> [[Int]] {
        var result = [Array(0..<rank)]
        if rank >= 3 { result += [channelsFirst(rank: rank), channelsLast(rank: rank)] }
        if rank == 3 { result += [[1, 0, 2], [1, 2, 0], [2, 0, 1]] }
        return result
    }

    /// Every permutation of `0..<n`, identity first (n ≤ 6; beyond that only the identity).
    static func permutations(_ n: Int) -> [[Int]] {
        guard n > 1 else { return [Array(0..<n)] }
        guard n <= 6 else { return [Array(0..<n)] }
        var result: [[Int]] = []
        func build(_ prefix: [Int], _ rest: [Int]) {
            if rest.isEmpty { result.append(prefix); return }
            for (i, x) in rest.enumerated() {
                var r = rest
                r.remove(at: i)
                build(prefix + [x], r)
            }
        }
        build([], Array(0..<n))
        return result
    }
}

/// How two paired tensors relate: the `source` side's tensor, its axes permuted, then reshaped (when only unit
/// axes differ, or leading batch-like axes are merged on one side: `[N·T, …]` against `[N, T, …]`), is the
/// other side's. ``toA(_:)`` and ``toB(_:)`` bring a tensor of either side to the other's layout.
public struct Alignment: Sendable, Codable, Equatable, CustomStringConvertible {
    /// One side of a pair.
    public enum Side: String, Sendable, Codable {
        /// Model A.
        case a
        /// Model B.
        case b
    }

    /// The side whose tensor is permuted and reshaped into the other's.
    public var source: Side
    /// The permutation of the source's axes (`nil`: none).
    public var permutation: [Int]?
    /// A's shape.
    public var shapeA: [Int]
    /// B's shape.
    public var shapeB: [Int]

    enum CodingKeys: String, CodingKey { case source, permutation, shapeA = "shape_a", shapeB = "shape_b" }

    var sourceShape: [Int] { source == .a ? shapeA : shapeB }
    var targetShape: [Int] { source == .a ? shapeB : shapeA }
    var permutedSource: [Int] { Layout.apply(permutation ?? Array(sourceShape.indices), to: sourceShape) }

    /// Whether a reshape follows the permutation.
    public var reshaped: Bool { permutedSource != targetShape }
    /// A layout change a framework convention explains (``Layout/plausible(rank:)``).
    public var isPlausible: Bool { permutation.map { Layout.plausible(rank: $0.count).contains($0) } ?? true }
    /// Whether the two tensors have one layout (no permutation, equal shapes).
    public var isIdentity: Bool { permutation == nil && shapeA == shapeB }

    /// The permutation that takes B's axes to A's when the alignment is one (no reshape).
    public var permutationB: [Int]? {
        guard !reshaped, let permutation else { return nil }
        return source == .b ? permutation : Layout.inverse(permutation)
    }

    func forward(_ t: Tensor) throws -> Tensor {
        let permuted = try permutation.map { try t.permuted($0) } ?? t
        return permuted.shape == targetShape ? permuted : try permuted.reshaped(targetShape)
    }

    func backward(_ t: Tensor) throws -> Tensor {
        let x = t.shape == permutedSource ? t : try t.reshaped(permutedSource)
        guard let permutation else { return x }
        return try x.permuted(Layout.inverse(permutation))
    }

    /// B's tensor in A's layout, and A's in B's.
    public func toA(_ t: Tensor) throws -> Tensor { source == .b ? try forward(t) : try backward(t) }
    /// A's tensor in B's layout.
    public func toB(_ t: Tensor) throws -> Tensor { source == .b ? try backward(t) : try forward(t) }

    /// The flat index in the source tensor of the target's flat index `i` (sampled comparisons without a copy).
    func sourceIndex(_ i: Int) -> Int {
        let order = permutation ?? Array(sourceShape.indices)
        let shape = permutedSource
        var rest = i
        var coordinates = [Int](repeating: 0, count: shape.count)
        for axis in shape.indices.reversed() {
            let n = Swift.max(1, shape[axis])
            coordinates[axis] = rest % n
            rest /= n
        }
        var inSource = [Int](repeating: 0, count: sourceShape.count)
        for (axis, s) in order.enumerated() { inSource[s] = coordinates[axis] }
        var flat = 0
        for axis in sourceShape.indices { flat = flat * sourceShape[axis] + inSource[axis] }
        return flat
    }

    public var description: String {
        var parts: [String] = []
        if let p = permutationB { parts.append("B permuted \(p) (\(Layout.describe(p)))") }
        else if let permutation { parts.append("\(source == .a ? "A" : "B") permuted \(permutation)") }
        if reshaped { parts.append("reshaped \(source == .a ? shapeA : shapeB) → \(targetShape)") }
        return parts.isEmpty ? "as it is" : parts.joined(separator: ", ")
    }

    /// Every alignment of a `source`-side tensor of `from` with a tensor of `to`, the `preferred` permutation
    /// first, then the identity, then the other permutations: exact shape matches, else unit-axis reshapes, else
    /// leading-axis merges.
    static func candidates(source: Side, from: [Int], to: [Int], preferring preferred: [Int]? = nil) -> [Alignment] {
        guard Shape.count(from) == Shape.count(to) else { return [] }
        var orders = Layout.permutations(from.count)
        if let preferred, preferred.count == from.count, let i = orders.firstIndex(of: preferred) {
            orders.remove(at: i)
            orders.insert(preferred, at: 0)
        }
        let identity = Array(from.indices)
        func make(_ order: [Int]) -> Alignment {
            Alignment(source: source, permutation: order == identity ? nil : order, shapeA: source == .a ? from : to, shapeB: source == .a ? to : from)
        }
        var exact: [Alignment] = [], unit: [Alignment] = [], merged: [Alignment] = []
        let squeezed = to.filter { $0 != 1 }
        for order in orders {
            let p = Layout.apply(order, to: from)
            if p == to { exact.append(make(order)) }
            else if exact.isEmpty, p.filter({ $0 != 1 }) == squeezed { unit.append(make(order)) }
            else if exact.isEmpty, unit.isEmpty, leadingMerge(p, to) { merged.append(make(order)) }
        }
        if !exact.isEmpty { return exact }
        if !unit.isEmpty { return unit }
        return merged
    }

    /// Shapes that differ only by merging leading axes (`[N·T, rest…]` and `[N, T, rest…]`), either way.
    static func leadingMerge(_ x: [Int], _ y: [Int]) -> Bool {
        func merges(_ coarse: [Int], into fine: [Int]) -> Bool {
            let extra = fine.count - coarse.count
            guard extra >= 1, coarse.count >= 2 else { return false }
            return Array(coarse.dropFirst()) == Array(fine.dropFirst(extra + 1)) && fine.prefix(extra + 1).reduce(1, *) == coarse[0]
        }
        return merges(x, into: y) || merges(y, into: x)
    }
}
