import Foundation
import ParityKeras
import ParityNN
import ParityTestSupport
import Testing
@testable import ParityTrain

/// Every layer of the Keras layer table (`Tests/Fixtures/keras/layers/*.json`, scripts/make_keras_layer_fixtures.py)
/// differentiated by Parity under TensorFlow's rules, against `tf.GradientTape` in float64: the gradient of
/// Σ output·cotangent with respect to each float input and each weight.
@Suite struct KerasLayerGradientTests {
    struct Row: CustomTestStringConvertible, Sendable {
        let family: String
        let json: JSONValue
        var testDescription: String { "\(family): \(json["name"]!.string!)" }
    }

    static let rows: [Row] = {
        let folder = Fixtures.root.appendingPathComponent("keras/layers")
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasSuffix(".json") }.sorted()
        return files.flatMap { file -> [Row] in
            guard let root = try? Fixtures.json("keras/layers/\(file)"), let cases = root["cases"]?.array else { return [] }
            return cases.map { Row(family: String(file.dropLast(5)), json: $0) }
        }
    }()

    /// Float64 on both sides: the two differ only in the order of the same operations (a few ulps, amplified
    /// by the longer chains of the recurrent layers), far below any convention difference.
    static let tolerance = Tolerance(absolute: 1e-10, relative: 1e-9)
    /// Bilinear resizing: TensorFlow's CPU kernel resizes a Float64 image in Float32 (ParityNN's
    /// `float32Compute`), and Parity differentiates that computation, so its Float64 gradient carries Float32
    /// rounding (a few 1e-8 relative, at most 1.4e-7 measured), where `ResizeBilinearGrad` accumulates in Float64.
    static let resizing = Tolerance(absolute: 5e-7, relative: 5e-7)
    /// hard_sigmoid: Parity's derivative inside (−3, 3) is ATen's `(float)1/6` = 0.1666666716… in every dtype
    /// (`hardsigmoid_backward`; torch.autograd gives it in float64 too), TensorFlow's is an exact division by 6:
    /// the same in float32, 3e-8 apart (relative) in float64.
    static let hardSigmoid = Tolerance(absolute: 1e-10, relative: 1e-7)

    static func tolerance(_ row: Row) -> Tolerance {
        if row.family == "resizing" { return resizing }
        if "\(row.json["config"] ?? .null)".contains("hard_sigmoid") { return hardSigmoid }
        return tolerance
    }

    @Test("every case has tf.GradientTape's gradient (channels_first cases: computed under XLA, as their forward)")
    func everyCaseHasAGradient() {
        #expect(Self.rows.count > 150)
        for row in Self.rows {
            #expect(row.json["cotangents"] != nil && row.json["input_gradients"] != nil && row.json["weight_gradients"] != nil,
                    "\(row.testDescription): no gradient")
        }
    }

    @Test(arguments: rows)
    func matchesGradientTape(_ row: Row) throws {
        let json = row.json
        let weights = try json["weights"]!.array!.map { try Fixtures.tensor($0, as: .float64) }
        let config = KerasLayerConfig(className: json["class_name"]!.string!, name: json["name"]!.string!,
                                      config: json["config"]!, weights: weights)
        let model = try KerasLayers.make(config)
        let inputs = try json["inputs"]!.array!.map { value -> Tensor in
            let t = try Fixtures.tensor(value)
            return t.dtype == .int64 ? t : t.cast(to: .float64)
        }
        let context = EagerContext(recording: true)
        let inputLeaves = inputs.map { $0.dtype.isFloatingPoint ? context.watch($0) : context.constant($0) }
        let weightLeaves = weights.map { context.watch($0) }
        let builder = try TrainingBuilder(base: context, variables: Array(zip(weights, weightLeaves)), masks: DropoutMasks(seed: 0, step: 0),
                                          convention: .tensorFlow)
        let wrapped = inputLeaves.map(builder.wrap)
        let outputs = try (model as? any MultiOutputModel).map { try $0.outputs(wrapped, in: builder) } ?? [try model(wrapped, in: builder)]
        let cotangents = try json["cotangents"]!.array!.map { try Fixtures.tensor($0) }
        try #require(outputs.count == cotangents.count, "\(outputs.count) outputs, Keras gave \(cotangents.count)")
        let total = try context.cotangentSum(outputs.map(\.base), cotangents)
        let floatInputs = inputLeaves.enumerated().filter { inputs[$0.offset].dtype.isFloatingPoint }.map(\.element)
        let grads = try context.gradients(of: total, withRespectTo: floatInputs + weightLeaves)
        let expected = (json["input_gradients"]?.array ?? []) + (json["weight_gradients"]?.array ?? [])
        #expect(grads.count == expected.count)
        for (index, (grad, value)) in zip(grads, expected).enumerated() {
            let label = index < floatInputs.count ? "input \(index)" : "weight \(index - floatInputs.count)"
            // No gradient from TensorFlow: Keras's Normalization reads copies of its mean and variance made by
            // `finalize_state`, not the variables (never trained either way); anything else must be zero.
            guard value != .null else {
                #expect(row.json["class_name"]?.string == "Normalization" || grad.doubles.allSatisfy { $0 == 0 },
                        "\(row.testDescription) \(label): TensorFlow gives no gradient, Parity a non-zero one")
                continue
            }
            let violation = Self.tolerance(row).violation(grad, try Fixtures.tensor(value))
            #expect(violation == nil, "\(row.testDescription) \(label): \(violation ?? "")")
        }
    }
}
