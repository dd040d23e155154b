import ComplexModule
import RealModule

// Complex ops. Gradients follow PyTorch's convention for a real loss L of a complex z = x + iy: the
// gradient is ∂L/∂x + i·∂L/∂y (the conjugate Wirtinger derivative times 2), so the VJP of z ↦ w·z is
// g·conj(w), and a real-valued function's gradient is a complex number.

/// A complex tensor of shape `s` as the real tensor `s + [2]` of its parts (`torch.view_as_real`).
/// VJP: ``ViewAsComplex`` of the cotangent.
public struct ViewAsReal: Op {
    public init() {}
    public var name: String { "view_as_real" }
    public var acceptsComplex: Bool { true }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        try expect(inputs, count: 1)
        guard let part = inputs[0].dtype.complexPart else { throw TensorError.unsupportedDType(op: name, dtype: inputs[0].dtype) }
        return TensorType(part, inputs[0].shape + [2])
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor { try inputs[0].realPairs() }

    public func vjp<B: Builder>(_ b: B, inputs: [B.Value], output: B.Value, cotangent: B.Value) throws -> [B.Value?] {
        [try b.apply(ViewAsComplex(), [cotangent])]
    }
}

/// A float tensor of shape `s + [2]` as the complex tensor `s` whose parts they are
/// (`torch.view_as_complex`). VJP: ``ViewAsReal`` of the cotangent.
public struct ViewAsComplex: Op {
    public init() {}
    public var name: String { "view_as_complex" }
    public var acceptsComplex: Bool { true }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        try expect(inputs, count: 1)
        let dtype = inputs[0].dtype
        guard dtype == .float32 || dtype == .float64, let complex = dtype.complexCounterpart else {
            throw TensorError.unsupportedDType(op: name, dtype: dtype)
        }
        guard inputs[0].shape.last == 2 else {
            throw TensorError.shapeMismatch(op: name, expected: "a last axis of size 2", received: [inputs[0].shape])
        }
        return TensorType(complex, Array(inputs[0].shape.dropLast()))
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor { try inputs[0].complexFromPairs() }

    public func vjp<B: Builder>(_ b: B, inputs: [B.Value], output: B.Value, cotangent: B.Value) throws -> [B.Value?] {
        [try b.apply(ViewAsReal(), [cotangent])]
    }
}

/// A complex product or quotient with broadcasting (``ComplexBinaryFunction``). VJP (PyTorch's
/// `mul_tensor_backward`, `div_tensor_self_backward`, `div_tensor_other_backward`): for `a·b`,
/// `g·conj(b)` and `g·conj(a)`; for `a/b`, `g/conj(b)` and `−g·conj(a/b/b)`; each summed to its
/// input's shape.
public struct ComplexBinary: Op {
    public var function: ComplexBinaryFunction
    public init(_ function: ComplexBinaryFunction) { self.function = function }
    public var name: String { "complex \(function.rawValue)" }
    public var acceptsComplex: Bool { true }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        try expect(inputs, count: 2)
        guard inputs[0].dtype.isComplex, inputs[0].dtype == inputs[1].dtype else {
            throw TensorError.dtypeMismatch(op: name, received: inputs.map(\.dtype))
        }
        return TensorType(inputs[0].dtype, try Shape.broadcast(inputs[0].shape, inputs[1].shape, op: name))
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor { try inputs[0].combiningComplex(inputs[1], function) }

    public func vjp<B: Builder>(_ b: B, inputs: [B.Value], output: B.Value, cotangent g: B.Value) throws -> [B.Value?] {
        let (x, y) = (inputs[0], inputs[1])
        switch function {
        case .multiply:
            return [try b.sum(b.apply(ComplexBinary(.multiply), [g, b.conjugate(y)]), toShape: b.shape(of: x)),
                    try b.sum(b.apply(ComplexBinary(.multiply), [g, b.conjugate(x)]), toShape: b.shape(of: y))]
        case .divide:
            let quotient = try b.apply(ComplexBinary(.divide), [output, y])
            let gy = try b.complexNegate(b.apply(ComplexBinary(.multiply), [g, b.conjugate(quotient)]))
            return [try b.sum(b.apply(ComplexBinary(.divide), [g, b.conjugate(y)]), toShape: b.shape(of: x)),
                    try b.sum(gy, toShape: b.shape(of: y))]
        }
    }
}

/// `|z|` or `arg z` of a complex tensor, a real tensor of the parts' precision. VJP: the real cotangent
/// times ``ComplexRealDerivative`` (PyTorch's `abs_backward`, `angle_backward`: `g·sgn(z)` and
/// `g·i·z/|z|²`, both 0 at `z = 0`).
public struct ComplexToReal: Op {
    public var function: ComplexRealFunction
    public init(_ function: ComplexRealFunction) { self.function = function }
    public var name: String { "complex \(function.rawValue)" }
    public var acceptsComplex: Bool { true }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        try expect(inputs, count: 1)
        guard let part = inputs[0].dtype.complexPart else { throw TensorError.unsupportedDType(op: name, dtype: inputs[0].dtype) }
        return TensorType(part, inputs[0].shape)
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor { try inputs[0].complexToReal(function) }

    public func vjp<B: Builder>(_ b: B, inputs: [B.Value], output: B.Value, cotangent: B.Value) throws -> [B.Value?] {
        let direction = try b.apply(ViewAsReal(), [b.apply(ComplexRealDerivative(function), [inputs[0]])])
        let scaled = try b.multiply(direction, b.reshape(cotangent, b.shape(of: cotangent) + [1]))
        return [try b.apply(ViewAsComplex(), [scaled])]
    }
}

/// The complex number a ``ComplexToReal`` VJP multiplies its real cotangent by: `sgn(z) = z/|z|` for
/// `abs`, `i·z/|z|²` for `angle`, 0 at `z = 0` (no VJP of its own, as ``MathDerivative``).
public struct ComplexRealDerivative: Op {
    public var function: ComplexRealFunction
    public init(_ function: ComplexRealFunction) { self.function = function }
    public var name: String { "d/dz complex \(function.rawValue)" }
    public var acceptsComplex: Bool { true }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        try expect(inputs, count: 1)
        guard inputs[0].dtype.isComplex else { throw TensorError.unsupportedDType(op: name, dtype: inputs[0].dtype) }
        return inputs[0]
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        func run<T: FloatElement>(_ v: [Complex<T>]) -> [Complex<T>] {
            v.map { z in
                let r = ComplexRealFunction.abs.apply(z)
                if r == 0 { return .zero }
                switch function {
                case .abs: return Complex(z.real / r, z.imaginary / r)
                case .angle: return Complex(-z.imaginary / (r * r), z.real / (r * r))
                }
            }
        }
        if let v = inputs[0].complexValues(Float.self) { return Tensor(shape: inputs[0].shape, complex: run(v)) }
        if let v = inputs[0].complexValues(Double.self) { return Tensor(shape: inputs[0].shape, complex: run(v)) }
        throw TensorError.unsupportedDType(op: name, dtype: inputs[0].dtype)
    }

    public func vjp<B: Builder>(_ b: B, inputs: [B.Value], output: B.Value, cotangent: B.Value) throws -> [B.Value?] {
        throw TensorError.unsupported(op: name, message: "second derivatives are not supported")
    }
}

/// One of ATen's FFT kernels over `axes` (``FourierKind``, ``FourierNormalization``; the math in
/// ``Tensor/fourierTransform(_:axes:normalization:)``). VJP (PyTorch's `derivatives.yaml`):
/// - c2c: the c2c of the other direction with the same normalization;
/// - r2c: the cotangent zero-padded to the full last axis when one-sided, its inverse c2c, real part
///   (`fft_r2c_backward`);
/// - c2r: the one-sided r2c of the cotangent with bins `1..<n − (n/2 + 1) + 1` doubled, as each stands
///   for itself and its conjugate mirror (`fft_c2r_backward`).
public struct FourierTransform: Op {
    public var kind: FourierKind
    public var axes: [Int]
    public var normalization: FourierNormalization
    public init(_ kind: FourierKind, axes: [Int], normalization: FourierNormalization) {
        self.kind = kind
        self.axes = axes
        self.normalization = normalization
    }

    public var name: String {
        switch kind {
        case .complexToComplex: return "_fft_c2c"
        case .realToComplex: return "_fft_r2c"
        case .complexToReal: return "_fft_c2r"
        }
    }
    public var acceptsComplex: Bool { true }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        try expect(inputs, count: 1)
        let input = inputs[0]
        guard !axes.isEmpty, Set(axes).count == axes.count, axes.allSatisfy({ $0 >= 0 && $0 < input.shape.count }) else {
            throw TensorError.invalidArgument(op: name, message: "dim \(axes) are not distinct axes of a rank-\(input.shape.count) tensor")
        }
        let last = axes[axes.count - 1]
        var shape = input.shape
        switch kind {
        case .complexToComplex:
            guard input.dtype.isComplex else { throw TensorError.unsupportedDType(op: name, dtype: input.dtype) }
            return input
        case .realToComplex(let onesided):
            guard input.dtype == .float32 || input.dtype == .float64, let complex = input.dtype.complexCounterpart else {
                throw TensorError.unsupportedDType(op: name, dtype: input.dtype)
            }
            if onesided { shape[last] = shape[last] / 2 + 1 }
            return TensorType(complex, shape)
        case .complexToReal(let lastSize):
            guard let part = input.dtype.complexPart else { throw TensorError.unsupportedDType(op: name, dtype: input.dtype) }
            guard lastSize >= 1, shape[last] == lastSize / 2 + 1 else {
                throw TensorError.invalidArgument(op: name, message: "last_dim_size \(lastSize) needs \(lastSize / 2 + 1) input bins on dim \(last); received \(shape[last])")
            }
            shape[last] = lastSize
            return TensorType(part, shape)
        }
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        try inputs[0].fourierTransform(kind, axes: axes, normalization: normalization)
    }

    public func vjp<B: Builder>(_ b: B, inputs: [B.Value], output: B.Value, cotangent g: B.Value) throws -> [B.Value?] {
        let last = axes[axes.count - 1]
        switch kind {
        case .complexToComplex(let forward):
            return [try b.apply(FourierTransform(.complexToComplex(forward: !forward), axes: axes, normalization: normalization), [g])]
        case .realToComplex(let onesided):
            var full = g
            let size = b.shape(of: inputs[0])[last], kept = b.shape(of: g)[last]
            if onesided && size > kept {
                var zeroShape = b.shape(of: g)
                zeroShape[last] = size - kept
                full = try b.concat([g, b.constant(Tensor.zeros(zeroShape, dtype: b.type(of: g).dtype))], axis: last)
            }
            let inverse = try b.apply(FourierTransform(.complexToComplex(forward: false), axes: axes, normalization: normalization), [full])
            return [try b.realPart(inverse)]
        case .complexToReal:
            let half = try b.apply(FourierTransform(.realToComplex(onesided: true), axes: axes, normalization: normalization), [g])
            let n = b.shape(of: g)[last], bins = b.shape(of: half)[last]
            let doubled = n - bins
            guard doubled > 0 else { return [half] }
            var weightShape = Array(repeating: 1, count: b.shape(of: half).count + 1)
            weightShape[last] = bins
            let weights = (0..<bins).map { $0 >= 1 && $0 <= doubled ? 2.0 : 1.0 }
            let part = b.type(of: g).dtype
            let weight = b.constant(Tensor(shape: weightShape, values: weights).cast(to: part))
            return [try b.apply(ViewAsComplex(), [b.multiply(b.apply(ViewAsReal(), [half]), weight)])]
        }
    }
}

extension Builder {
    /// `x` as the real tensor of its (real, imaginary) pairs, shape `s + [2]` (``ViewAsReal``).
    public func viewAsReal(_ x: Value) throws -> Value { try apply(ViewAsReal(), [x]) }
    /// Pairs `s + [2]` as the complex tensor `s` (``ViewAsComplex``).
    public func viewAsComplex(_ x: Value) throws -> Value { try apply(ViewAsComplex(), [x]) }

    /// The real tensor of one part of a complex `x` (`part` 0: real, 1: imaginary), a slice of its pairs.
    public func complexPart(_ x: Value, _ part: Int) throws -> Value {
        let shape = self.shape(of: x)
        let pairs = try viewAsReal(x)
        return try reshape(slice(pairs, Array(repeating: .all, count: shape.count) + [SliceAxis(start: part, end: part + 1)]), shape)
    }

    /// `Re x` of a complex `x` (`torch.real`).
    public func realPart(_ x: Value) throws -> Value { try complexPart(x, 0) }
    /// `Im x` of a complex `x` (`torch.imag`).
    public func imaginaryPart(_ x: Value) throws -> Value { try complexPart(x, 1) }

    /// The complex tensor `re + i·im` of two real tensors of one shape and dtype (`torch.complex`).
    public func complex(_ re: Value, _ im: Value) throws -> Value {
        let shape = self.shape(of: re)
        return try viewAsComplex(concat([reshape(re, shape + [1]), reshape(im, shape + [1])], axis: shape.count))
    }

    /// `conj(x)` of a complex `x`: its pairs times (1, −1).
    public func conjugate(_ x: Value) throws -> Value {
        let part = type(of: x).dtype.complexPart ?? .float32
        return try viewAsComplex(multiply(viewAsReal(x), constant(Tensor(shape: [2], values: [1.0, -1.0]).cast(to: part))))
    }

    /// `−x` of a complex `x`: its pairs negated.
    public func complexNegate(_ x: Value) throws -> Value { try viewAsComplex(negate(viewAsReal(x))) }
}
