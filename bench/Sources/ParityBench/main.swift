// ParityBench: Parity's in-process benchmarks, eager and graph mode, Float32, printed beside
// PyTorch's medians (from `bench/pytorch_bench.py`) as ratios. Run it through `bash bench/run.sh`,
// which builds it in release mode; see bench/README.md.
import Foundation
import ParityNN

let usage = """
    usage: ParityBench [--pytorch PATH] [--json PATH] [--table PATH] [--budget SECONDS]
                       [--only ID[,ID...]] [--build-flags TEXT]

      --pytorch PATH      PyTorch results written by bench/pytorch_bench.py; adds PyTorch's medians
                          and the ratios Parity / PyTorch (one thread and all threads)
      --json PATH         write Parity's own results as JSON
      --table PATH        write a copy of the printed table
      --budget SECONDS    measuring time per (benchmark, mode) after warm-up (default 2)
      --only IDS          comma-separated subset of: \(Workloads.ids.joined(separator: ", "))
      --build-flags TEXT  how the binary was built, recorded in the JSON and the table
    """

struct Options {
    var pytorch: String?
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
        case "--pytorch": options.pytorch = try value(flag)
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

func maxAbsDifference(_ a: Tensor, _ b: Tensor) -> Double {
    zip(a.doubles, b.doubles).map { abs($0 - $1) }.max() ?? 0
}

func run() throws {
    let options = try parseOptions(Array(CommandLine.arguments.dropFirst()))
    let pytorch: PyTorchFile? = try options.pytorch.map { path in
        do {
            return try JSONDecoder().decode(PyTorchFile.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw UsageError(description: "cannot read PyTorch results \(path): \(error)")
        }
    }
    var policy = TimingPolicy()
    policy.budgetSeconds = options.budget
    let machine = Machine.current()
    let sink = Sink()
    let runStart = CPUActivity.now()

    log("ParityBench: \(options.only.count) benchmark(s) x 2 modes, ~\(significant(options.budget, digits: 2)) s each after warm-up")
    let workloads = try Workloads.make(options.only)
    var results: [ResultRow] = []
    var checks: [ParityFile.Check] = []
    for workload in workloads {
        // Sanity check before timing: both modes compute the same function (up to fusion rounding).
        let eagerOutput = try workload.eager(), graphOutput = try workload.graph()
        checks.append(.init(benchmark: workload.id, maxAbsDiffEagerVsGraph: maxAbsDifference(eagerOutput, graphOutput),
                            maxAbsOutput: eagerOutput.doubles.map(abs).max() ?? 0))
        for (mode, body) in [("eager", workload.eager), ("graph", workload.graph)] {
            let before = CPUActivity.now()
            let m = try measure(policy, sink: sink, body)
            var row = ResultRow(benchmark: workload.id, mode: mode, threads: 1, m)
            if let before, let after = CPUActivity.now() { row.otherCores = after.otherCores(since: before) }
            results.append(row)
            let busy = row.otherCores.map { String(format: ", other processes %.2f cores", $0) } ?? ""
            log("  \(workload.id) \(mode): \(formatTime(m.medianSeconds)) median (\(m.samples) samples x \(m.inner) calls, IQR \(formatTime(m.p25Seconds))-\(formatTime(m.p75Seconds))\(busy))")
        }
    }

    let otherCores: Double? = runStart.flatMap { start in CPUActivity.now().map { $0.otherCores(since: start) } }

    // MARK: The table

    let threadCounts = pytorch?.threadCounts ?? []
    let allThreads = threadCounts.max() ?? 1
    var header = ["benchmark", "mode", "Parity", "GFLOP/s"]
    for t in threadCounts { header += ["torch \(t)T", "ratio \(t)T"] }
    var rows: [[String]] = []
    var usedEagerFallback = false
    var anyNoisy = false
    for workload in workloads {
        for mode in ["eager", "graph"] {
            guard let row = results.first(where: { $0.benchmark == workload.id && $0.mode == mode }) else { continue }
            anyNoisy = anyNoisy || row.isNoisy
            var cells = [workload.id, mode, formatTime(row.medianSeconds) + (row.isNoisy ? "!" : ""),
                         significant(workload.flops / row.medianSeconds / 1e9)]
            for t in threadCounts {
                var reference = pytorch?.row(workload.id, mode, threads: t)
                var mark = ""
                if reference == nil, mode == "graph", let eager = pytorch?.row(workload.id, "eager", threads: t) {
                    reference = eager
                    mark = "*"
                    usedEagerFallback = true
                }
                if let reference {
                    anyNoisy = anyNoisy || reference.isNoisy
                    cells += [formatTime(reference.medianSeconds) + mark + (reference.isNoisy ? "!" : ""),
                              formatRatio(row.medianSeconds / reference.medianSeconds)]
                } else {
                    cells += ["-", "-"]
                }
            }
            rows.append(cells)
        }
    }
    var lines: [String] = []
    let date = ISO8601DateFormatter().string(from: Date())
    lines.append("Parity benchmark, \(date)")
    lines.append("machine: \(machine.cpuModel), nproc \(machine.nproc); Parity: \(options.buildFlags), 1 thread, float32")
    if let pytorch {
        let graph = pytorch.graphMode.flatMap { $0.available ? $0.method : nil } ?? "not measured (eager only)"
        lines.append("PyTorch \(pytorch.torchVersion): eager = torch.no_grad(); graph = \(graph); threads \(threadCounts.map(String.init).joined(separator: " and "))")
        lines.append("median time per call; ratio = Parity / PyTorch in the same mode (>1: Parity slower); \(allThreads)T = all threads")
    } else {
        lines.append("median time per call (no PyTorch results given: pass --pytorch bench/results/pytorch.json)")
    }
    if let otherCores {
        let busy = otherCores > 0.25 ? " (the machine was not quiet: timings may be noisy)" : ""
        lines.append(String(format: "other processes kept %.2f of %d cores busy during the Parity run", otherCores, machine.nproc) + busy)
    }
    lines.append("")
    lines += renderTable(header: header, rows: rows, rightAligned: Set(2..<header.count))
    lines.append("")
    if usedEagerFallback { lines.append("*: PyTorch graph mode not measured; compared with PyTorch eager.") }
    if anyNoisy {
        lines.append("!: other processes kept more than \(ResultRow.noisyOtherCores) cores busy while this was measured (see other_cores in the JSON): noisy.")
    }
    for workload in workloads { lines.append("\(workload.id): \(workload.summary)") }
    lines.append("GFLOP/s: Parity's matmul flops (2·m·n·k per product) / median time.")
    lines.append("check, max |eager - graph| (fusion may change the last bits): " + checks.map {
        "\($0.benchmark) \(String(format: "%.1e", $0.maxAbsDiffEagerVsGraph)) (max |y| \(significant($0.maxAbsOutput, digits: 2)))"
    }.joined(separator: ", "))
    let suspicious = checks.filter { !($0.maxAbsDiffEagerVsGraph <= 1e-3 * max($0.maxAbsOutput, 1)) }
    if !suspicious.isEmpty {
        lines.append("WARNING: eager and graph disagree beyond rounding for \(suspicious.map(\.benchmark).joined(separator: ", "))")
    }

    let text = lines.joined(separator: "\n")
    print(text)
    if let path = options.table {
        try createParentDirectory(of: path)
        try (text + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }
    if let path = options.json {
        let file = ParityFile(generated: date, machine: machine, buildFlags: options.buildFlags, timing: policy,
                              otherCores: otherCores,
                              workloads: Dictionary(uniqueKeysWithValues: workloads.map { ($0.id, $0.summary) }),
                              results: results, checks: checks)
        try writeJSON(file, to: path)
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
