import Foundation
import Testing
import ParityKeras
import ParityTestSupport

/// Keras 3 operation nodes (`keras.ops.*` called on symbolic tensors in a functional model), one model
/// per family saved by Keras itself (scripts/make_keras_op_fixtures.py), each output one operation.
@Suite("Keras operation nodes")
struct KerasOperationTests {
    static let families = ["unary", "binary", "reductions", "shapes", "core"]

    /// Bounds per output, by what the operation computes (float32 outputs against TensorFlow's):
    /// selections, layout, integer and bool results are exact; elementwise functions of one rounding
    /// step are within a few ULP (libm's `sinf` vs Eigen's, `erf`'s polynomial); sums, products and
    /// normalisations accumulate in another order (≤ 1e-6 absolute on these O(1) values, relative for
    /// the large `cumprod` / `prod` values).
    static func tolerance(_ label: String, _ expected: Tensor) -> Tolerance {
        let exact: Set<String> = ["abs", "negative", "square", "sign", "floor", "ceil", "trunc", "round", "relu", "relu6", "copy",
                                  "isnan", "isfinite", "signbit", "hard_tanh", "clip", "threshold", "logical_not", "x_plus_3", "three_minus_x",
                                  "x_pow_2", "maximum", "minimum", "equal", "not_equal", "greater", "greater_equal", "less", "less_equal",
                                  "add", "subtract", "multiply", "broadcast_add", "where", "where_scalar", "fmax", "fmin"]
        if exact.contains(label) || expected.dtype == .int64 { return Tolerance(absolute: 0) }
        return Tolerance(absolute: 1e-6, relative: 2e-6)
    }

    @Test("each operation matches Keras in float32", arguments: families)
    func family(_ name: String) throws {
        let folder = Fixtures.root.appendingPathComponent("keras/operations/\(name)")
        let zoo = try ZooCase(folder: folder)
        let outputs = try zoo.model.run(zoo.inputs, mode: .eager, dtype: .float32)
        #expect(outputs.count == zoo.expected.count)
        for (index, (output, expected)) in zip(outputs, zoo.expected).enumerated() {
            let label = zoo.labels[index]
            let actual = output.cast(to: expected.dtype == .int64 ? .int64 : .float32)
            let violation = Self.tolerance(label, expected).violation(actual, expected)
            #expect(violation == nil, "\(name)/\(label): \(violation ?? "")")
        }
    }

    @Test("graph mode runs the same operations", arguments: families)
    func graph(_ name: String) throws {
        let zoo = try ZooCase(folder: Fixtures.root.appendingPathComponent("keras/operations/\(name)"))
        let eager = try zoo.model.run(zoo.inputs, mode: .eager, dtype: .float32)
        let graph = try zoo.model.run(zoo.inputs, mode: .graph(.withoutFusion), dtype: .float32)
        for (index, (e, g)) in zip(eager, graph).enumerated() {
            #expect(Tolerance(absolute: 0).violation(g, e) == nil, "\(name)/\(zoo.labels[index]): graph mode without fusion differs from eager")
        }
    }

    @Test("unsupported and Python-only operations are refused by name and reason")
    func refusals() throws {
        let cases: [(String, String, String)] = [
            ("Cond", "keras.src.ops.core", "Python functions"),
            ("FFT", "keras.src.ops.math", "complex operations"),
            ("Unique", "keras.src.ops.numpy", "depends on the data"),
            ("Frobnicate", "keras.src.ops.numpy", "Parity implements"),
        ]
        for (className, module, reason) in cases {
            do {
                _ = try KerasOperations.make(className: className, module: module, name: "op", config: .object([:]))
                Issue.record("\(className) was accepted")
            } catch let error as KerasError {
                let text = "\(error)"
                #expect(text.contains("'op'") && text.contains("\(module).\(className)") && text.contains(reason), "\(text)")
            }
        }
    }
}

