import ParityNN

/// `aten.grid_sampler_2d(input, grid, interpolation_mode, padding_mode, align_corners)`
/// (`F.grid_sample` on 4-D inputs): output `(N, C, Hₒ, Wₒ)` sampled from `input (N, C, H, W)` at the
/// points of `grid (N, Hₒ, Wₒ, 2)` (x across the width first, then y), in PyTorch's CPU formulas
/// (`aten/src/ATen/native/GridSampler.h`, `cpu/GridSamplerKernel.cpp`):
///
/// - unnormalise: `align_corners` → `(g + 1)·(size − 1)/2`, else `(g + 1)·size/2 − ½`;
/// - padding (`padding_mode` 0 zeros, 1 border, 2 reflection): border clips to `[0, size − 1]`;
///   reflection folds the coordinate into `[0, size − 1]` (`align_corners`) or `[−½, size − ½]`
///   (`reflect_coordinates`: `|x − min|`, `extra = |x − min| − trunc(|x − min|/span)·span`, mirrored on
///   odd folds), then clips; zeros reads 0 outside the input;
/// - `interpolation_mode` 0 bilinear: the four neighbours of `(⌊x⌋, ⌊y⌋)` weighted
///   `nw = (1−tx)(1−ty)`, `ne = tx(1−ty)`, `sw = (1−tx)ty`, `se = tx·ty`, summed nw, ne, sw, se;
///   1 nearest: the point at `(round(x), round(y))`, half to even (`nearbyint`);
///   2 bicubic: the unpadded coordinate's 4×4 taps around `⌊x⌋ − 1 …`, each tap's position padded on its
///   own, Keys' cubic with A = −0.75 along x per row, then along y.
///
/// Composed of engine ops (a gather of the input's rows at computed indices), so its VJP is theirs:
/// the input's gradient scatters back through the gather, the grid's flows through the fractional
/// weights (and the padding's clip and reflection), as PyTorch's `grid_sampler_2d_backward`; nearest
/// gives the grid no gradient.
enum GridSamplingOps: ATenFamily {
    static let targets: Set<String> = ["aten.grid_sampler_2d.default"]

    enum Padding: Int { case zeros = 0, border, reflection }
    enum Interpolation: Int { case bilinear = 0, nearest, bicubic }

    static func lower<B: Builder>(_ c: ATenCall<B>) throws -> [B.Value] {
        let b = c.b
        let x = try c.floating(c.tensor("input"))
        let grid = try b.cast(c.floating(c.tensor("grid")), to: b.type(of: x).dtype)
        let s = c.shape(x), gs = c.shape(grid)
        guard s.count == 4 else { throw c.fail("input", "expected (N, C, H, W); received \(s)") }
        guard gs.count == 4, gs[0] == s[0], gs[3] == 2 else { throw c.fail("grid", "expected (\(s[0]), Hₒ, Wₒ, 2); received \(gs)") }
        let modeCode = try c.int("interpolation_mode"), paddingCode = try c.int("padding_mode")
        guard let mode = Interpolation(rawValue: modeCode) else { throw c.fail("interpolation_mode", "\(modeCode) is not 0 (bilinear), 1 (nearest) or 2 (bicubic)") }
        guard let padding = Padding(rawValue: paddingCode) else { throw c.fail("padding_mode", "\(paddingCode) is not 0 (zeros), 1 (border) or 2 (reflection)") }
        let align = try c.bool("align_corners")
        let (n, channels, h, w) = (s[0], s[1], s[2], s[3])
        let (ho, wo) = (gs[1], gs[2])
        try c.checkCount([n, ho, wo, channels, 16], "grid")
        let sampler = Sampler(b: b, n: n, h: h, w: w, ho: ho, wo: wo, padding: padding, align: align,
                              rows: try b.reshape(b.channelsLast(x), [n * h * w, channels]))
        let gx = try b.reshape(b.slice(grid, [.all, .all, .all, SliceAxis(start: 0, end: 1)]), [n, ho, wo])
        let gy = try b.reshape(b.slice(grid, [.all, .all, .all, SliceAxis(start: 1, end: 2)]), [n, ho, wo])
        let ix = try sampler.unnormalize(gx, size: w), iy = try sampler.unnormalize(gy, size: h)
        let sampled: B.Value
        switch mode {
        case .nearest:
            let px = try sampler.pad(ix, size: w), py = try sampler.pad(iy, size: h)
            sampled = try sampler.tap(b.apply(Math(.round), [px]), b.apply(Math(.round), [py]))
        case .bilinear:
            let px = try sampler.pad(ix, size: w), py = try sampler.pad(iy, size: h)
            let x0 = try b.apply(Math(.floor), [px]), y0 = try b.apply(Math(.floor), [py])
            let x1 = try b.add(x0, b.scalar(1, like: x0)), y1 = try b.add(y0, b.scalar(1, like: y0))
            let tx = try b.subtract(px, x0), ty = try b.subtract(py, y0)
            let sx = try b.subtract(b.scalar(1, like: tx), tx), sy = try b.subtract(b.scalar(1, like: ty), ty)
            let terms = try [(x0, y0, sx, sy), (x1, y0, tx, sy), (x0, y1, sx, ty), (x1, y1, tx, ty)].map { px, py, wx, wy in
                try b.multiply(sampler.tap(px, py), sampler.expand(b.multiply(wy, wx)))
            }
            sampled = try terms.dropFirst().reduce(terms[0]) { try b.add($0, $1) }
        case .bicubic:
            let x0 = try b.apply(Math(.floor), [ix]), y0 = try b.apply(Math(.floor), [iy])
            let wx = try cubicWeights(b, b.subtract(ix, x0)), wy = try cubicWeights(b, b.subtract(iy, y0))
            var rows: [B.Value] = []
            for i in 0..<4 {
                let py = try sampler.pad(b.add(y0, b.scalar(Double(i - 1), like: y0)), size: h)
                var row: B.Value?
                for j in 0..<4 {
                    let px = try sampler.pad(b.add(x0, b.scalar(Double(j - 1), like: x0)), size: w)
                    let term = try b.multiply(sampler.tap(px, py), sampler.expand(wx[j]))
                    row = try row.map { try b.add($0, term) } ?? term
                }
                rows.append(try b.multiply(row!, sampler.expand(wy[i])))
            }
            sampled = try rows.dropFirst().reduce(rows[0]) { try b.add($0, $1) }
        }
        return [try b.channelsFirst(sampled)]
    }

    /// Keys' cubic convolution weights of the four taps at distance `t + 1, t, 1 − t, 2 − t`, A = −0.75
    /// (`get_cubic_upsample_coefficients`).
    static func cubicWeights<B: Builder>(_ b: B, _ t: B.Value) throws -> [B.Value] {
        let a = -0.75
        func k(_ v: Double) -> B.Value { b.scalar(v, like: t) }
        func outer(_ x: B.Value) throws -> B.Value {  // ((A·x − 5A)·x + 8A)·x − 4A
            try b.subtract(b.multiply(b.add(b.multiply(b.subtract(b.multiply(x, k(a)), k(5 * a)), x), k(8 * a)), x), k(4 * a))
        }
        func inner(_ x: B.Value) throws -> B.Value {  // ((A + 2)·x − (A + 3))·x·x + 1
            try b.add(b.multiply(b.multiply(b.subtract(b.multiply(x, k(a + 2)), k(a + 3)), x), x), k(1))
        }
        let oneMinus = try b.subtract(k(1), t)
        return [try outer(b.add(t, k(1))), try inner(t), try inner(oneMinus), try outer(b.add(oneMinus, k(1)))]
    }

    struct Sampler<B: Builder> {
        let b: B
        let n, h, w, ho, wo: Int
        let padding: Padding
        let align: Bool
        /// The input as rows `(N·H·W, C)`, gathered at `n·H·W + y·W + x`.
        let rows: B.Value

        func unnormalize(_ g: B.Value, size: Int) throws -> B.Value {
            let one = b.scalar(1, like: g)
            if align { return try b.multiply(b.add(g, one), b.scalar(Double(size - 1) / 2, like: g)) }
            return try b.subtract(b.multiply(b.add(g, one), b.scalar(Double(size) / 2, like: g)), b.scalar(0.5, like: g))
        }

        /// The coordinate after the padding mode (`compute_coordinates`).
        func pad(_ v: B.Value, size: Int) throws -> B.Value {
            switch padding {
            case .zeros: return v
            case .border: return try b.unary(.clip(lower: 0, upper: Double(size - 1)), v)
            case .reflection:
                let reflected = align ? try reflect(v, twiceLow: 0, twiceHigh: 2 * (size - 1)) : try reflect(v, twiceLow: -1, twiceHigh: 2 * size - 1)
                return try b.unary(.clip(lower: 0, upper: Double(size - 1)), reflected)
            }
        }

        func reflect(_ v: B.Value, twiceLow: Int, twiceHigh: Int) throws -> B.Value {
            if twiceLow == twiceHigh { return try b.multiply(v, b.scalar(0, like: v)) }
            let low = Double(twiceLow) / 2, span = Double(twiceHigh - twiceLow) / 2
            let distance = try b.unary(.abs, b.subtract(v, b.scalar(low, like: v)))
            let flips = try b.apply(Math(.trunc), [b.divide(distance, b.scalar(span, like: v))])
            let extra = try b.subtract(distance, b.multiply(flips, b.scalar(span, like: v)))
            let half = try b.apply(Math(.trunc), [b.multiply(flips, b.scalar(0.5, like: v))])
            let even = try b.binary(.equal, flips, b.multiply(half, b.scalar(2, like: v)))
            return try b.apply(Select(), [even, b.add(extra, b.scalar(low, like: v)),
                                          b.subtract(b.scalar(span + low, like: v), extra)])
        }

        /// `(N, Hₒ, Wₒ)` → `(N, Hₒ, Wₒ, 1)`, to weight the gathered channels.
        func expand(_ v: B.Value) throws -> B.Value { try b.reshape(v, [n, ho, wo, 1]) }

        /// The input at integer-valued positions `(x, y)`, `(N, Hₒ, Wₒ, C)`, zero where outside.
        func tap(_ x: B.Value, _ y: B.Value) throws -> B.Value {
            func k(_ v: Double) -> B.Value { b.scalar(v, like: x) }
            let inside = try [b.binary(.greaterEqual, x, k(0)), b.binary(.lessEqual, x, k(Double(w - 1))),
                              b.binary(.greaterEqual, y, k(0)), b.binary(.lessEqual, y, k(Double(h - 1)))]
                .dropFirst().reduce(b.binary(.greaterEqual, x, k(0))) { try b.multiply($0, $1) }
            let xc = try b.unary(.clip(lower: 0, upper: Double(w - 1)), x), yc = try b.unary(.clip(lower: 0, upper: Double(h - 1)), y)
            let batch = b.constant(Tensor(shape: [n, 1, 1], values: (0..<n).map { Double($0 * h * w) }).cast(to: b.type(of: x).dtype))
            let flat = try b.cast(b.add(batch, b.add(b.multiply(yc, k(Double(w))), xc)), to: .int64)
            return try b.multiply(b.apply(Gather(axis: 0), [rows, flat]), expand(inside))
        }
    }
}
