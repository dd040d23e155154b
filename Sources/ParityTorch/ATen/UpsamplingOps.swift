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
enum UpsamplingOps: ATenFamily {
    static let targets: Set<String> = ["aten.upsample_nearest2d.vec", "aten._upsample_nearest_exact2d.vec", "aten.upsample_bilinear2d.vec"]

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

    /// `x[n, c, rows[i], cols[j]]` as one ``Remap``.
    static func grid<B: Builder>(_ c: ATenCall<B>, _ x: B.Value, rows: [Int], cols: [Int]) throws -> B.Value {
        let width = c.shape(x)[3]
        let indices = rows.flatMap { r in cols.map { r * width + $0 } }
        return try c.b.apply(Remap(indices: indices, innerShape: [rows.count, cols.count], batchRank: 2, label: "upsample"), [x])
    }
}
