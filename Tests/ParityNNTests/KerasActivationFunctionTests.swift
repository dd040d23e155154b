import Foundation
import Testing
import ParityNN
import ParityTestSupport

/// The `UnaryFunction` cases added for Keras's TensorFlow formulas and its extra built-in activations.
/// PyTorch has no identical function for most of them (TensorFlow's erfc-form gelu with a Float32
/// constant, squareplus, sparse_plus, sparse_sigmoid, Keras's shrink variants), so their derivatives
/// are checked against central finite differences only (float64, h = 1e-6), away from kinks.
@Suite("Keras activation functions: derivatives by finite differences")
struct KerasActivationFunctionTests {
    static let functions: [UnaryFunction] = [
        .geluErfc(scale: Double(Float(0.7071067811865476))), .celu(alpha: 1), .celu(alpha: 0.6), .logSigmoid, .mish, .tanhShrink,
        .softShrink(threshold: 0.5), .hardShrink(threshold: 0.5), .squareplus(b: 4), .sparsePlus, .sparseSigmoid,
    ]
    /// Points away from every kink (±0.5, ±1, 0).
    static let points: [Double] = [-4.2, -2.7, -1.3, -0.8, -0.3, -0.07, 0.11, 0.35, 0.7, 1.6, 3.9]

    @Test("f′ matches central differences", arguments: functions)
    func derivative(_ function: UnaryFunction) throws {
        let h = 1e-6
        for x in Self.points {
            let y = function.apply(x)
            let numeric = (function.apply(x + h) - function.apply(x - h)) / (2 * h)
            let analytic = function.derivative(x, y)
            #expect(abs(analytic - numeric) <= 1e-6 + 1e-5 * abs(numeric), "\(function) at \(x): \(analytic) vs \(numeric)")
        }
    }

    @Test("the erfc-form gelu equals x·Φ(x) in float64 up to its Float32 constant")
    func geluErfcForm() {
        for x in Self.points {
            let exact = UnaryFunction.geluErfc(scale: 0.7071067811865476).apply(x)
            let reference = UnaryFunction.gelu(approximate: false).apply(x)
            #expect(abs(exact - reference) <= 1e-15 * max(1, abs(reference)), "\(x)")
        }
    }

    @Test("eager gradient of a layer uses the same derivative")
    func eagerGradient() throws {
        let context = EagerContext(recording: true)
        let x = context.watch(Tensor(shape: [3], values: [-1.3, 0.2, 2.5]))
        let y = try context.unary(.mish, x)
        let g = try context.gradients(of: y, withRespectTo: [x], cotangent: Tensor(shape: [3], values: [1.0, 1.0, 1.0]))
        let expected = [-1.3, 0.2, 2.5].map { UnaryFunction.mish.derivative($0, UnaryFunction.mish.apply($0)) }
        #expect(g[0].doubles == expected)
    }
}

/// Gradients of the new layer compositions (transposed convolution via ``RemapAdjoint``, bilinear
/// resizing, GRU) against central finite differences of their eager forward pass, in float64.
@Suite("Keras-convention layers: input gradients by finite differences")
struct LayerGradientTests {
    static func check(_ model: any Model, input: Tensor) throws {
        let context = EagerContext(recording: true)
        let x = context.watch(input)
        let y = try model([x], in: context)
        // A fixed, non-uniform cotangent so that a wrong index map cannot pass.
        let weights = Tensor(shape: y.tensor.shape, values: (0..<y.tensor.count).map { 0.3 + 0.01 * Double($0 % 17) })
        let analytic = try context.gradients(of: y, withRespectTo: [x], cotangent: weights)[0].doubles
        func objective(_ v: Tensor) throws -> Double {
            zip(try model.run([v], mode: .eager).doubles, weights.doubles).map(*).reduce(0, +)
        }
        let h = 1e-6
        var values = input.doubles
        for i in values.indices {
            let saved = values[i]
            values[i] = saved + h
            let plus = try objective(Tensor(shape: input.shape, values: values))
            values[i] = saved - h
            let minus = try objective(Tensor(shape: input.shape, values: values))
            values[i] = saved
            let numeric = (plus - minus) / (2 * h)
            #expect(abs(analytic[i] - numeric) <= 1e-6 + 1e-5 * abs(numeric), "element \(i): \(analytic[i]) vs \(numeric)")
        }
    }

    static func ramp(_ shape: [Int], _ scale: Double = 0.37) -> Tensor {
        Tensor(shape: shape, values: (0..<Shape.count(shape)).map { sin(Double($0) * scale) })
    }

    @Test func transposedConvolution() throws {
        let model = TransposedConvolution(kernel: Self.ramp([3, 3, 2, 2], 0.61), bias: Self.ramp([2]), strides: [2, 2], dilations: [1, 1],
                                          padding: .same, outputPadding: nil)
        try Self.check(model, input: Self.ramp([1, 3, 2, 2]))
    }

    @Test func bilinearResize() throws {
        try Self.check(ImageResize(size: [5, 3], method: .bilinear, float32Compute: false), input: Self.ramp([1, 3, 4, 1]))
    }

    @Test func gruResetBefore() throws {
        let model = GRU(kernel: Self.ramp([2, 6], 0.7), recurrentKernel: Self.ramp([2, 6], 0.3), inputBias: Self.ramp([6], 0.9),
                        recurrentBias: nil, resetAfter: false, returnSequences: true)
        try Self.check(model, input: Self.ramp([1, 3, 2]))
    }
}
