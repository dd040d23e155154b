import ParityNN
import ParityTestSupport
import Testing
@testable import ParityTrain

/// ParityNN's own layer table (`Tests/Fixtures/nn/layers.json`, scripts/make_layer_fixtures.py: the seed
/// feed-forward net and two LSTMs against `nn.Linear`/`nn.LSTM`) differentiated by Parity under PyTorch's rules,
/// against `torch.autograd` in float64: the gradient of Σ output·cotangent with respect to the input and to each
/// weight in Keras's layout.
@Suite struct LayerGradientTests {
    struct Row: CustomTestStringConvertible, Sendable {
        let json: JSONValue
        var testDescription: String { json["name"]!.string! }
    }

    static let rows: [Row] = ((try? Fixtures.json("nn/layers.json"))?["cases"]?.array ?? []).map(Row.init)

    /// Float64 on both sides, the same operations in another order: a few ulps, amplified along the LSTM's steps.
    static let tolerance = Tolerance(absolute: 1e-12, relative: 1e-10)

    @Test("every row of the table has torch.autograd's gradient")
    func everyRowHasAGradient() {
        #expect(Self.rows.count == 3)
        for row in Self.rows {
            #expect(row.json["cotangent"] != nil && row.json["input_gradient"] != nil && row.json["weight_gradients"] != nil,
                    "\(row.testDescription): no gradient")
        }
    }

    @Test(arguments: rows)
    func matchesAutograd(_ row: Row) throws {
        let json = row.json
        let names = json["layer"]!.string! == "ffn" ? ["k1", "b1", "k2", "b2"] : ["kernel", "recurrent", "bias"]
        let weights = try names.map { try Fixtures.tensor(json["weights"]![$0], as: .float64) }
        let model: any Model = json["layer"]!.string! == "ffn"
            ? Sequential([Dense(kernel: weights[0], bias: weights[1], activation: .unary(.sigmoid)), Dense(kernel: weights[2], bias: weights[3])])
            : LSTM(kernel: weights[0], recurrentKernel: weights[1], bias: weights[2], returnSequences: json["returnSequences"]!.bool!)
        let context = EagerContext(recording: true)
        let input = context.watch(try Fixtures.tensor(json["input"], as: .float64))
        let leaves = weights.map { context.watch($0) }
        let builder = try TrainingBuilder(base: context, variables: Array(zip(weights, leaves)), masks: DropoutMasks(seed: 0, step: 0),
                                          convention: .aten)
        let output = try model([builder.wrap(input)], in: builder).base
        let cotangent = try Fixtures.tensor(json["cotangent"], as: .float64)
        let total = try context.cotangentSum([output], [cotangent])
        let grads = try context.gradients(of: total, withRespectTo: [input] + leaves)
        let expected = try [Fixtures.tensor(json["input_gradient"])] + names.map { try Fixtures.tensor(json["weight_gradients"]![$0]) }
        for (index, (grad, value)) in zip(grads, expected).enumerated() {
            let label = index == 0 ? "input" : names[index - 1]
            let violation = Self.tolerance.violation(grad, value)
            #expect(violation == nil, "\(row.testDescription) \(label): \(violation ?? "")")
        }
    }
}

extension EagerContext {
    /// Σᵢ Σ outputᵢ·cotangentᵢ, each cotangent reshaped to its output: the scalar whose gradients the
    /// gradient fixtures record (`tf.GradientTape` / `torch.autograd` seeded with those cotangents).
    func cotangentSum(_ outputs: [EagerTensor], _ cotangents: [Tensor]) throws -> EagerTensor {
        var total: EagerTensor?
        for (y, c) in zip(outputs, cotangents) {
            let term = try reduce(.sum, multiply(y, constant(c.reshaped(shape(of: y)))), axes: [])
            total = try total.map { try add($0, term) } ?? term
        }
        guard let total else { throw TensorError.invalidArgument(op: "cotangentSum", message: "no output") }
        return total
    }
}
