import Foundation
import ParityFormats
import ParityKeras
import ParityNN
import ParityTestSupport
import Testing
@testable import ParityTrain

/// Every output of the Keras operation tables (`Tests/Fixtures/keras/operations`, scripts/make_keras_op_fixtures.py)
/// differentiated by Parity under TensorFlow's rules, against `tf.GradientTape` in float64: each output on its
/// own, the gradient of Σ output·cotangent with respect to each float input (`gradients.npz`). Outputs without a
/// derivative say why in `meta.json`'s `gradients`; a float output TensorFlow gives no gradient must get zero.
@Suite struct KerasOperationGradientTests {
    static let families = ["unary", "binary", "reductions", "shapes", "core"]

    /// Float64 on both sides, the same formulas in another order (a few ulps; more through the longer chains of
    /// `cumprod`, `prod`, the attention and the convolutions).
    static let tolerance = Tolerance(absolute: 1e-10, relative: 1e-9)

    /// Per output, wider than ``tolerance`` only where a measured cause says so.
    static func tolerance(_ label: String) -> Tolerance {
        switch label {
        // TensorFlow's CPU `ResizeBilinear` computes a float64 image in float32 (ParityNN's `float32Compute`);
        // Parity differentiates that float32 computation, `ResizeBilinearGrad` accumulates in float64.
        case "resize": return Tolerance(absolute: 5e-7, relative: 5e-7)
        // hard_sigmoid's derivative inside (−3, 3): Parity keeps ATen's `(float)1/6` on both sides, TensorFlow
        // divides by 6 exactly (docs/training.md, derivative conventions): 3e-8 relative in float64.
        case "hard_sigmoid": return Tolerance(absolute: 1e-10, relative: 1e-7)
        // tf.nn.gelu(approximate=True) builds its coefficient as `math_ops.cast(0.044715, dtype)`, a float32 tensor
        // first: in float64 TensorFlow uses 0.044714998453855515, Parity 0.044715 (PyTorch's). Measured 2e-9 relative
        // (at most 9.3e-10 absolute; forward and gradient alike); nothing in float32. docs/gradients.md, known differences.
        case "gelu_tanh": return Tolerance(absolute: 2e-9, relative: 1e-8)
        default: return tolerance
        }
    }

    struct Family {
        let model: KerasTrainable
        let names: [String]
        let inputs: [Tensor]
        let labels: [String]
        let entries: [JSONValue]
        let arrays: [String: Tensor]

        init(_ name: String) throws {
            let folder = Fixtures.root.appendingPathComponent("keras/operations/\(name)")
            let keras = try KerasModel.load(folder.appendingPathComponent("model.keras"))
            model = try KerasTrainable(keras, name: name)
            let inputArrays = try NumpyArchive.read(contentsOf: folder.appendingPathComponent("input.npz"))
            names = keras.network.inputs.map(\.layer)
            inputs = try names.map { input in
                guard let entry = inputArrays.first(where: { $0.name == input }) else { throw FixtureError.malformed("input.npz has no \(input)") }
                let t = try entry.record.toTensor()
                return t.dtype.isFloatingPoint ? t.cast(to: .float64) : t
            }
            let meta = try JSONValue.parse(Data(contentsOf: folder.appendingPathComponent("meta.json")))
            labels = meta["outputs"]?.array?.compactMap(\.string) ?? []
            entries = meta["gradients"]?.array ?? []
            var table: [String: Tensor] = [:]
            for entry in try NumpyArchive.read(contentsOf: folder.appendingPathComponent("gradients.npz")) {
                table[entry.name] = try entry.record.toTensor()
            }
            arrays = table
        }
    }

    @Test("every output has a gradient entry: a check, or zero, or the reason it has none", arguments: families)
    func everyOutputAccounted(_ name: String) throws {
        let family = try Family(name)
        #expect(!family.labels.isEmpty && family.entries.count == family.labels.count, "\(name): \(family.entries.count) entries, \(family.labels.count) outputs")
        for (label, entry) in zip(family.labels, family.entries) {
            if let wrt = entry["wrt"]?.array?.compactMap(\.string) {
                #expect(!wrt.isEmpty && wrt.allSatisfy { family.arrays["grad\(family.labels.firstIndex(of: label)!):\($0)"] != nil }, "\(name)/\(label)")
            } else {
                let reason = entry["zero"]?.string ?? entry["none"]?.string ?? ""
                #expect(!reason.isEmpty, "\(name)/\(label): neither a gradient nor a reason")
            }
        }
    }

    @Test("each output's float64 VJP equals tf.GradientTape's", arguments: families)
    func matchesGradientTape(_ name: String) throws {
        let family = try Family(name)
        let context = EagerContext(recording: true)
        let leaves = family.inputs.map { $0.dtype.isFloatingPoint ? context.watch($0) : context.constant($0) }
        let builder = try TrainingBuilder(base: context, variables: [], masks: DropoutMasks(seed: 0, step: 0), convention: .tensorFlow)
        let outputs = try family.model.outputs(leaves.map(builder.wrap), in: builder, dtype: .float64)
        try #require(outputs.count == family.labels.count)
        let floats = family.names.indices.filter { family.inputs[$0].dtype.isFloatingPoint }
        for (index, (label, entry)) in zip(family.labels, family.entries).enumerated() {
            if entry["none"] != nil { continue }
            let y = outputs[index].base
            let type = context.type(of: y)
            #expect(type.dtype.isFloatingPoint, "\(name)/\(label): Parity's output is \(type.dtype), TensorFlow's is float")
            guard type.dtype.isFloatingPoint else { continue }
            let cotangent = try family.arrays["cotangent\(index)"].map { try $0.reshaped(type.shape).cast(to: type.dtype) }
                ?? Tensor(repeating: 1, shape: type.shape, dtype: type.dtype)
            let grads: [Tensor]
            do {
                grads = try context.gradients(of: y, withRespectTo: floats.map { leaves[$0] }, cotangent: cotangent)
            } catch {
                Issue.record("\(name)/\(label): \(error)")
                continue
            }
            for (position, input) in floats.enumerated() {
                let inputName = family.names[input]
                let grad = grads[position]
                guard entry["zero"] == nil, let expected = family.arrays["grad\(index):\(inputName)"] else {
                    // No gradient from TensorFlow (the output does not depend on this input, or is piecewise constant).
                    #expect(grad.doubles.allSatisfy { $0 == 0 }, "\(name)/\(label) d/d\(inputName): TensorFlow gives none, Parity a non-zero one")
                    continue
                }
                let violation = Self.tolerance(label).violation(grad, expected)
                #expect(violation == nil, "\(name)/\(label) d/d\(inputName): \(violation ?? "")")
            }
        }
    }
}
