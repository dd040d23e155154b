import Testing
import ParityTorch
import ParityNN

/// `ComplexOps`: what the operator rows (`aten_ops_complex.json`) do not show — an operator without a
/// complex form refuses a complex input before running, naming the operator, the argument and the dtype.
@Suite("ATen complex operators")
struct ComplexOpsTests {
    static func program(_ target: String, _ arguments: [(name: String, value: TorchArgument)], inputs: [String]) throws -> TorchProgram {
        let node = TorchNode(target: target, name: "op", arguments: arguments, outputs: ["y"], moduleStack: [])
        return try TorchProgram(source: target, graph: ExportedGraph(inputs: inputs, nodes: [node], outputs: ["y"]),
                                inputs: inputs.map { .init(name: $0, kind: .userInput) }, outputs: ["y"], weights: [:])
    }

    static let z = Tensor(shape: [2], complex: [Complex<Float>(1, -1), Complex(0.5, 2)])

    @Test("a complex input to a real-only operator is refused, eager and graph, naming operator, argument and dtype",
          arguments: ["aten.sin.default", "aten.relu.default", "aten.sum.default", "aten.to.dtype"])
    func refusal(target: String) throws {
        var arguments: [(name: String, value: TorchArgument)] = [("self", .tensor("x"))]
        if target == "aten.to.dtype" { arguments.append(("dtype", .scalarType(7))) }
        let program = try Self.program(target, arguments, inputs: ["x"])
        for mode in [ExecutionMode.eager, .graph(.standard)] {
            #expect {
                try program.run([Self.z], mode: mode)
            } throws: { error in
                let text = "\(error)"
                return text.contains(target) && text.contains("'self' is complex64") && text.contains("real tensors only")
            }
        }
    }

    @Test("complex arithmetic promotes a real operand; real of the result; the float64 run computes in complex128")
    func arithmetic() throws {
        let x = Tensor(shape: [2], values: [2, -1] as [Float])
        let program = try Self.program("aten.mul.Tensor", [("self", .tensor("z")), ("other", .tensor("x"))], inputs: ["z", "x"])
        let product = try program.run([Self.z, x], mode: .eager)[0]
        #expect(product.complexValues(Float.self) == [Complex(2, -2), Complex(-0.5, -2)])
        let wide = try program.run([Self.z.cast(to: .complex128), x.cast(to: .float64)], mode: .eager, dtype: .float64)[0]
        #expect(wide.dtype == .complex128)
        let real = try Self.program("aten.real.default", [("self", .tensor("z"))], inputs: ["z"]).run([Self.z], mode: .graph(.standard))[0]
        #expect(real.doubles == [1, 0.5])
        #expect(throws: TorchError.self) { try Self.program("aten.imag.default", [("self", .tensor("x"))], inputs: ["x"]).run([x], mode: .eager) }
    }
}
