import Foundation

/// One timed (framework, benchmark, thread count), the row format of every JSON file.
struct ResultRow: Codable {
    /// Other processes keeping more cores than this busy make a row "noisy".
    static let noisyOtherCores = 0.25
    var isNoisy: Bool { (otherCores ?? 0) > Self.noisyOtherCores }

    var framework: String
    var benchmark: String
    var threads: Int
    var medianSeconds: Double
    var p25Seconds: Double?
    var p75Seconds: Double?
    var minSeconds: Double?
    var samples: Int?
    var inner: Int?
    var warmupCalls: Int?
    /// Average number of cores other processes kept busy while this row was measured.
    var otherCores: Double?

    enum CodingKeys: String, CodingKey {
        case framework, benchmark, threads
        case medianSeconds = "median_s", p25Seconds = "p25_s", p75Seconds = "p75_s", minSeconds = "min_s"
        case samples, inner, warmupCalls = "warmup_calls", otherCores = "other_cores"
    }

    init(framework: String, benchmark: String, threads: Int, _ m: Measurement) {
        self.framework = framework
        self.benchmark = benchmark
        self.threads = threads
        medianSeconds = m.medianSeconds
        p25Seconds = m.p25Seconds
        p75Seconds = m.p75Seconds
        minSeconds = m.minSeconds
        samples = m.samples
        inner = m.inner
        warmupCalls = m.warmupCalls
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

/// What `bench/frameworks_bench.py time` writes (only the fields read here).
struct FrameworkFile: Decodable {
    var versions: [String: String]
    var results: [ResultRow]
}

/// Parity's ratio to the fastest other for one (benchmark, threads).
struct SummaryRow: Encodable {
    var benchmark: String
    var threads: Int
    var parityMedian: Double
    var reference: String
    var referenceMedian: Double
    var ratio: Double
    var ratioLow: Double
    var ratioHigh: Double

    enum CodingKeys: String, CodingKey {
        case benchmark, threads, parityMedian = "parity_median_s", reference, referenceMedian = "reference_median_s"
        case ratio, ratioLow = "ratio_low", ratioHigh = "ratio_high"
    }
}

/// What ParityBench writes with `--json`.
struct ParityFile: Encodable {
    var framework = "parity"
    var generated: String
    var machine: Machine
    var buildFlags: String
    var instructionSet: String
    var dtype = "float32"
    var mode = "graph: traced and optimised once (GraphOptimizer.standard), GraphExecutor.run timed"
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
    ratio >= 100 ? String(format: "%.0fx", ratio) : (ratio >= 10 ? String(format: "%.1fx", ratio) : String(format: "%.2fx", ratio))
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
