import ParityNN

/// `aten.max_pool2d`, `aten.avg_pool2d` and `aten.adaptive_avg_pool2d` on NCHW, and `aten.max_pool1d` on NCL (as
/// a 2-D pooling over a height of one, which is how PyTorch's `max_pool1d` CPU kernel computes), with PyTorch's
/// window rules (`aten/src/ATen/native/Pool.h`, `AvgPoolKernel.cpp`, `AdaptiveAvgPoolKernel.cpp`):
///
/// - output size `⌊(in + 2p − d(k−1) − 1 + (ceil ? s−1 : 0)) / s⌋ + 1`, minus one when `ceil_mode`
///   would start the last window in the right padding;
/// - average divisor: `divisor_override`, else the window clipped to `in + p` (`count_include_pad`)
///   or to the input (`count_include_pad=False`);
/// - adaptive windows `[⌊i·in/out⌋, ⌈(i+1)·in/out⌉)`, the sum divided by the height then the width;
///   `adaptive_max_pool2d` also returns each maximum's index in the flattened `H·W` plane (the first maximum
///   of the window in row-major order, as `AdaptiveMaxPoolKernel.cpp`'s `val > maxval` keeps it; a NaN window
///   gives its first NaN where PyTorch gives its last).
///
/// Each window is one ``Remap`` row over the spatial axes (padding −∞ for max, 0 for sums) reduced
/// in window order, as the CPU kernels loop.
enum PoolingOps: ATenFamily {
    static let targets: Set<String> = ["aten.max_pool2d.default", "aten.avg_pool2d.default", "aten.adaptive_avg_pool2d.default", "aten.max_pool1d.default",
                                       "aten.adaptive_max_pool2d.default"]

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
        if c.target == "aten.max_pool1d.default" { return [try maxPool1d(c)] }
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
        case "aten.adaptive_avg_pool2d.default", "aten.adaptive_max_pool2d.default":
            let size = try c.ints("output_size", count: 2)
            var axes: [Axis] = []
            for i in 0..<2 {
                let (n, out) = (spatial[i], size[i])
                guard out >= 1 else { throw c.fail("output_size", "must be positive; received \(size)") }
                let ranges = (0..<out).map { o in (o * n / out, ((o + 1) * n + out - 1) / out) }
                let width = ranges.map { $0.1 - $0.0 }.max() ?? 1
                axes.append(Axis(cells: ranges.map { r in (0..<width).map { r.0 + $0 < r.1 ? r.0 + $0 : -1 } }, divisor: ranges.map { $0.1 - $0.0 }))
            }
            if c.target == "aten.adaptive_max_pool2d.default" {
                let rows = try patches(c, x, axes, fill: -.infinity)
                let values = try c.b.reduce(.max, rows, axes: [-1])
                // The window position of the maximum, turned into the input cell's flat index through a one-hot sum.
                let width = axes[0].cells[0].count * axes[1].cells[0].count
                let position = try c.b.cast(c.b.apply(ArgExtremum(maximum: true, axis: -1, keepDims: true), [rows]), to: .float64)
                let positions = c.constant((0..<width).map(Double.init), shape: [width], dtype: .float64)
                let hit = try c.b.cast(c.b.binary(.equal, position, positions), to: .float64)
                let columns = spatial[1]
                var flat: [Double] = []
                for r in axes[0].cells {
                    for q in axes[1].cells {
                        for i in r { for j in q { flat.append(i < 0 || j < 0 ? 0 : Double(i * columns + j)) } }
                    }
                }
                let table = c.constant(flat, shape: [size[0], size[1], width], dtype: .float64)
                let indices = try c.b.cast(c.b.reduce(.sum, c.b.multiply(hit, table), axes: [-1]), to: .int64)
                return [values, indices]
            }
            let sum = try windows(c, x, axes, fill: 0, reduce: .sum)
            let dtype = c.b.type(of: x).dtype
            let byHeight = try c.b.divide(sum, c.constant(axes[0].divisor.map(Double.init), shape: [size[0], 1], dtype: dtype))
            return [try c.b.divide(byHeight, c.constant(axes[1].divisor.map(Double.init), shape: [1, size[1]], dtype: dtype))]
        default:
            throw c.unsupported("not in the pooling table")
        }
    }

    /// `max_pool1d(self [N, C, L] or [C, L], kernel_size, stride, padding, dilation, ceil_mode)`.
    static func maxPool1d<B: Builder>(_ c: ATenCall<B>) throws -> B.Value {
        let x = try c.floating(c.tensor("self"))
        let shape = c.shape(x)
        guard shape.count >= 2 else { throw c.fail("self", "expected (N, C, L) or (C, L); received \(shape)") }
        let length = shape[shape.count - 1]
        let kernel = try c.ints("kernel_size", count: 1)[0]
        var stride = try c.ints("stride", default: [], count: 1)
        if stride.isEmpty { stride = [kernel] }
        let padding = try c.ints("padding", default: [0], count: 1)[0]
        let dilation = try c.ints("dilation", default: [1], count: 1)[0]
        let ceil = try c.bool("ceil_mode", default: false)
        guard padding * 2 <= kernel else { throw c.fail("padding", "pad should be at most half of the effective kernel size; received padding \(padding), kernel \(kernel)") }
        let out = outputSize(length, kernel: kernel, stride: stride[0], padding: padding, dilation: dilation, ceil: ceil)
        guard out >= 1 else { throw c.fail("kernel_size", "the window does not fit an input of length \(length)") }
        let cells = (0..<out).map { o in
            (0..<kernel).map { j in
                let p = o * stride[0] - padding + j * dilation
                return p >= 0 && p < length ? p : -1
            }
        }
        let rows = try c.b.reshape(x, Array(shape.dropLast()) + [1, length])
        let pooled = try windows(c, rows, [Axis(cells: [[0]], divisor: [1]), Axis(cells: cells, divisor: [])], fill: -.infinity, reduce: .max)
        return try c.b.reshape(pooled, Array(shape.dropLast()) + [out])
    }

    /// Gathers every window as a row `[…, outH, outW, window]` and reduces it.
    static func windows<B: Builder>(_ c: ATenCall<B>, _ x: B.Value, _ axes: [Axis], fill: Double, reduce kind: ReductionKind) throws -> B.Value {
        try c.b.reduce(kind, patches(c, x, axes, fill: fill), axes: [-1])
    }

    /// Every window as a row `[…, outH, outW, window]` (cells outside the input are `fill`).
    static func patches<B: Builder>(_ c: ATenCall<B>, _ x: B.Value, _ axes: [Axis], fill: Double) throws -> B.Value {
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
        return try c.b.apply(Remap(indices: indices, innerShape: [axes[0].cells.count, axes[1].cells.count, kh * kw],
                                   batchRank: shape.count - 2, fill: fill, label: "pool windows"), [x])
    }
}
