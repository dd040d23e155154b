// ParityBench: Parity beside PyTorch, NumPy and Keras/TensorFlow, interleaved. For each thread count it
// starts one long-lived Python worker per framework (`bench/frameworks_bench.py serve`), then for each
// workload runs Parity (in this process, and the `parity` CLI for the cli_* rows) and the frameworks in
// rounds, one block each per round, and reads each ratio within a round (`TimingPolicy`). Run it through
// `bash bench/run.sh`, which builds it as the README builds `parity` (release, no flags); see
// bench/README.md and docs/performance.md.
import Foundation
import ParityNN

ProcessHeap.keepFreedBlocks()   // as the `parity` command does at start (docs/performance.md, Allocator)

let usage = """
    usage: ParityBench [--python PATH] [--script PATH] [--workers LIST] [--parity PATH] [--dir DIR]
                       [--threads N,M] [--rounds N] [--budget SECONDS] [--only ID[,ID...]]
                       [--results DIR] [--build-flags TEXT]

      --python PATH       Python with torch/torchvision/safetensors and tensorflow/keras; without it
                          only Parity is timed (no ratios but cli_compare's)
      --script PATH       the frameworks' worker script (default bench/frameworks_bench.py)
      --workers LIST      frameworks to start workers for (default torch,keras)
      --parity PATH       the `parity` binary: also times `parity compare` and `parity inspect` as processes
      --dir DIR           the model files (default .zoo/bench)
      --threads LIST      thread counts (default: 1 and the CPU count)
      --rounds N          rounds per workload and thread count (default 9)
      --budget SECONDS    measuring seconds per side, workload and thread count, over all rounds (default 3)
      --only IDS          comma-separated subset of: \(Workloads.ids.joined(separator: ", "))
      --results DIR       write parity.json, <worker>-<threads>.json and results.txt here
      --build-flags TEXT  how the binary was built, recorded in the JSON and the table
    """

struct Options {
    var python: String?
    var script = "bench/frameworks_bench.py"
    var workerFrameworks = ["torch", "keras"]
    var parity: String?
    var directory = ".zoo/bench"
    var threads = Array(Set([1, ProcessInfo.processInfo.activeProcessorCount])).sorted()
    var results: String?
    var policy = TimingPolicy()
    var only = Set(Workloads.ids)
    var buildFlags = "release (flags not recorded)"
}

func parseOptions(_ arguments: [String]) throws -> Options {
    var options = Options()
    var rest = arguments[...]
    func value(_ flag: String) throws -> String {
        guard let v = rest.popFirst() else { throw UsageError(description: "\(flag) needs a value") }
        return v
    }
    func list(_ flag: String) throws -> [String] {
        try value(flag).split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
    }
    while let flag = rest.popFirst() {
        switch flag {
        case "--python": options.python = try value(flag)
        case "--script": options.script = try value(flag)
        case "--workers":
            let names = try list(flag)
            if let bad = names.first(where: { !["torch", "keras"].contains($0) }) {
                throw UsageError(description: "unknown worker '\(bad)'; known: torch, keras")
            }
            options.workerFrameworks = names
        case "--parity": options.parity = try value(flag)
        case "--dir": options.directory = try value(flag)
        case "--threads":
            let counts = try list(flag).compactMap { Int($0) }
            guard !counts.isEmpty, counts.allSatisfy({ $0 > 0 }) else { throw UsageError(description: "--threads needs positive counts") }
            options.threads = counts
        case "--rounds":
            guard let rounds = Int(try value(flag)), rounds > 0 else { throw UsageError(description: "--rounds needs a positive count") }
            options.policy.rounds = rounds
        case "--budget":
            guard let seconds = Double(try value(flag)), seconds > 0 else { throw UsageError(description: "--budget needs a positive number of seconds") }
            options.policy.budgetSeconds = seconds
        case "--only":
            let ids = try list(flag)
            if let bad = ids.first(where: { !Workloads.ids.contains($0) }) {
                throw UsageError(description: "unknown benchmark '\(bad)'; known: \(Workloads.ids.joined(separator: ", "))")
            }
            options.only = Set(ids)
        case "--results": options.results = try value(flag)
        case "--build-flags": options.buildFlags = try value(flag)
        case "-h", "--help":
            print(usage)
            exit(0)
        default: throw UsageError(description: "unknown argument '\(flag)'")
        }
    }
    return options
}

struct UsageError: Error, CustomStringConvertible { let description: String }

func log(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// A group's measurements at one thread count.
struct Measured {
    var group: Group
    var sides: [SideRounds]
}

/// Every workload at `threads`: the frameworks' workers started for this thread count, each workload's
/// sides interleaved in rounds, the workers stopped. Returns the groups and the workers' files.
func runThreadCount(_ threads: Int, options: Options, workloads: [Workload], inProcess: InProcessRunner) throws -> ([Measured], [FrameworkFile]) {
    KernelThreads.count = threads
    defer { KernelThreads.reset() }
    var workers: [WorkerRunner] = []
    defer { for worker in workers { worker.stop() } }
    if let python = options.python {
        // Started together (they only import and build models meanwhile), then waited for.
        let launched = ContinuousClock.now
        for framework in options.workerFrameworks {
            workers.append(try WorkerRunner(python: python, script: options.script, framework: framework, threads: threads,
                                            directory: options.directory, only: options.only))
        }
        for worker in workers {
            try worker.ready()
            log("  \(worker.name) ready after \(Int((ContinuousClock.now - launched).seconds.rounded())) s; threads: "
                + worker.threadReport.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        }
    }
    var runners: [Side: Runner] = [:]
    for side in inProcess.sides { runners[side] = inProcess }
    for worker in workers { for side in worker.sides { runners[side] = worker } }
    if let binary = options.parity {
        func path(_ name: String) -> String { (options.directory as NSString).appendingPathComponent(name) }
        var commands: [(String, [String])] = []
        if options.only.contains("compare_reference") {
            commands.append(("cli_compare", ["compare", path("compare.keras"), path("compare_port.pt2"), "--input", path("compare_input.npy")]))
        }
        if options.only.contains("load_safetensors") { commands.append(("cli_inspect_safetensors", ["inspect", path("state_dict.safetensors")])) }
        if options.only.contains("load_pt") { commands.append(("cli_inspect_pt", ["inspect", path("state_dict.pt")])) }
        let cli = CLIRunner(binary: binary, commands: commands, threads: threads)
        for side in cli.sides { runners[side] = cli }
    }

    var measured: [Measured] = []
    for workload in workloads {
        let parity = Side(framework: "parity", benchmark: workload.id)
        var group: Group
        if workload.id == "compare_reference" {
            // `parity compare` as a process, against loading and running both models in process.
            let command = Side(framework: "parity", benchmark: "cli_compare")
            group = Group(id: workload.id, sides: [parity], comparisons: [Comparison(subject: parity, references: [])])
            if runners[command] != nil {
                group.sides.append(command)
                group.comparisons.append(Comparison(subject: command, references: [parity]))
            }
        } else {
            // The frameworks first, Parity last (reversed every other round); `parity inspect` against the loaders.
            let references = workers.flatMap(\.sides).filter { $0.benchmark == workload.id }
            var subjects = [parity]
            let inspect = Side(framework: "parity", benchmark: workload.id.replacingOccurrences(of: "load_", with: "cli_inspect_"))
            if workload.id.hasPrefix("load_"), runners[inspect] != nil { subjects.append(inspect) }
            group = Group(id: workload.id, sides: references + subjects,
                          comparisons: subjects.map { Comparison(subject: $0, references: references) })
        }
        measured.append(Measured(group: group, sides: try runRounds(group, threads: threads, runners: runners, policy: options.policy, log: log)))
    }
    let date = ISO8601DateFormatter().string(from: Date())
    let files = workers.map { worker in
        FrameworkFile(generated: date, worker: worker.framework, threads: threads, versions: worker.versions,
                      threadSettings: worker.threadReport, timing: options.policy,
                      results: measured.flatMap(\.sides).filter { worker.sides.contains($0.side) }.map(\.row))
    }
    return (measured, files)
}

func run() throws {
    signal(SIGPIPE, SIG_IGN)  // a worker that died is reported by its closed pipe, not by killing the bench
    let options = try parseOptions(Array(CommandLine.arguments.dropFirst()))
    let machine = Machine.current()
    let workloads = try Workloads.make(options.only, directory: options.directory)
    let inProcess = InProcessRunner(workloads)
    let start = ContinuousClock.now
    log("ParityBench: \(workloads.count) workload(s) at \(options.threads.map(String.init).joined(separator: ", ")) thread(s), "
        + "\(options.policy.rounds) rounds of ~\(significant(options.policy.blockSeconds, digits: 2)) s per side; workers: "
        + (options.python == nil ? "none" : options.workerFrameworks.joined(separator: ", ")))
    var measured: [Measured] = []
    var frameworkFiles: [FrameworkFile] = []
    for threads in options.threads {
        let (groups, files) = try runThreadCount(threads, options: options, workloads: workloads, inProcess: inProcess)
        measured += groups
        frameworkFiles += files
    }
    let elapsed = (ContinuousClock.now - start).seconds
    log("ParityBench: measured in \(Int(elapsed.rounded())) s")

    let date = ISO8601DateFormatter().string(from: Date())
    var report = Report(date: date, machine: machine, buildFlags: options.buildFlags, policy: options.policy, frameworkFiles: frameworkFiles)
    for m in measured { report.add(m) }
    let text = report.render(workloads: workloads)
    print(text)
    if let directory = options.results {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }
        try (text + "\n").write(toFile: path("results.txt"), atomically: true, encoding: .utf8)
        try writeJSON(ParityFile(generated: date, machine: machine, buildFlags: options.buildFlags, instructionSet: "\(InstructionSet.active)",
                                 timing: options.policy, workloads: Dictionary(uniqueKeysWithValues: workloads.map { ($0.id, $0.summary) }),
                                 results: report.parityRows, summary: report.summary), to: path("parity.json"))
        for file in frameworkFiles { try writeJSON(file, to: path("\(file.worker)-\(file.threads).json")) }
    }
}

do {
    try run()
} catch {
    log("ParityBench: \(error)")
    if error is UsageError { log(usage) }
    exit(1)
}
