import Foundation
import Testing
import ParityTensor

/// Complex tensors (`complex64`, `complex128`): interleaved storage, conversions as `tensor.to(dtype)`,
/// the pair view, the elementwise kernels and the DFT on cases with known answers (the operator rows
/// in `aten_ops_complex.json` check them against PyTorch).
@Suite("Complex tensors")
struct ComplexTests {
    static let z = Tensor(shape: [3], complex: [Complex<Float>(1, -2), Complex(0, 0.5), Complex(-3, 4)])

    @Test("storage is interleaved (real, imaginary) pairs; the pair view and back give the same numbers")
    func pairs() throws {
        #expect(Self.z.dtype == .complex64 && Self.z.count == 3 && DType.complex64.byteCount == 8 && DType.complex128.byteCount == 16)
        #expect(Self.z.doubles == [1, -2, 0, 0.5, -3, 4])
        let pairs = try Self.z.realPairs()
        #expect(pairs.shape == [3, 2] && pairs.dtype == .float32 && pairs.doubles == Self.z.doubles)
        #expect(try pairs.complexFromPairs() == Self.z)
        #expect(throws: TensorError.self) { try Tensor(shape: [3], values: [1, 2, 3] as [Float]).complexFromPairs() }
        #expect(throws: TensorError.self) { try Tensor(shape: [2], values: [1, 2] as [Float]).realPairs() }
        #expect(Self.z.scalarValue == nil)
    }

    @Test("casts: real → complex with a zero imaginary part, complex → real keeps the real part, → bool is z ≠ 0")
    func casts() {
        let x = Tensor(shape: [2], values: [1.5, -2] as [Float])
        #expect(x.cast(to: .complex128).complexValues(Double.self) == [Complex(1.5, 0), Complex(-2, 0)])
        #expect(Self.z.cast(to: .float64).doubles == [1, 0, -3])
        #expect(Self.z.cast(to: .int64).doubles == [1, 0, -3])
        #expect(Self.z.cast(to: .bool).bools == [true, true, true])
        #expect(Self.z.cast(to: .complex128).cast(to: .complex64) == Self.z)
        #expect(Tensor(repeating: 2, shape: [2], dtype: .complex64).complexValues(Float.self) == [Complex(2, 0), Complex(2, 0)])
    }

    @Test("layout kernels move complex elements whole: permute, slice, concat, broadcast, sum to shape")
    func layout() throws {
        let m = Tensor(shape: [2, 2], complex: [Complex<Double>(1, 1), Complex(2, -1), Complex(3, 0), Complex(4, 2)])
        #expect(try m.permuted([1, 0]).complexValues(Double.self) == [Complex(1, 1), Complex(3, 0), Complex(2, -1), Complex(4, 2)])
        #expect(try m.sliced([SliceAxis(start: 1, end: 2)]).complexValues(Double.self) == [Complex(3, 0), Complex(4, 2)])
        #expect(try Tensor.concatenate([m, m], axis: 0).shape == [4, 2])
        #expect(try m.sum(toShape: [1, 2]).complexValues(Double.self) == [Complex(4, 1), Complex(6, 1)])
        #expect(try m.sliced([.all, SliceAxis(start: 0, end: 1)]).embedded(in: [2, 2], at: [.all, SliceAxis(start: 0, end: 1)])
            .complexValues(Double.self) == [Complex(1, 1), .zero, Complex(3, 0), .zero])
    }

    @Test("products and quotients: (a+bi)(c+di) = (ac−bd)+(ad+bc)i; Smith's division; |z| and arg z")
    func elementwise() throws {
        let a = Tensor(shape: [2], complex: [Complex<Double>(1, 2), Complex(3, -1)])
        let b = Tensor(shape: [2], complex: [Complex<Double>(3, -1), Complex(0, 2)])
        #expect(try a.combiningComplex(b, .multiply).complexValues(Double.self) == [Complex(5, 5), Complex(2, 6)])
        let q = try a.combiningComplex(b, .divide).complexValues(Double.self)!
        #expect(abs(q[0].real - 0.1) < 1e-15 && abs(q[0].imaginary - 0.7) < 1e-15 && q[1] == Complex(-0.5, -1.5))
        #expect(try Self.z.complexToReal(.abs).doubles == [Double(Float(5).squareRoot()), 0.5, 5])
        #expect(try Tensor(shape: [2], complex: [Complex<Double>(-1, 0), Complex(0, -2)]).complexToReal(.angle).doubles == [.pi, -.pi / 2])
        #expect(throws: TensorError.self) { try a.combiningComplex(Self.z, .multiply) }
    }

    @Test("DFT: a delta gives ones, ones give a delta, Parseval holds, the inverse undoes the forward")
    func fourier() throws {
        let delta = Tensor(shape: [1, 6], complex: [Complex<Double>(1, 0)] + Array(repeating: .zero, count: 5))
        #expect(try delta.fourierTransform(.complexToComplex(forward: true), axes: [1], normalization: .none).complexValues(Double.self)
            == Array(repeating: Complex(1, 0), count: 6))
        let ones = Tensor(shape: [5], values: Array(repeating: 1.0, count: 5))
        let spectrum = try ones.fourierTransform(.realToComplex(onesided: true), axes: [0], normalization: .none)
        #expect(spectrum.shape == [3] && zip(spectrum.doubles, [5.0, 0, 0, 0, 0, 0]).allSatisfy { abs($0 - $1) < 1e-15 })
        let x = Tensor(shape: [3, 4], values: (0..<12).map { sin(Double($0) * 1.3) })
        let full = try x.fourierTransform(.realToComplex(onesided: false), axes: [0, 1], normalization: .byRootN)
        let energy = x.doubles.map { $0 * $0 }.reduce(0, +), spectral = full.doubles.map { $0 * $0 }.reduce(0, +)
        #expect(abs(energy - spectral) < 1e-12)
        // A real signal's DC and Nyquist bins are exactly real (quarter-turn twiddles are exact).
        let even = try Tensor(shape: [8], values: (0..<8).map { cos(Double($0)) }).fourierTransform(.realToComplex(onesided: true), axes: [0], normalization: .none)
        #expect(even.complexValues(Double.self)![0].imaginary == 0 && even.complexValues(Double.self)![4].imaginary == 0)
        let back = try full.fourierTransform(.complexToComplex(forward: false), axes: [0, 1], normalization: .byRootN)
        #expect(zip(try back.realPairs().doubles, x.doubles.flatMap { [$0, 0] }).allSatisfy { abs($0 - $1) < 1e-14 })
        let half = try x.fourierTransform(.realToComplex(onesided: true), axes: [0, 1], normalization: .byN)
        let real = try half.fourierTransform(.complexToReal(lastSize: 4), axes: [0, 1], normalization: .none)
        #expect(real.dtype == .float64 && zip(real.doubles, x.doubles).allSatisfy { abs($0 - $1) < 1e-14 })
        #expect(throws: TensorError.self) { try half.fourierTransform(.complexToReal(lastSize: 6), axes: [0, 1], normalization: .none) }
        #expect(throws: TensorError.self) { try x.fourierTransform(.complexToComplex(forward: true), axes: [1], normalization: .none) }
    }
}
