import Foundation
import ParityConvert
import ParityTensor
import Testing

/// The one Keras ↔ PyTorch parameter table: every row goes Keras → PyTorch → Keras to the same bits, into
/// the shapes PyTorch's modules hold (written here from `torch/nn/modules`, not from the table).
@Suite struct ParameterTableTests {
    /// Distinct, non-zero values (a bias sum `b + 0` keeps them bit for bit; `-0.0 + 0` would not).
    static func distinct(_ shape: [Int], offset: Int) -> Tensor {
        let values: [Float] = (0..<shape.reduce(1, *)).map { i in Float(sin(Double(offset + i) + 0.5) + 2) }
        return Tensor(shape: shape, values: values)
    }

    /// Per class and options: the Keras variables' shapes (in `layer.weights` order) and the PyTorch
    /// parameters' shapes (in row order, every part), for in = 3, out = 6, kernel (2, 4), 4 units.
    static let cases: [(String, ParameterTable.Options, keras: [[Int]], torch: [[Int]])] = [
        ("Dense", .init(), [[3, 6], [6]], [[6, 3], [6]]),
        ("Dense", .init(bias: false), [[3, 6]], [[6, 3]]),
        ("Conv1D", .init(), [[2, 3, 6], [6]], [[6, 3, 2], [6]]),
        ("Conv2D", .init(), [[2, 4, 3, 6], [6]], [[6, 3, 2, 4], [6]]),
        ("Conv3D", .init(bias: false), [[2, 4, 5, 3, 6]], [[6, 3, 2, 4, 5]]),
        ("Conv1DTranspose", .init(), [[2, 6, 3], [6]], [[3, 6, 2], [6]]),
        ("Conv2DTranspose", .init(), [[2, 4, 6, 3], [6]], [[3, 6, 2, 4], [6]]),
        ("Conv3DTranspose", .init(), [[2, 4, 5, 6, 3], [6]], [[3, 6, 2, 4, 5], [6]]),
        ("DepthwiseConv1D", .init(), [[2, 3, 2], [6]], [[6, 1, 2], [6]]),
        ("DepthwiseConv2D", .init(), [[2, 4, 3, 2], [6]], [[6, 1, 2, 4], [6]]),
        ("SeparableConv1D", .init(), [[2, 3, 2], [1, 6, 5], [5]], [[6, 1, 2], [5, 6, 1], [5]]),
        ("SeparableConv2D", .init(), [[2, 4, 3, 2], [1, 1, 6, 5], [5]], [[6, 1, 2, 4], [5, 6, 1, 1], [5]]),
        ("BatchNormalization", .init(), [[4], [4], [4], [4]], [[4], [4], [4], [4]]),
        ("BatchNormalization", .init(scale: false), [[4], [4], [4]], [[4], [4], [4]]),
        ("LayerNormalization", .init(center: false), [[4]], [[4]]),
        ("GroupNormalization", .init(), [[4], [4]], [[4], [4]]),
        ("Embedding", .init(), [[10, 3]], [[10, 3]]),
        ("LSTM", .init(), [[3, 16], [4, 16], [16]], [[16, 3], [16, 4], [16], [16]]),
        ("GRU", .init(), [[3, 12], [4, 12], [2, 12]], [[12, 3], [12, 4], [12], [12]]),
        ("GRU", .init(bias: false), [[3, 12], [4, 12]], [[12, 3], [12, 4]]),
        ("SimpleRNN", .init(), [[3, 4], [4, 4], [4]], [[4, 3], [4, 4], [4], [4]]),
        ("LayerScale", .init(), [[6]], [[6]]),
    ]

    @Test("every class of the table has a case") func covered() {
        #expect(Set(Self.cases.map(\.0)) == Set(ParameterTable.classes))
    }

    @Test("Keras → PyTorch → Keras gives the same bits, in PyTorch's shapes", arguments: 0..<cases.count)
    func roundTrip(_ index: Int) throws {
        let (className, options, kerasShapes, torchShapes) = Self.cases[index]
        let rows = try #require(ParameterTable.rows(className, options))
        #expect(rows.count == kerasShapes.count)
        var torchOut: [[Int]] = []
        for (i, (row, shape)) in zip(rows, kerasShapes).enumerated() {
            let keras = Self.distinct(shape, offset: 100 * i)
            let torch = try row.toTorch(keras)
            #expect(torch.count == row.torch.count)
            torchOut += torch.map(\.shape)
            let back = try row.toKeras(torch, multiplier: shape.last!)
            #expect(back.shape == keras.shape && back.floats == keras.floats, "\(className).\(row.keras): \(row.transform)")
        }
        #expect(torchOut == torchShapes, "\(className)")
    }

    @Test("GRU gates: PyTorch's r block is Keras's second, PyTorch's bias_hh Keras's second row; LSTM's bias_hh is zeros")
    func gates() throws {
        let gru = try #require(ParameterTable.rows("GRU"))
        let kernel = Self.distinct([2, 3], offset: 0)  // 1 unit: blocks are columns z, r, h
        let weight = try gru[0].toTorch(kernel)[0]
        #expect(weight.floats == [kernel.floats[1], kernel.floats[4], kernel.floats[0], kernel.floats[3], kernel.floats[2], kernel.floats[5]])
        #expect(gru[0].transform == "transpose, gate blocks [z, r, h] → [r, z, n]")
        #expect(gru[0].inverseTransform() == "gate blocks [r, z, n] → [z, r, h], transpose")
        let bias = try gru[2].toTorch(Self.distinct([2, 3], offset: 0))
        #expect(bias[1].floats == [1, 0, 2].map { Self.distinct([2, 3], offset: 0).floats[3 + $0] })
        let lstm = try #require(ParameterTable.rows("LSTM"))
        #expect(try lstm[2].toTorch(Self.distinct([8], offset: 0))[1].floats == Array(repeating: 0, count: 8))
        #expect(lstm[0].transform == "transpose, gates [i, f, c, o] = [i, f, g, o]" && lstm[0].gates == ["i", "f", "g", "o"])
    }

    @Test("docs/parameters.md is ParameterTable.markdown (regenerate with PARITY_RECORD_PARAMETERS=1)")
    func document() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/parameters.md")
        if ProcessInfo.processInfo.environment["PARITY_RECORD_PARAMETERS"] == "1" { try Data(ParameterTable.markdown.utf8).write(to: url) }
        #expect(String(decoding: try Data(contentsOf: url), as: UTF8.self) == ParameterTable.markdown, "docs/parameters.md drifted from ParameterTable")
    }

    @Test("classes without a faithful module have no rows") func refused() {
        #expect(ParameterTable.rows("GRU", .init(resetAfter: false)) == nil)
        #expect(ParameterTable.rows("Attention") == nil)
    }
}

extension Tensor {
    fileprivate var floats: [Float] { values(Float.self) ?? [] }
}
