import Foundation
import ParityNN

/// One side of a comparison: a framework (`parity`, `pytorch`, `numpy`, `keras`) running a benchmark id.
struct Side: Hashable, Codable, CustomStringConvertible {
    var framework: String
    var benchmark: String
    var description: String { "\(framework) \(benchmark)" }
}

/// Something that runs sides on command: Parity in this process, the `parity` CLI as processes, or a
/// long-lived Python worker (`bench/frameworks_bench.py serve`).
protocol Runner: AnyObject {
    var sides: [Side] { get }
    /// Whether its work runs in this process (its CPU time is this process's).
    var inProcess: Bool { get }
    /// Seconds per warm-up call, run as `TimingPolicy` says.
    func warmup(_ side: Side, _ policy: TimingPolicy) throws -> [Double]
    func block(_ side: Side, _ shape: BlockShape) throws -> Block
}

struct BenchError: Error, CustomStringConvertible { let description: String }

/// Warm-up calls until `minWarmupCalls` and `warmupSeconds`, or `maxWarmupSeconds` after one call.
func warmupTimes(_ policy: TimingPolicy, _ call: () throws -> Void) rethrows -> [Double] {
    let clock = ContinuousClock()
    var times: [Double] = []
    let start = clock.now
    while true {
        let elapsed = (clock.now - start).seconds
        if times.count >= policy.minWarmupCalls && elapsed >= policy.warmupSeconds { break }
        if !times.isEmpty && elapsed >= policy.maxWarmupSeconds { break }
        let t0 = clock.now
        try call()
        times.append((clock.now - t0).seconds)
    }
    return times
}

/// Times one block of `call` (see `TimingPolicy`), CPU time by `cpu` (this process's, or its children's).
func timeBlock(_ shape: BlockShape, cpu: () -> Double, _ call: () throws -> Void) rethrows -> Block {
    let clock = ContinuousClock()
    let cpuStart = cpu()
    for _ in 0..<shape.untimed { try call() }
    var samples: [Double] = []
    samples.reserveCapacity(shape.samples)
    let cpuTimed = cpu()
    let start = clock.now
    for _ in 0..<shape.samples {
        if !samples.isEmpty && (clock.now - start).seconds >= shape.limitSeconds { break }
        let t0 = clock.now
        for _ in 0..<shape.inner { try call() }
        samples.append((clock.now - t0).seconds / Double(shape.inner))
    }
    let cpuEnd = cpu()
    return Block(samples: samples, cpuSeconds: cpuEnd - cpuTimed, cpuTotalSeconds: cpuEnd - cpuStart)
}

/// Parity's library in this process: the workloads of `Workloads.make`, at `KernelThreads.count`.
final class InProcessRunner: Runner {
    private let workloads: [String: Workload]
    private let sink = Sink()
    let sides: [Side]
    let inProcess = true

    init(_ workloads: [Workload]) {
        self.workloads = Dictionary(uniqueKeysWithValues: workloads.map { ($0.id, $0) })
        sides = workloads.map { Side(framework: "parity", benchmark: $0.id) }
    }

    private func body(_ side: Side) throws -> () throws -> Tensor {
        guard let workload = workloads[side.benchmark] else { throw BenchError(description: "Parity has no workload '\(side.benchmark)'") }
        return workload.body
    }

    func warmup(_ side: Side, _ policy: TimingPolicy) throws -> [Double] {
        let body = try body(side)
        return try warmupTimes(policy) { sink.consume(try body()) }
    }

    func block(_ side: Side, _ shape: BlockShape) throws -> Block {
        let body = try body(side)
        return try timeBlock(shape, cpu: processCPUSeconds) { sink.consume(try body()) }
    }
}

/// The `parity` binary run as a process per call (what a user's shell runs), at `threads` kernel
/// threads (`PARITY_NUM_THREADS`); exit 0 or 1 (`compare` exits 1 when it finds a difference).
/// Spawned and reaped directly (`posix_spawn`, `wait4`): Foundation's `Process.waitUntilExit` polls
/// every 50 ms, which made a 17 ms `parity inspect` measure 52 ms. The CPU time is the child's own
/// (`wait4`'s usage: user + system).
final class CLIRunner: Runner {
    private let binary: String
    private let commands: [String: [String]]
    private let environment: [String]
    /// CPU seconds of every run so far.
    private var childCPU = 0.0
    let sides: [Side]
    let inProcess = false

    init(binary: String, commands: [(String, [String])], threads: Int) {
        self.binary = binary
        self.commands = Dictionary(uniqueKeysWithValues: commands)
        environment = ProcessInfo.processInfo.environment.merging(["PARITY_NUM_THREADS": "\(threads)"]) { $1 }.map { "\($0.key)=\($0.value)" }
        sides = commands.map { Side(framework: "parity", benchmark: $0.0) }
    }

    private func call(_ side: Side) throws {
        guard let arguments = commands[side.benchmark] else { throw BenchError(description: "no CLI command '\(side.benchmark)'") }
        func cStrings(_ strings: [String]) -> [UnsafeMutablePointer<CChar>?] { strings.map { strdup($0) } + [nil] }
        let argv = cStrings([binary] + arguments), envp = cStrings(environment)
        defer { for p in argv + envp { free(p) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var pid = pid_t()
        let spawned = posix_spawn(&pid, binary, &actions, nil, argv, envp)
        guard spawned == 0 else { throw BenchError(description: "cannot run \(binary): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 {
            guard errno == EINTR else { throw BenchError(description: "waiting for \(binary): \(String(cString: strerror(errno)))") }
        }
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) * 1e-6 }
        childCPU += seconds(usage.ru_utime) + seconds(usage.ru_stime)
        let (signal, code) = (status & 0x7f, (status >> 8) & 0xff)
        guard signal == 0, code <= 1 else {
            throw BenchError(description: "parity \(arguments.joined(separator: " ")) "
                             + (signal == 0 ? "exited with \(code)" : "was killed by signal \(signal)"))
        }
    }

    func warmup(_ side: Side, _ policy: TimingPolicy) throws -> [Double] { try warmupTimes(policy) { try call(side) } }

    func block(_ side: Side, _ shape: BlockShape) throws -> Block {
        try timeBlock(shape, cpu: { childCPU }) { try call(side) }
    }
}

/// A long-lived `bench/frameworks_bench.py serve <framework> --threads N` process: one JSON command
/// per line on its stdin, one JSON reply per line on its stdout. PyTorch (with NumPy) and
/// Keras/TensorFlow run in separate workers, never imported together; thread counts are fixed when
/// the worker starts (`torch.set_num_threads`, TensorFlow's intra/inter-op pools, `OPENBLAS_NUM_THREADS`
/// before NumPy is imported), so each thread count has its own workers.
final class WorkerRunner: Runner {
    /// `torch` (PyTorch and NumPy) or `keras` (Keras/TensorFlow).
    let framework: String
    let name: String
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private var buffer = Data()
    private(set) var sides: [Side] = []
    private(set) var versions: [String: String] = [:]
    /// The thread counts the worker reports its frameworks to be using.
    private(set) var threadReport: [String: String] = [:]
    let inProcess = false

    struct Ready: Decodable {
        var cases: [Side]
        var versions: [String: String]
        var threads: [String: String]
    }

    /// Starts the worker; `ready()` waits for it to have built its models.
    init(python: String, script: String, framework: String, threads: Int, directory: String, only: Set<String>) throws {
        self.framework = framework
        name = "\(framework) worker (\(threads) thread\(threads == 1 ? "" : "s"))"
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script, "serve", framework, "--threads", "\(threads)", "--dir", directory, "--only", only.sorted().joined(separator: ",")]
        var environment = ProcessInfo.processInfo.environment
        environment["OPENBLAS_NUM_THREADS"] = "\(threads)"
        environment["TF_CPP_MIN_LOG_LEVEL"] = environment["TF_CPP_MIN_LOG_LEVEL"] ?? "3"
        process.environment = environment
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.standardError
        do {
            try process.run()
        } catch {
            throw BenchError(description: "cannot start \(python) \(script): \(error)")
        }
    }

    func ready() throws {
        let ready = try JSONDecoder().decode(Ready.self, from: readLine())
        sides = ready.cases
        versions = ready.versions
        threadReport = ready.threads
    }

    private func readLine() throws -> Data {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = buffer[buffer.startIndex..<newline]
                buffer = Data(buffer[buffer.index(after: newline)...])
                return Data(line)
            }
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { throw BenchError(description: "the \(name) exited (its messages are above)") }
            buffer.append(chunk)
        }
    }

    private struct Failure: Decodable { var error: String }

    private func request<Reply: Decodable>(_ command: [String: Any], _ type: Reply.Type) throws -> Reply {
        var line = try JSONSerialization.data(withJSONObject: command)
        line.append(UInt8(ascii: "\n"))
        do {
            try input.fileHandleForWriting.write(contentsOf: line)
        } catch {
            throw BenchError(description: "the \(name) does not take commands: \(error)")
        }
        let reply = try readLine()
        if let failure = try? JSONDecoder().decode(Failure.self, from: reply) {
            throw BenchError(description: "the \(name): \(failure.error)")
        }
        return try JSONDecoder().decode(Reply.self, from: reply)
    }

    private struct Warmup: Decodable { var times: [Double] }

    func warmup(_ side: Side, _ policy: TimingPolicy) throws -> [Double] {
        try request(["op": "warmup", "framework": side.framework, "workload": side.benchmark, "min_calls": policy.minWarmupCalls,
                     "min_s": policy.warmupSeconds, "max_s": policy.maxWarmupSeconds], Warmup.self).times
    }

    func block(_ side: Side, _ shape: BlockShape) throws -> Block {
        try request(["op": "block", "framework": side.framework, "workload": side.benchmark, "samples": shape.samples,
                     "inner": shape.inner, "untimed": shape.untimed, "limit_s": shape.limitSeconds], Block.self)
    }

    /// Asks the worker to exit and waits for it.
    func stop() {
        try? input.fileHandleForWriting.write(contentsOf: Data("{\"op\": \"quit\"}\n".utf8))
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }
}
