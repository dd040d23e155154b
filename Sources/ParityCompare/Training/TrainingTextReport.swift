import Foundation

extension TrainingComparison {
    /// The terminal report: settings, one line per step (losses, the worst gradient and value against noise),
    /// where the runs part, and the findings.
    public func text() -> String {
        func sci(_ x: Double) -> String { String(format: "%.3g", x) }
        var out = ["", "Training comparison: \(steps) steps\(batchSize.map { ", batches of \($0)" } ?? ", all rows per step") (float32, Float64 referee)"]
        out.append("  A: \(optimizerA), \(lossA)")
        out.append("  B: \(optimizerB), \(lossB)")
        out.append("  pairing: \(pairing)")
        if !unpaired.isEmpty { out.append("  not paired: \(unpaired.joined(separator: ", "))") }
        out.append("  step  loss A        loss B        worst gradient (abs, noise)        worst value (abs, noise)")
        for step in trainSteps {
            func worst(_ kind: Quantity.Kind) -> String {
                let qs = step.quantities.filter { $0.kind == kind }
                guard let q = qs.max(by: { ratio($0) < ratio($1) }) else { return "-" }
                return "\(q.name) \(sci(q.measurement.metrics.maxAbs)) (\(sci(q.measurement.noise)))\(q.measurement.exceedsNoise ? " ✗" : "")"
            }
            out.append(String(format: "  %4ld  %-12.7g  %-12.7g  ", step.step, step.lossA, step.lossB)
                       + worst(.gradient).padding(toLength: 35, withPad: " ", startingAt: 0) + worst(.value))
        }
        if let d = firstDivergence {
            let q = trainSteps[d.step - 1].quantities.first { $0.name == d.name && $0.kind == d.kind }
            let other = q.map { $0.other == [$0.name] ? "" : " ↔ \($0.other.joined(separator: " + "))" } ?? ""
            out.append("  first parts at step \(d.step): \(d.kind.rawValue) of \(d.name)\(other)"
                       + (q.map { " (float32 max abs \(sci($0.measurement.metrics.maxAbs)), Float64 \(sci($0.measurement.maxAbsFloat64)), noise \(sci($0.measurement.noise)))" } ?? ""))
        }
        out.append("  verdict: \(verdict.rawValue)")
        for f in findings {
            out.append("  cause: \(f.cause.rawValue) (explains \(Int((f.explains * 100).rounded()))%): \(f.message)")
            if let fix = f.fix { out.append("    fix: \(fix)") }
        }
        if verdict == .mismatch {
            if findings.isEmpty { out.append("  no tested convention explains the difference (tested: \(testedHypotheses.map(\.rawValue).joined(separator: ", ")))") }
            else if explained == false { out.append("  the named causes leave a difference beyond noise unexplained") }
        }
        return out.joined(separator: "\n") + "\n"
    }

    private func ratio(_ q: Quantity) -> Double {
        q.measurement.noise > 0 ? q.measurement.metrics.maxAbs / q.measurement.noise : (q.measurement.metrics.maxAbs > 0 ? .infinity : 0)
    }
}
