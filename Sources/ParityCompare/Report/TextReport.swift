import Foundation
import ParityFormats

/// The exit code of `parity compare`: 0 match, 1 mismatch (2, an error, is the caller's).
public enum CompareExitCode {
    /// 0 for ``Comparison/Verdict/match``, 1 for ``Comparison/Verdict/mismatch``.
    public static func of(_ comparison: Comparison) -> Int32 { comparison.verdict == .match ? 0 : 1 }
}

extension LayerComparison {
    /// The measurement the pair is judged by: the local one, else end to end.
    public var judged: PairMeasurement { local ?? endToEnd }
}

extension Comparison {
    /// The `--json` report: every field of the comparison, keys sorted, pretty-printed; non-finite numbers as
    /// strings (`"inf"`, `"nan"`).
    public func jsonData() throws -> Data {
        try JSONEncoder.report([.prettyPrinted, .withoutEscapingSlashes]).encode(self)
    }

    /// The terminal report: how the inputs were fed, a per-pair table, the unpaired layers, the output check, the
    /// verdict and the findings. `color` adds ANSI colours (for a terminal).
    public func text(color: Bool = false) -> String {
        func paint(_ s: String, _ code: String) -> String { color ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s }
        func g(_ x: Double) -> String { x == 0 ? "0" : String(format: "%.2e", x) }
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
        var lines: [String] = []
        lines.append("A: \(a) (\(frameworkA.rawValue))")
        lines.append("B: \(b) (\(frameworkB.rawValue))")
        for feed in inputs { lines.append("input: \(feed.note)") }
        let header = ["layer A ↔ B", "shape", "paired by", "max abs", "max ULP", "cosine", "f64 diff", "noise", "end to end", "weights", ""]
        var rows: [[String]] = [header]
        for l in layers {
            let m = l.judged
            rows.append([l.name, "\(l.shape)", l.pairedBy.rawValue, g(m.metrics.maxAbs), "\(m.metrics.maxUlp)", String(format: "%.7f", m.metrics.cosine),
                         g(m.maxAbsFloat64), g(m.noise), g(l.endToEnd.metrics.maxAbs), l.weights.map(Self.weightsColumn) ?? "-",
                         l.diverges ? "DIVERGES" : "noise"])
        }
        let widths = header.indices.map { c in rows.map { $0[c].count }.max() ?? 0 }
        for (r, row) in rows.enumerated() {
            var line = row.indices.map { pad(row[$0], widths[$0]) }.joined(separator: "  ")
            while line.hasSuffix(" ") { line.removeLast() }
            if r > 0, row.last == "DIVERGES" { line = paint(line, "31") }
            lines.append(r == 0 ? paint(line, "1") : line)
        }
        lines.append("(max abs, ULP, cosine, f64 diff and noise: each layer on its own, both sides run on A's values at its inputs; end to end: each model from its own input)")
        for l in layers {
            for p in l.weights?.parameters ?? [] where !p.equal {
                lines.append("weights differ at \(l.name): [\(p.cause?.rawValue ?? "weights-differ")] \(p.detail ?? "")")
            }
        }
        for u in unpairedA { lines.append("unpaired in A: \(u.name) (\(u.kind)): \(u.reason)") }
        for u in unpairedB { lines.append("unpaired in B: \(u.name) (\(u.kind)): \(u.reason)") }
        for m in shapeMismatches { lines.append("shapes differ at \(m.a) ↔ \(m.b): A \(m.shapeA), B \(m.shapeB)") }
        for o in outputs {
            lines.append("output \(o.a) \(o.shape) ↔ \(o.b): \(o.description)")
        }
        lines.append("tolerance: rtol \(tolerance.rtol), atol \(tolerance.atol) (\(tolerance.source)): \(outputs.map(\.toleranceCheck).joined(separator: "; "))")
        if let firstDivergence { lines.append("first layer beyond float noise: \(firstDivergence)") }
        lines.append("verdict: \(verdict == .match ? paint("MATCH", "32") : paint("MISMATCH", "31"))")
        for f in findings { lines.append("- [\(f.cause.rawValue)] \(f.layer): \(f.message)" + (f.fix.map { " Fix: \($0)" } ?? "")) }
        if verdict == .mismatch, findings.isEmpty { lines.append("- no cause named: \(untestedNote)") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// What was tried when no cause was named.
    var untestedNote: String {
        testedHypotheses.isEmpty ? "no known convention hypothesis applies to \(firstDivergence ?? "the diverging layer")"
            : "tested \(testedHypotheses.map(\.rawValue).joined(separator: ", ")) at \(firstDivergence ?? "the diverging layer"); none brings the difference back within float noise"
    }

    /// The weights column: `equal`, `converted` (equal up to the convention's transform), `DIFFERENT`, `unmapped`.
    static func weightsColumn(_ check: WeightCheck) -> String {
        switch check.status {
        case .equal: return "equal"
        case .converted: return "converted"
        case .different: return "DIFFERENT"
        case .unmapped: return "unmapped"
        }
    }
}

extension Comparison.OutputComparison: CustomStringConvertible {
    /// The output's metrics in one line, or the two shapes when no layout change pairs them.
    public var description: String {
        guard let metrics, let maxAbsFloat64 else {
            return "B's output has shape \(shapeB ?? []): no layout change pairs it with A's"
        }
        let g = { (x: Double) in x == 0 ? "0" : String(format: "%.2e", x) }
        return "max abs \(g(metrics.maxAbs)), max rel \(g(metrics.maxRel)), max \(metrics.maxUlp) ULP, "
            + "cosine \(String(format: "%.7f", metrics.cosine)); Float64 runs differ by \(g(maxAbsFloat64))"
    }

    /// Whether the output is within the tolerance, in words.
    public var toleranceCheck: String {
        withinTolerance ? "within" : (metrics == nil ? "shapes differ" : "\(violations) of \(metrics?.count ?? 0) elements outside")
    }
}
