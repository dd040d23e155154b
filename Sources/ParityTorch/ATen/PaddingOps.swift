import ParityNN

/// `aten.pad` (`F.pad`) in `constant` (negative amounts crop; also `constant_pad_nd`), `reflect`,
/// `replicate` and `circular` (wrapping around, `x[i mod n]`) modes, and the
/// Core ATen `reflection_pad{1,2,3}d` / `replication_pad{1,2,3}d` (their `padding` is `pad`'s list). The
/// pad list runs from the last axis backwards, `(left, right, top, bottom, …)`. Reflection mirrors
/// without repeating the edge (`[c b | a b c d | c b]`); replication repeats it.
enum PaddingOps: ATenFamily {
    /// The Core ATen padding operators and their `aten.pad` mode.
    static let modes: [String: String] = Dictionary(uniqueKeysWithValues: (1...3).flatMap { d in
        [("aten.reflection_pad\(d)d.default", "reflect"), ("aten.replication_pad\(d)d.default", "replicate")]
    })
    static let targets: Set<String> = Set(["aten.pad.default", "aten.constant_pad_nd.default"] + modes.keys)

    static func lower<B: Builder>(_ c: ATenCall<B>) throws -> [B.Value] {
        let b = c.b
        let x = try c.tensor("self")
        let shape = c.shape(x)
        let fixedMode = modes[c.target]
        let pad = try c.ints(fixedMode == nil ? "pad" : "padding")
        guard pad.count % 2 == 0, pad.count / 2 <= shape.count else { throw c.fail("pad", "\(pad) does not fit a tensor of shape \(shape)") }
        let k = pad.count / 2
        var before = Array(repeating: 0, count: shape.count), after = before
        for i in 0..<k {
            before[shape.count - 1 - i] = pad[2 * i]
            after[shape.count - 1 - i] = pad[2 * i + 1]
        }
        let mode = try fixedMode ?? c.string("mode", default: "constant")
        switch mode {
        case "constant":
            let value = try c.optionalDouble("value") ?? 0
            var y = try b.apply(Pad(before: before.map { Swift.max($0, 0) }, after: after.map { Swift.max($0, 0) }, value: value), [x])
            if (before + after).contains(where: { $0 < 0 }) {
                let padded = c.shape(y)
                y = try b.slice(y, (0..<shape.count).map { SliceAxis(start: Swift.max(-before[$0], 0), end: padded[$0] - Swift.max(-after[$0], 0)) })
            }
            return [y]
        case "reflect", "replicate", "circular":
            let axes = Array((shape.count - k)..<shape.count)
            var sources: [[Int]] = []
            for axis in axes {
                let n = shape[axis]
                guard before[axis] >= 0, after[axis] >= 0, mode == "replicate" || (before[axis] < n && after[axis] < n)
                        || (mode == "circular" && before[axis] <= n && after[axis] <= n) else {
                    throw c.fail("pad", "\(mode) padding (\(before[axis]), \(after[axis])) does not fit an axis of size \(n)")
                }
                sources.append((-before[axis]..<(n + after[axis])).map { i in
                    if mode == "replicate" { return Swift.min(Swift.max(i, 0), n - 1) }
                    if mode == "circular" { return (i % n + n) % n }
                    return i < 0 ? -i : (i >= n ? 2 * (n - 1) - i : i)
                })
            }
            let inner = axes.map { shape[$0] }, strides = Shape.strides(inner)
            var indices: [Int] = [0]
            for (d, src) in sources.enumerated() {
                indices = indices.flatMap { base in src.map { base + $0 * strides[d] } }
            }
            return [try b.apply(Remap(indices: indices, innerShape: sources.map(\.count), batchRank: shape.count - k, label: "\(mode) pad"), [x])]
        default:
            throw c.unsupported("padding mode '\(mode)' is not mapped")
        }
    }
}
