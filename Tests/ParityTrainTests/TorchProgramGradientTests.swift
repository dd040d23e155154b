import Foundation
import ParityNN
import ParityTestSupport
import ParityTorch
import Testing
@testable import ParityTrain

/// The ATen program table (`Tests/Fixtures/torch/*.pt2`, scripts/make_torch_fixtures.py --gradients)
/// differentiated by Parity under ATen's rules, against `torch.autograd` in float64: the gradient of
/// Σ output·cotangent with respect to each float input and each parameter.
@Suite struct TorchProgramGradientTests {
    static let names: [String] = {
        let folder = Fixtures.root.appendingPathComponent("torch")
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasSuffix(".json") }.sorted()
        return files.map { String($0.dropLast(5)) }.filter { (try? Fixtures.json("torch/\($0).json"))?["cotangents"] != nil }
    }()

    /// Float64 on both sides; the orders of the same operations differ (a few ulps, more through the
    /// recurrent and attention chains).
    static let tolerance = Tolerance(absolute: 1e-10, relative: 1e-9)

    @Test(arguments: names)
    func matchesAutograd(_ name: String) throws {
        let json = try Fixtures.json("torch/\(name).json")
        let program = try TorchProgram.load(Fixtures.root.appendingPathComponent("torch/\(name).pt2"))
        let model = try TorchTrainable(program, name: name).converted(to: .float64)
        let inputs = try json["inputs"]!.array!.map { value -> Tensor in
            let t = try Fixtures.tensor(value)
            return t.dtype.isFloatingPoint ? t.cast(to: .float64) : t
        }
        let context = EagerContext(recording: true)
        let bound = model.variables.map { $0.trainable ? context.watch($0.value) : context.constant($0.value) }
        let builder = try TrainingBuilder(base: context, variables: Array(zip(model.variables.map(\.value), bound)),
                                          masks: DropoutMasks(seed: 0, step: 0), convention: .aten)
        let inputLeaves = inputs.map { $0.dtype.isFloatingPoint ? context.watch($0) : context.constant($0) }
        let outputs = try model.outputs(inputLeaves.map(builder.wrap), in: builder, dtype: .float64)
            .filter { context.type(of: $0.base).dtype.isFloatingPoint }
        let cotangents = try json["cotangents"]!.array!.map { try Fixtures.tensor($0) }
        try #require(outputs.count == cotangents.count, "\(outputs.count) float outputs, PyTorch gave \(cotangents.count)")
        let total = try context.cotangentSum(outputs.map(\.base), cotangents)
        let floatInputs = inputLeaves.enumerated().filter { inputs[$0.offset].dtype.isFloatingPoint }.map(\.element)
        guard case .object(let expectedParameters)? = json["parameter_gradients"] else { throw FixtureError.malformed("\(name).parameter_gradients") }
        let parameters = model.variables.indices.filter { model.variables[$0].trainable && expectedParameters[model.variables[$0].name] != nil }
        let grads = try context.gradients(of: total, withRespectTo: floatInputs + parameters.map { bound[$0] })
        let expectedInputs = json["input_gradients"]?.array ?? []
        #expect(expectedInputs.count == floatInputs.count)
        #expect(parameters.count == expectedParameters.count, "parameters \(expectedParameters.keys.sorted()) against \(parameters.map { model.variables[$0].name })")
        let expected = expectedInputs + parameters.map { expectedParameters[model.variables[$0].name]! }
        let labels = floatInputs.indices.map { "input \($0)" } + parameters.map { model.variables[$0].name }
        for ((grad, value), label) in zip(zip(grads, expected), labels) {
            guard value != .null else {
                #expect(grad.doubles.allSatisfy { $0 == 0 }, "\(name) \(label): PyTorch gives no gradient, Parity a non-zero one")
                continue
            }
            let violation = Self.tolerance.violation(grad, try Fixtures.tensor(value))
            #expect(violation == nil, "\(name) \(label): \(violation ?? "")")
        }
    }
}
