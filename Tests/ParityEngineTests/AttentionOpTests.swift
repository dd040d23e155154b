import Testing
import ParityEngine
import ParityTestSupport

/// The one-head-at-a-time attention kernel computes exactly its definition; its gradient is the
/// definition's.
@Suite("Attention: fused heads against the definition")
struct AttentionOpTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let op: Attention
        let mask: [Int]?
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "Keras: softmax first, scaled logits", op: Attention(scale: 0.125, normalization: .softmaxFirst), mask: nil),
        Case(name: "Keras: softmax first, no scale", op: Attention(scale: nil, normalization: .softmaxFirst), mask: nil),
        Case(name: "PyTorch: normalised after the product", op: Attention(scale: 0.35, normalization: .afterProduct), mask: nil),
        Case(name: "PyTorch: causal", op: Attention(scale: 0.35, normalization: .afterProduct, causal: true), mask: nil),
        Case(name: "PyTorch: additive mask, broadcast over heads", op: Attention(scale: 0.5, normalization: .afterProduct, mask: .additive),
             mask: [2, 1, 7, 9]),
        Case(name: "PyTorch: boolean mask with a fully masked row",
             op: Attention(scale: 0.5, normalization: .afterProduct, mask: .keep(fill: -.infinity, zeroProbabilities: false)), mask: [7, 9]),
        Case(name: "softmax first with a keep mask and causal",
             op: Attention(scale: 1, normalization: .softmaxFirst, mask: .keep(fill: -.infinity, zeroProbabilities: false), causal: true),
             mask: [1, 3, 7, 9]),
        Case(name: "Keras dot_product_attention: masked logits −0.7·3.38953e38",
             op: Attention(scale: 0.125, normalization: .softmaxFirst, mask: .keep(fill: 3.38953e38 * -0.7, zeroProbabilities: false)),
             mask: [2, 1, 7, 9]),
        Case(name: "Keras Softmax layer: masked logits −1e9, their probabilities 0",
             op: Attention(scale: nil, normalization: .softmaxFirst, mask: .keep(fill: -1e9, zeroProbabilities: true)), mask: [2, 1, 7, 9]),
    ]

    static func inputs(_ row: Case, dtype: DType) -> [Tensor] {
        var rng = SeededGenerator(seed: 5)
        func uniform(_ shape: [Int]) -> Tensor { Tensor.uniform(shape, in: -2...2, generator: &rng).cast(to: dtype) }
        var inputs = [uniform([2, 3, 7, 11]), uniform([2, 3, 9, 11]), uniform([2, 3, 9, 5])]
        if let shape = row.mask {
            if case .keep = row.op.mask {
                var keep = (0..<Shape.count(shape)).map { Int64(($0 * 7) % 3 == 0 ? 0 : 1) }
                for j in 0..<9 { keep[j] = 0 }  // the first query row sees no key
                inputs.append(Tensor(shape: shape, int64: keep))
            } else {
                inputs.append(uniform(shape))
            }
        }
        return inputs
    }

    static func bits(_ t: Tensor) -> [UInt64] { t.doubles.map(\.bitPattern) }

    @Test("forward: the definition's bits on every level, at 1 and 3 threads", arguments: cases)
    func forward(_ row: Case) throws {
        for dtype in [DType.float32, .float64] {
            let inputs = Self.inputs(row, dtype: dtype)
            let eager = EagerContext()
            let expected = try row.op.definition(eager, inputs.map(eager.constant)).tensor
            #expect(try row.op.outputType(inputs.map(TensorType.init(of:))) == TensorType(of: expected))
            for level in InstructionSet.available {
                for threads in [1, 3] {
                    let y = try InstructionSet.forcing(level) { try KernelThreads.forcing(threads) { try row.op.forward(inputs) } }
                    #expect(Self.bits(y) == Self.bits(expected), "\(level), \(threads) threads, \(dtype)")
                }
            }
        }
    }

    @Test("forward, normalised after the product: rows of signed zeros, NaN and overflowing scores, more than sixteen rows")
    func specialScores() throws {
        for dtype in [DType.float32, .float64] {
            var rng = SeededGenerator(seed: 9)
            let (l, s, e) = (21, 40, 8)
            var q = Tensor.uniform([2, l, e], in: -2...2, generator: &rng).doubles
            for p in 0..<e { q[p] = 0; q[e + p] = p % 2 == 0 ? -0.0 : 0 }  // scores ±0 in rows 0 and 1
            q[2 * e + 3] = .nan                                            // row 2: NaN everywhere
            q[4 * e] = 1e38                                                // row 4: ±∞ in Float32
            let k = Tensor.uniform([2, s, e], in: -2...2, generator: &rng), v = Tensor.uniform([2, s, 6], in: -2...2, generator: &rng)
            let inputs = [Tensor(shape: [2, l, e], values: q).cast(to: dtype), k.cast(to: dtype), v.cast(to: dtype)]
            let op = Attention(scale: 0.5, normalization: .afterProduct)
            let eager = EagerContext()
            let expected = try op.definition(eager, inputs.map(eager.constant)).tensor
            for level in InstructionSet.available {
                for threads in [1, 3] {
                    let y = try InstructionSet.forcing(level) { try KernelThreads.forcing(threads) { try op.forward(inputs) } }
                    #expect(Self.bits(y) == Self.bits(expected), "\(level), \(threads) threads, \(dtype)")
                }
            }
        }
    }

    /// q stored with its sequence axis first inside padded rows (offset 1), k transposed (its head
    /// dimension before its keys: a column stride ≠ 1), v with its keys first, the output written with
    /// its queries first: the kernel reads and writes in place with the contiguous forward's bits.
    @Test("operands read in place through strides, output written permuted: the same bits on every level, at 1 and 3 threads",
          arguments: cases)
    func stridedOperands(_ row: Case) throws {
        for dtype in [DType.float32, .float64] {
            let inputs = Self.inputs(row, dtype: dtype)
            let expected = try row.op.forward(inputs).permuted([2, 0, 1, 3])
            let q = try inputs[0].permuted([2, 0, 1, 3]).padded(before: [0, 0, 0, 1], after: [0, 0, 0, 2])  // [7, 2, 3, 14]
            let k = try inputs[1].permuted([0, 1, 3, 2])                                                      // [2, 3, 11, 9]
            let v = try inputs[2].permuted([2, 0, 1, 3])                                                      // [9, 2, 3, 5]
            let layouts = [Attention.OperandLayout(shape: [2, 3, 7, 11], offset: 1, strides: [42, 14, 84, 1]),
                           Attention.OperandLayout(shape: [2, 3, 9, 11], offset: 0, strides: [297, 99, 1, 9]),
                           Attention.OperandLayout(shape: [2, 3, 9, 5], offset: 0, strides: [15, 5, 30, 1])]
            let stored = [q, k, v] + inputs.dropFirst(3)
            for level in InstructionSet.available {
                for threads in [1, 3] {
                    let y = try InstructionSet.forcing(level) {
                        try KernelThreads.forcing(threads) {
                            try row.op.forward(stored, operands: layouts, output: [7, 2, 3, 5], outputStrides: [15, 5, 30, 1])
                        }
                    }
                    #expect(y.shape == expected.shape)
                    #expect(Self.bits(y) == Self.bits(expected), "\(level), \(threads) threads, \(dtype)")
                }
            }
        }
    }

    /// The in-place entry reads and writes through raw offsets and strides: layouts that reach outside
    /// their tensors, operands that do not form an attention, or an output layout that does not cover
    /// its tensor are refused before any element is read.
    @Test("operand and output layouts outside their tensors, or not an attention, are refused, naming the op")
    func layoutsChecked() throws {
        let op = Self.cases[2].op
        let inputs = Self.inputs(Self.cases[2], dtype: .float32)  // q [2, 3, 7, 11], k [2, 3, 9, 11], v [2, 3, 9, 5]
        let plain = inputs.map { Attention.OperandLayout(shape: $0.shape) }
        let output = [2, 3, 7, 5]
        #expect(try op.forward(inputs, operands: plain, output: output) == op.forward(inputs))
        func refused(_ operands: [Attention.OperandLayout], output: [Int] = output, strides: [Int]? = nil) {
            #expect {
                _ = try op.forward(inputs, operands: operands, output: output, outputStrides: strides)
            } throws: { error in
                "\(error)".contains("attention")
            }
        }
        var shifted = plain
        shifted[1].offset = 1                        // k's last element one past its tensor
        refused(shifted)
        var negative = plain
        negative[2].offset = -1
        refused(negative)
        var wide = plain
        wide[0].strides[2] = 12                      // q's rows 12 apart: 7 rows reach past 2·3·7·11
        refused(wide)
        var unequal = plain
        unequal[1] = Attention.OperandLayout(shape: [3, 2, 9, 11])  // leading axes other than q's
        refused(unequal)
        refused(plain, output: [2, 3, 7, 4])        // fewer elements than the result
        refused(plain, strides: [105, 35, 5, 2])     // rows of the output past its end
    }

    @Test("exp rows normalised after the product: the definition's max, exp and sequential sum on every level, tails and specials")
    func expRows() throws {
        var rng = SeededGenerator(seed: 17)
        for (rows, length) in [(1, 1), (3, 7), (17, 16), (21, 33), (16, 128), (5, 40)] {
            var x = Tensor.uniform([rows, length], in: -30...30, generator: &rng).cast(to: .float32).doubles
            if rows > 2 { x[length] = .nan; x[2 * length + length / 2] = .infinity }     // row 1: NaN, row 2: +∞
            if rows > 4 { for j in 0..<length { x[4 * length + j] = j % 2 == 0 ? 0 : -0.0 } }  // row 4: ±0
            let scores = Tensor(shape: [rows, length], values: x).cast(to: .float32)
            for scale: Float? in [nil, 0.125] {
                let eager = EagerContext()
                var s = eager.constant(scores)
                if let scale { s = try eager.multiply(s, eager.constant(Tensor(shape: [], values: [scale]))) }
                let shifted = try eager.subtract(s, eager.reduce(.max, s, axes: [-1], keepDims: true))
                let weights = try eager.unary(.exp, shifted)
                let totals = try eager.reduce(.sum, weights, axes: [-1])
                for level in InstructionSet.available {
                    // Rows 3 elements apart beyond their length (a scratch tile's row stride).
                    let stride = length + 3
                    var tile = [Float](repeating: 7, count: rows * stride)
                    let values = scores.values(Float.self)!
                    for i in 0..<rows { for j in 0..<length { tile[i * stride + j] = values[i * length + j] } }
                    var sums = [Float](repeating: 0, count: rows)
                    InstructionSet.forcing(level) {
                        tile.withUnsafeMutableBufferPointer { t in
                            sums.withUnsafeMutableBufferPointer { o in
                                SoftmaxKernel.attentionExpRows(t.baseAddress!, rows: rows, length: length, rowStride: stride, scale: scale,
                                                               totals: o.baseAddress!)
                            }
                        }
                    }
                    let got = (0..<rows).flatMap { i in (0..<length).map { j in tile[i * stride + j] } }
                    #expect(got.map(\.bitPattern) == weights.tensor.values(Float.self)!.map(\.bitPattern), "\(rows)×\(length), \(level)")
                    #expect(sums.map(\.bitPattern) == totals.tensor.values(Float.self)!.map(\.bitPattern), "\(rows)×\(length), \(level)")
                    #expect((0..<rows).allSatisfy { i in (length..<stride).allSatisfy { tile[i * stride + $0] == 7 } })
                }
            }
        }
    }

    /// Rows masked with −∞ have NaN gradients (as in the frameworks), which no equality can compare.
    @Test("gradient: the definition's", arguments: cases.filter { $0.op.mask != .keep(fill: -.infinity, zeroProbabilities: false) })
    func gradient(_ row: Case) throws {
        let inputs = Self.inputs(row, dtype: .float64)
        func gradients(_ fused: Bool) throws -> [Tensor] {
            let tape = EagerContext(recording: true)
            // q, k, v (and a float mask) are differentiated; a keep mask is an integer constant.
            let leaves = inputs.filter(\.dtype.isFloatingPoint).map(tape.watch)
            let all = leaves + inputs.filter { !$0.dtype.isFloatingPoint }.map(tape.constant)
            let y = fused ? try tape.apply(row.op, all) : try row.op.definition(tape, all)
            return try tape.gradients(of: tape.reduce(.sum, tape.unary(.square, y), axes: []), withRespectTo: leaves)
        }
        #expect(try gradients(true) == gradients(false))
    }
}
