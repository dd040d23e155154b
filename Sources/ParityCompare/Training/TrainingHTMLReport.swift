import Foundation

extension TrainingComparison {
    /// The training part of the `--html` report: the settings, two log-scale plots per step — the loss error
    /// (float32 `|loss A − loss B|`, its noise bound, the Float64 difference) and the parameters' error (the
    /// same over every paired value after the step) —, a table of the losses and the worst gradient and value
    /// of each step, and the findings.
    public func htmlSection() -> String {
        func n(_ x: Double) -> String { Comparison.htmlNumber(x) }
        let losses = trainSteps.map { $0.quantities.first { $0.kind == .loss } }
        let lossPlot = ErrorPlot(labels: trainSteps.map { "step \($0.step)" }, diverges: losses.map { $0?.measurement.exceedsNoise ?? false },
                                 series: [
                                    ErrorPlot.Series(id: "s-abs", label: "float32 |loss A − loss B|", values: losses.map { $0?.measurement.metrics.maxAbs ?? 0 }),
                                    ErrorPlot.Series(id: "s-noise", label: "noise bound (\(String(format: "%g", PairMeasurement.noiseFactor))·noise)",
                                                     values: losses.map { PairMeasurement.noiseFactor * ($0?.measurement.noise ?? 0) }),
                                    ErrorPlot.Series(id: "s-f64", label: "Float64 |loss A − loss B|", values: losses.map { $0?.measurement.maxAbsFloat64 ?? 0 }, markerRadius: 6),
                                 ])
        let values = trainSteps.map { $0.quantities.filter { $0.kind == .value } }
        let plot = ErrorPlot(labels: trainSteps.map { "step \($0.step)" }, diverges: trainSteps.map(\.parts),
                             series: [
                                ErrorPlot.Series(id: "s-abs", label: "float32 max |A − B| of the values", values: values.map { $0.map(\.measurement.metrics.maxAbs).max() ?? 0 }),
                                ErrorPlot.Series(id: "s-noise", label: "noise bound (\(String(format: "%g", PairMeasurement.noiseFactor))·noise)",
                                                 values: values.map { $0.map { PairMeasurement.noiseFactor * $0.measurement.noise }.max() ?? 0 }),
                                ErrorPlot.Series(id: "s-f64", label: "Float64 max |A − B|", values: values.map { $0.map(\.measurement.maxAbsFloat64).max() ?? 0 }, markerRadius: 6),
                             ])
        func worst(_ step: Step, _ kind: Quantity.Kind) -> String {
            guard let q = step.quantities.filter({ $0.kind == kind }).max(by: { $0.measurement.metrics.maxAbs < $1.measurement.metrics.maxAbs }) else { return "–" }
            return "<code>\(q.name.htmlEscaped)</code> \(n(q.measurement.metrics.maxAbs))" + (q.measurement.exceedsNoise ? " <span class=\"bad\">✗</span>" : "")
        }
        let rows = trainSteps.map { step in
            "<tr\(step.parts ? " class=\"diverges\"" : "")><th scope=\"row\">\(step.step)</th><td>\(String(format: "%.7g", step.lossA))</td>"
                + "<td>\(String(format: "%.7g", step.lossB))</td><td>\(worst(step, .gradient))</td><td>\(worst(step, .value))</td></tr>"
        }.joined(separator: "\n")
        let divergence = firstDivergence.map { "step \($0.step), \($0.kind.rawValue) of <code>\($0.name.htmlEscaped)</code>" } ?? "none"
        let causes = findings.map { f in
            "<li><code>\(f.cause.rawValue)</code> (explains \(Int((f.explains * 100).rounded()))%): \(f.message.htmlEscaped)"
                + (f.fix.map { "<br><span class=\"note\">fix: \($0.htmlEscaped)</span>" } ?? "") + "</li>"
        }.joined(separator: "\n")
        return """
        <section id="training">
        <h2>Training: \(steps) steps\(batchSize.map { ", batches of \($0)" } ?? "")</h2>
        <p class="verdict \(verdict.rawValue)">\(verdict == .match ? "MATCH" : "MISMATCH")</p>
        <dl>
        <dt>A</dt><dd><code>\(optimizerA.htmlEscaped)</code>, <code>\(lossA.htmlEscaped)</code></dd>
        <dt>B</dt><dd><code>\(optimizerB.htmlEscaped)</code>, <code>\(lossB.htmlEscaped)</code></dd>
        <dt>pairing</dt><dd>\(pairing.htmlEscaped)</dd>
        <dt>first parts</dt><dd>\(divergence)</dd>
        </dl>
        <h3>Loss error per step</h3>
        \(lossPlot.svg())
        <h3>Parameter error per step (values after the update)</h3>
        \(plot.svg())
        <div class="scroll"><table>
        <thead><tr><th>step</th><th>loss A</th><th>loss B</th><th>worst gradient</th><th>worst value</th></tr></thead>
        <tbody>
        \(rows)
        </tbody></table></div>
        <ul>
        \(causes)
        </ul>
        </section>
        """
    }
}

extension ErrorPlot {
    /// A plot of any labelled sequence (the steps of a training comparison).
    init(labels: [String], diverges: [Bool], series: [Series]) {
        layerNames = labels
        self.diverges = diverges
        firstDivergence = diverges.firstIndex(of: true)
        self.series = series
        axis = LogAxis(values: series.flatMap(\.values), top: Self.top)
    }
}
