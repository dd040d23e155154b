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

    /// `branch`: torch.cond's other branch; `dynamic_batch` (exported with a dynamic batch): batch 3
    /// where the export traced 6, and the other branch.
    @Test("other inputs: torch.cond takes the other branch; a dynamic batch takes another size", arguments: ["branch", "dynamic_batch"])
    func otherInputs(name: String) throws {
        let fixture = try TorchFixture(name)
        let program = try TorchProgram.load(fixture.archive)
        for dtype in [DType.float32, .float64] {
            let inputs = try fixture.tensors("inputs_alt", as: dtype)
            let expected = try fixture.tensors(dtype == .float32 ? "outputs_alt_inputs_float32" : "outputs_alt_inputs_float64")
            let tolerance = dtype == .float32 ? TorchTolerance.float32 : TorchTolerance.float64
            for (label, mode) in executionModes {
                let outputs = try program.run(inputs, mode: mode)
                try #require(outputs.count == expected.count)
                for (a, e) in zip(outputs, expected) {
                    #expect(a.shape == e.shape, "\(label) \(dtype): shape \(a.shape), PyTorch \(e.shape)")
                    #expect(tolerance.violation(a, e) == nil, "\(label) \(dtype)")
                }
            }
        }
    }

    @Test("a dynamic dimension takes any size; a static one is still checked, naming the input")
    func dynamicShapeCheck() throws {
        let program = try TorchProgram.load(TorchFixture("dynamic_batch").archive)
        #expect(program.userInputs.first?.meta?.shape == [TorchTensorMeta.dynamic, 4])
        #expect(try program.run([Tensor.zeros([9, 4])], mode: .eager).first?.shape == [18, 3])
        #expect(throws: TorchError.self) { try program.run([Tensor.zeros([9, 5])], mode: .eager) }
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
