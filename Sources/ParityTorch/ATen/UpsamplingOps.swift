import ParityNN

/// `aten.upsample_nearest{1,2,3}d.vec`, `aten._upsample_nearest_exact{1,2,3}d.vec`,
/// `aten.upsample_linear1d.vec`, `aten.upsample_bilinear2d.vec`, `aten.upsample_trilinear3d.vec` on
/// (N, C, L), (N, C, H, W) and (N, C, D, H, W), and the 2-D bicubic ops, with PyTorch's index rules
/// (`aten/src/ATen/native/UpSample.h`, `cpu/UpSampleKernel.cpp`):
///
/// - output size: `output_size`, else `⌊in·scale⌋`; a given scale is used as `1/scale` (not
///   `in/out`), which changes indices when `in·scale` is not whole;
/// - the scale `s` (`compute_scales_value`) and source positions are in the tensor's dtype
///   (`opmath_t`), and every index is `floorf` of a Float32: a Float64 position is rounded to
///   Float32 before the floor (`guard_index_and_lambda`);
/// - 1-D and 3-D, and 2-D with `out_h + out_w > 128`, run the generic kernel
///   (`upsample_generic_Nd_kernel_impl`): nearest `min(⌊i·s⌋, in − 1)`; nearest-exact
///   `min(⌊max(i·s + s/2 − ½, 0) + ½⌋, in − 1)` with `s·(i + ½) − ½` one fused multiply-add
///   (as the shipped CPU build computes it; measured on every size pair 1…29 → 1…59 and outputs up
///   to 400, which it changes for 2 → 41, 2 → 47, 2 → 55);
/// - 2-D with `out_h + out_w ≤ 128` runs the channels-last kernel (`_use_vectorized_kernel_cond_2d`,
///   `nearest_idx`): same size → identity, double size → `i >> 1`, else `min(⌊i·s⌋, in − 1)` with
///   `s` a Float32 whatever the dtype; nearest-exact `min(⌊(i + ½)·s⌋, in − 1)` in Float32;
/// - linear: `align_corners` → `src = i·(in−1)/(out−1)`, else `max((i + ½)·s − ½, 0)` (fused in
///   Float64 by the generic kernel, not in Float32: measured, see `linear`); `i0 = min(⌊src⌋, in−1)`,
///   `i1 = i0 + (i0 < in−1)`, `λ1 = clamp(src − i0, 0, 1)`, `λ0 = 1 − λ1`; interpolated axis by axis,
///   the last innermost: `y = (x0·w0 + x1·w1)` over width, then the same over height and depth.
/// - bicubic (`upsample_bicubic2d`): the same source index without the clamp at 0, taps
///   `clamp(i0 − 1 + k, 0, in − 1)` for k = 0…3 with Keys' weights, A = −0.75
///   (`get_cubic_upsample_coefficients`), in the tensor's dtype; `y = Σₕ (Σ_w x·w_w)·w_h`, each sum in tap order.
/// - antialiased bicubic (`_upsample_bicubic2d_aa`, `antialias=True`; `_compute_indices_min_size_weights_aa`):
///   per output the window `center ± support` (support 2, times the scale when downsampling), the
///   filter with A = −0.5 (PIL's) at `(j + xmin − center + ½)·min(1, 1/scale)`, normalised to sum 1;
///   a height pass then a width pass, each only where the size changes (a separable filter, the
///   intermediate in the tensor's dtype).
enum UpsamplingOps: ATenFamily {
    /// Each target with its number of spatial axes.
    static let spatialAxes: [String: Int] = [
        "aten.upsample_nearest1d.vec": 1, "aten.upsample_nearest2d.vec": 2, "aten.upsample_nearest3d.vec": 3,
        "aten._upsample_nearest_exact1d.vec": 1, "aten._upsample_nearest_exact2d.vec": 2, "aten._upsample_nearest_exact3d.vec": 3,
        "aten.upsample_linear1d.vec": 1, "aten.upsample_bilinear2d.vec": 2, "aten.upsample_trilinear3d.vec": 3,
        "aten.upsample_bicubic2d.vec": 2, "aten._upsample_bicubic2d_aa.vec": 2,
    ]
    static let targets = Set(spatialAxes.keys)
    static let nearestTargets: Set<String> = ["aten.upsample_nearest1d.vec", "aten.upsample_nearest2d.vec", "aten.upsample_nearest3d.vec"]
    static let nearestExactTargets: Set<String> = ["aten._upsample_nearest_exact1d.vec", "aten._upsample_nearest_exact2d.vec", "aten._upsample_nearest_exact3d.vec"]
    static let linearTargets: Set<String> = ["aten.upsample_linear1d.vec", "aten.upsample_bilinear2d.vec", "aten.upsample_trilinear3d.vec"]

    static func lower<B: Builder>(_ c: ATenCall<B>) throws -> [B.Value] {
        let b = c.b
        let k = spatialAxes[c.target]!
        let x = try c.floating(c.tensor("input"))
        let shape = c.shape(x)
        let layout = ["(N, C, L)", "(N, C, H, W)", "(N, C, D, H, W)"][k - 1]
        guard shape.count == k + 2 else { throw c.fail("input", "expected \(layout); received \(shape)") }
        let spatial = Array(shape.suffix(k))
        let scales = try c.optionalDoubles("scale_factors")
        let size: [Int]
        if let given = try c.optionalInts("output_size") {
            size = given
        } else if let scales, scales.count == k {
            size = try (0..<k).map { i in
                let n = (Double(spatial[i]) * scales[i]).rounded(.down)
                guard n.isFinite, n >= 0, n <= Double(ATenCall<B>.maxListElement) else { throw c.fail("scale_factors", "\(scales) gives \(n) cells") }
                return Int(n)
            }
        } else {
            throw c.fail("output_size", "neither output_size nor \(k) scale_factors are given")
        }
        guard size.count == k, size.allSatisfy({ $0 >= 1 }) else { throw c.fail("output_size", "\(size)") }
        try c.checkCount(Array(shape.prefix(2)) + size, "output_size")
        let scale: [Double?] = (0..<k).map { i in (scales?.count == k) ? scales?[i] : nil }
        let dtype = b.type(of: x).dtype
        let channelsLastKernel = usesChannelsLastKernel(output: size)
        if nearestTargets.contains(c.target) || nearestExactTargets.contains(c.target) {
            let exact = nearestExactTargets.contains(c.target)
            let sources = TorchNearestIndices.forward(exact: exact, input: spatial, output: size, scales: scale, dtype: dtype)
            let backward = (0..<k).map { i in TorchNearestIndices.backward(exact: exact, input: spatial[i], output: size[i], scale: scale[i]) }
            return [try b.apply(NearestUpsampling(map: remap(spatial, sources), backward: flatIndices(spatial, backward)), [x])]
        }
        let alignCorners = try c.bool("align_corners")
        if !linearTargets.contains(c.target) {
            let antialias = c.target == "aten._upsample_bicubic2d_aa.vec"
            let taps = (0..<2).map { i -> (start: [Int], weights: [[Double]]) in
                switch (antialias, dtype == .float64) {
                case (false, true): return TorchInterpolationTaps.cubic(Double.self, input: spatial[i], output: size[i], alignCorners: alignCorners, scale: scale[i])
                case (false, false): return TorchInterpolationTaps.cubic(Float.self, input: spatial[i], output: size[i], alignCorners: alignCorners, scale: scale[i])
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
            var out: B.Value?
            for kh in 0..<4 {
                let rows = taps[0].start.map { TorchInterpolationTaps.cubicTap($0, kh, input: spatial[0]) }
                var inner: B.Value?
                for kw in 0..<4 {
                    let cols = taps[1].start.map { TorchInterpolationTaps.cubicTap($0, kw, input: spatial[1]) }
                    let term = try b.multiply(gather(c, x, [rows, cols]), c.constant(taps[1].weights.map { $0[kw] }, shape: [1, size[1]], dtype: dtype))
                    inner = try inner.map { try b.add($0, term) } ?? term
                }
                let term = try b.multiply(inner!, c.constant(taps[0].weights.map { $0[kh] }, shape: [size[0], 1], dtype: dtype))
                out = try out.map { try b.add($0, term) } ?? term
            }
            return [out!]
        }
        // The generic kernel fuses `s·(i + ½) − ½` in Float64, not in Float32 (measured); the 2-D channels-last one does not.
        let fused = dtype == .float64 && !channelsLastKernel
        let axes = (0..<k).map { i -> TorchInterpolationTaps.Linear in
            dtype == .float64
                ? TorchInterpolationTaps.linear(Double.self, input: spatial[i], output: size[i], alignCorners: alignCorners, scale: scale[i], fused: fused)
                : TorchInterpolationTaps.linear(Float.self, input: spatial[i], output: size[i], alignCorners: alignCorners, scale: scale[i], fused: false)
        }
        // Axis by axis from the first (outermost): t = t₀·w₀ + t₁·w₁, each tᵢ the interpolation over the later axes.
        func interpolate(_ axis: Int, _ chosen: [[Int]]) throws -> B.Value {
            if axis == k { return try gather(c, x, chosen) }
            let a = axes[axis], weightShape = [size[axis]] + Array(repeating: 1, count: k - 1 - axis)
            let t0 = try interpolate(axis + 1, chosen + [a.i0]), t1 = try interpolate(axis + 1, chosen + [a.i1])
            return try b.add(b.multiply(t0, c.constant(a.w0, shape: weightShape, dtype: dtype)),
                             b.multiply(t1, c.constant(a.w1, shape: weightShape, dtype: dtype)))
        }
        return [try interpolate(0, [])]
    }

    /// Whether PyTorch runs the 2-D channels-last kernel for an output of spatial `output` sizes: it picks
    /// it for small 2-D outputs, `out_h + out_w ≤ 128` (`_use_vectorized_kernel_cond_2d`).
    static func usesChannelsLastKernel(output: [Int]) -> Bool { output.count == 2 && output[0] + output[1] <= 128 }

    /// `compute_scales_value<T>`: `1/scale` when a positive scale is given, else `in/out`, in `T`.
    static func scaleValue<T: BinaryFloatingPoint>(_: T.Type, input: Int, output: Int, scale: Double?) -> T {
        if let scale, scale > 0 { return T(1.0 / scale) }
        return T(input) / T(output)
    }

    /// Antialiased bicubic taps per output: the first input index and the normalised weights.
    static func antialiased<T: BinaryFloatingPoint>(_: T.Type, input: Int, output: Int, alignCorners: Bool, scale: Double?) -> (start: [Int], weights: [[Double]]) {
        let ratio = TorchInterpolationTaps.ratio(T.self, input: input, output: output, alignCorners: alignCorners, scale: scale)
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
            let gathered = axis == 3 ? try gather(c, x, [Array(0..<shape[2]), positions]) : try gather(c, x, [positions, Array(0..<shape[3])])
            let w = c.constant(weights, shape: axis == 3 ? [1, count] : [count, 1], dtype: dtype)
            let term = try b.multiply(gathered, w)
            out = try out.map { try b.add($0, term) } ?? term
        }
        guard let out else { throw c.fail("output_size", "no input cell in a window") }
        return out
    }

    /// `x[n, c, sources[0][i], sources[1][j], …]` (one index list per spatial axis) as one ``Remap``.
    static func gather<B: Builder>(_ c: ATenCall<B>, _ x: B.Value, _ sources: [[Int]]) throws -> B.Value {
        try c.b.apply(remap(Array(c.shape(x).dropFirst(2)), sources), [x])
    }

    static func remap(_ spatial: [Int], _ sources: [[Int]]) -> Remap {
        Remap(indices: flatIndices(spatial, sources), innerShape: sources.map(\.count), batchRank: 2, label: "upsample")
    }

    /// The position in the flattened spatial axes of each output cell.
    static func flatIndices(_ spatial: [Int], _ sources: [[Int]]) -> [Int] {
        var indices = [0]
        for (axis, list) in sources.enumerated() {
            indices = indices.flatMap { base in list.map { base * spatial[axis] + $0 } }
        }
        return indices
    }
}

/// Nearest upsampling (a ``Remap`` of the spatial axes after N and C) whose VJP scatter-adds through
/// the indices of PyTorch's backward kernel, which can differ from the forward's: the generic forward
/// kernel positions nearest-exact cells with a fused multiply-add in the tensor's dtype, the backward
/// with `nearest_exact_idx` in Float32 (1-D 2 → 41: output cell 20 reads input 0, its gradient goes to
/// input 1), so `torch.autograd` is not the adjoint of the forward there; Parity gives torch's gradient.
struct NearestUpsampling: Op {
    var map: Remap
    /// For each output cell, the input cell its cotangent is added to.
    var backward: [Int]

    var name: String { "upsample (nearest)" }

    func outputType(_ inputs: [TensorType]) throws -> TensorType { try map.outputType(inputs) }

    func forward(_ inputs: [Tensor]) throws -> Tensor { try map.forward(inputs) }

    func vjp<B: Builder>(_ b: B, inputs: [B.Value], output: B.Value, cotangent: B.Value) throws -> [B.Value?] {
        let shape = b.shape(of: inputs[0])
        return [try b.apply(RemapAdjoint(indices: backward, innerShape: Array(shape.dropFirst(2)), batchRank: 2, label: "upsample"), [cotangent])]
    }
}

/// PyTorch's nearest and nearest-exact source cells (`upsample_nearest{1,2,3}d`,
/// `_upsample_nearest_exact{1,2,3}d`, CPU): the one table the ATen kernels and the converter to Keras
/// read. The rules are in ``UpsamplingOps``'s summary: the 2-D channels-last kernel for
/// `out_h + out_w ≤ 128`, the generic kernel otherwise (scale and position in the tensor's dtype), and
/// the backward kernel's own indices.
public enum TorchNearestIndices {
    /// Each spatial axis's source cell per output cell, as the forward kernel PyTorch picks for these
    /// sizes and `dtype` computes them; `scales` are the given `scale_factors` (nil: `in/out`).
    public static func forward(exact: Bool, input: [Int], output: [Int], scales: [Double?], dtype: DType) -> [[Int]] {
        let channelsLastKernel = UpsamplingOps.usesChannelsLastKernel(output: output)
        return input.indices.map { i in
            switch (channelsLastKernel, dtype == .float64) {
            case (true, _): return backward(exact: exact, input: input[i], output: output[i], scale: scales[i])
            case (false, true): return generic(Double.self, exact: exact, input: input[i], output: output[i], scale: scales[i])
            case (false, false): return generic(Float.self, exact: exact, input: input[i], output: output[i], scale: scales[i])
            }
        }
    }

    /// One axis's source cells as the 2-D channels-last kernel and every backward kernel
    /// (`nearest_idx`, `nearest_exact_idx`) pick them: a Float32 scale whatever the dtype; nearest copies
    /// equal sizes and halves doubled ones whatever the scale factor.
    public static func backward(exact: Bool, input: Int, output: Int, scale: Double?) -> [Int] {
        if !exact && output == input { return Array(0..<output) }
        if !exact && output == 2 * input { return (0..<output).map { $0 >> 1 } }
        let s: Float = UpsamplingOps.scaleValue(Float.self, input: input, output: output, scale: scale)
        return (0..<output).map { i in
            let position = exact ? (Float(i) + 0.5) * s : Float(i) * s
            return Swift.min(Int(position.rounded(.down)), input - 1)
        }
    }

    /// The generic kernel's indices (`HelperInterpNearest`, `HelperInterpNearestExact`): the scale and
    /// position in `T` (the tensor's dtype), the floor of the position as a Float32.
    static func generic<T: BinaryFloatingPoint>(_: T.Type, exact: Bool, input: Int, output: Int, scale: Double?) -> [Int] {
        let s = UpsamplingOps.scaleValue(T.self, input: input, output: output, scale: scale)
        return (0..<output).map { i in
            let position: Float
            if exact {
                // `area_pixel_compute_source_index` (fused), clamped at 0, then `+ 0.5` in Float64.
                let src = Swift.max((-T(0.5)).addingProduct(s, T(i) + T(0.5)), 0)
                position = Float(Double(src) + 0.5)
            } else {
                position = Float(s * T(i))
            }
            return Swift.min(Int(position.rounded(.down)), input - 1)
        }
    }
}

/// PyTorch's linear and bicubic source cells and weights per output cell (`upsample_linear1d`,
/// `upsample_bilinear2d`, `upsample_trilinear3d`, `upsample_bicubic2d`, CPU): the one computation the
/// ATen kernels (``UpsamplingOps``, whose summary has the rules) and the converter to Keras (its
/// interpolation matrices) read.
public enum TorchInterpolationTaps {
    /// One axis's taps: per output cell the two source cells and their weights.
    public typealias Linear = (i0: [Int], i1: [Int], w0: [Double], w1: [Double])

    /// The source step `s` (`area_pixel_compute_scale<T>`): `(in − 1)/(out − 1)` with `align_corners`
    /// (0 for one output cell), else ``UpsamplingOps/scaleValue(_:input:output:scale:)`` (`1/scale`, or `in/out`).
    static func ratio<T: BinaryFloatingPoint>(_: T.Type, input: Int, output: Int, alignCorners: Bool, scale: Double?) -> T {
        if alignCorners { return output > 1 ? T(input - 1) / T(output - 1) : 0 }
        return UpsamplingOps.scaleValue(T.self, input: input, output: output, scale: scale)
    }

    /// Per output the two source indices and weights (`compute_source_index_and_lambda`), in `T`;
    /// `fused`: `s·(i + ½) − ½` as one fused multiply-add. Measured against PyTorch's Float32 and
    /// Float64 generic kernel with one-hot inputs (every weight exact) on sizes 1…23 → 1…49, given
    /// and derived scales: Float32 unfused and Float64 fused match every weight; the other choices do not.
    public static func linear<T: BinaryFloatingPoint>(_: T.Type, input: Int, output: Int, alignCorners: Bool, scale: Double?, fused: Bool) -> Linear {
        if input == output { return (Array(0..<output), Array(0..<output), Array(repeating: 1, count: output), Array(repeating: 0, count: output)) }
        let ratio = self.ratio(T.self, input: input, output: output, alignCorners: alignCorners, scale: scale)
        var out: Linear = ([], [], [], [])
        for i in 0..<output {
            var src: T
            if alignCorners { src = ratio * T(i) }
            else { src = fused ? (-T(0.5)).addingProduct(ratio, T(i) + T(0.5)) : ratio * (T(i) + T(0.5)) - T(0.5) }
            if !alignCorners && src < 0 { src = 0 }
            let i0 = Swift.min(Int(Float(src).rounded(.down)), input - 1)
            let l1 = Swift.min(Swift.max(src - T(i0), 0), 1)
            out.i0.append(i0)
            out.i1.append(i0 + (i0 < input - 1 ? 1 : 0))
            out.w1.append(Double(l1))
            out.w0.append(Double(1 - l1))
        }
        return out
    }

    /// Bicubic taps per output: the first tap `i0 − 1` (each tap clamped into the input by
    /// ``cubicTap(_:_:input:)``) and the four weights, computed in `T` as ATen's `HelperInterpCubic` does.
    public static func cubic<T: BinaryFloatingPoint>(_: T.Type, input: Int, output: Int, alignCorners: Bool, scale: Double?) -> (start: [Int], weights: [[Double]]) {
        let ratio = self.ratio(T.self, input: input, output: output, alignCorners: alignCorners, scale: scale)
        let a: T = -0.75
        func near(_ x: T) -> T { ((a + 2) * x - (a + 3)) * x * x + 1 }
        func far(_ x: T) -> T { ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }
        var start: [Int] = [], weights: [[Double]] = []
        for i in 0..<output {
            let src = alignCorners ? ratio * T(i) : ratio * (T(i) + T(0.5)) - T(0.5)
            let i0 = Swift.min(Int(Float(src).rounded(.down)), input - 1)
            let t = Swift.min(Swift.max(src - T(i0), 0), 1)
            start.append(i0 - 1)
            // As ATen writes it, `x2 = 1 − t`, then `x2 + 1` (not `2 − t`, which rounds differently).
            let u = 1 - t
            weights.append([far(t + 1), near(t), near(u), far(u + 1)].map(Double.init))
        }
        return (start, weights)
    }

    /// The input cell of tap `k` (0…3) of a bicubic output whose first tap is `start`: clamped to the edge.
    public static func cubicTap(_ start: Int, _ k: Int, input: Int) -> Int { Swift.min(Swift.max(start + k, 0), input - 1) }
}
