import Foundation
import ParityConvert
import ParityKeras

/// A paired layer's weights compared under the faithful Keras → PyTorch convention (``WeightConvention``):
/// `equal` (the same numbers in the same layout), `equal-up-to-convention` (equal after the convention's
/// transform: transpose, permute, gate reorder, bias split), `different`, or `unmapped` (weights Parity has
/// no faithful PyTorch mapping for).
public struct WeightCheck: Sendable, Codable, Equatable {
    public enum Status: String, Sendable, Codable { case equal, converted = "equal-up-to-convention", different, unmapped }

    /// One PyTorch parameter (or a sum of them) against the Keras variable it should come from.
    public struct Parameter: Sendable, Codable, Equatable {
        /// PyTorch parameter names (full state_dict keys); several when their sum is the Keras variable.
        public var torch: [String]
        public var keras: String
        public var transform: String
        public var equal: Bool
        /// For a difference: the cause id it matches (`kernel-layout`, `lstm-gate-order`, `gru-gate-order`,
        /// `lstm-bias-doubled`, `rnn-bias-doubled`, `weights-differ`).
        public var cause: String?
        public var detail: String?
    }

    public var status: Status
    public var parameters: [Parameter]
    public var note: String?

    /// Compares Keras layer `layer`'s variables with `parameters`, the parameters of B's module at `path`
    /// keyed by their last name component; `nil` when the layer holds no weights.
    static func compare(_ layer: KerasNetwork.Layer, parameters found: [String: Tensor], path: String) throws -> WeightCheck? {
        guard !layer.weights.isEmpty else { return nil }
        guard let convention = try WeightConvention.of(layer) else {
            return WeightCheck(status: .unmapped, parameters: [], note: "no faithful PyTorch mapping of \(layer.className)'s weights is known to Parity")
        }
        var parameters: [Parameter] = []
        for p in convention.parameters {
            var check = Parameter(torch: p.names.map { "\(path).\($0)" }, keras: p.keras, transform: p.transform, equal: false)
            let parts = p.names.compactMap { found[$0] }
            if parts.count != p.names.count {
                check.cause = "weights-differ"
                check.detail = "B's module `\(path)` has no parameter \(p.names.filter { found[$0] == nil }.joined(separator: ", "))"
            } else if parts.contains(where: { $0.shape != p.value.shape }) {
                check.cause = "weights-differ"
                check.detail = "shape \(parts.map(\.shape)) in B, \(p.value.shape) expected from Keras's \(p.keras) \(p.source.shape)"
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
    static func classify(_ p: WeightConvention.Parameter, actual: Tensor, parts: [Tensor], className: String) throws -> (String, String) {
        if let gates = p.gates, gates.count > 1 {
            for order in permutations(gates.count) where order != Array(0..<gates.count) {
                if equal(try WeightLayout.reorderingBlocks(p.value, order), actual, rounding: parts.count > 1) {
                    let cause = className == "GRU" ? "gru-gate-order" : "lstm-gate-order"
                    return (cause, "B's \(p.names.joined(separator: " + ")) holds the gate blocks in the order [\(order.map { gates[$0] }.joined(separator: ", "))] "
                            + "where PyTorch expects [\(gates.joined(separator: ", "))] (from Keras's \(p.keras) by \(p.transform))")
                }
            }
        }
        if parts.count == 2, parts.allSatisfy({ equal($0.cast(to: .float64), p.value, rounding: false) }) {
            let cause = className == "LSTM" ? "lstm-bias-doubled" : "rnn-bias-doubled"
            return (cause, "Keras's \(p.keras) was copied into both \(p.names.joined(separator: " and ")): PyTorch adds them, so the bias counts twice")
        }
        if p.source.rank >= 2, p.source.rank <= 5, let faithful = p.permutation {
            for order in permutations(p.source.rank) where order != faithful {
                let candidate = try p.source.permuted(order)
                if candidate.shape == actual.shape, equal(candidate, actual, rounding: false) {
                    let axes = { (o: [Int]) in o.map(String.init).joined(separator: ", ") }
                    return ("kernel-layout", "B's \(p.names[0]) is Keras's \(p.keras) \(p.source.shape) permuted (\(axes(order))) instead of (\(axes(faithful)))")
                }
            }
        }
        let (x, y) = (actual.doubles, p.value.doubles)
        var count = 0, worst = 0.0, at = 0
        for i in x.indices where x[i] != y[i] {
            count += 1
            if Swift.abs(x[i] - y[i]) > worst { worst = Swift.abs(x[i] - y[i]); at = i }
        }
        return ("weights-differ", "\(count) of \(x.count) elements of \(p.names.joined(separator: " + ")) differ from Keras's \(p.keras) (\(p.transform)); "
                + "largest at flat index \(at): \(y[at]) expected, \(x[at]) in B")
    }

    /// Every permutation of `0..<n` (n ≤ 5), identity first.
    static func permutations(_ n: Int) -> [[Int]] {
        guard n > 1 else { return [Array(0..<n)] }
        var result: [[Int]] = []
        for rest in permutations(n - 1) {
            for position in (0...rest.count).reversed() {
                var order = rest
                order.insert(n - 1, at: position)
                result.append(order)
            }
        }
        return result.sorted { $0 == Array(0..<n) ? true : ($1 == Array(0..<n) ? false : $0.lexicographicallyPrecedes($1)) }
    }
}
