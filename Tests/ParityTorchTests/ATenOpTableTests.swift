import Foundation
import Testing
import ParityTestSupport
@testable import ParityTorch
import ParityNN

/// The operator table `Tests/Fixtures/torch/aten_ops_*.json` (written by `scripts/make_aten_op_fixtures.py`):
/// one ATen call per row with PyTorch's float32 and float64 outputs and, for differentiable rows,
/// `torch.autograd`'s float64 vector-Jacobian product (of the row's call, or of its `gradient_reference` where
/// torch differentiates another form: an `out=` overload's functional one, `copy_` for `copy`, the
/// `torch._decomp` decomposition of a backward kernel); every other row says why it has none (`no_gradient`).
/// Each row runs as a one-node program, so every operator is checked on its own, forward and backward.
@Suite("ATen operator table against PyTorch")
struct ATenOpTableTests {
    struct Row: CustomTestStringConvertible, Sendable {
        let file: String
        let index: Int
        let json: JSONValue
        var target: String { json["target"]?.string ?? "?" }
        var testDescription: String { "\(target) (\(file) #\(index))" }
    }

    static let files: [String] = {
        let folder = Fixtures.root.appendingPathComponent("torch")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { $0.hasPrefix("aten_ops_") && $0.hasSuffix(".json") }.map { String($0.dropFirst(9).dropLast(5)) }.sorted()
    }()
    static let rows: [Row] = files.flatMap { file -> [Row] in
        guard let list = (try? Fixtures.json("torch/aten_ops_\(file).json"))?["rows"]?.array else { return [] }
        return list.enumerated().map { Row(file: file, index: $0.offset, json: $0.element) }
    }

    /// Targets Parity maps that a one-node row cannot exercise, with where they are checked instead.
    static let checkedElsewhere: [String: String] = [
        "higher_order.cond": "a call with two subgraphs: the `branch` model fixture (ATenFixtureTests) takes both branches",
        "higher_order.wrap_with_autocast": "a call with a subgraph: `autocastRegion` below; timm's EfficientViT in the zoo",
        "aten.adaptive_max_pool2d.default": "the `max_pooling` model fixture (ATenFixtureTests): values and indices, a planted tie",
    ].merging(SymbolicOps.arithmetic.map { ($0, "Python arithmetic on sizes: the `dynamic_batch` model fixture (ATenFixtureTests)") }) { a, _ in a }

    static let scalarTypes: [String: Int] = ["uint8": 1, "int8": 2, "int16": 3, "int32": 4, "int64": 5, "float16": 6, "float32": 7,
                                             "float64": 8, "complex64": 10, "complex128": 11, "bool": 12, "bfloat16": 13]

    /// The one-node program of a row, its input names and tensors (float inputs as float32, as written).
    static func program(_ row: Row) throws -> (TorchProgram, names: [String], inputs: [Tensor]) {
        let json = row.json
        guard case .object(let inputObject)? = json["inputs"], let argumentList = json["arguments"]?.array,
              let outputs = json["outputs_float32"]?.array else { throw FixtureError.malformed("row \(row.index)") }
        let names = inputObject.keys.sorted()
        let inputs = try names.map { name -> Tensor in
            return Self.inRun(try Fixtures.tensor(inputObject[name]), .float32)
        }
        // [name, spec] pairs in schema order, as torch.export writes them.
        let arguments: [(name: String, value: TorchArgument)] = try argumentList.map { pair in
            guard let name = pair.array?.first?.string, let spec = pair.array?.last else { throw FixtureError.malformed("row \(row.index) arguments") }
            return (name, try argument(spec, row: row))
        }
        let outputNames = outputs.indices.map { "out\($0)" }
        var meta: [String: TorchTensorMeta] = [:]
        for (name, output) in zip(outputNames, outputs) {
            if let dtype = output["dtype"]?.string, let code = scalarTypes[dtype] {
                meta[name] = TorchTensorMeta(scalarType: code, shape: output["shape"]?.ints ?? [])
            }
        }
        let node = TorchNode(target: row.target, name: "op", arguments: arguments, outputs: outputNames, moduleStack: [])
        let graph = ExportedGraph(inputs: names, nodes: [node], outputs: outputNames, tensorMeta: meta)
        let program = try TorchProgram(source: row.testDescription, graph: graph, inputs: names.map { .init(name: $0, kind: .userInput) },
                                       outputs: outputNames, weights: [:])
        return (program, names, inputs)
    }

    static func argument(_ spec: JSONValue, row: Row) throws -> TorchArgument {
        let value = spec["value"]
        switch spec["kind"]?.string {
        case "tensor": return .tensor(spec["name"]?.string ?? "")
        case "tensors": return .tensors(spec["names"]?.array?.compactMap(\.string) ?? [])
        case "optional_tensors": return .optionalTensors(spec["names"]?.array?.map(\.string) ?? [])
        case "none": return .none
        case "bool": return .bool(value?.bool ?? false)
        case "int": return .int(Int(value?.double ?? 0))
        case "float": return .float(value?.double ?? specialNumber(value?.string))
        case "string": return .string(value?.string ?? "")
        case "scalar_type": return .scalarType(Int(value?.double ?? 0))
        case "ints": return .ints(value?.ints ?? [])
        case "bools": return .bools(value?.array?.compactMap(\.bool) ?? [])
        case "floats": return .floats(value?.doubles ?? [])
        case "device": return .device(value?.string ?? "")
        case let kind: throw FixtureError.malformed("row \(row.index): argument kind \(kind ?? "nil")")
        }
    }

    static func specialNumber(_ s: String?) -> Double {
        switch s {
        case "Infinity": return .infinity
        case "-Infinity": return -.infinity
        default: return .nan
        }
    }

    /// The cotangent `make_aten_op_fixtures.py` uses for output `output`: element k is
    /// ((37k + 11 + 5·output) mod 23 − 11)/8.
    static func cotangent(shape: [Int], output: Int) -> Tensor {
        let n = shape.reduce(1, *)
        return Tensor(shape: shape, values: (0..<n).map { Double((37 * $0 + 11 + 5 * output) % 23 - 11) / 8 })
    }

    /// Parity computes floats in the run's dtype (complex numbers in its complex counterpart); a 16-bit
    /// float result keeps its dtype.
    static func expectedDType(_ e: Tensor, run: DType) -> DType {
        e.dtype.isHalf ? e.dtype : e.dtype.isFloatingPoint ? run : e.dtype.isComplex ? run.complexCounterpart! : e.dtype
    }

    /// An input in the run's precision: floats as `run`, complex numbers as its complex counterpart.
    static func inRun(_ t: Tensor, _ run: DType) -> Tensor {
        t.dtype.isFloatingPoint ? t.cast(to: run) : t.dtype.isComplex ? t.cast(to: run.complexCounterpart!) : t
    }

    @Test("every row: float32 (eager and graph) and float64 outputs", arguments: rows)
    func forward(row: Row) throws {
        let (program, _, inputs) = try Self.program(row)
        for (dtype, key) in [(DType.float32, "outputs_float32"), (.float64, "outputs_float64")] {
            guard let list = row.json[key]?.array else { throw FixtureError.malformed(key) }
            let defined = list.allSatisfy { $0["values"] != nil }
            let expected = try list.map { value -> Tensor in
                defined ? try Fixtures.tensor(value) : Tensor(repeating: 0, shape: value["shape"]?.ints ?? [], dtype: .float32)
            }
            let float32 = row.json["tolerance_float32"]?.doubles.map { Tolerance(absolute: $0[0], relative: $0[1]) } ?? TorchTolerance.float32
            // A data-dependent output shape (`nonzero`) runs eagerly only (the graph refusal is checked below).
            let modes = dtype == .float32 && row.json["eager_only"] == nil ? executionModes : [("eager", ExecutionMode.eager)]
            for (label, mode) in modes {
                let outputs = try program.run(inputs.map { Self.inRun($0, dtype) }, mode: mode, dtype: dtype)
                try #require(outputs.count == expected.count, "\(label): \(outputs.count) outputs, PyTorch \(expected.count)")
                for (i, (a, e)) in zip(outputs, expected).enumerated() {
                    guard defined else {
                        #expect(a.shape == e.shape, "\(label) output \(i): shape \(a.shape), PyTorch \(e.shape)")
                        continue
                    }
                    // A float64 run keeps full precision where PyTorch rounds to a 16-bit float.
                    if dtype == .float64 && e.dtype.isHalf { continue }
                    #expect(a.dtype == Self.expectedDType(e, run: dtype), "\(label) output \(i): dtype \(a.dtype), PyTorch \(e.dtype)")
                    // PyTorch's float64 run keeps float32 where no input is floating (int / int): float32's bound.
                    let tolerance = dtype == .float64 && list[i]["dtype"]?.string != "float32" ? TorchTolerance.float64 : float32
                    let violation = tolerance.violation(a, e)
                    #expect(violation == nil, "\(dtype) \(label) output \(i): \(violation ?? "")")
                }
            }
        }
    }

    @Test("differentiable rows: the float64 VJP equals torch.autograd's", arguments: rows.filter { $0.json["gradients"] != nil })
    func vjp(row: Row) throws {
        let (program, names, inputs) = try Self.program(row)
        guard case .object(let gradients)? = row.json["gradients"], let picked = row.json["cotangent_outputs"]?.ints else {
            throw FixtureError.malformed("gradients")
        }
        let context = EagerContext(recording: true)
        var leaves: [String: EagerTensor] = [:]
        let values = zip(names, inputs).map { name, tensor -> EagerTensor in
            let t = Self.inRun(tensor, .float64)
            guard gradients[name] != nil else { return context.constant(t) }
            let leaf = context.watch(t)
            leaves[name] = leaf
            return leaf
        }
        let outputs = try program.outputs(values, in: context, floatType: .float64)
        var loss: EagerTensor?
        for index in picked {
            // A complex output's cotangent is over its (real, imaginary) pairs, as the script's loss.
            let y = outputs[index].tensor.dtype.isComplex ? try context.viewAsReal(outputs[index]) : outputs[index]
            let term = try context.reduce(.sum, context.multiply(y, context.constant(Self.cotangent(shape: y.tensor.shape, output: index))),
                                          axes: Array(0..<y.tensor.shape.count))
            loss = try loss.map { try context.add($0, term) } ?? term
        }
        let order = gradients.keys.sorted()
        guard let loss else { throw FixtureError.malformed("no cotangent output") }
        let computed = try context.gradients(of: loss, withRespectTo: order.map { leaves[$0]! })
        for (name, gradient) in zip(order, computed) {
            let expected = try Fixtures.tensor(gradients[name])
            let violation = TorchTolerance.float64.violation(gradient, expected)
            #expect(violation == nil, "d/d\(name): \(violation ?? "")")
        }
    }

    @Test("every row has a gradient check or says why it has none")
    func gradientCoverage() {
        #expect(Self.files.count >= 8)
        for row in Self.rows {
            let reason = row.json["no_gradient"]?.string ?? ""
            #expect((row.json["gradients"] != nil) != !reason.isEmpty, "\(row.testDescription): a gradient check or a reason, exactly one")
        }
        let checked = Set(Self.rows.filter { $0.json["gradients"] != nil }.map(\.target))
        // The operators the gradient table once left out, each now checked (docs/gradients.md).
        for target in ["aten.atan2.out", "aten.remainder.Scalar_Tensor", "aten.native_channel_shuffle.default", "aten.relu_.default",
                       "aten.hardswish_.default", "aten.add_.Tensor", "aten.mul_.Scalar", "aten.masked_fill_.Scalar", "aten.index_put_.default",
                       "aten.copy_.default", "aten.copy.default", "aten._to_copy.default", "aten.lift_fresh_copy.default",
                       "aten.native_group_norm_backward.default", "aten.embedding_dense_backward.default"] {
            #expect(checked.contains(target), "\(target) has no gradient row")
        }
    }

    @Test("a disabled autocast region (higher_order.wrap_with_autocast) runs its subgraph; an enabled one is refused")
    func autocastRegion() throws {
        let body = ExportedGraph(inputs: ["a", "b"], nodes: [
            TorchNode(target: "aten.mul.Tensor", name: "mul", arguments: [("self", .tensor("a")), ("other", .tensor("b"))], outputs: ["m"], moduleStack: []),
        ], outputs: ["m"])
        for enabled in [false, true] {
            let node = TorchNode(target: "higher_order.wrap_with_autocast", name: "region",
                                 arguments: [("", .string("cpu")), ("", .scalarType(13)), ("", .bool(enabled)), ("", .bool(false)),
                                             ("", .graph(name: "submod_1", graph: body)), ("", .tensor("x")), ("", .tensor("y"))],
                                 outputs: ["z"], moduleStack: [])
            let program = try TorchProgram(source: "autocast", graph: ExportedGraph(inputs: ["x", "y"], nodes: [node], outputs: ["z"]),
                                           inputs: [.init(name: "x", kind: .userInput), .init(name: "y", kind: .userInput)], outputs: ["z"], weights: [:])
            let x = Tensor(shape: [2], values: [1.5, -2] as [Float]), y = Tensor(shape: [2], values: [3, 0.25] as [Float])
            if enabled {
                #expect(throws: TorchError.self) { try program.run([x, y], mode: .eager) }
            } else {
                #expect(try program.run([x, y], mode: .eager) == [Tensor(shape: [2], values: [4.5, -0.5] as [Float])])
            }
        }
    }

    @Test("eager-only rows (a data-dependent output shape) are refused by a traced graph, naming the operator",
          arguments: rows.filter { $0.json["eager_only"] != nil })
    func graphRefusal(row: Row) throws {
        let (program, _, inputs) = try Self.program(row)
        #expect {
            try program.run(inputs, mode: .graph(.standard))
        } throws: { error in
            "\(error)".contains(row.target) && "\(error)".contains("data-dependent")
        }
    }

    /// Random nodes are compared with PyTorch on shape and dtype only (the rows); here their values: the
    /// support and the first two moments over 20 000 draws (bounds: 5 standard errors), a permutation.
    @Test("random sampling nodes: support, moments, permutation; the same node gives the same values")
    func randomSampling() throws {
        func draw(_ target: String, _ arguments: [(name: String, value: TorchArgument)]) throws -> Tensor {
            let node = TorchNode(target: target, name: "sample", arguments: arguments, outputs: ["y"], moduleStack: [])
            let program = try TorchProgram(source: target, graph: ExportedGraph(inputs: [], nodes: [node], outputs: ["y"]), inputs: [],
                                           outputs: ["y"], weights: [:])
            let eager = try program.run([], mode: .eager)[0]
            #expect(try program.run([], mode: .graph(.standard))[0] == eager, "\(target): eager and graph draw the same values")
            return eager
        }
        let n = 20_000
        for dtype in [7, 8] {
            let u = try draw("aten.rand.default", [("size", .ints([n])), ("dtype", .scalarType(dtype))]).doubles
            #expect(u.allSatisfy { $0 >= 0 && $0 < 1 })
            let mean = u.reduce(0, +) / Double(n), variance = u.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n)
            #expect(abs(mean - 0.5) < 5 * (1.0 / 12 / Double(n)).squareRoot() && abs(variance - 1.0 / 12) < 0.005)
            let z = try draw("aten.randn.default", [("size", .ints([n])), ("dtype", .scalarType(dtype))]).doubles
            let zMean = z.reduce(0, +) / Double(n), zVariance = z.map { ($0 - zMean) * ($0 - zMean) }.reduce(0, +) / Double(n)
            #expect(abs(zMean) < 5 / Double(n).squareRoot() && abs(zVariance - 1) < 5 * (2 / Double(n)).squareRoot())
        }
        let permutation = try draw("aten.randperm.default", [("n", .int(50))])
        #expect(permutation.dtype == .int64 && permutation.doubles.map { Int($0) }.sorted() == Array(0..<50))
        #expect(permutation.doubles.map { Int($0) } != Array(0..<50))
    }

    @Test("every operator Parity maps has a row (or names where it is checked)")
    func coverage() {
        // A row of an in-place or out= overload exercises its functional form's lowering (`resize_` → `resize`).
        let covered = Set(Self.rows.flatMap { [$0.target, ATenTable.functional($0.target)] })
        let missing = ATenTable.allTargets.filter { !covered.contains($0) && Self.checkedElsewhere[$0] == nil }
        #expect(missing.isEmpty, "no fixture row: \(missing)")
        let unknown = covered.filter { ATenTable.family(for: $0) == nil }
        #expect(unknown.isEmpty, "rows Parity does not map: \(unknown.sorted())")
        #expect(Self.rows.count > 300)
    }

    @Test("the Core ATen IR list is the one docs/aten-operators.md shows, and each listed ✓ is mapped")
    func coreList() throws {
        let core = try Fixtures.json("torch/core_aten_ir.json")["operators"]?.array?.compactMap(\.string) ?? []
        #expect(core.count > 150)
        let doc = try String(contentsOf: Fixtures.root.appendingPathComponent("../../docs/aten-operators.md"), encoding: .utf8)
        for op in core {
            let supported = ATenTable.family(for: op) != nil
            #expect(doc.contains("| `\(op)` | \(supported ? "✓" : "missing")"), "\(op): the doc's status is not \(supported ? "✓" : "missing")")
        }
    }
}
