import ParityNN

/// Complex tensors and the FFT kernels `torch.fft.*` exports to (`aten/src/ATen/native/SpectralOps.cpp`):
///
/// - `_fft_c2c(self, dim, normalization, forward)`, `_fft_r2c(self, dim, normalization, onesided)`,
///   `_fft_c2r(self, dim, normalization, last_dim_size)`: ``FourierTransform`` (an exact DFT per axis in
///   double, see ``Tensor/fourierTransform(_:axes:normalization:)``); `normalization` is ATen's
///   `fft_norm_mode` (0: none, 1: 1/√n, 2: 1/n), already resolved from `norm=` by `torch.fft`;
/// - the `torch.fft` functions an export without decompositions keeps (`fft_fft`, `fft_ifft`, `fft_rfft`,
///   `fft_irfft` and their `2`/`n` forms): the input resized along each transformed dim to `n`/`s`
///   (trimmed, or zero-padded at the end), `norm` ("backward", "forward", "ortho") resolved to the kernel's
///   mode as `norm_from_string` does, then the kernel above (a real input to `fft` becomes complex; `irfft`'s
///   last dim gives `n = 2(m − 1)` reals unless `n`/`s` says otherwise, from its first `n/2 + 1` bins);
/// - `view_as_real`, `view_as_complex`, `real`, `imag` (views in PyTorch, copies here: Parity's in-place
///   writes through views re-derive them), `complex(real, imag)`, `polar(abs, angle)`;
/// - `conj`, `_conj`, `conj_physical`, `resolve_conj`, `resolve_neg` (PyTorch's conjugate bit is
///   materialised at once; on a real tensor they are the identity);
/// - on complex operands: `add`/`sub` (with `alpha`), `mul`, `div` (``ComplexBinary``), `neg`, `abs`,
///   `angle`; a real tensor or number operand is promoted to complex, as PyTorch's type promotion does.
///
/// Every other operator refuses a complex input before it runs (``ATenTable/complexInput(of:call:)``, read by ``Interpreter/lower(_:family:graph:call:)``).
enum ComplexOps: ATenFamily {
    static let targets: Set<String> = [
        "aten._fft_c2c.default", "aten._fft_r2c.default", "aten._fft_c2r.default",
        "aten.fft_fft.default", "aten.fft_ifft.default", "aten.fft_rfft.default", "aten.fft_irfft.default",
        "aten.fft_fft2.default", "aten.fft_ifft2.default", "aten.fft_rfft2.default", "aten.fft_irfft2.default",
        "aten.fft_fftn.default", "aten.fft_ifftn.default", "aten.fft_rfftn.default", "aten.fft_irfftn.default",
        "aten.view_as_real.default", "aten.view_as_complex.default", "aten.real.default", "aten.imag.default",
        "aten.complex.default", "aten.polar.default", "aten.angle.default",
        "aten.conj.default", "aten._conj.default", "aten.conj_physical.default", "aten.resolve_conj.default", "aten.resolve_neg.default",
    ]

    /// Operators of other families that this one lowers when an operand is complex.
    static let elementwise: Set<String> = [
        "aten.add.Tensor", "aten.add.Scalar", "aten.sub.Tensor", "aten.sub.Scalar", "aten.mul.Tensor", "aten.mul.Scalar",
        "aten.div.Tensor", "aten.div.Scalar", "aten.neg.default", "aten.abs.default",
    ]

    /// Operators of other families that move complex elements without reading them as numbers (their
    /// lowering uses only engine layout ops, which take complex tensors).
    static let layout: Set<String> = [
        "aten.view.default", "aten._unsafe_view.default", "aten.reshape.default", "aten.permute.default", "aten.transpose.int",
        "aten.t.default", "aten.unsqueeze.default", "aten.squeeze.dim", "aten.squeeze.dims", "aten.squeeze.default",
        "aten.slice.Tensor", "aten.select.int", "aten.cat.default", "aten.stack.default", "aten.clone.default",
        "aten.contiguous.default", "aten.alias.default", "aten.detach.default", "aten.lift_fresh_copy.default",
        "aten.expand.default", "aten.flatten.using_ints", "aten.unflatten.int", "aten.narrow.default",
        "aten.split.Tensor", "aten.split_with_sizes.default", "aten.chunk.default", "aten.unbind.int",
        "aten.movedim.int", "aten.swapaxes.default", "aten.flip.default", "aten.roll.default",
        "aten._assert_tensor_metadata.default",
    ]

    static func lower<B: Builder>(_ c: ATenCall<B>) throws -> [B.Value] {
        let b = c.b
        switch c.target {
        case "aten._fft_c2c.default", "aten._fft_r2c.default", "aten._fft_c2r.default":
            return [try fft(c)]
        case "aten.view_as_real.default": return [try b.viewAsReal(complex(c, "self"))]
        case "aten.view_as_complex.default": return [try b.viewAsComplex(c.floating(c.tensor("self")))]
        case "aten.real.default":
            let x = try c.tensor("self")
            return [b.type(of: x).dtype.isComplex ? try b.realPart(x) : x]
        case "aten.imag.default": return [try b.imaginaryPart(complex(c, "self"))]
        case "aten.complex.default":
            return [try b.complex(c.floating(c.tensor("real")), c.floating(c.tensor("imag")))]
        case "aten.polar.default":
            let (r, theta) = (try c.floating(c.tensor("abs")), try c.floating(c.tensor("angle")))
            return [try b.complex(b.multiply(r, b.apply(Math(.cos), [theta])), b.multiply(r, b.apply(Math(.sin), [theta])))]
        case "aten.angle.default": return [try b.apply(ComplexToReal(.angle), [complex(c, "self")])]
        case "aten.conj.default", "aten._conj.default", "aten.conj_physical.default":
            let x = try c.tensor("self")
            return [b.type(of: x).dtype.isComplex ? try b.conjugate(x) : x]
        case "aten.resolve_conj.default", "aten.resolve_neg.default": return [try c.tensor("self")]
        default:
            if c.target.hasPrefix("aten.fft_") { return [try fftFunction(c)] }
            return [try arithmetic(c)]
        }
    }

    /// `torch.fft.{,i}{,r}fft{,2,n}` lowered to the resize and the kernel (see the family's summary).
    static func fftFunction<B: Builder>(_ c: ATenCall<B>) throws -> B.Value {
        let b = c.b
        let name = ArithmeticOps.name(c.target).dropFirst(4)  // "irfft2"
        let inverse = name.hasPrefix("i"), real = name.contains("rfft")
        var x = try c.tensor("self")
        let rank = c.rank(x)
        var dims: [Int]
        var sizes: [Int?]
        switch name.last {
        case "2", "n":
            let s = try c.optionalInts("s")
            if name.last == "2" {
                dims = try c.ints("dim", default: [-2, -1])
            } else if let given = try c.optionalInts("dim") {
                dims = given
            } else {
                dims = Array((s.map { rank - $0.count } ?? 0)..<rank)
            }
            dims = try dims.map { try c.dim($0, rank: rank) }
            if let s {
                guard s.count == dims.count else { throw c.fail("s", "has \(s.count) sizes for \(dims.count) dims") }
                sizes = s.map { $0 == -1 ? nil : $0 }
            } else {
                sizes = dims.map { _ in nil }
            }
        default:
            dims = [try c.dim(c.int("dim", default: -1), rank: rank)]
            sizes = [try c.optionalInt("n")]
        }
        guard !dims.isEmpty, Set(dims).count == dims.count else { throw c.fail("dim", "\(dims) are not distinct dims") }
        for size in sizes { if let size, size < 1 { throw c.fail(name.last == "2" || name.last == "n" ? "s" : "n", "invalid size \(size)") } }
        let norm = try c.optionalString("norm") ?? "backward"
        let forward = !inverse
        let normalization: FourierNormalization
        switch norm {
        case "backward": normalization = forward ? .none : .byN
        case "forward": normalization = forward ? .byN : .none
        case "ortho": normalization = .byRootN
        default: throw c.fail("norm", "expected \"backward\", \"forward\" or \"ortho\"; received \"\(norm)\"")
        }
        let runComplex = c.floatType.complexCounterpart!
        let kind: FourierKind
        if real && !inverse {
            x = try c.floating(x)
            guard !b.type(of: x).dtype.isComplex else { throw c.unsupported("rfft takes a real tensor; received \(b.type(of: x).dtype)") }
            kind = .realToComplex(onesided: true)
        } else {
            if !b.type(of: x).dtype.isComplex { x = try b.cast(c.floating(x), to: runComplex) }
            if real {
                let last = dims.count - 1
                let lastSize = sizes[last] ?? 2 * (c.shape(x)[dims[last]] - 1)
                guard lastSize >= 1 else { throw c.fail("n", "gives \(lastSize) output points along dim \(dims[last])") }
                sizes[last] = lastSize / 2 + 1
                kind = .complexToReal(lastSize: lastSize)
            } else {
                kind = .complexToComplex(forward: forward)
            }
        }
        for (dim, size) in zip(dims, sizes) {
            if let size { x = try resized(b, x, dim: dim, to: size) }
        }
        return try b.apply(FourierTransform(kind, axes: dims, normalization: normalization), [x])
    }

    /// `x` trimmed or zero-padded at the end of `dim` to `size` (ATen's `resize_fft_input`).
    static func resized<B: Builder>(_ b: B, _ x: B.Value, dim: Int, to size: Int) throws -> B.Value {
        var shape = b.shape(of: x)
        let current = shape[dim]
        if size == current { return x }
        if size < current { return try b.slice(x, Array(repeating: .all, count: dim) + [SliceAxis(start: 0, end: size)]) }
        shape[dim] = size - current
        return try b.concat([x, b.constant(Tensor.zeros(shape, dtype: b.type(of: x).dtype))], axis: dim)
    }

    /// The tensor argument `name`, which must be complex.
    static func complex<B: Builder>(_ c: ATenCall<B>, _ name: String) throws -> B.Value {
        let x = try c.tensor(name)
        let dtype = c.b.type(of: x).dtype
        guard dtype.isComplex else { throw c.unsupported("'\(name)' is \(dtype); Parity runs \(c.target) on complex tensors only") }
        return x
    }

    static func fft<B: Builder>(_ c: ATenCall<B>) throws -> B.Value {
        let b = c.b
        let x = try c.tensor("self")
        let rank = c.rank(x)
        let dims = try c.ints("dim").map { try c.dim($0, rank: rank) }
        let code = try c.int("normalization")
        guard let normalization = FourierNormalization(rawValue: code) else {
            throw c.fail("normalization", "expected 0 (none), 1 (1/sqrt(n)) or 2 (1/n); received \(code)")
        }
        let kind: FourierKind
        switch c.target {
        case "aten._fft_c2c.default": kind = .complexToComplex(forward: try c.bool("forward"))
        case "aten._fft_r2c.default": kind = .realToComplex(onesided: try c.bool("onesided"))
        default: kind = .complexToReal(lastSize: try c.int("last_dim_size"))
        }
        var input = x
        if case .realToComplex = kind { input = try c.floating(x) }
        return try b.apply(FourierTransform(kind, axes: dims, normalization: normalization), [input])
    }

    /// `add`, `sub`, `mul`, `div`, `neg`, `abs` with a complex operand.
    static func arithmetic<B: Builder>(_ c: ATenCall<B>) throws -> B.Value {
        let b = c.b
        let x = try c.tensor("self")
        let dtype = b.type(of: x).dtype
        switch c.target {
        case "aten.neg.default": return try b.complexNegate(x)
        case "aten.abs.default": return try b.apply(ComplexToReal(.abs), [x])
        default: break
        }
        let other = try c.operand("other")
        // The common dtype: complex128 when an operand is (or the run is float64), else complex64.
        var wide = dtype == .complex128 || c.floatType == .float64
        if case .tensor(let v) = other, b.type(of: v).dtype == .complex128 { wide = true }
        let target: DType = wide ? .complex128 : .complex64
        func lifted(_ v: B.Value) throws -> B.Value {
            let t = b.type(of: v).dtype
            return t == target ? v : try b.cast(t.isComplex || t.isFloatingPoint ? v : b.cast(v, to: c.floatType), to: target)
        }
        var y: B.Value
        switch other {
        case .tensor(let v): y = try lifted(v)
        case .number(let n, _): y = b.constant(Tensor(repeating: n, shape: [], dtype: target))
        case .boolean(let v): y = b.constant(Tensor(repeating: v ? 1 : 0, shape: [], dtype: target))
        }
        let a = try lifted(x)
        let op = ArithmeticOps.name(c.target)
        if op == "add" || op == "sub" {
            let alpha = try c.has("alpha") ? c.double("alpha") : 1
            if alpha != 1 { y = try b.apply(ComplexBinary(.multiply), [y, b.constant(Tensor(repeating: alpha, shape: [], dtype: target))]) }
            let (pa, py) = (try b.viewAsReal(a), try b.viewAsReal(y))
            return try b.viewAsComplex(op == "add" ? b.add(pa, py) : b.subtract(pa, py))
        }
        if c.has("rounding_mode") { throw c.unsupported("rounding_mode is not defined for complex tensors") }
        return try b.apply(ComplexBinary(op == "mul" ? .multiply : .divide), [a, y])
    }
}
