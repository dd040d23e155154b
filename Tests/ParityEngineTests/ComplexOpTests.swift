import Foundation
import Testing
import ParityEngine

/// The complex ops and the gate that keeps complex tensors out of every other op (their VJPs are
/// checked against torch.autograd by the rows of `aten_ops_complex.json`).
@Suite("Complex ops")
struct ComplexOpTests {
    static let z = Tensor(shape: [2, 3], complex: (0..<6).map { Complex<Double>(Double($0) - 2, 0.5 * Double($0)) })

    @Test("an op without a complex form refuses a complex input in both modes, naming itself and the dtype")
    func refusal() throws {
        let eager = EagerContext()
        for op in [Unary(.exp), Reduce(kind: .sum, axes: [0], keepDims: false, numerics: .reductionDefault, ties: .split)] as [any Op] {
            #expect {
                try eager.apply(op, [eager.constant(Self.z)])
            } throws: { error in
                "\(error)".contains(op.name) && "\(error)".contains("complex128") && "\(error)".contains("no complex form")
            }
            #expect(throws: TensorError.self) { try Graph.trace(inputs: [TensorType(of: Self.z)]) { b, xs in [try b.apply(op, xs)] } }
        }
        #expect(throws: TensorError.self) { try eager.multiply(eager.constant(Self.z), eager.constant(Self.z)) }
    }

    @Test("complex helpers: real, imaginary, conjugate, complex(re, im), negate; eager equals graph")
    func helpers() throws {
        let eager = EagerContext()
        let x = eager.constant(Self.z)
        #expect(try eager.realPart(x).tensor.doubles == [-2, -1, 0, 1, 2, 3])
        #expect(try eager.imaginaryPart(x).tensor.doubles == [0, 0.5, 1, 1.5, 2, 2.5])
        #expect(try eager.conjugate(x).tensor.complexValues(Double.self) == Self.z.complexValues(Double.self)!.map(\.conjugate))
        #expect(try eager.complex(eager.realPart(x), eager.imaginaryPart(x)).tensor == Self.z)
        #expect(try eager.complexNegate(x).tensor.complexValues(Double.self) == Self.z.complexValues(Double.self)!.map { -$0 })
        let graph = try Graph.trace(inputs: [TensorType(of: Self.z)]) { b, xs in
            [try b.apply(FourierTransform(.complexToComplex(forward: true), axes: [0, 1], normalization: .byN), [b.conjugate(xs[0])])]
        }
        let traced = try GraphExecutor().run(graph, inputs: [Self.z])[0]
        let direct = try eager.apply(FourierTransform(.complexToComplex(forward: true), axes: [0, 1], normalization: .byN), [eager.conjugate(x)]).tensor
        #expect(traced == direct)
    }

    @Test("VJPs of the FFTs are their adjoints: ⟨F x, y⟩ = ⟨x, Fᵀ y⟩ over the real pairs")
    func adjoints() throws {
        let x = Tensor(shape: [3, 4], values: (0..<12).map { cos(Double($0) * 0.7) })
        for op in [FourierTransform(.realToComplex(onesided: true), axes: [0, 1], normalization: .byRootN),
                   FourierTransform(.realToComplex(onesided: false), axes: [1], normalization: .none)] {
            let context = EagerContext(recording: true)
            let leaf = context.watch(x)
            let y = try context.apply(op, [leaf])
            let w = Tensor(shape: y.tensor.shape, complex: (0..<y.tensor.count).map { Complex<Double>(sin(Double($0)), cos(Double($0) * 1.1)) })
            let loss = try context.reduce(.sum, context.multiply(context.viewAsReal(y), context.constant(w.realPairs())), axes: [0, 1, 2])
            let gradient = try context.gradients(of: loss, withRespectTo: [leaf])[0]
            // Central differences of the real loss (exact up to rounding: the transform is linear).
            for i in [0, 5, 11] {
                var plus = x.doubles, minus = x.doubles
                plus[i] += 1e-3; minus[i] -= 1e-3
                func value(_ v: [Double]) throws -> Double {
                    let out = try op.forward([Tensor(shape: x.shape, values: v)])
                    return zip(try out.realPairs().doubles, try w.realPairs().doubles).map(*).reduce(0, +)
                }
                let numeric = (try value(plus) - value(minus)) / 2e-3
                #expect(abs(numeric - gradient.doubles[i]) < 1e-9, "\(op.kind) element \(i): \(numeric) vs \(gradient.doubles[i])")
            }
        }
    }
}
