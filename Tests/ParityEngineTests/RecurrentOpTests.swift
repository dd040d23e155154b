import Testing
import ParityEngine
import ParityTestSupport

/// The fused recurrent loop computes exactly its definition (the per-step ops), for every cell
/// formula, on every instruction set, at any thread count; its gradient is the definition's.
@Suite("Recurrent sequence: fused loop against its definition")
struct RecurrentOpTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let op: RecurrentSequence
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "Keras LSTM", op: RecurrentSequence(cell: .lstm(activation: .tanh, recurrentActivation: .sigmoid), outputBias: true)),
        Case(name: "Keras LSTM backwards, hard sigmoid", op: RecurrentSequence(cell: .lstm(activation: .relu, recurrentActivation: .hardSigmoid),
                                                                              reversed: true, outputBias: true)),
        Case(name: "PyTorch LSTM", op: RecurrentSequence(cell: .lstm(activation: .tanh, recurrentActivation: .sigmoid), recurrentBias: true)),
        Case(name: "Keras GRU reset after", op: RecurrentSequence(cell: .gru(.init(update: 0, reset: 1, candidate: 2, resetAfter: true, mix: .keras)),
                                                                  recurrentBias: true)),
        Case(name: "Keras GRU reset before, backwards", op: RecurrentSequence(
            cell: .gru(.init(update: 0, reset: 1, candidate: 2, resetAfter: false, mix: .keras)), reversed: true)),
        Case(name: "PyTorch GRU", op: RecurrentSequence(cell: .gru(.init(update: 1, reset: 0, candidate: 2, resetAfter: true, mix: .torch)),
                                                        recurrentBias: true)),
        Case(name: "Keras SimpleRNN", op: RecurrentSequence(cell: .simple(activation: .tanh))),
        Case(name: "SimpleRNN without activation", op: RecurrentSequence(cell: .simple(activation: nil), reversed: true)),
        Case(name: "PyTorch RNN relu", op: RecurrentSequence(cell: .simple(activation: .relu), recurrentBias: true)),
    ]

    static func inputs(_ op: RecurrentSequence, dtype: DType, batch: Int = 3, time: Int = 5, units: Int = 19) -> [Tensor] {
        var rng = SeededGenerator(seed: 11)
        let width = op.cell.gates * units
        func uniform(_ shape: [Int]) -> Tensor { Tensor.uniform(shape, in: -1...1, generator: &rng).cast(to: dtype) }
        var inputs = [uniform([batch, time, width]), uniform([batch, units])]
        if case .lstm = op.cell { inputs.append(uniform([batch, units])) }
        inputs.append(uniform([units, width]))
        if op.recurrentBias { inputs.append(uniform([width])) }
        if op.outputBias { inputs.append(uniform([width])) }
        return inputs
    }

    @Test("forward: the definition's bits on every level, at 1 and 3 threads", arguments: cases)
    func forward(_ row: Case) throws {
        for dtype in [DType.float32, .float64] {
            let inputs = Self.inputs(row.op, dtype: dtype, units: 70)
            let eager = EagerContext()
            let expected = try row.op.definition(eager, inputs.map(eager.constant)).tensor
            #expect(try row.op.outputType(inputs.map(TensorType.init(of:))) == TensorType(of: expected))
            for level in InstructionSet.available {
                for threads in [1, 3] {
                    let y = try InstructionSet.forcing(level) { try KernelThreads.forcing(threads) { try row.op.forward(inputs) } }
                    #expect(y == expected, "\(level), \(threads) threads, \(dtype)")
                }
            }
        }
    }

    @Test("gradient: the definition's, in eager and graph mode", arguments: cases)
    func gradient(_ row: Case) throws {
        let inputs = Self.inputs(row.op, dtype: .float64, time: 3, units: 4)
        func loss<B: Builder>(_ b: B, _ y: B.Value) throws -> B.Value { try b.reduce(.sum, b.unary(.square, y), axes: []) }
        func gradients(_ fused: Bool) throws -> [Tensor] {
            let tape = EagerContext(recording: true)
            let leaves = inputs.map(tape.watch)
            let y = fused ? try tape.apply(row.op, leaves) : try row.op.definition(tape, leaves)
            return try tape.gradients(of: loss(tape, y), withRespectTo: leaves)
        }
        let (fused, unfused) = (try gradients(true), try gradients(false))
        #expect(fused == unfused)
        let graph = try Graph.trace(inputs: inputs.map(TensorType.init(of:))) { b, xs in [try loss(b, b.apply(row.op, xs))] }
        let results = try GraphExecutor().run(graph.gradient(withRespectTo: Array(inputs.indices)),
                                              inputs: inputs + [Tensor(scalar: 1.0)])
        for (g, expected) in zip(results.dropFirst(), unfused) {
            #expect(Tolerance(absolute: 1e-12, relative: 1e-12).violation(g, expected) == nil)
        }
    }

    @Test("a GRU with the reset before the product takes no recurrent bias; bad shapes are errors naming them")
    func errors() throws {
        let op = RecurrentSequence(cell: .gru(.init(update: 0, reset: 1, candidate: 2, resetAfter: false, mix: .keras)), recurrentBias: true)
        #expect(throws: TensorError.self) { try op.outputType(Self.inputs(op, dtype: .float32).map(TensorType.init(of:))) }
        let lstm = RecurrentSequence(cell: .lstm(activation: .tanh, recurrentActivation: .sigmoid))
        var inputs = Self.inputs(lstm, dtype: .float32).map(TensorType.init(of:))
        inputs[3] = TensorType(.float32, [19, 19])
        #expect(throws: TensorError.self) { try lstm.outputType(inputs) }
    }
}
