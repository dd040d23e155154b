import Foundation
@testable import ParityCompare
import ParityConvert
import ParityKeras
import ParityTensor
import Testing

/// The faithful Keras → PyTorch weight conventions (`WeightConvention`) and the names `WeightCheck` gives to
/// a difference, on small tensors whose every element is distinct (so any wrong permutation shows).
@Suite struct WeightConventionTests {
    static func distinct(_ shape: [Int], offset: Double = 0) -> Tensor {
        Tensor(shape: shape, values: (0..<shape.reduce(1, *)).map { Float(offset + Double($0) * 0.25 + 1) })
    }

    /// PyTorch parameters as a faithful port stores them (a split bias as `b_ih = bias`, `b_hh = 0`).
    static func torchParameters(_ c: WeightConvention) -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        for p in c.parameters {
            result[p.names[0]] = p.value
            for extra in p.names.dropFirst() { result[extra] = Tensor.zeros(p.value.shape, dtype: p.value.dtype) }
        }
        return result
    }

    static let cases: [(String, ParameterTable.Options, [[Int]])] = [
        ("Dense", .init(bias: true), [[3, 5], [5]]),
        ("Conv2D", .init(bias: true), [[3, 2, 4, 6], [6]]),
        ("Conv1D", .init(bias: false), [[3, 4, 6]]),
        ("BatchNormalization", .init(), [[4], [4], [4], [4]]),
        ("LayerNormalization", .init(center: false), [[4]]),
        ("Embedding", .init(), [[10, 3]]),
        ("LSTM", .init(), [[3, 16], [4, 16], [16]]),
        ("GRU", .init(resetAfter: true), [[3, 12], [4, 12], [2, 12]]),
        ("SimpleRNN", .init(), [[3, 4], [4, 4], [4]]),
    ]

    @Test(arguments: 0..<cases.count) func roundTripsThroughPyTorchLayout(_ index: Int) throws {
        let (className, options, shapes) = Self.cases[index]
        let weights = shapes.enumerated().map { Self.distinct($1, offset: Double($0) * 100) }
        let convention = try #require(try WeightConvention.of(className: className, options: options, weights: weights))
        #expect(try convention.kerasWeights(Self.torchParameters(convention)) == weights)
    }

    @Test func denseAndConvolutionLayouts() throws {
        let kernel = Self.distinct([3, 2, 4, 6])
        let conv = try #require(try WeightConvention.of(className: "Conv2D", options: .init(), weights: [kernel, Self.distinct([6])]))
        #expect(conv.parameters[0].value.shape == [6, 4, 3, 2])
        #expect(conv.parameters[0].transform == "permute (3, 2, 0, 1)")
        let dense = try #require(try WeightConvention.of(className: "Dense", options: .init(), weights: [Self.distinct([3, 5]), Self.distinct([5])]))
        #expect(dense.parameters[0].value == (try Self.distinct([3, 5]).permuted([1, 0])))
    }

    @Test func gruGateBlocksAreReordered() throws {
        // Keras blocks [z, r, h] filled with 1, 2, 3: PyTorch's [r, z, n] rows read 2, 1, 3.
        let kernel = Tensor(shape: [1, 6], values: [Float(1), 1, 2, 2, 3, 3])
        let gru = try #require(try WeightConvention.of(className: "GRU", options: .init(),
                                                       weights: [kernel, Self.distinct([2, 6]), Self.distinct([2, 6])]))
        #expect(gru.parameters[0].value.doubles == [2, 2, 1, 1, 3, 3])
        #expect(try WeightConvention.of(className: "GRU", options: .init(resetAfter: false),
                                        weights: [kernel, Self.distinct([2, 6]), Self.distinct([6])]) == nil)
    }

    static func classify(_ className: String, _ shapes: [[Int]], parameter: Int, actual: (WeightConvention.Parameter) throws -> [Tensor]) throws -> String {
        let weights = shapes.enumerated().map { Self.distinct($1, offset: Double($0) * 100) }
        let convention = try #require(try WeightConvention.of(className: className, options: .init(), weights: weights))
        let p = convention.parameters[parameter]
        let parts = try actual(p)
        let sum = try parts.dropFirst().reduce(parts[0].cast(to: .float64)) { try $0.combining($1.cast(to: .float64), .add) }
        #expect(!WeightCheck.equal(sum, p.value, rounding: parts.count > 1))
        return try WeightCheck.classify(p, actual: sum, parts: parts, className: className).0.rawValue
    }

    @Test func namesEachKindOfDifference() throws {
        // TF1's [i, c, f, o] order: blocks 1 and 2 swapped.
        #expect(try Self.classify("LSTM", [[3, 16], [4, 16], [16]], parameter: 0) { [try ParameterStep.reorderingBlocks($0.value, [0, 2, 1, 3])] } == "lstm-gate-order")
        // Keras's [z, r, h] copied without reordering.
        #expect(try Self.classify("GRU", [[3, 12], [4, 12], [2, 12]], parameter: 1) { p in
            [try p.source.permuted([1, 0])]
        } == "gru-gate-order")
        #expect(try Self.classify("LSTM", [[3, 16], [4, 16], [16]], parameter: 2) { [$0.value, $0.value] } == "lstm-bias-doubled")
        #expect(try Self.classify("Conv2D", [[3, 2, 4, 6], [6]], parameter: 0) { [try $0.source.permuted([3, 2, 1, 0])] } == "kernel-layout")
        #expect(try Self.classify("Dense", [[4, 4], [4]], parameter: 0) { [$0.source] } == "kernel-layout")
        // A kernel reshaped to PyTorch's shape instead of transposed.
        #expect(try Self.classify("Dense", [[5, 10], [10]], parameter: 0) { [try $0.source.reshaped([10, 5])] } == "kernel-layout")
        #expect(try Self.classify("Dense", [[3, 5], [5]], parameter: 1) { p in
            var v = p.value.doubles
            v[2] += 0.05
            return [Tensor(shape: p.value.shape, values: v.map(Float.init))]
        } == "weights-differ")
    }
}
