import Foundation
import ParityConvert
import ParityKeras

/// A paired layer's weights compared under the faithful Keras → PyTorch convention (`WeightConvention`):
/// `equal` (the same numbers in the same layout), `equal-up-to-convention` (equal after the convention's
/// transform: transpose, permute, gate reorder, bias split), `different`, or `unmapped` (weights Parity has
/// no faithful PyTorch mapping for).
public struct WeightCheck: Sendable, Codable, Equatable {
    /// The outcome of a layer's weight check.
    public enum Status: String, Sendable, Codable {
        /// The same numbers in the same layout.
        case equal
        /// Equal after the convention's transform.
        case converted = "equal-up-to-convention"
        /// Some parameter differs.
        case different
        /// No faithful PyTorch mapping of the layer's weights is known, or B reads no such parameter.
        case unmapped
    }

    /// One PyTorch parameter (or a sum of them) against the Keras variable it should come from.
    public struct Parameter: Sendable, Codable, Equatable {
        /// PyTorch parameter names (full state_dict keys); several when their sum is the Keras variable.
        public var torch: [String]
        /// The Keras variable.
        public var keras: String
        /// The convention's transform from the Keras variable to the parameter.
        public var transform: String
        /// Whether the parameter equals the transformed variable.
        public var equal: Bool
        /// For a difference: the cause id it matches (`kernel-layout`, `lstm-gate-order`, `gru-gate-order`,
        /// `lstm-bias-doubled`, `rnn-bias-doubled`, `weights-differ`).
        public var cause: Cause?
        /// What differs, in words.
        public var detail: String?
    }

    /// The layer's outcome.
    public var status: Status
    /// Each parameter checked.
    public var parameters: [Parameter]
    /// Why the layer is unmapped, when it is.
    public var note: String?

    /// Compares Keras layer `layer`'s variables with the PyTorch parameters a part reads; `nil` when the layer
    /// holds no weights.
    static func compare(_ layer: KerasNetwork.Layer, lookup: ParameterLookup) throws -> WeightCheck? {
        guard !layer.weights.isEmpty else { return nil }
        guard let convention = try WeightConvention.of(layer) else {
            return WeightCheck(status: .unmapped, parameters: [], note: "no faithful PyTorch mapping of \(layer.className)'s weights is known to Parity")
        }
        var parameters: [Parameter] = []
        for p in convention.parameters {
            let found = p.names.map { lookup.find($0) }
            var check = Parameter(torch: zip(p.names, found).map { $1?.fqn ?? $0 }, keras: p.keras, transform: p.transform, equal: false)
            let parts = found.compactMap { $0?.tensor }
            if parts.count != p.names.count {
                return WeightCheck(status: .unmapped, parameters: [],
                                   note: "the PyTorch part reads no single parameter named \(p.names.filter { lookup.find($0) == nil }.joined(separator: ", ")) for \(layer.className)'s \(p.keras)")
            } else if parts.contains(where: { $0.shape != p.value.shape }) {
                check.cause = .weightsDiffer
                check.detail = "shape \(parts.map(\.shape)) in PyTorch, \(p.value.shape) expected from Keras's \(p.keras) \(p.source.shape)"
            } else {
                let actual = try parts.dropFirst().reduce(parts[0].cast(to: .float64)) { try $0.combining($1.cast(to: .float64), .add) }
                if equal(actual, p.value, rounding: parts.count > 1) {
                    check.equal = true
                } else {
                    (check.cause, check.detail) = try classify(p, actual: actual, parts: parts, className: convention.className)
                }
            }
            parameters.append(check)
        }
        let status: Status = parameters.contains { !$0.equal } ? .different
            : (convention.parameters.allSatisfy { $0.transform == "as is" } ? .equal : .converted)
        return WeightCheck(status: status, parameters: parameters, note: nil)
    }

    /// Equal as numbers; a sum of several parameters may differ from the Keras variable by its rounding.
    static func equal(_ a: Tensor, _ b: Tensor, rounding: Bool) -> Bool {
        let (x, y) = (a.doubles, b.doubles)
        guard x.count == y.count else { return false }
        for (u, v) in zip(x, y) where u != v {
            guard rounding, Swift.abs(u - v) <= 2 * Double(Float.ulpOfOne) * Swift.max(Swift.abs(u), Swift.abs(v)) else { return false }
        }
        return true
    }

    /// Names a parameter's difference: gate blocks in another order, a bias copied into both PyTorch biases,
    /// a kernel under another axis permutation, or plain different numbers.
    static func classify(_ p: WeightConvention.Parameter, actual: Tensor, parts: [Tensor], className: String) throws -> (Cause, String) {
        if let gates = p.gates, gates.count > 1 {
            for order in Layout.permutations(gates.count) where order != Array(0..<gates.count) {
                if equal(try ParameterStep.reorderingBlocks(p.value, order), actual, rounding: parts.count > 1) {
                    let cause: Cause = className == "GRU" ? .gruGateOrder : .lstmGateOrder
                    return (cause, "PyTorch's \(p.names.joined(separator: " + ")) holds the gate blocks in the order [\(order.map { gates[$0] }.joined(separator: ", "))] "
                            + "where PyTorch expects [\(gates.joined(separator: ", "))] (from Keras's \(p.keras) by \(p.transform))")
                }
            }
        }
        if parts.count == 2, parts.allSatisfy({ equal($0.cast(to: .float64), p.value, rounding: false) }) {
            let cause: Cause = className == "LSTM" ? .lstmBiasDoubled : .rnnBiasDoubled
            return (cause, "Keras's \(p.keras) was copied into both \(p.names.joined(separator: " and ")): PyTorch adds them, so the bias counts twice")
        }
        if p.source.rank >= 2, p.source.rank <= 5, let faithful = p.permutation {
            for order in Layout.permutations(p.source.rank) where order != faithful {
                let candidate = try p.source.permuted(order)
                if candidate.shape == actual.shape, equal(candidate, actual, rounding: false) {
                    let axes = { (o: [Int]) in o.map(String.init).joined(separator: ", ") }
                    return (.kernelLayout, "PyTorch's \(p.names[0]) is Keras's \(p.keras) \(p.source.shape) permuted (\(axes(order))) instead of (\(axes(faithful)))")
                }
            }
        }
        if p.source.count == actual.count, p.source.shape != actual.shape, equal(try p.source.reshaped(actual.shape), actual, rounding: false) {
            return (.kernelLayout, "PyTorch's \(p.names[0]) is Keras's \(p.keras) \(p.source.shape) reshaped to \(actual.shape) (its memory order kept) instead of \(p.transform)")
        }
        let (x, y) = (actual.doubles, p.value.doubles)
        var count = 0, worst = 0.0, at = 0
        for i in x.indices where x[i] != y[i] {
            count += 1
            if Swift.abs(x[i] - y[i]) > worst { worst = Swift.abs(x[i] - y[i]); at = i }
        }
        return (.weightsDiffer, "\(count) of \(x.count) elements of \(p.names.joined(separator: " + ")) differ from Keras's \(p.keras) (\(p.transform)); "
                + "largest at flat index \(at): \(y[at]) expected, \(x[at]) in PyTorch")
    }
}
