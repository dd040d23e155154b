import Foundation
import ParityKeras
import ParityNN
import ParityTorch

/// The proof that a conversion is faithful: the converted model runs in Parity with its target
/// framework's semantics (Keras → PyTorch: its ATen calls on the converted tensors; PyTorch → Keras:
/// the written `.keras` archive, read back by ParityKeras) and its outputs are compared with the
/// source model's, run in Parity with the source framework's semantics on the same input, in Float32.
///
/// The bound is `torch.testing.assert_close`'s for float32, `|converted − source| ≤ atol + rtol·|source|`
/// with `atol = 1e-5`, `rtol = 1.3e-6`: what a PyTorch user checks a port with. Two faithful
/// implementations differ by accumulation order and transcendental kernels only (Parity measures
/// ≤ 4e-6 on these layers); a wrong transpose, gate order, epsilon or padding moves outputs by far more.
public struct ConversionProof: Sendable, CustomStringConvertible {
    /// The relative bound, `torch.testing.assert_close`'s for float32 (``AssertCloseDefaults``).
    public static let rtol = AssertCloseDefaults.float32.rtol
    /// The absolute bound, `torch.testing.assert_close`'s for float32 (``AssertCloseDefaults``).
    public static let atol = AssertCloseDefaults.float32.atol

    /// Which way the model was converted: names the two sides in the report.
    public enum Direction: Sendable {
        /// Keras → PyTorch.
        case kerasToTorch
        /// PyTorch → Keras.
        case torchToKeras

        var converted: String { self == .kerasToTorch ? "PyTorch" : "Keras" }
        var source: String { self == .kerasToTorch ? "Keras" : "PyTorch" }
    }

    /// Which way the model was converted.
    public var direction: Direction

    /// Per output: max abs difference, max ULP distance, and whether every element is within the bound.
    public var maxAbsolute: Double
    /// The largest distance in units in the last place, over every output.
    public var maxUlps: UInt64
    /// The number of output elements compared.
    public var elements: Int
    /// Whether every element is within `atol + rtol·|source|`.
    public var passed: Bool
    /// The first element beyond the bound, described.
    public var worst: String?
    /// The most bytes of intermediate values each side's run held, when the runs were metered.
    public var memory: (converted: Int, source: Int)?

    /// Runs `module` on `inputs` within `memory` (``run(_:inputs:within:)-(TorchProgram,_,_)``) and
    /// compares with `kerasOutputs`.
    public init(module: TorchModuleSource, inputs: [Tensor], kerasOutputs: [Tensor], memory: ProofMemory = .available) throws {
        let torchOutputs = try Self.run(module.program(), inputs: inputs, within: memory).outputs
        try self.init(torch: torchOutputs, keras: kerasOutputs)
    }

    /// Compares the converted PyTorch model's outputs with Keras's.
    public init(torch: [Tensor], keras: [Tensor]) throws {
        try self.init(converted: torch, source: keras, direction: .kerasToTorch)
    }

    /// PyTorch → Keras: runs the written Keras model (read back from its archive) with Keras's semantics
    /// and the program with PyTorch's, on `inputs`, in Float32. The caller holds both models; the CLI
    /// runs one side at a time instead (``run(_:inputs:within:)-(TorchProgram,_,_)``) to hold one.
    public init(keras model: KerasModel, program: TorchProgram, inputs: [Tensor], memory: ProofMemory = .available) throws {
        let converted = try Self.run(model, inputs: inputs, within: memory)
        try self.init(converted: converted, source: Self.run(program, inputs: inputs, within: memory), direction: .torchToKeras)
    }

    /// Compares two sides' runs, keeping what each held for the report.
    public init(converted: Run, source: Run, direction: Direction) throws {
        try self.init(converted: converted.outputs, source: source.outputs, direction: direction)
        memory = (converted: converted.peakIntermediateBytes, source: source.peakIntermediateBytes)
    }

    /// Compares the converted model's outputs with the source model's.
    public init(converted: [Tensor], source: [Tensor], direction: Direction) throws {
        self.direction = direction
        guard converted.count == source.count else {
            throw ConvertError.shape(layer: "outputs", message: "the converted model gives \(converted.count) outputs; \(direction.source) \(source.count)")
        }
        var maxAbsolute = 0.0, maxUlps: UInt64 = 0, elements = 0, passed = true, worst: String?
        for (index, (t, k)) in zip(converted, source).enumerated() {
            guard t.shape == k.shape else {
                throw ConvertError.shape(layer: "outputs", message: "output \(index) has shape \(t.shape) converted, \(k.shape) in \(direction.source)")
            }
            let metrics = try ErrorMetrics(t.cast(to: .float32), k.cast(to: .float32))
            maxAbsolute = max(maxAbsolute, metrics.maxAbsolute)
            maxUlps = max(maxUlps, metrics.maxUlps)
            elements += k.count
            for (i, (a, e)) in zip(t.doubles, k.doubles).enumerated() where !(abs(a - e) <= Self.atol + Self.rtol * abs(e)) {
                passed = false
                if worst == nil { worst = "output \(index) element \(i): converted \(a), \(direction.source) \(e)" }
            }
        }
        (self.maxAbsolute, self.maxUlps, self.elements, self.passed, self.worst) = (maxAbsolute, maxUlps, elements, passed, worst)
    }

    public var description: String {
        let bound = "|Δ| ≤ \(Self.atol) + \(Self.rtol)·|\(direction.source == "Keras" ? "keras" : "torch")|, torch.testing.assert_close float32"
        let verdict = passed ? "within" : "BEYOND"
        return "proof: converted (\(direction.converted) semantics) vs \(direction.source), \(elements) outputs in float32: max abs \(Self.scientific(maxAbsolute)), "
            + "max \(maxUlps) ULP; \(verdict) \(bound)" + (worst.map { "; first beyond: \($0)" } ?? "")
            + (memory.map { "; intermediate values held at most: \(direction.converted) \(WorkingSetExceeded.size($0.converted)), \(direction.source) \(WorkingSetExceeded.size($0.source))" } ?? "")
    }

    static func scientific(_ value: Double) -> String {
        guard value != 0 else { return "0" }
        let exponent = Int(floor(log10(abs(value))))
        let mantissa = value / pow(10, Double(exponent))
        let rounded = (mantissa * 100).rounded() / 100
        return "\(rounded)e\(exponent < 0 ? "-" : "+")\(abs(exponent) < 10 ? "0" : "")\(abs(exponent))"
    }
}
