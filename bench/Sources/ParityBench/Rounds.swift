import Foundation

/// A ratio read from a group's rounds: the subject's time over the fastest reference's in the same
/// round. No references: the subject's time only.
struct Comparison {
    var subject: Side
    var references: [Side]
}

/// Sides measured together, interleaved round by round (`TimingPolicy`), and the ratios read from them.
struct Group {
    var id: String
    var sides: [Side]
    var comparisons: [Comparison]
}

/// One side's measurements in a group: a block per round.
struct SideRounds {
    var side: Side
    var threads: Int
    var shape: BlockShape
    var warmupCalls: Int
    var blocks: [Block] = []
    /// Cores kept busy by everything but the measured process during each block.
    var otherCores: [Double?] = []
    var blockWalls: [Double] = []

    /// Per round: the block's median seconds per call.
    var roundMedians: [Double] { blocks.map { median($0.samples) } }
    /// Per round: process CPU seconds per call over the block's timed samples.
    var roundCPU: [Double] { blocks.map { $0.cpuSeconds / Double($0.samples.count * shape.inner) } }
}

/// Runs `group` at `threads`: a warm-up per side, then `policy.rounds` rounds of one block per side,
/// in the listed order in even rounds and the reverse order in odd ones.
func runRounds(_ group: Group, threads: Int, runners: [Side: Runner], policy: TimingPolicy,
               log: (String) -> Void) throws -> [SideRounds] {
    func runner(_ side: Side) throws -> Runner {
        guard let runner = runners[side] else { throw BenchError(description: "nothing runs \(side)") }
        return runner
    }
    let started = ContinuousClock.now
    var measured: [SideRounds] = []
    for side in group.sides {
        let times = try runner(side).warmup(side, policy)
        let shape = policy.blockShape(callSeconds: median(times))
        measured.append(SideRounds(side: side, threads: threads, shape: shape, warmupCalls: times.count))
    }
    for round in 0..<policy.rounds {
        let order = round % 2 == 0 ? Array(measured.indices) : Array(measured.indices.reversed())
        for i in order {
            let runner = try runner(measured[i].side)
            let busyBefore = MachineBusy.now(), selfBefore = processCPUSeconds()
            let block = try runner.block(measured[i].side, measured[i].shape)
            let busyAfter = MachineBusy.now(), selfAfter = processCPUSeconds()
            var other: Double?
            if let busyBefore, let busyAfter {
                let wall = (busyAfter.instant - busyBefore.instant).seconds
                measured[i].blockWalls.append(wall)
                // This process's CPU (the in-process side, or the coordinator waiting), plus an external side's own.
                let mine = (selfAfter - selfBefore) + (runner.inProcess ? 0 : block.cpuTotalSeconds)
                other = wall > 0 ? max(0, (busyAfter.seconds - busyBefore.seconds - mine) / wall) : nil
            }
            measured[i].blocks.append(block)
            measured[i].otherCores.append(other)
        }
    }
    let elapsed = (ContinuousClock.now - started).seconds
    let summary = measured.map { m in
        "\(m.side.benchmark == group.id ? m.side.framework : m.side.benchmark) \(formatTime(median(m.roundMedians)))"
    }.joined(separator: ", ")
    log("  \(threads)T \(group.id): \(summary) (\(Int(elapsed.rounded())) s)")
    return measured
}

extension SideRounds {
    /// The row written to the JSON files: medians over every sample of every round.
    var row: ResultRow {
        let all = blocks.flatMap(\.samples).sorted()
        let walls = blockWalls.reduce(0, +)
        let others = zip(otherCores, blockWalls).compactMap { other, wall in other.map { $0 * wall } }
        return ResultRow(framework: side.framework, benchmark: side.benchmark, threads: threads,
                         medianSeconds: quantile(all, 0.5), p25Seconds: quantile(all, 0.25), p75Seconds: quantile(all, 0.75),
                         minSeconds: all[0], cpuSecondsPerCall: median(roundCPU), samples: all.count, inner: shape.inner,
                         warmupCalls: warmupCalls, rounds: blocks.count, roundMedians: roundMedians, roundCPU: roundCPU,
                         otherCores: walls > 0 && others.count == blockWalls.count ? others.reduce(0, +) / walls : nil)
    }
}

/// Paired ratios of `comparison` over the rounds in `measured`; nil without references.
func pairedSummary(_ comparison: Comparison, _ measured: [SideRounds]) -> SummaryRow? {
    guard !comparison.references.isEmpty,
          let subject = measured.first(where: { $0.side == comparison.subject }) else { return nil }
    let references = comparison.references.compactMap { side in measured.first { $0.side == side } }
    guard !references.isEmpty else { return nil }
    let rounds = subject.blocks.count
    var ratios: [Double] = [], cpuRatios: [Double] = [], fastest: [String] = []
    for r in 0..<rounds {
        let best = references.min { $0.roundMedians[r] < $1.roundMedians[r] }!
        ratios.append(subject.roundMedians[r] / best.roundMedians[r])
        fastest.append(best.side.framework)
        let bestCPU = references.map { $0.roundCPU[r] }.min()!
        cpuRatios.append(subject.roundCPU[r] / bestCPU)
    }
    let sorted = ratios.sorted()
    let byReference = Dictionary(uniqueKeysWithValues: references.map { reference in
        (reference.side.framework, median((0..<rounds).map { subject.roundMedians[$0] / reference.roundMedians[$0] }))
    })
    let overall = references.min { $0.row.medianSeconds < $1.row.medianSeconds }!
    return SummaryRow(benchmark: subject.side.benchmark, threads: subject.threads, parityMedian: subject.row.medianSeconds,
                      reference: overall.side.framework, referenceMedian: overall.row.medianSeconds,
                      ratio: quantile(sorted, 0.5), ratioMin: sorted.first!, ratioMax: sorted.last!,
                      ratioP25: quantile(sorted, 0.25), ratioP75: quantile(sorted, 0.75), ratios: ratios, fastestPerRound: fastest,
                      cpuRatio: median(cpuRatios), cpuRatios: cpuRatios, ratioByReference: byReference)
}
