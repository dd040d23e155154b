import Foundation
import ParityTestSupport
import ParityNN
import ParityTorch
import Testing
@testable import ParityTrain

/// Gradients where the derivative is undefined or the kernels choose (ties, kinks, bounds, the fused
/// cross-entropy), checked against `tf.GradientTape` and `torch.autograd` (`Tests/Fixtures/train/gradients.npz`,
/// scripts/make_training_fixtures.py): Parity follows the side being run.
@Suite struct GradientConventionTests {
    static let arrays: [String: Tensor] = {
        let url = Fixtures.root.appendingPathComponent("train/gradients.npz")
        var table: [String: Tensor] = [:]
        for entry in (try? NumpyArchive.read(contentsOf: url)) ?? [] { table[entry.name] = try? entry.record.toTensor() }
        return table
    }()

    static func input(_ entry: String, _ name: String) throws -> Tensor { try #require(arrays["input:\(entry):\(name)"]) }

    static func expectClose(_ actual: Tensor, _ expected: Tensor, _ label: String) {
        #expect(actual.shape == expected.shape, "\(label) shape")
        for (a, e) in zip(actual.doubles, expected.doubles) {
            if e.isInfinite { #expect(a == e, "\(label): \(a) vs \(e)"); continue }
            #expect(abs(a - e) <= 1e-6 + 1e-6 * abs(e), "\(label): \(a) vs \(e)")
        }
    }

    /// Σ f(inputs)·cotangent differentiated through a training builder with `convention`.
    static func gradients(_ entry: String, convention: GradientConvention,
                          _ f: (TrainingBuilder<EagerContext>, [TrainingBuilder<EagerContext>.Value]) throws -> TrainingBuilder<EagerContext>.Value)
        throws -> [String: Tensor] {
        let names = arrays.keys.filter { $0.hasPrefix("input:\(entry):") }.map { String($0.split(separator: ":")[2]) }.sorted()
        let context = EagerContext(recording: true)
        let leaves = try names.map { context.watch(try input(entry, $0)) }
        let builder = try TrainingBuilder(base: context, variables: [], masks: DropoutMasks(seed: 0, step: 0), convention: convention)
        let y = try f(builder, leaves.map(builder.wrap))
        let cotangent = try #require(arrays["cotangent:\(entry)"])
        let total = try context.cotangentSum([y.base], [cotangent])
        let grads = try context.gradients(of: total, withRespectTo: leaves)
        return Dictionary(uniqueKeysWithValues: zip(names, grads))
    }

    /// Keras's ops (as ParityNN and ParityKeras build them) under TensorFlow's rules, against `tf.GradientTape`.
    @Test(arguments: ["relu", "relu6", "clip", "maximum", "minimum", "abs", "sqrt", "reduce_max", "max_pool", "leaky_relu",
                      "softmax_xent_soft", "sigmoid_bce_saturated"])
    func tensorFlow(_ entry: String) throws {
        let grads = try Self.gradients(entry, convention: .tensorFlow) { b, v in
            let x = v.last!
            switch entry {
            case "relu": return try b.unary(.relu, x)
            case "relu6": return try b.unary(.relu6, x)
            // keras.ops.clip: minimum(maximum(x, lower), upper) (ParityKeras's Clip operation).
            case "clip": return try b.binary(.minimum, b.binary(.maximum, x, b.scalar(0, like: x)), b.scalar(6, like: x))
            case "maximum": return try b.binary(.maximum, v[0], v[1])
            case "minimum": return try b.binary(.minimum, v[0], v[1])
            case "abs": return try b.unary(.abs, x)
            case "sqrt": return try b.unary(.sqrt, x)
            case "reduce_max": return try b.reduce(.max, x, axes: [-1])
            case "max_pool": return try b.pool(b.reshape(x, [1, 4, 4, 1]), .max, window: [2, 2], strides: [2, 2], padding: .valid)
            case "leaky_relu": return try b.unary(.leakyRelu(slope: Double(Float(0.2))), x)
            case "softmax_xent_soft": return try b.apply(SoftmaxCrossEntropy(gradient: .fused), [v[1], v[0]])   // inputs sorted: labels, logits
            case "sigmoid_bce_saturated":
                // Keras recovers the logits of the sigmoid: sigmoid_cross_entropy_with_logits (labels t, logits z).
                return try b.sigmoidCrossEntropyWithLogits(labels: v[0], logits: v[1])
            default: throw TrainError.badInput(reason: entry)
            }
        }
        for (name, gradient) in grads {
            if ["t", "labels"].contains(name) { continue }  // a target's gradient: not used in training
            Self.expectClose(gradient, try #require(Self.arrays["keras:\(entry):\(name)"]), "\(entry) d/d\(name)")
        }
    }

    /// The PyTorch side of the elementwise entries, through the exported graph (`gradients.pt2`: the operators
    /// as `torch.export` writes them, lowered by ParityTorch), against `torch.autograd`.
    @Test func aten() throws {
        let program = try TorchProgram.load(Fixtures.root.appendingPathComponent("train/torch/gradients.pt2"))
        let trainable = try TorchTrainable(program)
        let context = EagerContext(recording: true)
        let leaves = trainable.variables.map { context.watch($0.value) }
        let builder = try TrainingBuilder(base: context, variables: Array(zip(trainable.variables.map(\.value), leaves)),
                                          masks: DropoutMasks(seed: 0, step: 0), convention: .aten)
        let entries = ["relu", "relu6", "clip", "maximum", "minimum", "abs", "sqrt", "reduce_max", "max_pool", "leaky_relu"]
        // The cotangents in the shapes the program takes (the max pool's is NCHW, Keras's NHWC: the same numbers).
        let cotangents = try zip(entries, program.userInputs).map { entry, input in
            builder.wrap(context.constant(try #require(Self.arrays["cotangent:\(entry)"]).reshaped(try #require(input.meta).shape)))
        }
        let total = try trainable.outputs(cotangents, in: builder, dtype: .float32)[0]
        let grads = try context.gradients(of: total.base, withRespectTo: leaves)
        for (variable, gradient) in zip(trainable.variables, grads) {
            let parts = variable.name.split(separator: "_")
            let (entry, input) = (parts.dropLast().joined(separator: "_"), String(parts.last!))
            Self.expectClose(try gradient.reshaped(try #require(Self.arrays["pytorch:\(entry):\(input)"]).shape),
                             try #require(Self.arrays["pytorch:\(entry):\(input)"]), "\(entry) d/d\(input)")
        }
    }

    /// PyTorch's losses at the two loss entries: cross-entropy on probability targets (the chain rule) and
    /// `BCELoss` on a saturated sigmoid (ATen's own backward: the unit is stuck).
    @Test func atenLosses() throws {
        let soft = try Self.gradients("softmax_xent_soft", convention: .aten) { b, v in
            try b.negate(b.reduce(.sum, b.multiply(b.apply(Softmax(axis: -1, logarithm: true), [v[1]]), v[0]), axes: [-1]))  // labels, logits
        }
        Self.expectClose(try #require(soft["logits"]), try #require(Self.arrays["pytorch:softmax_xent_soft:logits"]), "cross-entropy d/dlogits")
        let bce = try Self.gradients("sigmoid_bce_saturated", convention: .aten) { b, v in
            try b.apply(TorchBinaryCrossEntropy(), [b.unary(.sigmoid, v[1]), v[0]])  // t, z
        }
        Self.expectClose(try #require(bce["z"]), try #require(Self.arrays["pytorch:sigmoid_bce_saturated:z"]), "BCELoss(sigmoid) d/dz")
    }

    /// Where the frameworks differ, the fixtures do: the rules are not vacuous.
    @Test func theFrameworksDiffer() throws {
        for (entry, input) in [("maximum", "x"), ("minimum", "y"), ("clip", "x"), ("softmax_xent_soft", "logits"), ("sigmoid_bce_saturated", "z")] {
            let k = try #require(Self.arrays["keras:\(entry):\(input)"]), p = try #require(Self.arrays["pytorch:\(entry):\(input)"])
            #expect(k.doubles != p.doubles, "\(entry)")
        }
    }
}
