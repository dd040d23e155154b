import ParityConvert
import ParityKeras

extension Diagnosis {
    /// `kernel-layout`, `lstm-gate-order`, `gru-gate-order`, `lstm-bias-doubled`, `weights-differ`: B's
    /// parameters read back into A's layer through the faithful convention (``WeightConvention``). When the
    /// rebuilt layer reproduces B, the difference is in the weights; ``WeightCheck`` names how they differ.
    static func weights(_ c: Context) throws -> [Hypothesis] {
        guard let check = c.weightCheck, check.status == .different, let convention = try WeightConvention.of(c.layer),
              let fromB = try? convention.kerasWeights(c.parameters.relative(convention.parameters.flatMap(\.names))) else { return [] }
        let rerun = try rerunning(c.layer, weights: fromB)
        var hypotheses: [Hypothesis] = []
        for p in check.parameters where !p.equal {
            guard let cause = p.cause, !hypotheses.contains(where: { $0.cause == cause }) else { continue }
            hypotheses.append(Hypothesis(cause: cause, a: "Keras's \(p.keras) (\(p.transform) gives PyTorch's \(p.torch.joined(separator: " + ")))",
                                         b: p.detail ?? "different weights", fix: weightFix(cause, p),
                                         kerasFix: "Keras's \(p.keras) = \(p.torch.joined(separator: " + ")) by the inverse of: \(p.transform)", rerun: rerun))
        }
        return hypotheses
    }

    static func weightFix(_ cause: Cause, _ p: WeightCheck.Parameter) -> String {
        let name = p.torch.joined(separator: ", ")
        switch cause {
        case .kernelLayout: return "\(name) = Keras \(p.keras) with \(p.transform) (torch.from_numpy(kernel).permute(...) in that order)"
        case .lstmGateOrder, .gruGateOrder:
            let className = cause == .lstmGateOrder ? "LSTM" : "GRU"
            let rows = ParameterTable.rows(className) ?? []
            return "each \(className) kernel → PyTorch by " + (rows.first?.transform ?? "its table row") + " (ParameterTable; no other block order)"
        case .lstmBiasDoubled, .rnnBiasDoubled: return "bias_ih_l0 = Keras bias, bias_hh_l0 = 0 (PyTorch adds both biases)"
        default: return "load the same checkpoint on both sides: \(name) should be Keras's \(p.keras) (\(p.transform))"
        }
    }
}
