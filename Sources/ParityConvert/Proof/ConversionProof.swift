import Foundation
import ParityNN
import ParityTorch

/// The proof that a conversion is faithful: the converted model runs in Parity as a PyTorch program
/// (its ATen calls on the converted tensors, with PyTorch's semantics) and its outputs are compared
/// with the Keras model's, run in Parity with Keras's semantics on the same input, in Float32.
///
/// The bound is `torch.testing.assert_close`'s for float32, `|torch − keras| ≤ atol + rtol·|keras|`
/// with `atol = 1e-5`, `rtol = 1.3e-6`: what a PyTorch user checks a port with. Two faithful
/// implementations differ by accumulation order and transcendental kernels only (Parity measures
/// ≤ 4e-6 on these layers); a wrong transpose, gate order, epsilon or padding moves outputs by far more.
public struct ConversionProof: Sendable, CustomStringConvertible {
    public static let rtol = 1.3e-6
    public static let atol = 1e-5

    /// Per output: max abs difference, max ULP distance, and whether every element is within the bound.
    public var maxAbsolute: Double
    public var maxUlps: UInt64
    public var elements: Int
    public var passed: Bool
    /// The first element beyond the bound, described.
    public var worst: String?

    /// Runs `module` on `inputs` and compares with `kerasOutputs`.
    public init(module: TorchModuleSource, inputs: [Tensor], kerasOutputs: [Tensor]) throws {
        let torchOutputs = try module.program().run(inputs, mode: .eager, dtype: .float32)
        try self.init(torch: torchOutputs, keras: kerasOutputs)
    }

    /// Compares the converted model's outputs with Keras's.
    public init(torch: [Tensor], keras: [Tensor]) throws {
        guard torch.count == keras.count else {
            throw ConvertError.shape(layer: "outputs", message: "the converted model gives \(torch.count) outputs; Keras \(keras.count)")
        }
        var maxAbsolute = 0.0, maxUlps: UInt64 = 0, elements = 0, passed = true, worst: String?
        for (index, (t, k)) in zip(torch, keras).enumerated() {
            guard t.shape == k.shape else {
                throw ConvertError.shape(layer: "outputs", message: "output \(index) has shape \(t.shape) converted, \(k.shape) in Keras")
            }
            let metrics = try ErrorMetrics(t.cast(to: .float32), k.cast(to: .float32))
            maxAbsolute = max(maxAbsolute, metrics.maxAbsolute)
            maxUlps = max(maxUlps, metrics.maxUlps)
            elements += k.count
            for (i, (a, e)) in zip(t.doubles, k.doubles).enumerated() where !(abs(a - e) <= Self.atol + Self.rtol * abs(e)) {
                passed = false
                if worst == nil { worst = "output \(index) element \(i): converted \(a), Keras \(e)" }
            }
        }
        (self.maxAbsolute, self.maxUlps, self.elements, self.passed, self.worst) = (maxAbsolute, maxUlps, elements, passed, worst)
    }

    public var description: String {
        let bound = "|Δ| ≤ \(Self.atol) + \(Self.rtol)·|keras|, torch.testing.assert_close float32"
        let verdict = passed ? "within" : "BEYOND"
        return "proof: converted (PyTorch semantics) vs Keras, \(elements) outputs in float32: max abs \(Self.scientific(maxAbsolute)), "
            + "max \(maxUlps) ULP; \(verdict) \(bound)" + (worst.map { "; first beyond: \($0)" } ?? "")
    }

    static func scientific(_ value: Double) -> String {
        guard value != 0 else { return "0" }
        let exponent = Int(floor(log10(abs(value))))
        let mantissa = value / pow(10, Double(exponent))
        let rounded = (mantissa * 100).rounded() / 100
        return "\(rounded)e\(exponent < 0 ? "-" : "+")\(abs(exponent) < 10 ? "0" : "")\(abs(exponent))"
    }
}
