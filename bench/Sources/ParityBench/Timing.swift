import Foundation
import ParityNN

/// The timing method, one policy for every side (the Python workers of `bench/frameworks_bench.py`
/// receive its numbers with each command; they hold no policy of their own):
///
/// 1. Warm-up, once per (side, thread count): call the body until at least `minWarmupCalls` calls and
///    `warmupSeconds` have passed, or `maxWarmupSeconds` with at least one call. The median warm-up
///    call is the estimate of one call's time.
/// 2. A sample times `inner` back-to-back calls, `inner` chosen so that a sample lasts at least
///    `minSampleSeconds` (microsecond workloads are not dominated by the clock); its value is the
///    elapsed time divided by `inner`.
/// 3. Rounds: every side of a comparison runs one block of samples per round, the sides one after the
///    other, in the opposite order in every other round (A B C, C B A, ...), so that a slow episode of
///    the machine (this 2-vCPU VM's speed moves by up to 2× within minutes) falls on both sides of a
///    ratio. A block lasts about `budgetSeconds / rounds` (at least one sample, at most
///    `maxBlockSamples`) and starts with one untimed call when a call is shorter than
///    `untimedCallBelowSeconds` (the caches hold the previous side's data); it takes no new sample
///    after `blockLimitFactor` times its planned length.
/// 4. Per round: each side's block median, and the paired ratio of the subject's block median to the
///    fastest reference's in that same round. Reported: the median of the paired ratios over the rounds
///    with their minimum, maximum and quartiles, and each side's median over all its samples.
///
/// Wall time by `ContinuousClock` (Python: `time.perf_counter_ns`); process CPU time (every thread of
/// the process) by `CLOCK_PROCESS_CPUTIME_ID` (Python: `time.process_time`).
struct TimingPolicy: Codable, Sendable {
    var warmupSeconds = 0.2
    var minWarmupCalls = 3
    var maxWarmupSeconds = 1.0
    var rounds = 9
    var budgetSeconds = 3.0
    var minSampleSeconds = 0.001
    var maxBlockSamples = 200
    var untimedCallBelowSeconds = 0.05
    var blockLimitFactor = 4.0

    enum CodingKeys: String, CodingKey {
        case warmupSeconds = "warmup_s", minWarmupCalls = "min_warmup_calls", maxWarmupSeconds = "max_warmup_s"
        case rounds, budgetSeconds = "budget_s", minSampleSeconds = "min_sample_s", maxBlockSamples = "max_block_samples"
        case untimedCallBelowSeconds = "untimed_call_below_s", blockLimitFactor = "block_limit_factor"
    }

    var blockSeconds: Double { budgetSeconds / Double(rounds) }

    /// How one side's blocks are cut, from its warm-up estimate of one call.
    func blockShape(callSeconds estimate: Double) -> BlockShape {
        let estimate = max(estimate, 1e-9)
        let inner = max(1, Int((minSampleSeconds / estimate).rounded(.up)))
        let samples = min(max(Int((blockSeconds / (estimate * Double(inner))).rounded()), 1), maxBlockSamples)
        return BlockShape(samples: samples, inner: inner, untimed: estimate < untimedCallBelowSeconds ? 1 : 0,
                          limitSeconds: blockLimitFactor * blockSeconds)
    }
}

/// One block's size: `samples` samples of `inner` calls, after `untimed` calls; no sample starts once
/// the block has run `limitSeconds` (a side that became much slower than its warm-up, e.g. an OpenMP
/// pool sharing its cores with other work, cannot stretch a run by minutes).
struct BlockShape: Codable, Sendable {
    var samples: Int
    var inner: Int
    var untimed: Int
    var limitSeconds: Double

    enum CodingKeys: String, CodingKey { case samples, inner, untimed, limitSeconds = "limit_s" }
}

/// What one block measured: seconds per call of each sample, and the process CPU time of the timed
/// samples (`cpuSeconds`) and of the whole command including untimed calls (`cpuTotalSeconds`).
struct Block: Codable, Sendable {
    var samples: [Double]
    var cpuSeconds: Double
    var cpuTotalSeconds: Double

    enum CodingKeys: String, CodingKey { case samples, cpuSeconds = "cpu_s", cpuTotalSeconds = "cpu_total_s" }
}

extension Duration {
    var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) * 1e-18
    }
}

/// Linear-interpolated quantile `q` of sorted values (NumPy's default method).
func quantile(_ sorted: [Double], _ q: Double) -> Double {
    precondition(!sorted.isEmpty)
    let position = q * Double(sorted.count - 1)
    let lower = Int(position.rounded(.down)), upper = min(lower + 1, sorted.count - 1)
    let fraction = position - Double(lower)
    return sorted[lower] + (sorted[upper] - sorted[lower]) * fraction
}

func median(_ values: [Double]) -> Double { quantile(values.sorted(), 0.5) }

/// CPU time of every thread of this process so far.
func processCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Keeps results alive so the optimiser cannot drop the work that produced them.
final class Sink {
    private(set) var checksum = 0
    @inline(never)
    func consume(_ tensor: Tensor) { checksum &+= tensor.count &+ tensor.shape.count }
}

/// The machine's busy CPU time (Linux `/proc/stat`: user, nice, system, irq, softirq and steal — on a
/// VM steal is the hypervisor running someone else), to tell how many cores other processes kept
/// busy during a block; `nil` elsewhere.
struct MachineBusy {
    let seconds: Double
    let instant: ContinuousClock.Instant

    static func now() -> MachineBusy? {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
              let cpu = stat.split(separator: "\n").first, cpu.hasPrefix("cpu ") else { return nil }
        let fields = cpu.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard fields.count >= 8 else { return nil }
        let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
        guard ticksPerSecond > 0 else { return nil }
        let busy = fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7]
        return MachineBusy(seconds: busy / ticksPerSecond, instant: ContinuousClock.now)
    }
}
