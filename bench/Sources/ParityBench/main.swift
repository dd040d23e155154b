// ParityBench: Parity's side of the benchmark, printed beside the frameworks' medians (from
// `bench/frameworks_bench.py`) as ratios to the fastest framework. Run it through `bash bench/run.sh`,
// which builds it as the README builds `parity` (release, no flags); see docs/performance.md.
import Foundation
import ParityNN

let usage = """
    usage: ParityBench [--framework PATH]... [--parity PATH] [--dir DIR] [--threads N,M] [--json PATH]
                       [--table PATH] [--budget SECONDS] [--only ID[,ID...]] [--build-flags TEXT]

      --framework PATH    timings written by bench/frameworks_bench.py (repeat: PyTorch, Keras, each thread count)
      --parity PATH       the `parity` binary: also times `parity compare` and `parity inspect` end to end
      --dir DIR           the model files (default .zoo/bench)
      --threads LIST      kernel thread counts to run at (default: 1 and the CPU count)
      --json PATH         write Parity's results as JSON
      --table PATH        write a copy of the printed table
      --budget SECONDS    measuring time per (benchmark, threads) after warm-up (default 2)
      --only IDS          comma-separated subset of: \(Workloads.ids.joined(separator: ", "))
      --build-flags TEXT  how the binary was built, recorded in the JSON and the table
    """

struct Options {
    var frameworks: [String] = []
    var parity: String?
    var directory = ".zoo/bench"
    var threads = Array(Set([1, ProcessInfo.processInfo.activeProcessorCount])).sorted()
    var json: String?
    var table: String?
    var budget = 2.0
    var only = Set(Workloads.ids)
    var buildFlags = "release (flags not recorded)"
}

struct UsageError: Error, CustomStringConvertible { let description: String }

func parseOptions(_ arguments: [String]) throws -> Options {
    var options = Options()
    var rest = arguments[...]
    func value(_ flag: String) throws -> String {
        guard let v = rest.popFirst() else { throw UsageError(description: "\(flag) needs a value") }
        return v
    }
    while let flag = rest.popFirst() {
        switch flag {
        case "--framework": options.frameworks.append(try value(flag))
        case "--parity": options.parity = try value(flag)
        case "--dir": options.directory = try value(flag)
        case "--threads":
            let counts = try value(flag).split(separator: ",").compactMap { Int($0) }
            guard !counts.isEmpty, counts.allSatisfy({ $0 > 0 }) else { throw UsageError(description: "--threads needs positive counts") }
            options.threads = counts
        case "--json": options.json = try value(flag)
        case "--table": options.table = try value(flag)
        case "--budget":
            guard let seconds = Double(try value(flag)), seconds > 0 else { throw UsageError(description: "--budget needs a positive number of seconds") }
            options.budget = seconds
        case "--only":
            let ids = try value(flag).split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
            if let bad = ids.first(where: { !Workloads.ids.contains($0) }) {
                throw UsageError(description: "unknown benchmark '\(bad)'; known: \(Workloads.ids.joined(separator: ", "))")
            }
            options.only = Set(ids)
        case "--build-flags": options.buildFlags = try value(flag)
        case "-h", "--help":
            print(usage)
            exit(0)
        default: throw UsageError(description: "unknown argument '\(flag)'")
        }
    }
    return options
}

func log(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// Wall time of `runs` runs of the `parity` binary at `threads` kernel threads (`PARITY_NUM_THREADS`;
/// exit 0 or 1: `compare` exits 1 when it finds a difference).
func timeProcess(_ binary: String, _ arguments: [String], threads: Int, runs: Int = 5) throws -> Measurement {
    var times: [Double] = []
    for _ in 0..<runs {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(["PARITY_NUM_THREADS": "\(threads)"]) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let start = ContinuousClock.now
        try process.run()
        process.waitUntilExit()
        times.append((ContinuousClock.now - start).seconds)
        guard process.terminationStatus <= 1 else {
            throw UsageError(description: "parity \(arguments.joined(separator: " ")) exited with \(process.terminationStatus)")
        }
    }
    times.sort()
    return Measurement(medianSeconds: quantile(times, 0.5), p25Seconds: quantile(times, 0.25), p75Seconds: quantile(times, 0.75),
                       minSeconds: times[0], samples: runs, inner: 1, warmupCalls: 0)
}

func run() throws {
    let options = try parseOptions(Array(CommandLine.arguments.dropFirst()))
    let frameworks: [FrameworkFile] = try options.frameworks.map { path in
        do {
            return try JSONDecoder().decode(FrameworkFile.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw UsageError(description: "cannot read framework results \(path): \(error)")
        }
    }
    var policy = TimingPolicy()
    policy.budgetSeconds = options.budget
    let machine = Machine.current()
    let sink = Sink()

    let workloads = try Workloads.make(options.only, directory: options.directory)
    log("ParityBench: \(workloads.count) benchmark(s) at \(options.threads.map(String.init).joined(separator: ", ")) thread(s), ~\(significant(options.budget, digits: 2)) s each after warm-up")
    var results: [ResultRow] = []
    for threads in options.threads {
        KernelThreads.count = threads
        for workload in workloads {
            let before = CPUActivity.now()
            let m = try measure(policy, sink: sink, workload.body)
            var row = ResultRow(framework: "parity", benchmark: workload.id, threads: threads, m)
            if let before, let after = CPUActivity.now() { row.otherCores = after.otherCores(since: before) }
            results.append(row)
            log("  parity \(threads)T \(workload.id): \(formatTime(m.medianSeconds)) median (IQR \(formatTime(m.p25Seconds))-\(formatTime(m.p75Seconds)), other processes \(String(format: "%.2f", row.otherCores ?? 0)) cores)")
        }
        if let binary = options.parity {
            let dir = options.directory
            func path(_ name: String) -> String { (dir as NSString).appendingPathComponent(name) }
            var cli: [(String, [String])] = []
            if options.only.contains("compare_reference") {
                cli.append(("cli_compare", ["compare", path("compare.keras"), path("compare_port.pt2"), "--input", path("compare_input.npy")]))
            }
            if options.only.contains("load_safetensors") { cli.append(("cli_inspect_safetensors", ["inspect", path("state_dict.safetensors")])) }
            if options.only.contains("load_pt") { cli.append(("cli_inspect_pt", ["inspect", path("state_dict.pt")])) }
            for (id, arguments) in cli {
                let m = try timeProcess(binary, arguments, threads: threads)
                results.append(ResultRow(framework: "parity", benchmark: id, threads: threads, m))
                log("  parity \(threads)T \(id): \(formatTime(m.medianSeconds)) median of 5 runs")
            }
        }
    }
    KernelThreads.reset()

    // MARK: The table: Parity against the fastest framework at the same thread count.

    let references = frameworks.flatMap(\.results)
    /// What each Parity row is compared with: the same workload in the frameworks, except the CLI rows.
    func baseline(_ row: ResultRow) -> [ResultRow] {
        switch row.benchmark {
        case "cli_compare": return results.filter { $0.benchmark == "compare_reference" && $0.threads == row.threads }
        case "cli_inspect_safetensors": return references.filter { $0.benchmark == "load_safetensors" && $0.threads == row.threads }
        case "cli_inspect_pt": return references.filter { $0.benchmark == "load_pt" && $0.threads == row.threads }
        case "compare_reference": return []
        default: return references.filter { $0.benchmark == row.benchmark && $0.threads == row.threads }
        }
    }
    let header = ["benchmark", "threads", "Parity (IQR)", "fastest other (IQR)", "ratio (spread)", "others"]
    var rows: [[String]] = []
    var summary: [SummaryRow] = []
    for row in results {
        let others = baseline(row).sorted { $0.medianSeconds < $1.medianSeconds }
        var cells = [row.benchmark, "\(row.threads)", "\(formatTime(row.medianSeconds)) (\(formatTime(row.p25Seconds ?? row.medianSeconds))-\(formatTime(row.p75Seconds ?? row.medianSeconds)))"]
        if let best = others.first {
            let ratio = row.medianSeconds / best.medianSeconds
            let low = (row.p25Seconds ?? row.medianSeconds) / (best.p75Seconds ?? best.medianSeconds)
            let high = (row.p75Seconds ?? row.medianSeconds) / (best.p25Seconds ?? best.medianSeconds)
            cells += ["\(best.framework) \(formatTime(best.medianSeconds)) (\(formatTime(best.p25Seconds ?? best.medianSeconds))-\(formatTime(best.p75Seconds ?? best.medianSeconds)))",
                      "\(formatRatio(ratio)) (\(formatRatio(low))-\(formatRatio(high)))",
                      others.dropFirst().map { "\($0.framework) \(formatTime($0.medianSeconds))" }.joined(separator: ", ")]
            summary.append(SummaryRow(benchmark: row.benchmark, threads: row.threads, parityMedian: row.medianSeconds, reference: best.framework,
                                      referenceMedian: best.medianSeconds, ratio: ratio, ratioLow: low, ratioHigh: high))
        } else {
            cells += ["-", "-", ""]
        }
        rows.append(cells)
    }
    var lines: [String] = []
    let date = ISO8601DateFormatter().string(from: Date())
    lines.append("Parity benchmark, \(date)")
    lines.append("machine: \(machine.cpuModel), nproc \(machine.nproc); Parity: \(options.buildFlags), float32, kernels on \(InstructionSet.active)")
    for file in frameworks {
        lines.append("reference: \(file.versions.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")), threads \(Set(file.results.map(\.threads)).sorted())")
    }
    lines.append("median per call (IQR = 25th-75th percentile); ratio = Parity / the fastest other at the same thread count (<1: Parity faster),")
    lines.append("spread = Parity's p25 / other's p75 to Parity's p75 / other's p25; cli_* rows: the `parity` process, 5 runs")
    lines.append("")
    lines += renderTable(header: header, rows: rows, rightAligned: [1, 2, 4])
    lines.append("")
    for workload in workloads { lines.append("\(workload.id): \(workload.summary)") }
    lines.append("cli_compare: `parity compare compare.keras compare_port.pt2 --input compare_input.npy`, against compare_reference")
    lines.append("cli_inspect_*: `parity inspect` of the 1 GiB state_dict, against safetensors.torch.load_file / torch.load(mmap=True)")
    let noisy = results.filter(\.isNoisy).map { "\($0.benchmark) \($0.threads)T" } + references.filter(\.isNoisy).map { "\($0.framework) \($0.benchmark) \($0.threads)T" }
    if !noisy.isEmpty { lines.append("noisy (other processes kept > \(ResultRow.noisyOtherCores) cores busy): \(noisy.joined(separator: ", "))") }

    let text = lines.joined(separator: "\n")
    print(text)
    if let path = options.table {
        try createParentDirectory(of: path)
        try (text + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }
    if let path = options.json {
        try writeJSON(ParityFile(generated: date, machine: machine, buildFlags: options.buildFlags, instructionSet: "\(InstructionSet.active)",
                                 timing: policy, workloads: Dictionary(uniqueKeysWithValues: workloads.map { ($0.id, $0.summary) }),
                                 results: results, summary: summary), to: path)
    }
    if sink.checksum == 42 { log("") }  // keeps the sink observable
}

do {
    try run()
} catch {
    log("ParityBench: \(error)")
    if error is UsageError { log(usage) }
    exit(1)
}
