import Foundation
import ParityNN

/// One side at one thread count over every round, the row format of every JSON file.
struct ResultRow: Encodable {
    var framework: String
    var benchmark: String
    var threads: Int
    /// Quantiles and minimum of every sample of every round, seconds per call (wall time).
    var medianSeconds: Double
    var p25Seconds: Double
    var p75Seconds: Double
    var minSeconds: Double
    /// Median over the rounds of the process CPU time per call (every thread of the process).
    var cpuSecondsPerCall: Double
    var samples: Int
    var inner: Int
    var warmupCalls: Int
    var rounds: Int
    /// Per round: the block's median wall seconds per call, and its CPU seconds per call.
    var roundMedians: [Double]
    var roundCPU: [Double]
    /// Average number of cores other processes kept busy during this side's blocks.
    var otherCores: Double?

    enum CodingKeys: String, CodingKey {
        case framework, benchmark, threads
        case medianSeconds = "median_s", p25Seconds = "p25_s", p75Seconds = "p75_s", minSeconds = "min_s"
        case cpuSecondsPerCall = "cpu_per_call_s", samples, inner, warmupCalls = "warmup_calls", rounds
        case roundMedians = "round_medians_s", roundCPU = "round_cpu_per_call_s", otherCores = "other_cores"
    }
}

struct Machine: Codable {
    var nproc: Int
    var cpuModel: String

    enum CodingKeys: String, CodingKey { case nproc, cpuModel = "cpu_model" }

    static func current() -> Machine {
        var model = "unknown"
        if let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
           let line = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
           let colon = line.firstIndex(of: ":") {
            model = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return Machine(nproc: ProcessInfo.processInfo.activeProcessorCount, cpuModel: model)
    }
}

/// A framework worker's rows at one thread count (`torch-N.json`, `keras-N.json`).
struct FrameworkFile: Encodable {
    var generated: String
    var worker: String
    var threads: Int
    var versions: [String: String]
    /// The thread counts the worker's frameworks report using.
    var threadSettings: [String: String]
    var timing: TimingPolicy
    var results: [ResultRow]

    enum CodingKeys: String, CodingKey {
        case generated, worker, threads, versions, threadSettings = "thread_settings", timing, results
    }
}

/// Parity's paired ratio to the fastest reference for one (benchmark, threads): per round, Parity's
/// block median over the fastest reference's block median in that round.
struct SummaryRow: Encodable {
    var benchmark: String
    var threads: Int
    var parityMedian: Double
    /// The reference with the lowest median over all rounds, and that median.
    var reference: String
    var referenceMedian: Double
    /// The median paired ratio (wall time; what the issue's targets use), its extremes and quartiles.
    var ratio: Double
    var ratioMin: Double
    var ratioMax: Double
    var ratioP25: Double
    var ratioP75: Double
    var ratios: [Double]
    var fastestPerRound: [String]
    /// The same pairing on process CPU time per call (a view robust to being descheduled; spinning
    /// pool threads count as work).
    var cpuRatio: Double
    var cpuRatios: [Double]
    /// The median paired ratio to each reference on its own.
    var ratioByReference: [String: Double]
    /// The issue's bound on `ratio` (`Workloads.targets`) and whether this run met it.
    var target: Double? = nil
    var met: Bool? = nil

    enum CodingKeys: String, CodingKey {
        case benchmark, threads, parityMedian = "parity_median_s", reference, referenceMedian = "reference_median_s"
        case ratio, ratioMin = "ratio_min", ratioMax = "ratio_max", ratioP25 = "ratio_p25", ratioP75 = "ratio_p75", ratios
        case fastestPerRound = "fastest_per_round", cpuRatio = "cpu_ratio", cpuRatios = "cpu_ratios", ratioByReference = "ratio_by_reference"
        case target, met
    }
}

/// What ParityBench writes as `parity.json`: Parity's rows and every paired ratio.
struct ParityFile: Encodable {
    var framework = "parity"
    var generated: String
    var machine: Machine
    var buildFlags: String
    var instructionSet: String
    var dtype = "float32"
    var mode = "graph: traced and optimised once (GraphOptimizer.standard), GraphExecutor.run timed; cli_*: the parity process"
    var timing: TimingPolicy
    var workloads: [String: String]
    var results: [ResultRow]
    var summary: [SummaryRow]

    enum CodingKeys: String, CodingKey {
        case framework, generated, machine, buildFlags = "build_flags", instructionSet = "instruction_set", dtype, mode
        case timing, workloads, results, summary
    }
}

func writeJSON<T: Encodable>(_ value: T, to path: String) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    let data = try encoder.encode(value)
    try createParentDirectory(of: path)
    try (data + Data("\n".utf8)).write(to: URL(fileURLWithPath: path))
}

func createParentDirectory(of path: String) throws {
    let parent = URL(fileURLWithPath: path).deletingLastPathComponent()
    try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true)
}

// MARK: Formatting

/// Seconds with three significant digits in a readable unit: `812 ns`, `12.4 µs`, `3.07 ms`, `1.20 s`.
func formatTime(_ seconds: Double) -> String {
    let (value, unit): (Double, String)
    switch seconds {
    case ..<1e-6: (value, unit) = (seconds * 1e9, "ns")
    case ..<1e-3: (value, unit) = (seconds * 1e6, "µs")
    case ..<1: (value, unit) = (seconds * 1e3, "ms")
    default: (value, unit) = (seconds, "s")
    }
    return "\(significant(value)) \(unit)"
}

func significant(_ value: Double, digits: Int = 3) -> String {
    guard value.isFinite, value != 0 else { return "0" }
    let magnitude = Int(log10(abs(value)).rounded(.down))
    let decimals = max(0, digits - 1 - magnitude)
    return String(format: "%.\(decimals)f", value)
}

func formatRatio(_ ratio: Double) -> String {
    ratio >= 100 ? String(format: "%.0fx", ratio) : (ratio >= 10 ? String(format: "%.1fx", ratio) : String(format: ratio >= 0.1 ? "%.2fx" : "%.2gx", ratio))
}

/// A plain-text table, columns padded to their widest cell; `rightAligned` columns are numbers.
func renderTable(header: [String], rows: [[String]], rightAligned: Set<Int>) -> [String] {
    let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { column, cell in
            let padding = String(repeating: " ", count: widths[column] - cell.count)
            return rightAligned.contains(column) ? padding + cell : cell + padding
        }.joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
    }
    let rule = widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")
    return [line(header), rule] + rows.map(line)
}

// MARK: The report

/// Rows, paired ratios and the printed table of a run.
struct Report {
    var date: String
    var machine: Machine
    var buildFlags: String
    var policy: TimingPolicy
    var frameworkFiles: [FrameworkFile]
    var parityRows: [ResultRow] = []
    var summary: [SummaryRow] = []
    private var table: [[String]] = []

    init(date: String, machine: Machine, buildFlags: String, policy: TimingPolicy, frameworkFiles: [FrameworkFile]) {
        self.date = date
        self.machine = machine
        self.buildFlags = buildFlags
        self.policy = policy
        self.frameworkFiles = frameworkFiles
    }

    static let header = ["benchmark", "threads", "Parity (IQR)", "fastest framework (IQR)", "paired ratio (min-max)", "target", "CPU ratio", "others", "busy"]

    mutating func add(_ measured: Measured) {
        let rows = Dictionary(uniqueKeysWithValues: measured.sides.map { ($0.side, $0.row) })
        parityRows += measured.sides.filter { $0.side.framework == "parity" }.map(\.row)
        let busy = rows.values.compactMap(\.otherCores).max().map { String(format: "%.2f", $0) } ?? "-"
        for comparison in measured.group.comparisons {
            guard let row = rows[comparison.subject] else { continue }
            var cells = [row.benchmark, "\(row.threads)", "\(formatTime(row.medianSeconds)) (\(formatTime(row.p25Seconds))-\(formatTime(row.p75Seconds)))"]
            if var paired = pairedSummary(comparison, measured.sides) {
                paired.target = Workloads.targets[row.benchmark]
                paired.met = paired.target.map { paired.ratio <= $0 }
                summary.append(paired)
                let references = comparison.references.compactMap { rows[$0] }.sorted { $0.medianSeconds < $1.medianSeconds }
                let (best, others) = (references[0], references.dropFirst())
                cells += ["\(best.framework) \(formatTime(best.medianSeconds)) (\(formatTime(best.p25Seconds))-\(formatTime(best.p75Seconds)))",
                          "\(formatRatio(paired.ratio)) (\(formatRatio(paired.ratioMin))-\(formatRatio(paired.ratioMax)))",
                          paired.target.map { "≤ \(formatRatio($0)) \(paired.met! ? "met" : "not met")" } ?? "",
                          formatRatio(paired.cpuRatio),
                          others.map { "\($0.framework) \(formatTime($0.medianSeconds))" }.joined(separator: ", ")]
            } else {
                cells += ["-", "-", "", "-", ""]
            }
            table.append(cells + [busy])
        }
    }

    func render(workloads: [Workload]) -> String {
        var lines: [String] = []
        lines.append("Parity benchmark, \(date)")
        lines.append("machine: \(machine.cpuModel), nproc \(machine.nproc); Parity: \(buildFlags), float32, kernels on \(InstructionSet.active)")
        for file in frameworkFiles {
            lines.append("reference: \(file.versions.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")); "
                         + "\(file.threads) thread(s): \(file.threadSettings.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))")
        }
        lines.append("Every side of a row ran interleaved: \(policy.rounds) rounds, one block of ~\(significant(policy.blockSeconds, digits: 2)) s per side per round, "
                     + "the order reversed every other round.")
        lines.append("Parity, fastest framework: median wall time per call over all rounds (IQR = 25th-75th percentile).")
        lines.append("paired ratio: per round, Parity's block median / the fastest framework's block median in that round; the median over")
        lines.append("the rounds (min-max over the rounds); < 1: Parity faster; the targets use it (wall time, same thread count).")
        lines.append("target: the performance issue's bound on the paired ratio (matmul: 0.9x the throughput), met or not in this run.")
        lines.append("CPU ratio: the same pairing on process CPU time per call (every thread; spinning pool threads count as work).")
        lines.append("busy: the most cores other processes kept busy during any side's blocks of the row (0 on an idle machine).")
        lines.append("")
        lines += renderTable(header: Self.header, rows: table, rightAligned: [1, 2, 4, 6, 8])
        lines.append("")
        for workload in workloads { lines.append("\(workload.id): \(workload.summary)") }
        lines.append("cli_compare: `parity compare compare.keras compare_port.pt2 --input compare_input.npy` as a process, against compare_reference")
        lines.append("cli_inspect_*: `parity inspect` of the 1 GiB state_dict as a process, against safetensors.torch.load_file / torch.load(mmap=True) in process")
        return lines.joined(separator: "\n")
    }
}
