import Foundation
import ParityNN

/// The timing method, shared with `bench/pytorch_bench.py` (keep the two in step):
///
/// 1. Warm-up: call the body until at least `minWarmupCalls` calls and `warmupSeconds` have passed.
///    The median warm-up call is the estimate of one call's time.
/// 2. Each sample times `inner` back-to-back calls, `inner` chosen so that one sample lasts at least
///    `minSampleSeconds` (so that microsecond workloads are not dominated by clock overhead); the
///    sample's value is its elapsed time divided by `inner`.
/// 3. The number of samples is `budgetSeconds / sampleTime`, clamped to `minSamples...maxSamples`;
///    the floor drops to 5 when eleven samples would take more than twice the budget (slow workloads).
/// 4. Reported: the median sample (and the quartiles and the minimum), in seconds per call.
///
/// The clock is `ContinuousClock` (monotonic, nanosecond resolution); Python uses
/// `time.perf_counter_ns`.
struct TimingPolicy: Codable, Sendable {
    var warmupSeconds = 0.2
    var minWarmupCalls = 3
    var budgetSeconds = 2.0
    var minSampleSeconds = 0.001
    var minSamples = 11
    var maxSamples = 500

    enum CodingKeys: String, CodingKey {
        case warmupSeconds = "warmup_s", minWarmupCalls = "min_warmup_calls", budgetSeconds = "budget_s"
        case minSampleSeconds = "min_sample_s", minSamples = "min_samples", maxSamples = "max_samples"
    }

    func sampleCount(sampleSeconds: Double) -> Int {
        let floor = Double(minSamples) * sampleSeconds > 2 * budgetSeconds ? min(5, minSamples) : minSamples
        let wanted = Int((budgetSeconds / max(sampleSeconds, 1e-9)).rounded(.down))
        return min(max(wanted, floor), maxSamples)
    }
}

/// Seconds per call of one workload in one mode.
struct Measurement: Codable, Sendable {
    var medianSeconds: Double
    var p25Seconds: Double
    var p75Seconds: Double
    var minSeconds: Double
    var samples: Int
    var inner: Int
    var warmupCalls: Int

    enum CodingKeys: String, CodingKey {
        case medianSeconds = "median_s", p25Seconds = "p25_s", p75Seconds = "p75_s", minSeconds = "min_s"
        case samples, inner, warmupCalls = "warmup_calls"
    }
}

extension Duration {
    var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) * 1e-18
    }
}

/// Linear-interpolated quantile `q` of sorted values (NumPy's default method, as Python's side uses).
func quantile(_ sorted: [Double], _ q: Double) -> Double {
    precondition(!sorted.isEmpty)
    let position = q * Double(sorted.count - 1)
    let lower = Int(position.rounded(.down)), upper = min(lower + 1, sorted.count - 1)
    let fraction = position - Double(lower)
    return sorted[lower] + (sorted[upper] - sorted[lower]) * fraction
}

/// Keeps results alive so the optimiser cannot drop the work that produced them.
final class Sink {
    private(set) var checksum = 0
    @inline(never)
    func consume(_ tensor: Tensor) { checksum &+= tensor.count &+ tensor.shape.count }
}

func measure(_ policy: TimingPolicy, sink: Sink, _ body: () throws -> Tensor) rethrows -> Measurement {
    let clock = ContinuousClock()
    var warmupTimes: [Double] = []
    let warmupStart = clock.now
    while warmupTimes.count < policy.minWarmupCalls || (clock.now - warmupStart).seconds < policy.warmupSeconds {
        let t0 = clock.now
        sink.consume(try body())
        warmupTimes.append((clock.now - t0).seconds)
    }
    let warmupCalls = warmupTimes.count
    let estimate = max(quantile(warmupTimes.sorted(), 0.5), 1e-9)
    let inner = max(1, Int((policy.minSampleSeconds / estimate).rounded(.up)))
    let samples = policy.sampleCount(sampleSeconds: estimate * Double(inner))
    var values: [Double] = []
    values.reserveCapacity(samples)
    for _ in 0..<samples {
        let t0 = clock.now
        for _ in 0..<inner { sink.consume(try body()) }
        values.append((clock.now - t0).seconds / Double(inner))
    }
    values.sort()
    return Measurement(medianSeconds: quantile(values, 0.5), p25Seconds: quantile(values, 0.25),
                       p75Seconds: quantile(values, 0.75), minSeconds: values[0],
                       samples: samples, inner: inner, warmupCalls: warmupCalls)
}

/// CPU time used on the machine by everything but this process, to tell a quiet measurement from
/// one that competed with other work (Linux `/proc`; `nil` elsewhere). Steal time counts as other
/// work: on a VM it is the hypervisor running someone else.
struct CPUActivity {
    let busyTicks: Double
    let selfTicks: Double
    let instant: ContinuousClock.Instant

    static func now() -> CPUActivity? {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
              let cpu = stat.split(separator: "\n").first, cpu.hasPrefix("cpu "),
              let me = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
              let close = me.lastIndex(of: ")") else { return nil }
        // user nice system idle iowait irq softirq steal
        let fields = cpu.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard fields.count >= 8 else { return nil }
        let busy = fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7]
        let mine = me[me.index(after: close)...].split(separator: " ")
        guard mine.count > 12, let user = Double(mine[11]), let system = Double(mine[12]) else { return nil }
        return CPUActivity(busyTicks: busy, selfTicks: user + system, instant: ContinuousClock.now)
    }

    /// Average number of cores other processes kept busy between `start` and this snapshot.
    func otherCores(since start: CPUActivity) -> Double {
        let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
        let wall = (instant - start.instant).seconds
        guard wall > 0, ticksPerSecond > 0 else { return 0 }
        let other = (busyTicks - start.busyTicks) - (selfTicks - start.selfTicks)
        return max(0, other / ticksPerSecond / wall)
    }
}
