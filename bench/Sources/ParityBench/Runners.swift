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
    for _ in 0..<shape.samples {
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
final class CLIRunner: Runner {
    private let binary: String
    private let commands: [String: [String]]
    private let threads: Int
    let sides: [Side]
    let inProcess = false

    init(binary: String, commands: [(String, [String])], threads: Int) {
        self.binary = binary
        self.commands = Dictionary(uniqueKeysWithValues: commands)
        self.threads = threads
        sides = commands.map { Side(framework: "parity", benchmark: $0.0) }
    }

    private func call(_ side: Side) throws {
        guard let arguments = commands[side.benchmark] else { throw BenchError(description: "no CLI command '\(side.benchmark)'") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(["PARITY_NUM_THREADS": "\(threads)"]) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus <= 1 else {
            throw BenchError(description: "parity \(arguments.joined(separator: " ")) exited with \(process.terminationStatus)")
        }
    }

    func warmup(_ side: Side, _ policy: TimingPolicy) throws -> [Double] { try warmupTimes(policy) { try call(side) } }

    func block(_ side: Side, _ shape: BlockShape) throws -> Block {
        try timeBlock(shape, cpu: childrenCPUSeconds) { try call(side) }
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
                     "inner": shape.inner, "untimed": shape.untimed], Block.self)
    }

    /// Asks the worker to exit and waits for it.
    func stop() {
        try? input.fileHandleForWriting.write(contentsOf: Data("{\"op\": \"quit\"}\n".utf8))
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }
}
