import Foundation
import Testing
import ParityTestSupport
import ParityTorch
import ParityNN

/// Every fixture model through Parity, eagerly and as a graph, against PyTorch in float32 and
/// float64 (each output of each model: one family of ATen ops per model).
@Suite("ATen programs against PyTorch")
struct ATenFixtureTests {
    @Test("float32 matches PyTorch", arguments: runnableFixtures)
    func float32(name: String) throws {
        let fixture = try TorchFixture(name)
        let program = try TorchProgram.load(fixture.archive)
        let inputs = try fixture.tensors("inputs", as: .float32)
        let expected = try fixture.tensors("outputs_float32")
        for (label, mode) in executionModes {
            let outputs = try program.run(inputs, mode: mode)
            try #require(outputs.count == expected.count, "\(name) \(label): \(outputs.count) outputs vs \(expected.count)")
            for (i, (a, e)) in zip(outputs, expected).enumerated() {
                #expect(a.dtype == (e.dtype.isFloatingPoint ? .float32 : e.dtype), "\(name) output \(i) dtype \(a.dtype)")
                let violation = TorchTolerance.float32(name).violation(a, e)
                #expect(violation == nil, "\(name) \(label) output \(i): \(violation ?? "")")
            }
            print("[torch] \(name) float32 \(label): max abs error \(maxAbsoluteError(outputs, expected))")
        }
    }

    @Test("float64 matches PyTorch's model.double()", arguments: runnableFixtures)
    func float64(name: String) throws {
        let fixture = try TorchFixture(name)
        let program = try TorchProgram.load(fixture.archive)
        let inputs = try fixture.tensors("inputs", as: .float64)
        let expected = try fixture.tensors("outputs_float64")
        for (label, mode) in executionModes {
            // Integer-only inputs (embedding indices) carry no dtype: ask for float64.
            let outputs = try program.run(inputs, mode: mode, dtype: .float64)
            try #require(outputs.count == expected.count)
            for (i, (a, e)) in zip(outputs, expected).enumerated() {
                let violation = TorchTolerance.float64.violation(a, e)
                #expect(violation == nil, "\(name) \(label) output \(i): \(violation ?? "")")
            }
            print("[torch] \(name) float64 \(label): max abs error \(maxAbsoluteError(outputs, expected))")
        }
    }

    @Test("torch.cond takes the other branch on other inputs, in both modes")
    func condOtherBranch() throws {
        let fixture = try TorchFixture("branch")
        let program = try TorchProgram.load(fixture.archive)
        for dtype in [DType.float32, .float64] {
            let inputs = try fixture.tensors("inputs_alt", as: dtype)
            let expected = try fixture.tensors(dtype == .float32 ? "outputs_alt_inputs_float32" : "outputs_alt_inputs_float64")
            let tolerance = dtype == .float32 ? TorchTolerance.float32 : TorchTolerance.float64
            for (label, mode) in executionModes {
                let outputs = try program.run(inputs, mode: mode)
                #expect(tolerance.violation(outputs[0], expected[0]) == nil, "\(label) \(dtype)")
            }
        }
    }

    @Test("gradients flow through a mapped program (eager tape equals the graph gradient)")
    func gradients() throws {
        let fixture = try TorchFixture("linear_algebra")
        let program = try TorchProgram.load(fixture.archive)
        let x = try fixture.tensors("inputs", as: .float64)[0]
        let context = EagerContext(recording: true)
        let leaf = context.watch(x)
        let outputs = try program.outputs([leaf], in: context, floatType: .float64)
        let eager = try context.gradients(of: outputs[0], withRespectTo: [leaf])[0]
        // Central differences of sum(output 0) along a few coordinates.
        let base = x.doubles
        for index in [0, 7, 23, 40] {
            var plus = base, minus = base
            plus[index] += 1e-6
            minus[index] -= 1e-6
            let f = { (v: [Double]) in try program.run([Tensor(shape: x.shape, values: v)], mode: .eager)[0].doubles.reduce(0, +) }
            let numeric = (try f(plus) - f(minus)) / 2e-6
            #expect(abs(numeric - eager.doubles[index]) < 1e-6, "d/dx[\(index)]: tape \(eager.doubles[index]) vs numeric \(numeric)")
        }
    }
}
