import Foundation

/// The exit code of `parity compare`: 0 match, 1 mismatch (2, an error, is the caller's).
public enum CompareExitCode {
    public static func of(_ comparison: Comparison) throws -> Int32 { comparison.verdict == .match ? 0 : 1 }
}

extension Comparison {
    /// The `--json` report: `verdict`, `tolerance`, `output`, `layers`, `findings` and the alignment details,
    /// keys sorted, pretty-printed; non-finite numbers as strings (`"inf"`, `"nan"`).
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(self)
    }

    /// The terminal report: how the input was fed, a per-layer table, the output check, the verdict and the
    /// findings. `color` adds ANSI colours (for a terminal).
    public func text(color: Bool = false) -> String {
        func paint(_ s: String, _ code: String) -> String { color ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s }
        func g(_ x: Double) -> String { x == 0 ? "0" : String(format: "%.2e", x) }
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
        var lines: [String] = []
        lines.append("A: \(a)")
        lines.append("B: \(b)")
        lines.append("input: \(inputLayoutNote)")
        let header = ["layer A ↔ B", "shape", "max abs", "max rel", "max ULP", "med ULP", "cosine", "f64 diff", "noise", "closer f64", "weights", ""]
        var rows: [[String]] = [header]
        for l in layers {
            let name = l.a == l.b ? l.a : "\(l.a) ↔ \(l.b)"
            rows.append([name + (l.pairedBy == .order ? " (by order)" : ""), "\(l.shape)", g(l.metrics.maxAbs), g(l.metrics.maxRel),
                         "\(l.metrics.maxUlp)", "\(l.metrics.medianUlp)", String(format: "%.7f", l.metrics.cosine), g(l.maxAbsFloat64),
                         g(l.noise), l.float64Closer?.rawValue ?? "tie", l.weights.map(Self.weightsColumn) ?? "-",
                         l.exceedsNoise ? "DIVERGES" : "noise"])
        }
        let widths = header.indices.map { c in rows.map { $0[c].count }.max() ?? 0 }
        for (r, row) in rows.enumerated() {
            var line = row.indices.map { pad(row[$0], widths[$0]) }.joined(separator: "  ")
            while line.hasSuffix(" ") { line.removeLast() }
            if r > 0, row.last == "DIVERGES" { line = paint(line, "31") }
            lines.append(r == 0 ? paint(line, "1") : line)
        }
        for l in layers {
            for p in l.weights?.parameters ?? [] where !p.equal {
                lines.append("weights differ at \(l.a) ↔ \(l.b): [\(p.cause ?? "weights-differ")] \(p.detail ?? "")")
            }
        }
        if !unpairedA.isEmpty { lines.append("unpaired in A: \(unpairedA.joined(separator: ", "))") }
        if !unpairedB.isEmpty { lines.append("unpaired in B: \(unpairedB.joined(separator: ", "))") }
        for m in shapeMismatches { lines.append("shapes differ at \(m.a) ↔ \(m.b): A \(m.shapeA), B \(m.shapeB)") }
        lines.append("output \(output.shape): \(output.description)")
        lines.append("tolerance: rtol \(tolerance.rtol), atol \(tolerance.atol) (\(tolerance.source)): \(output.toleranceCheck)")
        if let firstDivergence { lines.append("first layer beyond float noise: \(firstDivergence)") }
        let verdictText = verdict == .match ? paint("MATCH", "32") : paint("MISMATCH", "31")
        lines.append("verdict: \(verdictText)")
        for f in findings { lines.append("- [\(f.cause)] \(f.layer): \(f.message)" + (f.fix.map { " Fix: \($0)" } ?? "")) }
        if verdict == .mismatch, findings.isEmpty {
            let tried = testedHypotheses.isEmpty ? "no known convention hypothesis applies to that layer"
                : "tested \(testedHypotheses.joined(separator: ", ")) at \(firstDivergence ?? "the first diverging layer"); none brings the difference back within float noise"
            lines.append("- no cause named: \(tried)")
        }
        return lines.joined(separator: "\n") + "\n"
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
