import Testing
import ParityEngine
import ParityTestSupport

/// The op table: every op's forward result against PyTorch (float64 and float32), its gradient
/// against PyTorch's autograd and against central finite differences in Float64.
@Suite("Ops against PyTorch")
struct OpTests {
    @Test("forward float64 matches PyTorch", arguments: OpCase.all)
    func forward64(_ row: OpCase) throws {
        let result = try row.op.forward(row.inputs)
        #expect(TensorType(of: result) == (try row.op.outputType(row.inputs.map(TensorType.init(of:)))))
        let violation = row.float64Tolerance.violation(result, row.output64)
        #expect(violation == nil, "\(row.name): \(violation ?? "") (bound \(row.float64Tolerance))")
    }

    @Test("forward float32 matches PyTorch", arguments: OpCase.all)
    func forward32(_ row: OpCase) throws {
        let inputs = row.inputs.map { $0.dtype == .float64 ? $0.cast(to: .float32) : $0 }
        let result = try row.op.forward(inputs).cast(to: .float32)
        let violation = row.float32Tolerance.violation(result, row.output32)
        #expect(violation == nil, "\(row.name): \(violation ?? "") (bound \(row.float32Tolerance))")
    }

    @Test("every case has a gradient check or says why it has none")
    func gradientCoverage() throws {
        let cases = try Fixtures.json("engine/ops.json")["cases"]?.array ?? []
        #expect(cases.count == OpCase.all.count)
        for json in cases {
            let reason = json["no_gradient"]?.string ?? ""
            #expect((json["cotangent"] != nil) != !reason.isEmpty, "\(json["name"]?.string ?? "?"): a gradient check or a reason, exactly one")
        }
    }

    @Test("gradient matches PyTorch autograd", arguments: OpCase.all.filter { $0.cotangent != nil })
    func gradientAgainstTorch(_ row: OpCase) throws {
        let grads = try eagerGradients(row)
        for (index, (grad, expected)) in zip(grads, row.gradients).enumerated() {
            guard let expected, let grad else { continue }
            let violation = row.gradientTolerance.violation(grad, expected)
            #expect(violation == nil, "\(row.name) input \(index): \(violation ?? "")")
        }
    }

    @Test("gradient matches central finite differences (Float64)", arguments: OpCase.all.filter { $0.cotangent != nil })
    func gradientAgainstFiniteDifferences(_ row: OpCase) throws {
        let cotangent = try #require(row.cotangent)
        let grads = try eagerGradients(row)
        let h = 1e-6
        func objective(_ inputs: [Tensor]) throws -> Double {
            let y = try row.op.forward(inputs)
            return zip(y.doubles, cotangent.doubles).reduce(0) { $0 + $1.0 * $1.1 }
        }
        for (index, input) in row.inputs.enumerated() where input.dtype == .float64 {
            let grad = try #require(grads[index])
            var numeric = [Double]()
            for j in 0..<input.count {
                var plus = input.doubles, minus = input.doubles
                plus[j] += h
                minus[j] -= h
                var (a, b) = (row.inputs, row.inputs)
                a[index] = Tensor(shape: input.shape, values: plus)
                b[index] = Tensor(shape: input.shape, values: minus)
                numeric.append((try objective(a) - objective(b)) / (2 * h))
            }
            let violation = Tolerance(absolute: 1e-6, relative: 1e-5).violation(grad, Tensor(shape: input.shape, values: numeric))
            #expect(violation == nil, "\(row.name) input \(index): \(violation ?? "")")
        }
    }

    @Test("graph-mode gradient equals eager gradient bit for bit", arguments: OpCase.all.filter { $0.cotangent != nil })
    func graphGradient(_ row: OpCase) throws {
        let cotangent = try #require(row.cotangent)
        let eager = try eagerGradients(row)
        let differentiable = row.inputs.indices.filter { row.inputs[$0].dtype.isFloatingPoint }
        let graph = try Graph.trace(inputs: row.inputs.map(TensorType.init(of:))) { b, xs in [try b.apply(row.op, xs)] }
            .gradient(withRespectTo: differentiable)
        let outputs = try GraphExecutor().run(graph, inputs: row.inputs + [cotangent])
        for (position, index) in differentiable.enumerated() {
            #expect(outputs[position + 1] == eager[index], "\(row.name) input \(index)")
        }
    }

    /// Eager-mode VJP of the row's op at its inputs with its cotangent, through the tape.
    func eagerGradients(_ row: OpCase) throws -> [Tensor?] {
        let context = EagerContext(recording: true)
        let leaves = row.inputs.map { $0.dtype.isFloatingPoint ? context.watch($0) : context.constant($0) }
        let y = try context.apply(row.op, leaves)
        let grads = try context.gradients(of: y, withRespectTo: leaves, cotangent: row.cotangent)
        return zip(row.inputs, grads).map { $0.dtype.isFloatingPoint ? $1 : nil }
    }
}
