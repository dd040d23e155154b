import Foundation

extension Comparison {
    /// The `--html` report: one self-contained HTML5 document (inline CSS and SVG, no scripts, no external
    /// references) with the content of ``text(color:)``: the models, the verdict, the input layout, the
    /// tolerance and output check, a log-scale plot of the error per paired layer (`ErrorPlot`), the
    /// per-layer table, unpaired layers and the findings. Every string taken from the models (layer names,
    /// labels, messages) is HTML-escaped.
    /// - Parameter training: a training comparison of the same pair, shown after the findings
    ///   (``TrainingComparison/htmlSection()``).
    public func html(training: TrainingComparison? = nil) -> String {
        let title = "Parity compare: \(a) ↔ \(b)"
        return """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(title.htmlEscaped)</title>
        <style>\(Self.htmlStyle)</style>
        </head>
        <body>
        <header>
        <h1>Parity compare</h1>
        <p class="models"><span class="side">A</span> <code>\(a.htmlEscaped)</code><br><span class="side">B</span> <code>\(b.htmlEscaped)</code></p>
        <p class="verdict \(verdict.rawValue)">\(verdict == .match ? "MATCH" : "MISMATCH")</p>
        </header>
        \(htmlSummary())
        <section id="plot">
        <h2>Error per layer</h2>
        \(ErrorPlot(self).svg())
        <p class="note">Log scale. A layer diverges when its float32 difference exceeds the noise bound \
        (\(String(format: "%g", PairMeasurement.noiseFactor))·noise, each side's own float32 rounding measured against its Float64 rerun) \
        or when the Float64 runs differ by more than Float64 rounding explains. Exact zeros are drawn as hollow markers on the line marked 0.</p>
        </section>
        \(htmlLayerTable())
        \(htmlUnpaired())
        \(htmlFindings())
        \(training?.htmlSection() ?? "")
        </body>
        </html>

        """
    }

    /// Input layout, tolerance, output metrics and the first diverging layer.
    private func htmlSummary() -> String {
        let check = output.withinTolerance ? "<span class=\"ok\">within</span>"
            : "<span class=\"bad\">\(output.toleranceCheck.htmlEscaped)</span>"
        var rows = [
            ("input", inputLayoutNote.htmlEscaped),
            ("tolerance", "rtol \(tolerance.rtol), atol \(tolerance.atol) (\(tolerance.source.htmlEscaped)): \(check)"),
            ("output \(output.shape)", output.description.htmlEscaped),
        ] + shapeMismatches.map { m in
            ("shapes differ at \(m.a) ↔ \(m.b)", "A \(m.shapeA), B \(m.shapeB)".htmlEscaped)
        }
        if let firstDivergence { rows.append(("first layer beyond float noise", "<strong class=\"bad\">\(firstDivergence.htmlEscaped)</strong>")) }
        let items = rows.map { "<dt>\($0.0.htmlEscaped)</dt><dd>\($0.1)</dd>" }.joined(separator: "\n")
        return "<section id=\"summary\">\n<dl>\n\(items)\n</dl>\n</section>"
    }

    /// The per-layer table: the terminal report's columns, diverging rows highlighted.
    private func htmlLayerTable() -> String {
        let g = Self.htmlNumber
        let header = ["layer A ↔ B", "shape", "paired by", "max abs", "max rel", "max ULP", "cosine", "f64 diff", "noise", "end to end", "weights", ""]
        let rows = layers.map { l -> String in
            let name = l.name
            let m = l.judged
            let kinds = l.kindA == l.kindB ? l.kindA : "\(l.kindA) ↔ \(l.kindB)"
            let cells = ["\(l.shape)", l.pairedBy.rawValue, g(m.metrics.maxAbs), g(m.metrics.maxRel), "\(m.metrics.maxUlp)",
                         String(format: "%.7f", m.metrics.cosine), g(m.maxAbsFloat64), g(m.noise), g(l.endToEnd.metrics.maxAbs),
                         l.weights.map(Self.weightsColumn) ?? "-"]
            let status = l.diverges ? "<td class=\"status bad\">DIVERGES</td>" : "<td class=\"status\">noise</td>"
            return "<tr class=\"layer\(l.diverges ? " diverges" : "")\"><th scope=\"row\" title=\"\(kinds.htmlEscaped)\">\(name.htmlEscaped)</th>"
                + cells.map { "<td>\($0.htmlEscaped)</td>" }.joined() + status + "</tr>"
        }
        return """
        <section id="layers">
        <h2>Paired layers</h2>
        <div class="scroll"><table>
        <thead><tr>\(header.map { "<th scope=\"col\">\($0)</th>" }.joined())</tr></thead>
        <tbody>
        \(rows.joined(separator: "\n"))
        </tbody>
        </table></div>
        </section>
        """
    }

    /// Layers of either side that were not paired, and paired layers whose weights differ (empty when
    /// there are none).
    private func htmlUnpaired() -> String {
        let weightLines = layers.flatMap { l in
            (l.weights?.parameters ?? []).filter { !$0.equal }.map { p in
                "<li>weights differ at <code>\(l.name.htmlEscaped)</code>: [\((p.cause?.rawValue ?? "weights-differ").htmlEscaped)] \((p.detail ?? "").htmlEscaped)</li>"
            }
        }
        guard !unpairedA.isEmpty || !unpairedB.isEmpty || !weightLines.isEmpty else { return "" }
        func items(_ side: String, _ list: [Unpaired]) -> String {
            list.map { "<li>unpaired in \(side): <code>\($0.name.htmlEscaped)</code> (\($0.kind.htmlEscaped)): \($0.reason.htmlEscaped)</li>" }.joined()
        }
        return "<section id=\"unpaired\">\n<h2>Unpaired layers and weights</h2>\n<ul>\(items("A", unpairedA))\(items("B", unpairedB))"
            + weightLines.joined() + "</ul>\n</section>"
    }

    /// The findings, or what was tested when no cause was named.
    private func htmlFindings() -> String {
        var body = ""
        if !findings.isEmpty {
            let header = ["cause", "layer", "A", "B", "explains", "fix", "message"]
            let rows = findings.map { f in
                let cells = [f.layer, f.a ?? "", f.b ?? "", String(format: "%.6f", f.explains)].map { "<td>\($0.htmlEscaped)</td>" }
                return "<tr><th scope=\"row\"><code>\(f.cause.rawValue.htmlEscaped)</code></th>\(cells.joined())"
                    + "<td>\(f.fix.map { "<code>\($0.htmlEscaped)</code>" } ?? "")</td><td class=\"message\">\(f.message.htmlEscaped)</td></tr>"
            }
            body = "<table>\n<thead><tr>\(header.map { "<th scope=\"col\">\($0)</th>" }.joined())</tr></thead>\n<tbody>\n"
                + rows.joined(separator: "\n") + "\n</tbody>\n</table>"
        }
        if verdict == .mismatch, findings.isEmpty {
            body = "<p class=\"no-cause\">No cause named: \(untestedNote.htmlEscaped)</p>"
        }
        return body.isEmpty ? "" : "<section id=\"findings\">\n<h2>Findings</h2>\n\(body)\n</section>"
    }

    /// A difference as the terminal report writes it: `0` or three significant digits, `1.23e-05`.
    static func htmlNumber(_ x: Double) -> String { x == 0 ? "0" : String(format: "%.2e", x) }

    /// The report's stylesheet: a light palette, and a dark one when the reader's system prefers it.
    static let htmlStyle = """
    :root { color-scheme: light dark; --fg: #1c2230; --muted: #5c6678; --bg: #ffffff; --panel: #f4f6f9; --grid: #dde1e8;
      --abs: #d1495b; --noise: #7d8798; --f64: #2b7bb9; --good: #1e8449; --bad: #c0392b; --bad-row: #fdecea; }
    @media (prefers-color-scheme: dark) {
      :root { --fg: #e4e8ef; --muted: #9aa4b5; --bg: #151922; --panel: #1e2430; --grid: #323a48;
        --abs: #ff6b7d; --noise: #9aa4b5; --f64: #5fb0f0; --good: #5ad17f; --bad: #ff6b5e; --bad-row: #3a1f22; }
    }
    body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg);
      margin: 0 auto; padding: 1.5rem 2rem; max-width: 72rem; }
    h1 { font-size: 1.5rem; margin: 0 0 .4rem; }
    h2 { font-size: 1.15rem; margin: 1.6rem 0 .5rem; }
    code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .9em; overflow-wrap: anywhere; }
    .side { display: inline-block; width: 1.4em; font-weight: 600; color: var(--muted); }
    .verdict { display: inline-block; font-weight: 700; letter-spacing: .06em; padding: .2rem .8rem; border-radius: .3rem; color: #fff; margin: .2rem 0; }
    .verdict.match { background: var(--good); }
    .verdict.mismatch { background: var(--bad); }
    .ok { color: var(--good); font-weight: 600; }
    .bad { color: var(--bad); font-weight: 600; }
    dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; background: var(--panel); padding: .8rem 1rem; border-radius: .4rem; }
    dt { color: var(--muted); }
    dd { margin: 0; }
    .note { color: var(--muted); font-size: .85rem; }
    table { border-collapse: collapse; width: 100%; font-size: .85rem; }
    th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid var(--grid); vertical-align: top; }
    .scroll { overflow-x: auto; }
    #layers th[scope="row"] { overflow-wrap: anywhere; min-width: 8rem; }
    #layers td { font-family: ui-monospace, "DejaVu Sans Mono", monospace; white-space: nowrap; }
    tr.diverges { background: var(--bad-row); }
    tr.diverges th, td.status.bad { color: var(--bad); font-weight: 600; }
    td.message { font-size: .8rem; }
    #findings th[scope="row"] code { white-space: nowrap; }
    svg.plot { width: 100%; height: auto; font-family: system-ui, sans-serif; }
    svg.plot .grid { stroke: var(--grid); stroke-width: 1; }
    svg.plot .grid.floor { stroke-dasharray: 4 3; }
    svg.plot .axis { stroke: var(--muted); stroke-width: 1; }
    svg.plot text { fill: var(--fg); font-size: 12px; }
    svg.plot text.tick, svg.plot text.axis-title { fill: var(--muted); }
    svg.plot text.layer-label.diverges { fill: var(--bad); font-weight: 600; }
    svg.plot .series { fill: none; stroke-width: 2; stroke-linejoin: round; }
    svg.plot .s-abs { stroke: var(--abs); }
    svg.plot .s-noise { stroke: var(--noise); stroke-dasharray: 6 4; }
    svg.plot .s-f64 { stroke: var(--f64); }
    svg.plot .series.s-f64 { stroke-width: 5; stroke-opacity: .45; }
    svg.plot circle.point { stroke-width: 2; }
    svg.plot circle.point.s-abs { fill: var(--abs); }
    svg.plot circle.point.s-noise { fill: var(--noise); stroke-dasharray: none; }
    svg.plot circle.point.s-f64 { fill: var(--bg); }
    svg.plot circle.point.off-scale { fill: var(--bg); }
    svg.plot .divergence { stroke: var(--bad); stroke-width: 1.5; stroke-dasharray: 5 4; }
    svg.plot text.divergence-label { fill: var(--bad); font-weight: 600; }
    """
}

/// The report's plot: per paired layer, on a log10 axis, the float32 difference `max|A − B|`, the float noise
/// bound (``PairMeasurement/noiseFactor``·noise) and the difference of the Float64 runs; the first diverging
/// layer marked. Exact zeros sit on a line one decade below the smallest positive value (marked `0`),
/// infinities and NaN on a line one decade above the largest: every coordinate is finite.
struct ErrorPlot {
    /// One line of the plot: a CSS class (`s-abs`, `s-noise`, `s-f64`), the legend text, a value per layer
    /// and the radius of its markers.
    struct Series {
        var id: String
        var label: String
        var values: [Double]
        var markerRadius = 3.5
    }

    let layerNames: [String]
    let diverges: [Bool]
    let series: [Series]
    let firstDivergence: Int?
    let axis: LogAxis

    static let width = 1000.0
    static let left = 84.0, right = 24.0, top = 64.0
    /// Layer labels are shortened to this many characters.
    static let labelLength = 18

    init(_ comparison: Comparison) {
        layerNames = comparison.layers.map(\.name)
        diverges = comparison.layers.map(\.diverges)
        firstDivergence = comparison.layers.firstIndex(where: \.diverges)
        series = [
            Series(id: "s-abs", label: "float32 max |A − B|", values: comparison.layers.map(\.judged.metrics.maxAbs)),
            Series(id: "s-noise", label: "noise bound (\(String(format: "%g", PairMeasurement.noiseFactor))·noise)",
                   values: comparison.layers.map { PairMeasurement.noiseFactor * $0.judged.noise }),
            Series(id: "s-f64", label: "Float64 max |A − B|", values: comparison.layers.map(\.judged.maxAbsFloat64), markerRadius: 6),
        ]
        axis = LogAxis(values: series.flatMap(\.values), top: Self.top)
    }

    /// The x coordinate of layer `index`: the middle of its slot.
    func x(_ index: Int) -> Double {
        let step = (Self.width - Self.left - Self.right) / Double(max(layerNames.count, 1))
        return Self.left + (Double(index) + 0.5) * step
    }

    /// The inline `<svg>` element.
    func svg() -> String {
        // Room under the axis for the rotated labels: about 7 px per character at 12 px, times sin 50°.
        let longest = min(layerNames.map(\.count).max() ?? 0, Self.labelLength)
        let height = axis.bottomY + 36 + Double(longest) * 7 * 0.77
        var parts: [String] = []
        parts.append("<svg class=\"plot\" viewBox=\"0 0 \(Self.width) \(Self.format(height))\" role=\"img\" "
                     + "aria-label=\"Error per paired layer on a log scale\">")
        parts.append(contentsOf: gridlines())
        parts.append(line("axis", x1: Self.left, y1: Self.top, x2: Self.left, y2: axis.bottomY))
        parts.append(line("axis", x1: Self.left, y1: axis.bottomY, x2: Self.width - Self.right, y2: axis.bottomY))
        parts.append("<text class=\"axis-title\" transform=\"translate(16 \(Self.format((Self.top + axis.bottomY) / 2))) rotate(-90)\" "
                     + "text-anchor=\"middle\">max |A − B| (log scale)</text>")
        parts.append(contentsOf: layerLabels())
        if let firstDivergence {
            let x = Self.format(x(firstDivergence))
            parts.append("<line class=\"divergence\" x1=\"\(x)\" y1=\"\(Self.format(Self.top - 6))\" x2=\"\(x)\" y2=\"\(Self.format(axis.bottomY))\"/>")
            let anchor = firstDivergence * 2 < layerNames.count ? "start" : "end"
            let dx = anchor == "start" ? 4 : -4
            parts.append("<text class=\"divergence-label\" x=\"\(x)\" dx=\"\(dx)\" y=\"\(Self.format(Self.top - 10))\" text-anchor=\"\(anchor)\">"
                         + "first divergence: \(layerNames[firstDivergence].htmlEscaped)</text>")
        }
        // Float64 first (wide and pale), float32 last: where the two coincide both stay visible.
        for s in series.reversed() { parts.append(contentsOf: plotted(s)) }
        parts.append(contentsOf: legend())
        parts.append("</svg>")
        return parts.joined(separator: "\n")
    }

    /// A line per decade (and for the zero and off-scale lines) with its label; on a wide range, a label every
    /// n-th decade (at least 14 px apart).
    private func gridlines() -> [String] {
        var parts: [String] = []
        let labelEvery = max(1, Int((14 / axis.decadeHeight).rounded(.up)))
        for decade in axis.lowestDecade...axis.highestDecade {
            let y = axis.y(decade: decade)
            parts.append("<line class=\"grid\" data-decade=\"\(decade)\" x1=\"\(Self.format(Self.left))\" y1=\"\(Self.format(y))\" "
                         + "x2=\"\(Self.format(Self.width - Self.right))\" y2=\"\(Self.format(y))\"/>")
            if (decade - axis.lowestDecade) % labelEvery == 0 {
                parts.append(tick(decade >= 0 ? "1e+\(decade)" : "1e\(decade)", y: y))
            }
        }
        for (level, id, label) in [(axis.zeroY, "zero", "0"), (axis.offScaleY, "off-scale", "inf/NaN")] {
            guard let y = level else { continue }
            parts.append("<line class=\"grid floor\" data-decade=\"\(id)\" x1=\"\(Self.format(Self.left))\" y1=\"\(Self.format(y))\" "
                         + "x2=\"\(Self.format(Self.width - Self.right))\" y2=\"\(Self.format(y))\"/>")
            parts.append(tick(label, y: y))
        }
        return parts
    }

    private func tick(_ label: String, y: Double) -> String {
        "<text class=\"tick\" x=\"\(Self.format(Self.left - 6))\" y=\"\(Self.format(y + 4))\" text-anchor=\"end\">\(label)</text>"
    }

    /// Layer names under the x axis, rotated, shortened to ``labelLength`` characters (the full name in a tooltip);
    /// with many layers only every n-th is labelled (labels at least 20 px apart), and the first diverging one.
    private func layerLabels() -> [String] {
        let step = layerNames.count > 1 ? x(1) - x(0) : Self.width
        let every = max(1, Int((20 / step).rounded(.up)))
        return layerNames.indices.compactMap { i in
            guard i % every == 0 || i == firstDivergence else { return nil }
            let name = layerNames[i]
            let short = name.count > Self.labelLength ? String(name.prefix(Self.labelLength - 1)) + "…" : name
            let x = Self.format(x(i)), y = Self.format(axis.bottomY + 14)
            return "<text class=\"layer-label\(diverges[i] ? " diverges" : "")\" transform=\"translate(\(x) \(y)) rotate(-50)\" "
                + "text-anchor=\"end\"><title>\(name.htmlEscaped)</title>\(short.htmlEscaped)</text>"
        }
    }

    /// A series: its polyline and a marker per layer (hollow for values off the log scale: 0, inf, NaN).
    private func plotted(_ s: Series) -> [String] {
        let points = s.values.indices.map { "\(Self.format(x($0))),\(Self.format(axis.y(s.values[$0])))" }
        var parts = ["<polyline class=\"series \(s.id)\" data-series=\"\(s.id)\" points=\"\(points.joined(separator: " "))\"/>"]
        for (i, value) in s.values.enumerated() {
            let offScale = !(value > 0 && value.isFinite)
            parts.append("<circle class=\"point \(s.id)\(offScale ? " off-scale" : "")\" cx=\"\(Self.format(x(i)))\" "
                         + "cy=\"\(Self.format(axis.y(value)))\" r=\"\(s.markerRadius + (offScale ? 1 : 0))\">"
                         + "<title>\(layerNames[i].htmlEscaped): \(s.label.htmlEscaped) = \(Comparison.htmlNumber(value))</title></circle>")
        }
        return parts
    }

    /// The legend, in a row above the plot (the divergence marker only when a layer diverges).
    private func legend() -> [String] {
        var parts: [String] = []
        var x = Self.left
        for s in series {
            parts.append(line("series \(s.id)", x1: x, y1: 20, x2: x + 28, y2: 20))
            parts.append("<circle class=\"point \(s.id)\" cx=\"\(Self.format(x + 14))\" cy=\"20\" r=\"\(s.markerRadius)\"/>")
            parts.append("<text x=\"\(Self.format(x + 36))\" y=\"24\">\(s.label.htmlEscaped)</text>")
            x += 36 + Double(s.label.count) * 7 + 28
        }
        if firstDivergence != nil {
            parts.append(line("divergence", x1: x, y1: 12, x2: x, y2: 28))
            parts.append("<text x=\"\(Self.format(x + 8))\" y=\"24\">first layer beyond float noise</text>")
        }
        return parts
    }

    private func line(_ cssClass: String, x1: Double, y1: Double, x2: Double, y2: Double) -> String {
        "<line class=\"\(cssClass)\" x1=\"\(Self.format(x1))\" y1=\"\(Self.format(y1))\" x2=\"\(Self.format(x2))\" y2=\"\(Self.format(y2))\"/>"
    }

    /// A coordinate with one decimal.
    static func format(_ v: Double) -> String { String(format: "%.1f", v) }
}

/// The y axis of ``ErrorPlot``: decades from the smallest to the largest positive finite value, plus a line
/// below for zeros and one above for infinities and NaN when there are any.
struct LogAxis {
    /// The decades at the bottom and top of the scale (`10^lowestDecade … 10^highestDecade`).
    let lowestDecade: Int
    let highestDecade: Int
    /// Pixels per decade: at most 48, and the whole scale at most 400 px high.
    let decadeHeight: Double
    let top: Double
    let hasZero: Bool
    let hasOffScale: Bool

    init(values: [Double], top: Double) {
        let positive = values.filter { $0 > 0 && $0.isFinite }
        let low = positive.min().map { Int(log10($0).rounded(.down)) } ?? -1
        let high = positive.max().map { Int(log10($0).rounded(.up)) } ?? 0
        lowestDecade = low
        highestDecade = max(high, low + 1)
        hasZero = values.contains { $0 <= 0 }
        hasOffScale = values.contains { !$0.isFinite }
        let levels = Double(highestDecade - lowestDecade + (hasZero ? 1 : 0) + (hasOffScale ? 1 : 0))
        decadeHeight = min(48, 400 / levels)
        self.top = top
    }

    /// The y of the top decade line (below the off-scale line when there is one).
    private var highestDecadeY: Double { top + (hasOffScale ? decadeHeight : 0) }

    /// The y of `10^decade`.
    func y(decade: Int) -> Double { highestDecadeY + Double(highestDecade - decade) * decadeHeight }

    /// The y of the zero line, when there is one.
    var zeroY: Double? { hasZero ? y(decade: lowestDecade - 1) : nil }
    /// The y of the off-scale line (inf, NaN), when there is one.
    var offScaleY: Double? { hasOffScale ? top : nil }
    /// The bottom of the plotting area.
    var bottomY: Double { zeroY ?? y(decade: lowestDecade) }

    /// The y of a value: `log10(value)` between the decade lines; 0 on the zero line, inf and NaN on the
    /// off-scale line.
    func y(_ value: Double) -> Double {
        guard value.isFinite else { return offScaleY ?? top }
        guard value > 0 else { return zeroY ?? bottomY }
        let decades = min(max(log10(value), Double(lowestDecade)), Double(highestDecade))
        return highestDecadeY + (Double(highestDecade) - decades) * decadeHeight
    }
}

extension String {
    /// The string with `&`, `<`, `>`, `"` and `'` replaced by character references, safe in HTML text and
    /// in quoted attribute values.
    var htmlEscaped: String {
        var result = ""
        result.reserveCapacity(utf8.count)
        for c in unicodeScalars {
            switch c {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            default: result.unicodeScalars.append(c)
            }
        }
        return result
    }
}
