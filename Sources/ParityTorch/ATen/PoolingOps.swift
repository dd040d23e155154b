import ParityNN

/// `aten.max_pool2d`, `aten.avg_pool2d` and `aten.adaptive_avg_pool2d` on NCHW, with PyTorch's
/// window rules (`aten/src/ATen/native/Pool.h`, `AvgPoolKernel.cpp`, `AdaptiveAvgPoolKernel.cpp`):
///
/// - output size `⌊(in + 2p − d(k−1) − 1 + (ceil ? s−1 : 0)) / s⌋ + 1`, minus one when `ceil_mode`
///   would start the last window in the right padding;
/// - average divisor: `divisor_override`, else the window clipped to `in + p` (`count_include_pad`)
///   or to the input (`count_include_pad=False`);
/// - adaptive windows `[⌊i·in/out⌋, ⌈(i+1)·in/out⌉)`, the sum divided by the height then the width.
///
/// Each window is one ``Remap`` row over the spatial axes (padding −∞ for max, 0 for sums) reduced
/// in window order, as the CPU kernels loop.
enum PoolingOps: ATenFamily {
    static let targets: Set<String> = ["aten.max_pool2d.default", "aten.avg_pool2d.default", "aten.adaptive_avg_pool2d.default"]

    struct Axis {
        /// Per output position, the input cells of its window (−1 outside the input).
        var cells: [[Int]]
        var divisor: [Int]
    }

    static func outputSize(_ size: Int, kernel k: Int, stride s: Int, padding p: Int, dilation d: Int, ceil: Bool) -> Int {
        let span = d * (k - 1) + 1
        var out = (size + 2 * p - span + (ceil ? s - 1 : 0)) / s + 1
        if ceil && (out - 1) * s >= size + p { out -= 1 }
        return out
    }

    static func lower<B: Builder>(_ c: ATenCall<B>) throws -> [B.Value] {
        let x = try c.floating(c.tensor("self"))
        guard c.rank(x) >= 3 else { throw c.fail("self", "expected (N, C, H, W) or (C, H, W); received \(c.shape(x))") }
        let spatial = Array(c.shape(x).suffix(2))
        switch c.target {
        case "aten.max_pool2d.default", "aten.avg_pool2d.default":
            let isMax = c.target == "aten.max_pool2d.default"
            let kernel = try c.ints("kernel_size", count: 2)
            var stride = try c.ints("stride", default: [], count: 2)
            if stride.isEmpty { stride = kernel }
            let padding = try c.ints("padding", default: [0], count: 2)
            let dilation = isMax ? try c.ints("dilation", default: [1], count: 2) : [1, 1]
            let ceil = try c.bool("ceil_mode", default: false)
            let includePad = try c.bool("count_include_pad", default: true)
            for i in 0..<2 where padding[i] * 2 > kernel[i] {
                throw c.fail("padding", "pad should be at most half of the effective kernel size; received padding \(padding), kernel \(kernel)")
            }
            var axes: [Axis] = []
            for i in 0..<2 {
                let out = outputSize(spatial[i], kernel: kernel[i], stride: stride[i], padding: padding[i], dilation: dilation[i], ceil: ceil)
                guard out >= 1 else { throw c.fail("kernel_size", "the window does not fit an input of \(spatial)") }
                var cells: [[Int]] = [], divisor: [Int] = []
                for o in 0..<out {
                    let start = o * stride[i] - padding[i]
                    cells.append((0..<kernel[i]).map { j in
                        let p = start + j * dilation[i]
                        return p >= 0 && p < spatial[i] ? p : -1
                    })
                    let end = Swift.min(start + kernel[i], spatial[i] + padding[i])
                    divisor.append(includePad ? end - start : Swift.min(end, spatial[i]) - Swift.max(start, 0))
                }
                axes.append(Axis(cells: cells, divisor: divisor))
            }
            if isMax { return [try windows(c, x, axes, fill: -.infinity, reduce: .max)] }
            let sum = try windows(c, x, axes, fill: 0, reduce: .sum)
            let counts: [Double]
            if let override = try c.optionalInt("divisor_override") {
                counts = Array(repeating: Double(override), count: axes[0].cells.count * axes[1].cells.count)
            } else {
                counts = axes[0].divisor.flatMap { h in axes[1].divisor.map { Double(h * $0) } }
            }
            let dtype = c.b.type(of: x).dtype
            return [try c.b.divide(sum, c.constant(counts, shape: [axes[0].cells.count, axes[1].cells.count], dtype: dtype))]
        case "aten.adaptive_avg_pool2d.default":
            let size = try c.ints("output_size", count: 2)
            var axes: [Axis] = []
            for i in 0..<2 {
                let (n, out) = (spatial[i], size[i])
                guard out >= 1 else { throw c.fail("output_size", "must be positive; received \(size)") }
                let ranges = (0..<out).map { o in (o * n / out, ((o + 1) * n + out - 1) / out) }
                let width = ranges.map { $0.1 - $0.0 }.max() ?? 1
                axes.append(Axis(cells: ranges.map { r in (0..<width).map { r.0 + $0 < r.1 ? r.0 + $0 : -1 } }, divisor: ranges.map { $0.1 - $0.0 }))
            }
            let sum = try windows(c, x, axes, fill: 0, reduce: .sum)
            let dtype = c.b.type(of: x).dtype
            let byHeight = try c.b.divide(sum, c.constant(axes[0].divisor.map(Double.init), shape: [size[0], 1], dtype: dtype))
            return [try c.b.divide(byHeight, c.constant(axes[1].divisor.map(Double.init), shape: [1, size[1]], dtype: dtype))]
        default:
            throw c.unsupported("not in the pooling table")
        }
    }

    /// Gathers every window as a row `[…, outH, outW, window]` and reduces it.
    static func windows<B: Builder>(_ c: ATenCall<B>, _ x: B.Value, _ axes: [Axis], fill: Double, reduce kind: ReductionKind) throws -> B.Value {
        let shape = c.shape(x)
        let width = shape[shape.count - 1]
        let (kh, kw) = (axes[0].cells.first?.count ?? 0, axes[1].cells.first?.count ?? 0)
        var indices: [Int] = []
        indices.reserveCapacity(axes[0].cells.count * axes[1].cells.count * kh * kw)
        for rows in axes[0].cells {
            for cols in axes[1].cells {
                for r in rows {
                    for col in cols { indices.append(r < 0 || col < 0 ? -1 : r * width + col) }
                }
            }
        }
        let patches = try c.b.apply(Remap(indices: indices, innerShape: [axes[0].cells.count, axes[1].cells.count, kh * kw],
                                          batchRank: shape.count - 2, fill: fill, label: "pool windows"), [x])
        // A tied maximum sends its gradient to the window's first cell (`max_pool2d_with_indices_backward`).
        return try c.b.reduce(kind, patches, axes: [-1], ties: kind == .max ? .first : .split)
    }
}
