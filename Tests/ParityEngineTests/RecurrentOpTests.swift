import Foundation
import Testing
import ParityEngine
import ParityTensor
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
    ] + projected

    static let lstm = RecurrentSequence.Cell.lstm(activation: .tanh, recurrentActivation: .sigmoid)
    /// The op projecting its input itself (``RecurrentSequence/projection``): step by step in the loop for an
    /// LSTM with sequential sums, the projection first otherwise. Every bias combination.
    static let projected: [Case] = [
        Case(name: "Keras LSTM, projected", op: RecurrentSequence(cell: lstm, outputBias: true, projection: .matmulDefault)),
        Case(name: "PyTorch LSTM backwards, projected", op: RecurrentSequence(cell: lstm, reversed: true, recurrentBias: true,
                                                                              projection: .matmulDefault)),
        Case(name: "PyTorch LSTM, projected from b_ih (fused linear)", op: RecurrentSequence(cell: lstm, recurrentBias: true,
                                                                                            projection: .matmulDefault, projectionBias: true)),
        Case(name: "LSTM without biases, projected with rounded products",
             op: RecurrentSequence(cell: lstm, projection: Numerics(accumulation: .sequential, fusedMultiplyAdd: false))),
        Case(name: "LSTM with both biases, hard sigmoid, projected",
             op: RecurrentSequence(cell: .lstm(activation: .relu, recurrentActivation: .hardSigmoid), recurrentBias: true, outputBias: true,
                                   projection: .matmulDefault)),
        Case(name: "Keras LSTM, projected in blocks from a bias (the projection first)",
             op: RecurrentSequence(cell: lstm, outputBias: true, projection: Numerics(accumulation: .blocked(size: 4), fusedMultiplyAdd: false),
                                   projectionBias: true)),
        Case(name: "Keras GRU, projected (the projection first)",
             op: RecurrentSequence(cell: .gru(.init(update: 0, reset: 1, candidate: 2, resetAfter: true, mix: .keras)), recurrentBias: true,
                                   projection: .matmulDefault)),
    ]

    /// Features 13 for a projecting op: a depth no vector or unrolled loop divides.
    static func inputs(_ op: RecurrentSequence, dtype: DType, batch: Int = 3, time: Int = 5, units: Int = 19, features: Int = 13) -> [Tensor] {
        var rng = SeededGenerator(seed: 11)
        let width = op.cell.gates * units
        func uniform(_ shape: [Int]) -> Tensor { Tensor.uniform(shape, in: -1...1, generator: &rng).cast(to: dtype) }
        var inputs = [uniform([batch, time, op.projection == nil ? width : features]), uniform([batch, units])]
        if case .lstm = op.cell { inputs.append(uniform([batch, units])) }
        inputs.append(uniform([units, width]))
        if op.recurrentBias { inputs.append(uniform([width])) }
        if op.outputBias { inputs.append(uniform([width])) }
        if op.projection != nil { inputs.append(uniform([features, width])) }
        if op.projectionBias { inputs.append(uniform([width])) }
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

    /// `t`'s elements in a new temporary file, read in place from its mapping (the file's name is
    /// removed at once; the mapping lives as long as the tensor).
    static func mapped(_ t: Tensor) throws -> Tensor {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("parity-recurrent-\(UUID().uuidString)").path
        let bytes = t.values(Float.self).map { v in v.withUnsafeBufferPointer { Data(buffer: $0) } }
            ?? t.values(Double.self)!.withUnsafeBufferPointer { Data(buffer: $0) }
        #expect(FileManager.default.createFile(atPath: path, contents: bytes))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let mapping = try #require(FileMapping(path: path))
        return try #require(Tensor(shape: t.shape, dtype: t.dtype, mappedAt: 0, in: mapping))
    }

    /// Weights read in place from a file (a Keras recurrent kernel and its bias as the `.h5` stores them):
    /// `U`, the biases and a projection's `W` are read from the mapping, not copied into arrays, and the
    /// result is the same bits as with arrays.
    @Test("forward reads U, W and the biases in place, with the bits of arrays", arguments: cases)
    func weightsInPlace(_ row: Case) throws {
        let first: Int
        if case .lstm = row.op.cell { first = 3 } else { first = 2 }
        for dtype in [DType.float32, .float64] {
            let inputs = Self.inputs(row.op, dtype: dtype, units: 70)
            let mapped = try inputs.enumerated().map { $0.offset >= first ? try Self.mapped($0.element) : $0.element }
            let (y, expected) = (try row.op.forward(mapped), try row.op.forward(inputs))
            #expect(y == expected, "\(dtype)")
            let copied = mapped[first...].filter { !$0.isMapped }.count
            #expect(copied == 0, "\(dtype): a weight was copied")
        }
    }

    /// The values' bits, every NaN as one (IEEE 754 leaves the sign and payload of a NaN from two NaN
    /// operands unspecified, and an optimising C compiler may commute `a + b`).
    static func bits(_ t: Tensor) -> [UInt64] {
        if let v = t.values(Float.self) { return v.map { $0.isNaN ? UInt64(Float.nan.bitPattern) : UInt64($0.bitPattern) } }
        return t.values(Double.self)!.map { $0.isNaN ? Double.nan.bitPattern : $0.bitPattern }
    }

    /// Float32 sigmoid/tanh LSTMs run one C pass per step over the four gates (`parity_lstm_cell_f32`);
    /// units 37 and 70 leave vector tails on every level (and 3 threads groups of 32, 32 and 6 units).
    /// A projecting op gets the specials in its input (feature `column % F`), so they reach whole rows of
    /// the projection.
    @Test("LSTM cell in C: the definition's bits with ±∞, NaN and ±0 in the inputs and states, every level, 1 and 3 threads",
          arguments: [cases[0], cases[2], projected[0], projected[1], projected[2], projected[3]])
    func lstmSpecials(_ row: Case) throws {
        for units in [37, 70] {
            var inputs = Self.inputs(row.op, dtype: .float32, time: 4, units: units)
            // Per batch row, one special in a different gate and step, so that each row's NaN (which reaches
            // every unit of its row through h·U at the next step) leaves the other rows finite.
            var x = inputs[0].values(Float.self)!, h = inputs[1].values(Float.self)!, c = inputs[2].values(Float.self)!
            let (time, width) = (4, inputs[0].shape[2])
            let specials: [(row: Int, step: Int, column: Int, value: Float)] = [
                (0, 1, 3, .infinity), (0, 2, units + 5, -.infinity), (0, 3, 2 * units + 1, .greatestFiniteMagnitude),
                (1, 2, 3 * units + 2, -.infinity), (1, 3, units + 1, .infinity), (1, 0, 2 * units + 9, -0.0),
                (2, 3, 2 * units + 4, .nan), (2, 1, 0, -.greatestFiniteMagnitude), (2, 0, 3 * units, .leastNonzeroMagnitude),
            ]
            for s in specials { x[(s.row * time + s.step) * width + s.column % width] = s.value }
            h[0] = -0.0; h[1] = 0; c[2] = .infinity; c[units + 3] = -.infinity; c[2 * units + 5] = -0.0
            inputs[0] = Tensor(shape: inputs[0].shape, values: x)
            inputs[1] = Tensor(shape: inputs[1].shape, values: h)
            inputs[2] = Tensor(shape: inputs[2].shape, values: c)
            let eager = EagerContext()
            let expected = try row.op.definition(eager, inputs.map(eager.constant)).tensor
            let values = expected.values(Float.self)!
            #expect(values.contains(where: \.isNaN) && values.contains(where: \.isInfinite) && values.contains(where: { !$0.isNaN && !$0.isInfinite }))
            for level in InstructionSet.available {
                for threads in [1, 3] {
                    let y = try InstructionSet.forcing(level) { try KernelThreads.forcing(threads) { try row.op.forward(inputs) } }
                    #expect(Self.bits(y) == Self.bits(expected), "\(level), \(threads) threads, \(units) units")
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
        // A projecting op: W must be [F, 4u] for x [batch, time, F].
        let projecting = Self.projected[0].op
        var types = Self.inputs(projecting, dtype: .float32).map(TensorType.init(of:))
        #expect(try projecting.outputType(types) == TensorType(.float32, [3, 5, 38]))
        types[types.count - 1] = TensorType(.float32, [12, 76])
        #expect(throws: TensorError.self) { try projecting.outputType(types) }
        let fromBias = Self.projected[2].op
        types = Self.inputs(fromBias, dtype: .float32).map(TensorType.init(of:))
        #expect(try fromBias.outputType(types) == TensorType(.float32, [3, 5, 38]))
        types[types.count - 1] = TensorType(.float32, [75])
        #expect(throws: TensorError.self) { try fromBias.outputType(types) }
    }
}
