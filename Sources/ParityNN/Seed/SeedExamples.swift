/// A custom layer that picks one of two `Dense(5)` branches by a data-dependent condition,
/// `sum(x) > 0`: a Python `if` in PyTorch, `tf.cond` in a Keras graph. Here it is one definition;
/// `Builder/cond(_:operands:then:else:)` is an `if` in eager mode and a `cond` node in a graph.
public struct BranchingDense: Model {
    public var positive: Dense
    public var negative: Dense

    public init(positive: Dense, negative: Dense) {
        self.positive = positive
        self.negative = negative
    }

    public func callAsFunction<B: Builder>(_ inputs: [B.Value], in b: B) throws -> B.Value {
        let x = inputs[0]
        let predicate = try b.binary(.greater, b.reduce(.sum, x, axes: []), b.scalar(0, like: x))
        return try b.cond(predicate, operands: [x],
                          then: { b, xs in try positive(xs, in: b) },
                          else: { b, xs in try negative(xs, in: b) })
    }
}

/// One example of the article that started Parity: a model, fixed weights and a fixed input.
public struct SeedExample: Sendable {
    public let label: String
    public let title: String
    public let model: any Model
    public let input: Tensor
}

/// The seed article's three examples, with weights and inputs drawn once from a fixed seed (Glorot
/// uniform ranges, as Keras initialises Dense and LSTM kernels).
public enum SeedExamples {
    public static func all(seed: UInt64 = 2024) -> [SeedExample] {
        var rng = SeededGenerator(seed: seed)
        func glorot(_ shape: [Int], fanIn: Int, fanOut: Int) -> Tensor {
            let limit = Float((6 / Double(fanIn + fanOut)).squareRoot())
            return Tensor.uniform(shape, in: -limit...limit, generator: &rng)
        }
        func dense(_ inputs: Int, _ units: Int, _ activation: Activation? = nil) -> Dense {
            Dense(kernel: glorot([inputs, units], fanIn: inputs, fanOut: units),
                  bias: Tensor.uniform([units], in: -0.1...0.1, generator: &rng), activation: activation)
        }

        let feedForward = Sequential([dense(5, 10, .unary(.sigmoid)), dense(10, 1)])
        let feedForwardInput = Tensor.uniform([16, 5], generator: &rng)

        let units = 10
        let lstm = LSTM(kernel: glorot([1, 4 * units], fanIn: 1, fanOut: 4 * units),
                        recurrentKernel: glorot([units, 4 * units], fanIn: units, fanOut: 4 * units),
                        bias: Tensor.uniform([4 * units], in: -0.1...0.1, generator: &rng))
        let recurrent = Sequential([lstm, dense(units, 1)])
        let sequence = Tensor.uniform([16, 10, 1], generator: &rng)

        let branching = BranchingDense(positive: dense(5, 5), negative: dense(5, 5))
        let positiveInput = Tensor(shape: [2, 5], values: Tensor.uniform([2, 5], in: 0...1, generator: &rng).values(Float.self)!)
        let negativeInput = Tensor(shape: [2, 5], values: Tensor.uniform([2, 5], in: -1...0, generator: &rng).values(Float.self)!)

        return [
            SeedExample(label: "a", title: "Feed-forward: Dense(10, sigmoid) on 5 inputs, then Dense(1); batch 16",
                        model: feedForward, input: feedForwardInput),
            SeedExample(label: "b", title: "LSTM(10) over 10 steps of 1 feature, last output into Dense(1); batch 16",
                        model: recurrent, input: sequence),
            SeedExample(label: "c", title: "Branching layer, sum(x) > 0 taken: Dense(5) 'then' branch (Python if / tf.cond)",
                        model: branching, input: positiveInput),
            SeedExample(label: "c'", title: "Branching layer, sum(x) ≤ 0 taken: Dense(5) 'else' branch",
                        model: branching, input: negativeInput),
        ]
    }
}
