import ParityNN

/// The 3-D pools (`avg_pool3d`, `max_pool3d` and `max_pool3d_with_indices` with the flat `d·H·W + h·W + w`,
/// `adaptive_avg_pool3d`) take the same windows over three axes. `aten.avg_pool1d` and `adaptive_avg_pool1d` (ATen's own: the 2-D pool over `(…, 1, L)` with a `(1, k)`
/// window or output `(1, L′)`), `aten.max_pool2d` (and `max_pool2d_with_indices`, whose indices are the flat `h·W + w` position of
/// each window's first maximum, NaN counting as the maximum, as the CPU kernel's `val > max || isnan`
/// picks it), `aten.avg_pool2d` and `aten.adaptive_avg_pool2d` (`_adaptive_avg_pool2d`) on NCHW, with PyTorch's
/// window rules (`aten/src/ATen/native/Pool.h`, `AvgPoolKernel.cpp`, `AdaptiveAvgPoolKernel.cpp`):
///
/// - output size `⌊(in + 2p − d(k−1) − 1 + (ceil ? s−1 : 0)) / s⌋ + 1`, minus one when `ceil_mode`
///   would start the last window in the right padding;
/// - average divisor: `divisor_override`, else the window clipped to `in + p` (`count_include_pad`)
///   or to the input (`count_include_pad=False`);
/// - adaptive windows `[⌊i·in/out⌋, ⌈(i+1)·in/out⌉)`, the sum divided by the height then the width;
///   `adaptive_max_pool2d` returns the maxima and their flat `H·W` indices as `max_pool2d_with_indices` does.
/// - `max_pool1d` is the 2-D max pool over `(…, 1, L)` with a `(1, k)` window.
///
/// `aten.im2col` (`F.unfold`) gathers the same windows without reducing them: `(N, C·kh·kw, L)`, the
/// channel major, then the kernel row and column, `L` the output positions row-major, zeros in the padding;
/// `aten.col2im` (`F.fold`) adds each column entry back into its image cell (in column order, as the
/// CPU kernel's loop; entries that fall in the padding are dropped).
///
/// Each window is one ``Remap`` row over the spatial axes (padding −∞ for max, 0 for sums) reduced
/// in window order, as the CPU kernels loop.
enum PoolingOps: ATenFamily {
    static let targets: Set<String> = ["aten.max_pool2d.default", "aten.max_pool2d_with_indices.default", "aten.avg_pool2d.default", "aten.avg_pool1d.default", "aten.max_pool1d.default",
                                       "aten.adaptive_avg_pool1d.default", "aten.im2col.default", "aten.col2im.default",
                                       "aten.avg_pool3d.default", "aten.max_pool3d.default", "aten.max_pool3d_with_indices.default",
                                       "aten._adaptive_avg_pool3d.default", "aten.adaptive_avg_pool3d.default",
                                       "aten.adaptive_avg_pool2d.default", "aten._adaptive_avg_pool2d.default", "aten.adaptive_max_pool2d.default"]

    struct Axis {
        /// Per output position, the input cells of its window (−1 outside the input).
        var cells: [[Int]]
        var divisor: [Int]
    }

    static func lower<B: Builder>(_ c: ATenCall<B>) throws -> [B.Value] {
        if ["aten.avg_pool1d.default", "aten.max_pool1d.default", "aten.adaptive_avg_pool1d.default"].contains(c.target) {
            // ATen's own 1-D pools: the 2-D pool over `(…, 1, L)` with a `(1, k)` window or output `(1, L′)`.
            let x = try c.floating(c.tensor("self"))
            let shape = c.shape(x)
            guard shape.count >= 2 else { throw c.fail("self", "expected (N, C, L) or (C, L); received \(shape)") }
            let length = shape[shape.count - 1], rows = try c.b.reshape(x, shape.dropLast() + [1, length])
            let pooled: B.Value
            if c.target == "aten.adaptive_avg_pool1d.default" {
                pooled = try adaptiveAverage(c, rows, size: [1] + c.ints("output_size", count: 1))
            } else {
                let stride = try c.ints("stride", default: [], count: 1)
                let (kernel, padding) = ([1] + (try c.ints("kernel_size", count: 1)), [0] + (try c.ints("padding", default: [0], count: 1)))
                pooled = c.target == "aten.avg_pool1d.default"
                    ? try averagePool(c, rows, kernel: kernel, stride: stride.isEmpty ? [] : [1] + stride, padding: padding)
                    : try maxWithIndices(c, rows, windowAxes(c, spatial: [1, length], kernel: kernel, stride: stride.isEmpty ? [] : [1] + stride,
                                                            padding: padding, dilation: [1] + c.ints("dilation", default: [1], count: 1)))[0]
            }
            let out = c.shape(pooled)
            return [try c.b.reshape(pooled, out.dropLast(2) + [out[out.count - 1]])]
        }
        if c.target == "aten.col2im.default" { return [try col2im(c, c.floating(c.tensor("self")))] }
        if c.target.contains("pool3d") {
            // The 3-D pools: the same windows over (D, H, W).
            let x = try c.floating(c.tensor("self"))
            guard c.rank(x) >= 4 else { throw c.fail("self", "expected (N, C, D, H, W) or (C, D, H, W); received \(c.shape(x))") }
            if c.target.contains("adaptive") { return [try adaptiveAverage(c, x, size: c.ints("output_size", count: 3))] }
            let kernel = try c.ints("kernel_size", count: 3), stride = try c.ints("stride", default: [], count: 3)
            let padding = try c.ints("padding", default: [0], count: 3)
            if c.target == "aten.avg_pool3d.default" { return [try averagePool(c, x, kernel: kernel, stride: stride, padding: padding)] }
            let axes = try windowAxes(c, spatial: Array(c.shape(x).suffix(3)), kernel: kernel, stride: stride, padding: padding,
                                      dilation: c.ints("dilation", default: [1], count: 3))
            let pooled = try maxWithIndices(c, x, axes)
            return c.target == "aten.max_pool3d_with_indices.default" ? pooled : [pooled[0]]
        }
        let x = try c.floating(c.tensor("self"))
        guard c.rank(x) >= 3 else { throw c.fail("self", "expected (N, C, H, W) or (C, H, W); received \(c.shape(x))") }
        let spatial = Array(c.shape(x).suffix(2))
        switch c.target {
        case "aten.im2col.default":
            let kernel = try c.ints("kernel_size", count: 2)
            let axes = try (0..<2).map { i -> Axis in
                let (dilation, padding, stride) = (try c.ints("dilation", count: 2)[i], try c.ints("padding", count: 2)[i], try c.ints("stride", count: 2)[i])
                guard stride >= 1, dilation >= 1, padding >= 0 else { throw c.fail("stride", "stride, dilation must be positive and padding non-negative") }
                let span: Int = dilation * (kernel[i] - 1) + 1
                let out: Int = (spatial[i] + 2 * padding - span) / stride + 1
                guard out >= 1 else { throw c.fail("kernel_size", "the window does not fit an input of \(spatial)") }
                return Axis(cells: (0..<out).map { o in (0..<kernel[i]).map { j in
                    let p = o * stride - padding + j * dilation
                    return p >= 0 && p < spatial[i] ? p : -1
                } }, divisor: [])
            }
            // Rows [outH, outW, kh·kw] → [kh·kw, outH·outW], then the channel and kernel axes merged.
            let rows = try windowRows(c, x, axes, fill: 0)
            let shape = c.shape(x), batch = Array(shape.dropLast(3))
            let (positions, window) = (axes[0].cells.count * axes[1].cells.count, kernel[0] * kernel[1])
            let flat = try c.b.reshape(rows, batch + [shape[shape.count - 3], positions, window])
            let rank = c.rank(flat)
            let moved = try c.b.permute(flat, Array(0..<(rank - 2)) + [rank - 1, rank - 2])
            return [try c.b.reshape(moved, batch + [shape[shape.count - 3] * window, positions])]
        case "aten.max_pool2d.default", "aten.max_pool2d_with_indices.default", "aten.avg_pool2d.default":
            let isMax = c.target != "aten.avg_pool2d.default"
            let kernel = try c.ints("kernel_size", count: 2)
            let stride = try c.ints("stride", default: [], count: 2)
            let padding = try c.ints("padding", default: [0], count: 2)
            if !isMax { return [try averagePool(c, x, kernel: kernel, stride: stride, padding: padding)] }
            let axes = try windowAxes(c, spatial: spatial, kernel: kernel, stride: stride, padding: padding,
                                      dilation: c.ints("dilation", default: [1], count: 2))
            let pooled = try maxWithIndices(c, x, axes)
            return c.target == "aten.max_pool2d_with_indices.default" ? pooled : [pooled[0]]
        case "aten.adaptive_avg_pool2d.default", "aten._adaptive_avg_pool2d.default":
            return [try adaptiveAverage(c, x, size: c.ints("output_size", count: 2))]
        case "aten.adaptive_max_pool2d.default":
            return try maxWithIndices(c, x, adaptiveAxes(c, spatial: spatial, size: c.ints("output_size", count: 2)))
        default:
            throw c.unsupported("not in the pooling table")
        }
    }

    /// `col2im`: `x` `(N, C·kh·kw, L)` or `(C·kh·kw, L)` summed into `(N, C, H, W)`.
    static func col2im<B: Builder>(_ c: ATenCall<B>, _ x: B.Value) throws -> B.Value {
        let b = c.b, shape = c.shape(x)
        let size = try c.ints("output_size", count: 2), kernel = try c.ints("kernel_size", count: 2)
        let dilation = try c.ints("dilation", count: 2), padding = try c.ints("padding", count: 2), stride = try c.ints("stride", count: 2)
        guard shape.count == 2 || shape.count == 3 else { throw c.fail("self", "expected (N, C·kh·kw, L) or (C·kh·kw, L); received \(shape)") }
        var counts: [Int] = []
        for i in 0..<2 {
            guard stride[i] >= 1, dilation[i] >= 1, padding[i] >= 0, size[i] >= 1 else {
                throw c.fail("stride", "stride and dilation must be positive, padding non-negative, output_size positive")
            }
            let span: Int = dilation[i] * (kernel[i] - 1) + 1
            counts.append((size[i] + 2 * padding[i] - span) / stride[i] + 1)
        }
        let window = kernel[0] * kernel[1], (rowsIn, columns) = (shape[shape.count - 2], shape[shape.count - 1])
        guard rowsIn % window == 0, columns == counts[0] * counts[1] else {
            throw c.fail("self", "shape \(shape) does not hold \(window)-cell windows at \(counts[0])×\(counts[1]) positions")
        }
        let batch = shape.count == 3 ? shape[0] : 1, channels = rowsIn / window
        let image = channels * size[0] * size[1], total = batch * image
        try c.checkCount([total], "output_size")
        var positions: [Int64] = []
        positions.reserveCapacity(Shape.count(shape))
        for n in 0..<batch {
            for ch in 0..<channels {
                for ki in 0..<kernel[0] {
                    for kj in 0..<kernel[1] {
                        for oh in 0..<counts[0] {
                            for ow in 0..<counts[1] {
                                let h = oh * stride[0] - padding[0] + ki * dilation[0], w = ow * stride[1] - padding[1] + kj * dilation[1]
                                let inside = h >= 0 && h < size[0] && w >= 0 && w < size[1]
                                positions.append(Int64(inside ? n * image + (ch * size[0] + h) * size[1] + w : total))
                            }
                        }
                    }
                }
            }
        }
        let flat = try b.reshape(x, [Shape.count(shape)])
        let summed = try b.apply(ScatterAdd(axis: 0, shape: [total + 1]), [flat, b.constant(Tensor(shape: [positions.count], int64: positions))])
        let kept = try b.slice(summed, [SliceAxis(start: 0, end: total)])
        return try b.reshape(kept, (shape.count == 3 ? [batch] : []) + [channels, size[0], size[1]])
    }

    /// The adaptive windows `[⌊i·in/out⌋, ⌈(i+1)·in/out⌉)` of each of the last `size.count` axes.
    static func adaptiveAxes<B: Builder>(_ c: ATenCall<B>, spatial: [Int], size: [Int]) throws -> [Axis] {
        try size.indices.map { i in
            let (n, out) = (spatial[i], size[i])
            guard out >= 1 else { throw c.fail("output_size", "must be positive; received \(size)") }
            let ranges = TorchPoolingWindows.adaptive(input: n, output: out)
            let width = ranges.map(\.count).max() ?? 1
            return Axis(cells: ranges.map { r in (0..<width).map { r.lowerBound + $0 < r.upperBound ? r.lowerBound + $0 : -1 } }, divisor: ranges.map(\.count))
        }
    }

    /// `adaptive_avg_pool2d` of `x` (…, H, W) to `size`.
    static func adaptiveAverage<B: Builder>(_ c: ATenCall<B>, _ x: B.Value, size: [Int]) throws -> B.Value {
        let axes = try adaptiveAxes(c, spatial: Array(c.shape(x).suffix(size.count)), size: size)
        // The sum divided by each axis's window length in turn (`sum / kh / kw`, 3-D `sum / kd / kh / kw`).
        var out = try windows(c, x, axes, fill: 0, reduce: .sum)
        let dtype = c.b.type(of: x).dtype
        for (i, axis) in axes.enumerated() {
            var along = Array(repeating: 1, count: size.count)
            along[i] = size[i]
            out = try c.b.divide(out, c.constant(axis.divisor.map(Double.init), shape: along, dtype: dtype))
        }
        return out
    }

    /// The windows of each spatial axis (`ceil_mode` and `count_include_pad` read from the call).
    static func windowAxes<B: Builder>(_ c: ATenCall<B>, spatial: [Int], kernel: [Int], stride: [Int], padding: [Int], dilation: [Int]) throws -> [Axis] {
        let stride = stride.isEmpty ? kernel : stride
        let ceil = try c.bool("ceil_mode", default: false)
        let includePad = try c.bool("count_include_pad", default: true)
        for i in kernel.indices where padding[i] * 2 > kernel[i] {
            throw c.fail("padding", "pad should be at most half of the effective kernel size; received padding \(padding), kernel \(kernel)")
        }
        var axes: [Axis] = []
        for i in kernel.indices {
            let out = TorchPoolingWindows.outputSize(spatial[i], kernel: kernel[i], stride: stride[i], padding: padding[i], dilation: dilation[i], ceil: ceil)
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
        return axes
    }

    /// `avg_pool2d` of `x` (…, H, W): window sums divided by `divisor_override` or the window's count.
    static func averagePool<B: Builder>(_ c: ATenCall<B>, _ x: B.Value, kernel: [Int], stride: [Int], padding: [Int]) throws -> B.Value {
        let k = kernel.count
        guard c.rank(x) >= k + 1 else { throw c.fail("self", "expected \(k) spatial axes after (N, C) or C; received \(c.shape(x))") }
        let axes = try windowAxes(c, spatial: Array(c.shape(x).suffix(k)), kernel: kernel, stride: stride, padding: padding,
                                  dilation: Array(repeating: 1, count: k))
        let sum = try windows(c, x, axes, fill: 0, reduce: .sum)
        let outputs = axes.map { $0.cells.count }
        var counts: [Double] = [1]
        for axis in axes { counts = counts.flatMap { p in axis.divisor.map { p * Double($0) } } }
        if let override = try c.optionalInt("divisor_override") { counts = Array(repeating: Double(override), count: counts.count) }
        return try c.b.divide(sum, c.constant(counts, shape: outputs, dtype: c.b.type(of: x).dtype))
    }

    /// The window maxima and, for each, the flat input position `h·W + w` of the first maximum in window
    /// order (rows, then columns). The maximum is the element at that position, so its VJP sends the
    /// gradient to that one element, as PyTorch's backward does with the saved indices (a tie's first
    /// maximum; a window's NaN).
    static func maxWithIndices<B: Builder>(_ c: ATenCall<B>, _ x: B.Value, _ axes: [Axis]) throws -> [B.Value] {
        let b = c.b
        let patches = try windowRows(c, x, axes, fill: -.infinity)
        let rank = c.rank(patches)
        let position = try b.apply(ArgExtremum(maximum: true, axis: rank - 1, keepDims: true), [patches])
        let (table, inner) = windowIndices(axes, spatial: Array(c.shape(x).suffix(axes.count)))
        let positions = try b.broadcast(c.constant(table.map(Double.init), shape: inner, dtype: .int64), to: c.shape(patches))
        let index = try IndexingOps.gather(c, positions, axis: rank - 1, index: position, known: nil)
        // The maximum scanned in place (the same value as gathering at `position`, a NaN as the
        // canonical NaN); the patches and the argmax above remain only when the indices are used.
        let maximum = try b.apply(WindowMax(indices: table, patchShape: inner, windowAxis: inner.count - 1, batchRank: c.rank(x) - axes.count), [x])
        return [maximum, try b.reshape(index, Array(c.shape(patches).dropLast()))]
    }

    /// Gathers every window as a row `[…, outH, outW, window]` and reduces it.
    static func windows<B: Builder>(_ c: ATenCall<B>, _ x: B.Value, _ axes: [Axis], fill: Double, reduce kind: ReductionKind) throws -> B.Value {
        try c.b.reduce(kind, windowRows(c, x, axes, fill: fill), axes: [-1])
    }

    /// The flat input position (`Σ cellₖ·strideₖ` over the spatial axes, −1 in the padding) of every window
    /// cell: output positions row-major, then the window's cells row-major; and the rows' shape.
    static func windowIndices(_ axes: [Axis], spatial: [Int]) -> (indices: [Int], shape: [Int]) {
        let strides = Shape.strides(spatial)
        var outputs: [[Int]] = [[]], cells: [[Int]] = [[]]
        for axis in axes {
            outputs = outputs.flatMap { p in (0..<axis.cells.count).map { p + [$0] } }
            cells = cells.flatMap { p in (0..<(axis.cells.first?.count ?? 0)).map { p + [$0] } }
        }
        var indices: [Int] = []
        indices.reserveCapacity(outputs.count * cells.count)
        for o in outputs {
            for w in cells {
                var flat = 0
                for d in axes.indices {
                    let cell = axes[d].cells[o[d]][w[d]]
                    if cell < 0 { flat = -1; break }
                    flat += cell * strides[d]
                }
                indices.append(flat)
            }
        }
        return (indices, axes.map { $0.cells.count } + [cells.count])
    }

    /// Every window as a row: `[…, out₁, …, outₖ, window]`, `fill` outside the input.
    static func windowRows<B: Builder>(_ c: ATenCall<B>, _ x: B.Value, _ axes: [Axis], fill: Double) throws -> B.Value {
        let shape = c.shape(x)
        let (indices, inner) = windowIndices(axes, spatial: Array(shape.suffix(axes.count)))
        return try c.b.apply(Remap(indices: indices, innerShape: inner, batchRank: shape.count - axes.count, fill: fill, label: "pool windows"), [x])
    }
}

/// PyTorch's pooling windows (`aten/src/ATen/native/Pool.h`, `AdaptiveAvgPoolKernel.cpp`): the rules in
/// ``PoolingOps``'s summary, read by the ATen pooling kernels and by the converter to Keras.
public enum TorchPoolingWindows {
    /// `pooling_output_shape`: `⌊(in + 2p − d(k−1) − 1 + (ceil ? s−1 : 0)) / s⌋ + 1`, minus one when
    /// `ceil_mode` would start the last window in the right padding.
    public static func outputSize(_ size: Int, kernel k: Int, stride s: Int, padding p: Int, dilation d: Int, ceil: Bool) -> Int {
        let span = d * (k - 1) + 1
        var out = (size + 2 * p - span + (ceil ? s - 1 : 0)) / s + 1
        if ceil && (out - 1) * s >= size + p { out -= 1 }
        return out
    }

    /// The adaptive windows `[⌊i·in/out⌋, ⌈(i+1)·in/out⌉)` of an axis of `input` cells pooled to `output`.
    public static func adaptive(input n: Int, output out: Int) -> [Range<Int>] {
        (0..<out).map { o in (o * n / out)..<(((o + 1) * n + out - 1) / out) }
    }
}
