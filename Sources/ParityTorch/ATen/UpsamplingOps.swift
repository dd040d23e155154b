import ParityNN

/// `aten.upsample_nearest2d.vec` and `aten.upsample_bilinear2d.vec` on NCHW with PyTorch's index
/// rules (`aten/src/ATen/native/UpSample.h`, `cpu/UpSampleKernel.cpp`):
///
/// - output size: `output_size`, else `⌊in·scale⌋`; a given scale is used as `1/scale` (not
///   `in/out`), which changes indices when `in·scale` is not whole;
/// - nearest: same size → identity, double size → `i >> 1`, else `min(⌊i·s⌋, in − 1)` with `s` a
///   Float32 (`compute_scales_value<float>`) whatever the dtype;
/// - nearest-exact (`aten._upsample_nearest_exact2d.vec`, `mode="nearest-exact"`): half-pixel
///   centres, `min(⌊(i + ½)·s⌋, in − 1)` in Float32 for every size (`nearest_exact_idx`);
/// - bilinear: `align_corners` → `src = i·(in−1)/(out−1)`, else `max((i + ½)·s − ½, 0)`, computed
///   in the tensor's dtype; `i0 = min(⌊src⌋, in−1)`, `i1 = i0 + (i0 < in−1)`, `λ1 = clamp(src − i0, 0, 1)`,
///   `λ0 = 1 − λ1`; `y = (x00·w0 + x01·w1)·h0 + (x10·w0 + x11·w1)·h1` (width inside, height outside).
/// - bicubic (`upsample_bicubic2d`): the same source index without the clamp at 0, taps
///   `clamp(i0 − 1 + k, 0, in − 1)` for k = 0…3 with Keys' weights, A = −0.75
///   (`get_cubic_upsample_coefficients`), in the tensor's dtype; `y = Σₕ (Σ_w x·w_w)·w_h`, each sum in tap order.
/// - antialiased bicubic (`_upsample_bicubic2d_aa`, `antialias=True`; `_compute_indices_min_size_weights_aa`):
///   per output the window `center ± support` (support 2, times the scale when downsampling), the
///   filter with A = −0.5 (PIL's) at `(j + xmin − center + ½)·min(1, 1/scale)`, normalised to sum 1;
///   a height pass then a width pass, each only where the size changes (a separable filter, the
///   intermediate in the tensor's dtype).
enum UpsamplingOps: ATenFamily {
    static let targets: Set<String> = ["aten.upsample_nearest2d.vec", "aten._upsample_nearest_exact2d.vec", "aten.upsample_bilinear2d.vec",
                                       "aten.upsample_bicubic2d.vec", "aten._upsample_bicubic2d_aa.vec"]

    static func lower<B: Builder>(_ c: ATenCall<B>) throws -> [B.Value] {
        let b = c.b
        let x = try c.floating(c.tensor("input"))
        let shape = c.shape(x)
        guard shape.count == 4 else { throw c.fail("input", "expected (N, C, H, W); received \(shape)") }
        let spatial = Array(shape.suffix(2))
        let scales = try c.optionalDoubles("scale_factors")
        let size: [Int]
        if let given = try c.optionalInts("output_size") {
            size = given
        } else if let scales, scales.count == 2 {
            size = try (0..<2).map { i in
                let n = (Double(spatial[i]) * scales[i]).rounded(.down)
                guard n.isFinite, n >= 0, n <= Double(ATenCall<B>.maxListElement) else { throw c.fail("scale_factors", "\(scales) gives \(n) cells") }
                return Int(n)
            }
        } else {
            throw c.fail("output_size", "neither output_size nor two scale_factors are given")
        }
        guard size.count == 2, size.allSatisfy({ $0 >= 1 }) else { throw c.fail("output_size", "\(size)") }
        try c.checkCount(Array(shape.prefix(2)) + size, "output_size")
        let scale: [Double?] = (0..<2).map { i in (scales?.count == 2) ? scales?[i] : nil }
        if c.target == "aten.upsample_nearest2d.vec" {
            let sources = (0..<2).map { nearest(input: spatial[$0], output: size[$0], scale: scale[$0]) }
            return [try grid(c, x, rows: sources[0], cols: sources[1])]
        }
        if c.target == "aten._upsample_nearest_exact2d.vec" {
            let sources = (0..<2).map { nearestExact(input: spatial[$0], output: size[$0], scale: scale[$0]) }
            return [try grid(c, x, rows: sources[0], cols: sources[1])]
        }
        let alignCorners = try c.bool("align_corners")
        let dtype = b.type(of: x).dtype
        if c.target != "aten.upsample_bilinear2d.vec" {
            let antialias = c.target == "aten._upsample_bicubic2d_aa.vec"
            let taps = (0..<2).map { i -> (start: [Int], weights: [[Double]]) in
                switch (antialias, dtype == .float64) {
                case (false, true): return cubic(Double.self, input: spatial[i], output: size[i], alignCorners: alignCorners, scale: scale[i])
                case (false, false): return cubic(Float.self, input: spatial[i], output: size[i], alignCorners: alignCorners, scale: scale[i])
                case (true, true): return antialiased(Double.self, input: spatial[i], output: size[i], alignCorners: alignCorners, scale: scale[i])
                case (true, false): return antialiased(Float.self, input: spatial[i], output: size[i], alignCorners: alignCorners, scale: scale[i])
                }
            }
            if antialias {
                guard !alignCorners else { throw c.unsupported("antialiased bicubic with align_corners=True is not mapped") }
                // Height, then width; an axis whose size does not change is not resampled.
                var y = x
                if spatial[0] != size[0] { y = try separablePass(c, y, axis: 2, taps: taps[0], input: spatial[0]) }
                if spatial[1] != size[1] { y = try separablePass(c, y, axis: 3, taps: taps[1], input: spatial[1]) }
                return [y]
            }
            // Σₕ (Σ_w x·w_w)·w_h with the taps clamped into the input.
            let clampRow = { (start: Int, k: Int, n: Int) in Swift.min(Swift.max(start + k, 0), n - 1) }
            var out: B.Value?
            for kh in 0..<4 {
                let rows = taps[0].start.map { clampRow($0, kh, spatial[0]) }
                var inner: B.Value?
                for kw in 0..<4 {
                    let cols = taps[1].start.map { clampRow($0, kw, spatial[1]) }
                    let term = try b.multiply(grid(c, x, rows: rows, cols: cols), c.constant(taps[1].weights.map { $0[kw] }, shape: [1, size[1]], dtype: dtype))
                    inner = try inner.map { try b.add($0, term) } ?? term
                }
                let term = try b.multiply(inner!, c.constant(taps[0].weights.map { $0[kh] }, shape: [size[0], 1], dtype: dtype))
                out = try out.map { try b.add($0, term) } ?? term
            }
            return [out!]
        }
        let axes = (0..<2).map { i -> (i0: [Int], i1: [Int], w0: [Double], w1: [Double]) in
            dtype == .float64
                ? linear(Double.self, input: spatial[i], output: size[i], alignCorners: alignCorners, scale: scale[i])
                : linear(Float.self, input: spatial[i], output: size[i], alignCorners: alignCorners, scale: scale[i])
        }
        let (h, w) = (axes[0], axes[1])
        let w0 = c.constant(w.w0, shape: [1, size[1]], dtype: dtype), w1 = c.constant(w.w1, shape: [1, size[1]], dtype: dtype)
        let h0 = c.constant(h.w0, shape: [size[0], 1], dtype: dtype), h1 = c.constant(h.w1, shape: [size[0], 1], dtype: dtype)
        let top = try b.add(b.multiply(grid(c, x, rows: h.i0, cols: w.i0), w0), b.multiply(grid(c, x, rows: h.i0, cols: w.i1), w1))
        let bottom = try b.add(b.multiply(grid(c, x, rows: h.i1, cols: w.i0), w0), b.multiply(grid(c, x, rows: h.i1, cols: w.i1), w1))
        return [try b.add(b.multiply(top, h0), b.multiply(bottom, h1))]
    }

    static func nearest(input: Int, output: Int, scale: Double?) -> [Int] {
        if output == input { return Array(0..<output) }
        if output == 2 * input { return (0..<output).map { $0 >> 1 } }
        let s: Float = (scale.map { $0 > 0 } ?? false) ? Float(1.0 / scale!) : Float(input) / Float(output)
        return (0..<output).map { Swift.min(Int((Float($0) * s).rounded(.down)), input - 1) }
    }

    static func nearestExact(input: Int, output: Int, scale: Double?) -> [Int] {
        let s: Float = (scale.map { $0 > 0 } ?? false) ? Float(1.0 / scale!) : Float(input) / Float(output)
        return (0..<output).map { Swift.min(Int(((Float($0) + 0.5) * s).rounded(.down)), input - 1) }
    }

    static func linear<T: BinaryFloatingPoint>(_: T.Type, input: Int, output: Int, alignCorners: Bool, scale: Double?)
        -> (i0: [Int], i1: [Int], w0: [Double], w1: [Double]) {
        if input == output { return (Array(0..<output), Array(0..<output), Array(repeating: 1, count: output), Array(repeating: 0, count: output)) }
        let ratio: T
        if alignCorners { ratio = output > 1 ? T(input - 1) / T(output - 1) : 0 }
        else if let scale, scale > 0 { ratio = T(1.0 / scale) }
        else { ratio = T(input) / T(output) }
        var out: (i0: [Int], i1: [Int], w0: [Double], w1: [Double]) = ([], [], [], [])
        for i in 0..<output {
            var src = alignCorners ? ratio * T(i) : ratio * (T(i) + T(0.5)) - T(0.5)
            if !alignCorners && src < 0 { src = 0 }
            let i0 = Swift.min(Int(src.rounded(.down)), input - 1)
            let l1 = Swift.min(Swift.max(src - T(i0), 0), 1)
            out.i0.append(i0)
            out.i1.append(i0 + (i0 < input - 1 ? 1 : 0))
            out.w1.append(Double(l1))
            out.w0.append(Double(1 - l1))
        }
        return out
    }

    /// Bicubic taps per output: the first tap `i0 − 1` (the caller clamps each tap into the input) and
    /// the four weights, computed in `T` as ATen's `HelperInterpCubic` does.
    static func cubic<T: BinaryFloatingPoint>(_: T.Type, input: Int, output: Int, alignCorners: Bool, scale: Double?) -> (start: [Int], weights: [[Double]]) {
        let ratio: T
        if alignCorners { ratio = output > 1 ? T(input - 1) / T(output - 1) : 0 }
        else if let scale, scale > 0 { ratio = T(1.0 / scale) }
        else { ratio = T(input) / T(output) }
        let a: T = -0.75
        func near(_ x: T) -> T { ((a + 2) * x - (a + 3)) * x * x + 1 }
        func far(_ x: T) -> T { ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }
        var start: [Int] = [], weights: [[Double]] = []
        for i in 0..<output {
            let src = alignCorners ? ratio * T(i) : ratio * (T(i) + T(0.5)) - T(0.5)
            let i0 = Swift.min(Int(src.rounded(.down)), input - 1)
            let t = Swift.min(Swift.max(src - T(i0), 0), 1)
            start.append(i0 - 1)
            weights.append([far(t + 1), near(t), near(1 - t), far(2 - t)].map(Double.init))
        }
        return (start, weights)
    }

    /// Antialiased bicubic taps per output: the first input index and the normalised weights.
    static func antialiased<T: BinaryFloatingPoint>(_: T.Type, input: Int, output: Int, alignCorners: Bool, scale: Double?) -> (start: [Int], weights: [[Double]]) {
        let ratio: T
        if alignCorners { ratio = output > 1 ? T(input - 1) / T(output - 1) : 0 }
        else if let scale, scale > 0 { ratio = T(1.0 / scale) }
        else { ratio = T(input) / T(output) }
        let support: T = ratio >= 1 ? 2 * ratio : 2
        let inverse: T = ratio >= 1 ? 1 / ratio : 1
        func filter(_ v: T) -> T {
            let x = abs(v), a: T = -0.5
            if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
            if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
            return 0
        }
        var start: [Int] = [], weights: [[Double]] = []
        for i in 0..<output {
            let center = ratio * (T(i) + T(0.5))
            let lo = Swift.max(Int((center - support + T(0.5)).rounded(.towardZero)), 0)
            let hi = Swift.min(Int((center + support + T(0.5)).rounded(.towardZero)), input)
            var w = (0..<Swift.max(hi - lo, 0)).map { j in filter((T(j + lo) - center + T(0.5)) * inverse) }
            let total = w.reduce(0, +)
            if total != 0 { w = w.map { $0 / total } }
            start.append(lo)
            weights.append(w.map(Double.init))
        }
        return (start, weights)
    }

    /// One pass of a separable filter along `axis` (2: height, 3: width): output `i` is
    /// `Σⱼ x[start[i] + j]·w[i][j]` in tap order.
    static func separablePass<B: Builder>(_ c: ATenCall<B>, _ x: B.Value, axis: Int, taps: (start: [Int], weights: [[Double]]), input: Int) throws -> B.Value {
        let b = c.b, dtype = b.type(of: x).dtype, shape = c.shape(x)
        let count = taps.start.count, width = taps.weights.map(\.count).max() ?? 0
        var out: B.Value?
        for j in 0..<width {
            let positions = (0..<count).map { i in j < taps.weights[i].count ? taps.start[i] + j : Swift.min(taps.start[i], input - 1) }
            let weights = (0..<count).map { i in j < taps.weights[i].count ? taps.weights[i][j] : 0 }
            let gathered = axis == 3 ? try grid(c, x, rows: Array(0..<shape[2]), cols: positions) : try grid(c, x, rows: positions, cols: Array(0..<shape[3]))
            let w = c.constant(weights, shape: axis == 3 ? [1, count] : [count, 1], dtype: dtype)
            let term = try b.multiply(gathered, w)
            out = try out.map { try b.add($0, term) } ?? term
        }
        guard let out else { throw c.fail("output_size", "no input cell in a window") }
        return out
    }

    /// `x[n, c, rows[i], cols[j]]` as one ``Remap``.
    static func grid<B: Builder>(_ c: ATenCall<B>, _ x: B.Value, rows: [Int], cols: [Int]) throws -> B.Value {
        let width = c.shape(x)[3]
        let indices = rows.flatMap { r in cols.map { r * width + $0 } }
        return try c.b.apply(Remap(indices: indices, innerShape: [rows.count, cols.count], batchRank: 2, label: "upsample"), [x])
    }
}
