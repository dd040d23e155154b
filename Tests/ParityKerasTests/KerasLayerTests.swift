import Foundation
import Testing
import ParityKeras
import ParityTestSupport

/// A single Keras layer from `Tests/Fixtures/keras/layers/*.json` (scripts/make_keras_layer_fixtures.py,
/// run with the real Keras; versions in each file's `meta`).
struct KerasLayerCase: CustomTestStringConvertible, Sendable {
    let family: String
    let json: JSONValue
    var testDescription: String { "\(family): \(json["name"]!.string!)" }

    static let all: [KerasLayerCase] = {
        let folder = Fixtures.root.appendingPathComponent("keras/layers")
        let files = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return files.filter { $0.hasSuffix(".json") }.sorted().flatMap { file in
            let root = try! Fixtures.json("keras/layers/\(file)")
            return root["cases"]!.array!.map { KerasLayerCase(family: String(file.dropLast(5)), json: $0) }
        }
    }()

    var config: KerasLayerConfig {
        get throws {
            let data = try JSONEncoder().encode(json["config"]!)
            return KerasLayerConfig(className: json["class_name"]!.string!, name: json["name"]!.string!,
                                    config: try KerasJSON.parse(data),
                                    weights: try json["weights"]!.array!.map { try Fixtures.tensor($0, as: .float32) })
        }
    }

    func inputs(_ dtype: DType) throws -> [Tensor] {
        try json["inputs"]!.array!.map { value in
            let t = try Fixtures.tensor(value)
            return t.dtype == .int64 ? t : t.cast(to: dtype)
        }
    }
}

@Suite("Keras layers against Keras")
struct KerasLayerTests {
    /// Float32 bound: Keras on TensorFlow (oneDNN off) vs Parity's kernels: Eigen's vectorised
    /// transcendentals and GEMM order differ by a few ULP per op; 1e-6 absolute + 1e-5 relative covers
    /// the layers here with room for the longer reductions (see each family's notes in docs/models.md).
    static let float32 = Tolerance(absolute: 1e-6, relative: 1e-5)
    /// Float64: the same differences at double precision.
    static let float64 = Tolerance(absolute: 1e-12, relative: 1e-11)

    /// Per-family bounds, wider than the global ones only where a measured cause says so.
    static let familyBounds: [String: (float32: Tolerance, float64: Tolerance)] = [:]

    static func bounds(_ family: String) -> (float32: Tolerance, float64: Tolerance) {
        familyBounds[family] ?? (float32, float64)
    }

    static let modes: [ExecutionMode] = [.eager, .graph(.standard)]

    /// Compares every output of the layer (recurrent layers with `return_state` have several).
    static func check(_ row: KerasLayerCase, _ outputs: [Tensor], _ key: String, _ tolerance: Tolerance,
                      _ dtype: DType?, _ label: String) throws {
        let expected = try row.json[key]!.array!.map { try Fixtures.tensor($0, as: dtype) }
        #expect(outputs.count == expected.count, "\(row.testDescription) [\(label)]: \(outputs.count) outputs, Keras gave \(expected.count)")
        for (i, (y, e)) in zip(outputs, expected).enumerated() {
            let violation = tolerance.violation(y, e)
            #expect(violation == nil, "\(row.testDescription) [\(label)] output \(i): \(violation ?? "")")
        }
    }

    @Test("float32 output matches Keras", arguments: KerasLayerCase.all, modes)
    func float32(_ row: KerasLayerCase, _ mode: ExecutionMode) throws {
        let model = try KerasLayers.make(row.config)
        let outputs = try model.runAll(row.inputs(.float32), mode: mode)
        try Self.check(row, outputs, "output32", Self.bounds(row.family).float32, .float32, "\(mode)")
    }

    @Test("float64 output matches Keras", arguments: KerasLayerCase.all)
    func float64(_ row: KerasLayerCase) throws {
        let model = try KerasLayers.make(row.config)
        let outputs = try model.runAll(row.inputs(.float64), mode: .eager)
        try Self.check(row, outputs, "output64", Self.bounds(row.family).float64, nil, "float64")
    }

    /// Prints each family's largest error against Keras (float32 eager and graph, float64), the
    /// numbers quoted in the notes; set PARITY_PRINT_ERRORS=1 to see them.
    @Test("measured error per family")
    func measuredErrors() throws {
        var worst: [String: [Double]] = [:]
        for row in KerasLayerCase.all {
            let model = try KerasLayers.make(row.config)
            var errors: [Double] = []
            for (dtype, key, mode) in [(DType.float32, "output32", ExecutionMode.eager), (.float32, "output32", .graph(.standard)), (.float64, "output64", .eager)] {
                let outputs = try model.runAll(row.inputs(dtype), mode: mode)
                let expected = try row.json[key]!.array!.map { try Fixtures.tensor($0) }
                errors.append(zip(outputs, expected).flatMap { zip($0.doubles, $1.doubles).map { abs($0 - $1) } }.max() ?? 0)
            }
            let current = worst[row.family] ?? [0, 0, 0]
            worst[row.family] = zip(current, errors).map { max($0, $1) }
        }
        if ProcessInfo.processInfo.environment["PARITY_PRINT_ERRORS"] != nil {
            for (family, e) in worst.sorted(by: { $0.key < $1.key }) {
                print("max |error| \(family): float32 eager \(e[0]), float32 graph \(e[1]), float64 \(e[2])")
            }
        }
        #expect(!worst.isEmpty)
    }

    @Test("bad configs and weights are KerasErrors naming the layer and key")
    func badInput() throws {
        func expectError(_ className: String, _ config: [String: KerasJSON], _ weights: [Tensor] = [], mentions: String) {
            let layer = KerasLayerConfig(className: className, name: "bad_\(className)", config: .object(config), weights: weights)
            do {
                _ = try KerasLayers.make(layer)
                Issue.record("\(className): expected a KerasError mentioning \(mentions)")
            } catch let error as KerasError {
                #expect("\(error)".contains("bad_\(className)") && "\(error)".contains(mentions), "\(error)")
            } catch {
                Issue.record("\(className): \(error) is not a KerasError")
            }
        }
        let conv: [String: KerasJSON] = ["filters": .number(2), "kernel_size": .array([.number(3)]), "strides": .array([.number(1)]),
                                         "padding": .string("valid"), "use_bias": .bool(true), "data_format": .string("channels_last")]
        expectError("Conv1D", conv, [Tensor.zeros([3, 1, 2])], mentions: "weight")
        expectError("Conv1D", conv, [Tensor.zeros([2, 1, 2]), Tensor.zeros([2])], mentions: "[3, 1, 2]")
        expectError("Conv1D", conv.merging(["padding": .string("reflect")]) { $1 }, [Tensor.zeros([3, 1, 2]), Tensor.zeros([2])], mentions: "padding")
        expectError("Conv2D", conv.merging(["kernel_size": .number(3), "strides": .number(1), "padding": .string("causal")]) { $1 },
                    [Tensor.zeros([3, 3, 1, 2]), Tensor.zeros([2])], mentions: "padding")
        expectError("Conv1D", conv.merging(["data_format": .string("channels_middle")]) { $1 }, [Tensor.zeros([3, 1, 2]), Tensor.zeros([2])], mentions: "data_format")
        expectError("UpSampling2D", ["size": .array([.number(2), .number(2)]), "interpolation": .string("lanczos5")], mentions: "interpolation")
        expectError("Resizing", ["height": .number(2), "width": .number(2), "interpolation": .string("bicubic")], mentions: "interpolation")
        expectError("LSTM", ["units": .number(3), "use_bias": .bool(true)], [Tensor.zeros([2, 12]), Tensor.zeros([3, 12])], mentions: "weight")
        expectError("GRU", ["units": .number(3), "stateful": .bool(true)], mentions: "stateful")
        expectError("Bidirectional", ["merge_mode": .string("max")], mentions: "merge_mode")
        expectError("BatchNormalization", ["axis": .number(-1), "scale": .bool(true), "center": .bool(true), "epsilon": .number(0.001)],
                    [Tensor.zeros([3]), Tensor.zeros([3]), Tensor.zeros([3])], mentions: "weight")
        expectError("MultiHeadAttention", ["num_heads": .number(2), "key_dim": .number(3), "attention_axes": .array([.number(1), .number(2)])], mentions: "attention_axes")
        expectError("Activation", ["activation": .string("frobnicate")], mentions: "activation")
        expectError("Conv2DTranspose", conv.merging(["kernel_size": .number(3), "strides": .number(2), "output_padding": .number(2)]) { $1 },
                    [Tensor.zeros([3, 3, 2, 1]), Tensor.zeros([2])], mentions: "output_padding")
    }

    @Test("an unsupported layer names itself, its class and the supported classes")
    func unsupported() throws {
        let layer = KerasLayerConfig(className: "Frobnicate", name: "frob_1", config: .object([:]), weights: [])
        do {
            _ = try KerasLayers.make(layer)
            Issue.record("expected an error")
        } catch let error as KerasError {
            #expect("\(error)".contains("'frob_1'") && "\(error)".contains("Frobnicate") && "\(error)".contains("Dense"))
        }
    }

    @Test("wrong weights are a clear error")
    func badWeights() throws {
        let layer = KerasLayerConfig(className: "Dense", name: "d", config: .object(["units": .number(3), "use_bias": .bool(true)]),
                                     weights: [Tensor.zeros([4, 3])])
        #expect(throws: KerasError.self) { try KerasLayers.make(layer) }
    }

    @Test("a masking Embedding is refused rather than run without its mask")
    func maskZero() throws {
        let layer = KerasLayerConfig(className: "Embedding", name: "tokens", config: .object([
            "input_dim": .number(4), "output_dim": .number(2), "mask_zero": .bool(true)]), weights: [Tensor.zeros([4, 2])])
        do {
            _ = try KerasLayers.make(layer)
            Issue.record("built")
        } catch let error as KerasError {
            #expect(error == .unsupportedSetting(layer: "tokens", key: "mask_zero", value: "true (Keras masks are not propagated yet)"))
        }
    }
}
