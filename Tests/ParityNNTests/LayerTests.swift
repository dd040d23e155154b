import Foundation
import ParityTensor
import ParityEngine
import Testing
import ParityNN
import ParityTestSupport

/// Parity's layers (Keras layout) against the PyTorch modules they correspond to, from
/// `Tests/Fixtures/nn/layers.json` (scripts/make_layer_fixtures.py, PyTorch 2.15).
struct LayerCase: CustomTestStringConvertible, Sendable {
    let name: String
    let model: any Model
    let input: Tensor
    let output32: Tensor
    let output64: Tensor
    var testDescription: String { name }

    static let all: [LayerCase] = {
        do {
            return try Fixtures.json("nn/layers.json")["cases"]!.array!.map { json in
                let w = json["weights"]!
                func weight(_ key: String) throws -> Tensor { try Fixtures.tensor(w[key], as: .float32) }
                let model: any Model
                switch json["layer"]!.string! {
                case "ffn":
                    model = Sequential([Dense(kernel: try weight("k1"), bias: try weight("b1"), activation: .unary(.sigmoid)),
                                        Dense(kernel: try weight("k2"), bias: try weight("b2"))])
                default:
                    model = LSTM(kernel: try weight("kernel"), recurrentKernel: try weight("recurrent"), bias: try weight("bias"),
                                 returnSequences: json["returnSequences"]!.bool!)
                }
                return LayerCase(name: json["name"]!.string!, model: model, input: try Fixtures.tensor(json["input"], as: .float32),
                                 output32: try Fixtures.tensor(json["output32"], as: .float32),
                                 output64: try Fixtures.tensor(json["output64"]))
            }
        } catch {
            fatalError("cannot read Tests/Fixtures/nn/layers.json: \(error)")
        }
    }()

    static let modes: [ExecutionMode] = [.eager, .graph(.withoutFusion), .graph(.standard)]
}

@Suite("Layers against PyTorch")
struct LayerTests {
    /// Float32 bound: PyTorch's GEMM (oneDNN/MKL) and vectorised sigmoid/tanh differ from Parity's
    /// kernels by a few ULP per op. Measured over 10 recurrent steps: max abs 1.2e-7 (outputs near
    /// zero reach 41 ULP, so the bound is absolute): 2 ULP at 1.0.
    static let float32 = Tolerance(absolute: 2.4e-7)
    /// Float64 bound: the same differences at double precision; measured max abs 8.3e-17.
    static let float64 = Tolerance(absolute: 5e-16)

    @Test("float32 output matches PyTorch in every mode", arguments: LayerCase.all, LayerCase.modes)
    func float32(_ row: LayerCase, _ mode: ExecutionMode) throws {
        let y = try row.model.run([row.input], mode: mode)
        let violation = Self.float32.violation(y, row.output32)
        #expect(violation == nil, "\(row.name) [\(mode)]: \(violation ?? "")")
    }

    @Test("float64 output matches PyTorch in every mode", arguments: LayerCase.all, LayerCase.modes)
    func float64(_ row: LayerCase, _ mode: ExecutionMode) throws {
        let y = try row.model.run([row.input.cast(to: .float64)], mode: mode)
        let violation = Self.float64.violation(y, row.output64)
        #expect(violation == nil, "\(row.name) [\(mode)]: \(violation ?? "")")
    }

    @Test("eager and unfused graph agree bit for bit", arguments: LayerCase.all)
    func modesAgree(_ row: LayerCase) throws {
        #expect(try row.model.run([row.input], mode: .eager) == row.model.run([row.input], mode: .graph(.withoutFusion)))
    }

    @Test("a wrongly shaped input is a clear error, not a crash")
    func badInput() throws {
        let lstm = LayerCase.all.first { $0.name.hasPrefix("LSTM") }!.model
        do {
            _ = try lstm.run([Tensor.zeros([2, 3])], mode: .eager)
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("LSTM"))
        }
    }
}

@Suite("Seed examples")
struct SeedTests {
    @Test("every seed example: fusion explains any eager/graph difference; float64 reference is close")
    func seedExamples() throws {
        for example in SeedExamples.all() {
            let result = try ModeComparison(model: example.model, input: example.input)
            #expect(result.unfusedGraphMatchesEager, "(\(example.label))")
            #expect(result.eagerError < 1e-6 && result.graphError < 1e-6, "(\(example.label))")
            #expect(result.difference.maxAbsolute <= 2 * max(result.eagerError, result.graphError))
            #expect(!result.fusedOps.isEmpty)
            #expect(result.cause.hasPrefix(result.difference.isBitIdentical ? "no difference" : "fusion changed rounding"))
        }
    }

    @Test("the branching example takes each branch once")
    func branches() throws {
        let examples = SeedExamples.all().filter { $0.label.hasPrefix("c") }
        let outputs = try examples.map { try $0.model.run([$0.input], mode: .graph(.standard)) }
        let branching = try #require(examples.first?.model as? BranchingDense)
        #expect(try outputs[0] == branching.positive.run([examples[0].input], mode: .graph(.standard)))
        #expect(try outputs[1] == branching.negative.run([examples[1].input], mode: .graph(.standard)))
    }
}

extension LayerTests {
    /// A depthwise kernel read in place from a file (a Keras weight) stays there: the grouped
    /// convolution's kernel is the same elements under the shape `[k…, 1, C·M]`, not a copy.
    @Test("a depthwise kernel read in place from a file is not copied by the layer")
    func depthwiseKernelInPlace() throws {
        let values: [Float] = (0..<2304).map { i in Float(i % 17) - 8 }  // [3, 3, 64, 4]: 9 KiB
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("parity-depthwise-\(UUID().uuidString)").path
        #expect(FileManager.default.createFile(atPath: path, contents: values.withUnsafeBufferPointer { Data(buffer: $0) }))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let mapping = try #require(FileMapping(path: path))
        let kernel = try #require(Tensor(shape: [3, 3, 64, 4], dtype: .float32, mappedAt: 0, in: mapping))
        let layer = DepthwiseConvolution(kernel: kernel, bias: nil, strides: [1, 1], dilations: [1, 1], padding: .valid)
        #expect(layer.convolution.kernel.shape == [3, 3, 1, 256] && layer.convolution.kernel.values(Float.self) == values)
        #expect(layer.convolution.kernel.sharesStorage(with: try kernel.reshaped([3, 3, 1, 256])))
    }
}
