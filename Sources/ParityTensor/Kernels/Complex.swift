import ComplexModule
import RealModule

// Complex kernels: the (real, imaginary) pair view, elementwise products and quotients, magnitude and
// phase, and the discrete Fourier transform.

extension Tensor {
    /// A complex tensor of shape `s` as the real tensor of shape `s + [2]` holding its real and imaginary
    /// parts (`torch.view_as_real`: the same interleaved numbers).
    public func realPairs() throws -> Tensor {
        switch storage {
        case .complex64(let v): return Tensor(shape: shape + [2], values: v.flatMap { [$0.real, $0.imaginary] })
        case .complex128(let v): return Tensor(shape: shape + [2], values: v.flatMap { [$0.real, $0.imaginary] })
        default: throw TensorError.unsupportedDType(op: "view_as_real", dtype: dtype)
        }
    }

    /// A float tensor of shape `s + [2]` as the complex tensor of shape `s` whose parts they are
    /// (`torch.view_as_complex`).
    public func complexFromPairs() throws -> Tensor {
        guard shape.last == 2 else {
            throw TensorError.shapeMismatch(op: "view_as_complex", expected: "a last axis of size 2", received: [shape])
        }
        let outer = Array(shape.dropLast())
        func pairs<T: FloatElement>(_ v: [T]) -> [Complex<T>] { (0..<(v.count / 2)).map { Complex(v[2 * $0], v[2 * $0 + 1]) } }
        switch storage {
        case .float32(let v): return Tensor(shape: outer, complex: pairs(v))
        case .float64(let v): return Tensor(shape: outer, complex: pairs(v))
        default: throw TensorError.unsupportedDType(op: "view_as_complex", dtype: dtype)
        }
    }
}

/// An elementwise function of two complex tensors.
public enum ComplexBinaryFunction: String, Sendable, Hashable, CaseIterable {
    /// `(a + bi)(c + di) = (ac − bd) + (ad + bc)i`, each product rounded, no fused multiply-add (ATen's
    /// `Vectorized<c10::complex<float>>::operator*`: two products and an add/subtract per part).
    case multiply
    /// `(a + bi)/(c + di)` by Smith's scaling (`c10::complex::operator/=`, as NumPy): with `r = d/c`
    /// when `|c| ≥ |d|`, `((a + br) + (b − ar)i)/(c + dr)`, else the mirror image; no overflow where
    /// `c² + d²` would.
    case divide

    public func apply<T: FloatElement>(_ x: Complex<T>, _ y: Complex<T>) -> Complex<T> {
        let (a, b, c, d) = (x.real, x.imaginary, y.real, y.imaginary)
        switch self {
        case .multiply:
            return Complex(a * c - b * d, a * d + b * c)
        case .divide:
            if Swift.abs(c) >= Swift.abs(d) {
                if c == 0 && d == 0 { return Complex(a / Swift.abs(c), b / Swift.abs(d)) }
                let ratio = d / c, scale = 1 / (c + d * ratio)
                return Complex((a + b * ratio) * scale, (b - a * ratio) * scale)
            }
            let ratio = c / d, scale = 1 / (d + c * ratio)
            return Complex((a * ratio + b) * scale, (b * ratio - a) * scale)
        }
    }
}

/// A real function of one complex tensor.
public enum ComplexRealFunction: String, Sendable, Hashable, CaseIterable {
    /// `|z|` without intermediate overflow (`std::abs`, a `hypot`).
    case abs
    /// `atan2(imaginary, real)` (`std::arg`).
    case angle

    public func apply<T: FloatElement>(_ z: Complex<T>) -> T {
        switch self {
        case .abs:
            let (x, y) = (Swift.abs(z.real), Swift.abs(z.imaginary))
            if x.isInfinite || y.isInfinite { return .infinity }
            let big = Swift.max(x, y), small = Swift.min(x, y)
            if big == 0 || big.isNaN || small.isNaN { return big == 0 ? 0 : .nan }
            let ratio = small / big
            return big * (1 + ratio * ratio).squareRoot()
        case .angle:
            return T.atan2(y: z.imaginary, x: z.real)
        }
    }
}

extension Tensor {
    /// `function(self, other)` elementwise with broadcasting; both complex of one precision.
    public func combiningComplex(_ other: Tensor, _ function: ComplexBinaryFunction) throws -> Tensor {
        let outShape = try Shape.broadcast(shape, other.shape, op: function.rawValue)
        let (a, b) = (try broadcast(to: outShape), try other.broadcast(to: outShape))
        switch (a.storage, b.storage) {
        case (.complex64(let x), .complex64(let y)): return Tensor(shape: outShape, complex: zip(x, y).map { function.apply($0, $1) })
        case (.complex128(let x), .complex128(let y)): return Tensor(shape: outShape, complex: zip(x, y).map { function.apply($0, $1) })
        default: throw TensorError.dtypeMismatch(op: "complex \(function.rawValue)", received: [dtype, other.dtype])
        }
    }

    /// `function(self)` elementwise: a real tensor of the parts' precision.
    public func complexToReal(_ function: ComplexRealFunction) throws -> Tensor {
        switch storage {
        case .complex64(let v): return Tensor(shape: shape, values: v.map { function.apply($0) })
        case .complex128(let v): return Tensor(shape: shape, values: v.map { function.apply($0) })
        default: throw TensorError.unsupportedDType(op: function.rawValue, dtype: dtype)
        }
    }
}

/// The discrete Fourier transform of one axis, by its definition: output `k` is
/// `Σⱼ x[j]·e^(∓2πi·jk/n)`, every term and the sum in `Double` (the twiddle `e^(2πi·m/n)` is
/// `cos`/`sin` of `2π·m/n` for `m = jk mod n`, so each is correctly rounded), rounded once to the
/// element's precision by the caller. O(n²) per axis: exact where PyTorch's pocketfft (O(n log n), in
/// the element's precision) is within `~ε·log₂n·Σ|x|` of the true value.
struct DiscreteFourierAxis {
    let n: Int
    private let cosines: [Double]
    private let sines: [Double]

    init(size n: Int) {
        self.n = n
        // Quarter turns are exact (so the imaginary parts of a real signal's DC and Nyquist bins are
        // exactly zero, as pocketfft gives them); the rest from the angle reduced to [0, π/4], so that
        // the table has the circle's symmetries.
        var cosines = [Double](repeating: 0, count: n), sines = [Double](repeating: 0, count: n)
        for m in 0..<n {
            if (4 * m) % n == 0 {
                let quarter = 4 * m / n
                cosines[m] = [1.0, 0, -1, 0][quarter]
                sines[m] = [0.0, 1, 0, -1][quarter]
                continue
            }
            // 8m/n in eighths of a turn: octant o, remainder r/n of a turn, angle = 2π·(o/8 + r/(8n)).
            let eighths = 8 * m, octant = eighths / n, rest = eighths % n
            let theta = 2 * Double.pi * Double(rest) / Double(8 * n)  // in [0, π/4)
            let (c, s) = (Double.cos(theta), Double.sin(theta)), h = 0.5.squareRoot()
            let (cc, ss): (Double, Double)
            switch octant {
            case 0: (cc, ss) = (c, s)
            case 1: (cc, ss) = (h * (c - s), h * (c + s))
            case 2: (cc, ss) = (-s, c)
            case 3: (cc, ss) = (-h * (c + s), h * (c - s))
            case 4: (cc, ss) = (-c, -s)
            case 5: (cc, ss) = (-h * (c - s), -h * (c + s))
            case 6: (cc, ss) = (s, -c)
            default: (cc, ss) = (h * (c + s), -h * (c - s))
            }
            cosines[m] = cc
            sines[m] = ss
        }
        self.cosines = cosines
        self.sines = sines
    }

    /// `e^(sign·2πi·m/n)`.
    func twiddle(_ m: Int, sign: Double) -> (Double, Double) { (cosines[m % n], sign * sines[m % n]) }

    /// Transforms `data` (`outer × n × inner` in row-major order) along its middle axis in place;
    /// `sign` −1 is the forward transform, +1 the inverse (unnormalised).
    func transform(_ data: inout [Complex<Double>], outer: Int, inner: Int, sign: Double) {
        var column = [Complex<Double>](repeating: .zero, count: n)
        for o in 0..<outer {
            for i in 0..<inner {
                let base = o * n * inner + i
                for j in 0..<n { column[j] = data[base + j * inner] }
                for k in 0..<n {
                    var re = 0.0, im = 0.0
                    for j in 0..<n {
                        let (c, s) = twiddle(j * k, sign: sign)
                        let x = column[j]
                        re += x.real * c - x.imaginary * s
                        im += x.real * s + x.imaginary * c
                    }
                    data[base + k * inner] = Complex(re, im)
                }
            }
        }
    }

    /// The complex-to-real inverse along the middle axis of `data` (`outer × m × inner`, `m ≥ n/2 + 1`
    /// Hermitian half-spectrum) into `outer × n × inner` reals: `x[j] = Re X₀ + Σ₁^{⌈n/2⌉−1} 2·Re(X_k·e^(2πi·jk/n))
    /// + (n even: Re X_{n/2}·(−1)^j)` — the imaginary parts of `X₀` and `X_{n/2}` are not read, as in
    /// pocketfft's `c2r`.
    func complexToReal(_ data: [Complex<Double>], m: Int, outer: Int, inner: Int) -> [Double] {
        var out = [Double](repeating: 0, count: outer * n * inner)
        let half = (n + 1) / 2  // bins 1..<half appear twice
        for o in 0..<outer {
            for i in 0..<inner {
                let base = o * m * inner + i, outBase = o * n * inner + i
                for j in 0..<n {
                    var sum = data[base].real
                    for k in 1..<Swift.max(half, 1) {
                        let (c, s) = twiddle(j * k, sign: 1)
                        let x = data[base + k * inner]
                        sum += 2 * (x.real * c - x.imaginary * s)
                    }
                    if n % 2 == 0 && n > 0 { sum += data[base + (n / 2) * inner].real * (j % 2 == 0 ? 1 : -1) }
                    out[outBase + j * inner] = sum
                }
            }
        }
        return out
    }
}

/// Which of ATen's three FFT kernels (`aten/src/ATen/native/SpectralOps.cpp`).
public enum FourierKind: Sendable, Hashable, CustomStringConvertible {
    /// `_fft_c2c`: complex to complex, forward (`e^(−2πi·jk/n)`) or inverse (`e^(+2πi·jk/n)`).
    case complexToComplex(forward: Bool)
    /// `_fft_r2c`: real to complex, forward; `onesided` keeps bins `0...n/2` of the last axis.
    case realToComplex(onesided: Bool)
    /// `_fft_c2r`: a Hermitian half-spectrum to real, inverse; the last axis becomes `lastSize`.
    case complexToReal(lastSize: Int)

    public var description: String {
        switch self {
        case .complexToComplex(let forward): return forward ? "c2c forward" : "c2c inverse"
        case .realToComplex(let onesided): return onesided ? "r2c onesided" : "r2c"
        case .complexToReal(let size): return "c2r to \(size)"
        }
    }
}

/// ATen's `fft_norm_mode` (the `normalization` argument of the FFT kernels): the result is scaled by
/// `1`, `1/√N` or `1/N`, `N` the product of the transformed sizes (the real signal's sizes for r2c and c2r).
public enum FourierNormalization: Int, Sendable, Hashable {
    case none = 0
    case byRootN = 1
    case byN = 2

    func scale(_ n: Int) -> Double {
        switch self {
        case .none: return 1
        case .byRootN: return 1 / Double(n).squareRoot()
        case .byN: return 1 / Double(n)
        }
    }
}

extension Tensor {
    /// The FFT of `kind` over `axes` (distinct, non-negative), scaled by `normalization`: a sequence of
    /// exact one-axis DFTs in `Double` (``DiscreteFourierAxis``), rounded once to the output precision.
    /// r2c transforms every axis then keeps the one-sided half; c2r runs the inverse c2c over all axes
    /// but the last, then the Hermitian c2r over the last (pocketfft's order).
    public func fourierTransform(_ kind: FourierKind, axes: [Int], normalization: FourierNormalization) throws -> Tensor {
        let op = "fft \(kind)"
        guard !axes.isEmpty, Set(axes).count == axes.count, axes.allSatisfy({ $0 >= 0 && $0 < rank }) else {
            throw TensorError.invalidArgument(op: op, message: "axes \(axes) are not distinct axes of a rank-\(rank) tensor")
        }
        let last = axes[axes.count - 1]
        var values: [Complex<Double>]
        let precision: DType
        switch (kind, storage) {
        case (.realToComplex, .float32(let v)): values = v.map { Complex(Double($0), 0) }; precision = .float32
        case (.realToComplex, .float64(let v)): values = v.map { Complex($0, 0) }; precision = .float64
        case (.complexToComplex, .complex64(let v)), (.complexToReal, .complex64(let v)):
            values = v.map { Complex(Double($0.real), Double($0.imaginary)) }; precision = .float32
        case (.complexToComplex, .complex128(let v)), (.complexToReal, .complex128(let v)): values = v; precision = .float64
        default: throw TensorError.unsupportedDType(op: op, dtype: dtype)
        }
        func run(_ axis: Int, sign: Double, on shape: [Int]) {
            let outer = Shape.count(Array(shape[..<axis])), inner = Shape.count(Array(shape[(axis + 1)...]))
            DiscreteFourierAxis(size: shape[axis]).transform(&values, outer: outer, inner: inner, sign: sign)
        }
        var outShape = shape
        let signalCount: Int
        switch kind {
        case .complexToComplex(let forward):
            for axis in axes where shape[axis] > 0 { run(axis, sign: forward ? -1 : 1, on: shape) }
            signalCount = axes.reduce(1) { $0 * shape[$1] }
        case .realToComplex(let onesided):
            for axis in axes where shape[axis] > 0 { run(axis, sign: -1, on: shape) }
            signalCount = axes.reduce(1) { $0 * shape[$1] }
            if onesided {
                outShape[last] = shape[last] / 2 + 1
                let kept = try Tensor(shape: shape, complex: values).sliced(
                    Array(repeating: .all, count: last) + [SliceAxis(start: 0, end: outShape[last])])
                values = kept.complexValues(Double.self)!
            }
        case .complexToReal(let lastSize):
            guard lastSize >= 1, shape[last] == lastSize / 2 + 1 else {
                throw TensorError.invalidArgument(op: op, message: "last_dim_size \(lastSize) needs \(lastSize / 2 + 1) input bins on axis \(last); received \(shape[last])")
            }
            for axis in axes.dropLast() where shape[axis] > 0 { run(axis, sign: 1, on: shape) }
            outShape[last] = lastSize
            signalCount = axes.reduce(1) { $0 * outShape[$1] }
            let outer = Shape.count(Array(shape[..<last])), inner = Shape.count(Array(shape[(last + 1)...]))
            let scale = normalization.scale(signalCount)
            let reals = DiscreteFourierAxis(size: lastSize).complexToReal(values, m: shape[last], outer: outer, inner: inner).map { $0 * scale }
            return precision == .float32 ? Tensor(shape: outShape, values: reals.map(Float.init)) : Tensor(shape: outShape, values: reals)
        }
        let scale = normalization.scale(signalCount)
        if precision == .float32 {
            return Tensor(shape: outShape, complex: values.map { Complex(Float($0.real * scale), Float($0.imaginary * scale)) })
        }
        return Tensor(shape: outShape, complex: values.map { Complex($0.real * scale, $0.imaginary * scale) })
    }
}
