import ArgumentParser
import Foundation
import ParityFormats
import ParityNN

/// `parity zoo`: runs every model of a zoo directory (docs/zoo.md: `<source>/<name>/` with the model
/// file, `input.npz`, `expected.npz` and `meta.json`, written by `scripts/zoo/*.py`) and compares Parity's
/// Float32 outputs with the framework's own.
struct Zoo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a model zoo (.zoo/ by default) and compare every model with its framework's outputs.",
        discussion: """
        One line per model: ok | FAIL | ERROR, the name, the largest absolute difference and, for a \
        failure, why; then `N/M within <tolerance>` per source. A model is ok when every output satisfies \
        max |parity − framework| ≤ tolerance · max(1, max |framework|): absolute for outputs of order one, \
        relative to the output's scale for larger ones (a random ResNet-152's logits reach 10⁷, and float32 \
        noise grows with them). With expected_float64.npz, a failure also shows each side's distance from \
        the framework's float64 run. PyTorch programs run eagerly, Keras models as a graph, as the \
        frameworks ran them. \
        Models the framework itself could not export (export_failed.json) are listed as SKIP and not \
        counted. Exit 0 when every model is ok, 1 otherwise.
        """
    )

    @Argument(help: "The zoo directory.") var directory: String = ".zoo"
    @Option(name: .long, help: "Only these sources (torchvision, timm, transformers, keras.applications, keras_hub).") var source: [String] = []
    @Option(name: .long, help: "Only models whose name contains this.") var filter: String?
    @Option(name: .long, help: "The bound, absolute below 1 and relative above.") var tolerance: Double = 1e-5

    func run() throws {
        let root = URL(fileURLWithPath: directory)
        let entries = try ZooEntry.all(in: root).filter { entry in
            (source.isEmpty || source.contains(entry.source)) && (filter.map { entry.name.contains($0) } ?? true)
        }
        guard !entries.isEmpty else { throw CLIError.badInput("\(directory): no models (expected <source>/<name>/meta.json)") }
        var totals: [String: (ok: Int, all: Int)] = [:]
        for entry in entries {
            let outcome = entry.run(tolerance: tolerance)
            FileHandle.standardOutput.write(Data((outcome.line + "\n").utf8))
            guard outcome.status != .skip else { continue }
            var t = totals[entry.source] ?? (0, 0)
            t.all += 1
            if outcome.status == .ok { t.ok += 1 }
            totals[entry.source] = t
        }
        for (name, t) in totals.sorted(by: { $0.key < $1.key }) {
            FileHandle.standardOutput.write(Data("\(name): \(t.ok)/\(t.all) within \(tolerance)\n".utf8))
        }
        if totals.count > 1 {
            let ok = totals.values.map(\.ok).reduce(0, +), all = totals.values.map(\.all).reduce(0, +)
            FileHandle.standardOutput.write(Data("all: \(ok)/\(all) within \(tolerance)\n".utf8))
        }
        if totals.values.contains(where: { $0.ok < $0.all }) { Foundation.exit(1) }
    }
}

/// One model directory of a zoo.
struct ZooEntry {
    var source: String
    var name: String
    var directory: URL

    static func all(in root: URL) throws -> [ZooEntry] {
        let files = FileManager.default
        var entries: [ZooEntry] = []
        for source in try files.contentsOfDirectory(atPath: root.path).sorted() {
            let sourceURL = root.appendingPathComponent(source)
            guard let names = try? files.contentsOfDirectory(atPath: sourceURL.path) else { continue }
            for name in names.sorted() {
                let dir = sourceURL.appendingPathComponent(name)
                if files.fileExists(atPath: dir.appendingPathComponent("meta.json").path)
                    || files.fileExists(atPath: dir.appendingPathComponent("export_failed.json").path) {
                    entries.append(ZooEntry(source: source, name: name, directory: dir))
                }
            }
        }
        return entries
    }

    struct Outcome {
        enum Status: String { case ok, FAIL, ERROR, skip = "SKIP" }
        var status: Status
        var line: String
    }

    /// The largest absolute difference (NaN against NaN is no difference, against a number an infinite
    /// one) and the output's scale, `max(1, max |reference|)`.
    static func distance(_ actual: [Double], _ reference: [Double]) -> (difference: Double, scale: Double) {
        var worst = 0.0, scale = 1.0
        for (a, e) in zip(actual, reference) {
            if e.isFinite { scale = max(scale, abs(e)) }
            if a.isNaN && e.isNaN || a == e { continue }
            let d = abs(a - e)
            worst = max(worst, d.isNaN ? .infinity : d)
        }
        return (worst, scale)
    }

    /// With `expected_float64.npz` (the framework's float64 run of the same weights): each side's largest
    /// distance from it, which says whether the difference is float noise.
    func referee(_ outputs: [Tensor], _ expected: [NamedArray]) -> String {
        let url = directory.appendingPathComponent("expected_float64.npz")
        guard let references = try? NumpyArchive.read(contentsOf: url)
            .sorted(by: { $0.name.localizedStandardCompare($1.name) == .orderedAscending }), references.count == outputs.count else { return "" }
        var ours = 0.0, theirs = 0.0
        for ((actual, framework), reference) in zip(zip(outputs, expected), references) {
            guard let r = try? reference.record.toTensor().doubles, let f = try? framework.record.toTensor().doubles, r.count == actual.count else { return "" }
            let (a, scale) = Self.distance(actual.doubles, r), (e, _) = Self.distance(f, r)
            ours = max(ours, a / scale)
            theirs = max(theirs, e / scale)
        }
        return "; from float64: Parity \(String(format: "%.2e", ours)), the framework \(String(format: "%.2e", theirs))"
    }

    /// The model file: `model.pt2`, else `model.keras`, else `model.h5`.
    var modelFile: URL? {
        ["model.pt2", "model.keras", "model.h5"].map { directory.appendingPathComponent($0) }
            .first { FileManager.default.fileExists(atPath: $0.path) }
    }

    func run(tolerance: Double) -> Outcome {
        let label = "\(source)/\(name)"
        let failed = directory.appendingPathComponent("export_failed.json")
        if FileManager.default.fileExists(atPath: failed.path) {
            let reason = (try? JSONValue.parse(Data(contentsOf: failed)))?["reason"]?.string ?? "?"
            return Outcome(status: .skip, line: "SKIP  \(label)  the framework could not save it: \(reason)")
        }
        let started = Date()
        do {
            guard let file = modelFile else { throw CLIError.badInput("no model.pt2, model.keras or model.h5") }
            let model = try ModelFiles.runnable(file.path, weights: nil)
            let inputs = try ModelFiles.inputs([directory.appendingPathComponent("input.npz").path], names: model.inputNames, dtype: .float32)
            let mode: ExecutionMode = ModelFiles.isTorchProgram(file.path) ? .eager : .graph(.standard)
            let outputs = try model.run(inputs, mode, .float32)
            let expected = try NumpyArchive.read(contentsOf: directory.appendingPathComponent("expected.npz"))
                .sorted { $0.name.localizedStandardCompare($1.name) == .orderedAscending }
            let seconds = String(format: "%.1fs", Date().timeIntervalSince(started))
            guard outputs.count == expected.count else {
                return Outcome(status: .FAIL, line: "FAIL  \(label)  -  \(outputs.count) outputs, the framework gave \(expected.count) (\(seconds))")
            }
            var worst = 0.0, worstRelative = 0.0
            var problems: [String] = []
            for (i, (actual, entry)) in zip(outputs, expected).enumerated() {
                let reference = try entry.record.toTensor()
                guard actual.shape == reference.shape else {
                    problems.append("output \(i): shape \(actual.shape), the framework's \(reference.shape)")
                    continue
                }
                let (difference, scale) = Self.distance(actual.doubles, reference.doubles)
                worst = max(worst, difference)
                worstRelative = max(worstRelative, difference / scale)
            }
            let shown = String(format: "%.2e", worst) + (worstRelative < worst ? String(format: " (relative %.2e)", worstRelative) : "")
            if !problems.isEmpty {
                return Outcome(status: .FAIL, line: "FAIL  \(label)  -  \(problems.joined(separator: "; ")) (\(seconds))")
            }
            if worstRelative <= tolerance { return Outcome(status: .ok, line: "ok    \(label)  \(shown)  (\(seconds))") }
            return Outcome(status: .FAIL, line: "FAIL  \(label)  \(shown)  beyond \(tolerance) (\(seconds))"
                           + referee(outputs, expected))
        } catch {
            let message = "\(error)".replacingOccurrences(of: "\n", with: " ")
            return Outcome(status: .ERROR, line: "ERROR \(label)  -  \(message)")
        }
    }
}
