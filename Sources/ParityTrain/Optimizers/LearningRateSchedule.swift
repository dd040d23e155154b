import Foundation
import ParityNN

/// A learning rate that changes with the step: a Keras schedule recorded in a `.keras` file's
/// `compile_config` (`keras/src/optimizers/schedules/learning_rate_schedule.py`, evaluated at
/// `optimizer.iterations`, which counts the steps already taken, in the variables' float type), or a
/// PyTorch `torch.optim.lr_scheduler` stepped after every `optimizer.step()` (`torch/optim/lr_scheduler.py`,
/// each step multiplying the group's previous rate, in Python doubles).
public enum LearningRateSchedule: Sendable, Hashable, CustomStringConvertible {
    /// Keras `ExponentialDecay`: `lr₀·rate^(step/decay_steps)` (the exponent floored when `staircase`).
    case exponentialDecay(initial: Double, decaySteps: Double, decayRate: Double, staircase: Bool)
    /// Keras `InverseTimeDecay`: `lr₀/(1 + rate·step/decay_steps)` (floored when `staircase`).
    case inverseTimeDecay(initial: Double, decaySteps: Double, decayRate: Double, staircase: Bool)
    /// Keras `PiecewiseConstantDecay`: `values[i]` for `boundaries[i−1] < step ≤ boundaries[i]`.
    case piecewiseConstant(boundaries: [Double], values: [Double])
    /// Keras `PolynomialDecay`: `(lr₀ − end)·(1 − min(step, decay_steps)/decay_steps)^power + end` (`cycle`
    /// stretches decay_steps to the next multiple of itself).
    case polynomialDecay(initial: Double, decaySteps: Double, end: Double, power: Double, cycle: Bool)
    /// Keras `CosineDecay`: `lr₀·((1 − α)·½(1 + cos(π·min(step, decay_steps)/decay_steps)) + α)`. With a warm-up
    /// (`warmupTarget` not nil) the rate rises linearly from lr₀ to the target over `warmupSteps`, then the cosine
    /// decays from the target over the next `decaySteps`.
    case cosineDecay(initial: Double, decaySteps: Double, alpha: Double, warmupTarget: Double?, warmupSteps: Double)
    /// Keras `CosineDecayRestarts` (SGDR): cosine decays from lr₀ over `first_decay_steps`, each next period `t_mul`
    /// times longer and starting `m_mul` times lower: with `f = step/first_decay_steps`, restart `i = ⌊f⌋` (t_mul 1) or
    /// `⌊log(1 − f(1 − t_mul))/log(t_mul)⌋`, the period's fraction `(f − (1 − t_mulⁱ)/(1 − t_mul))/t_mulⁱ`, and
    /// `lr₀·((1 − α)·½·m_mulⁱ·(1 + cos(π·fraction)) + α)`.
    case cosineDecayRestarts(initial: Double, firstDecaySteps: Double, tMul: Double, mMul: Double, alpha: Double)
    /// PyTorch `ExponentialLR`: `lr ← lr·γ` after every step.
    case exponentialLR(gamma: Double)
    /// PyTorch `StepLR`: `lr ← lr·γ` after every `step_size` steps.
    case stepLR(stepSize: Int, gamma: Double)
    /// PyTorch `MultiStepLR`: `lr ← lr·γ` when the count of steps taken reaches a milestone.
    case multiStepLR(milestones: [Int], gamma: Double)
    /// PyTorch `LinearLR`: the rate starts at `lr·start_factor` and moves linearly to `lr·end_factor` over
    /// `total_iters` steps (recursively: `lr ← lr·(1 + (e − s)/(n·s + (k − 1)(e − s)))` at step k ≤ n).
    case linearLR(startFactor: Double, endFactor: Double, totalIters: Int)
    /// PyTorch `CosineAnnealingLR`, in its recursive form: `lr ← (1 + cos(πk/T))/(1 + cos(π(k − 1)/T))·(lr − η) + η`,
    /// and `lr ← lr + (lr₀ − η)(1 − cos(π/T))/2` where `(k − 1 − T) mod 2T = 0` (the rising half).
    case cosineAnnealingLR(tMax: Int, etaMin: Double)
    /// PyTorch `PolynomialLR`: `lr ← lr·((1 − k/n)/(1 − (k − 1)/n))^power` for steps k ≤ n.
    case polynomialLR(totalIters: Int, power: Double)
    /// PyTorch `OneCycleLR` (closed form at each step; it ignores the optimizer's own rate).
    case oneCycleLR(OneCycle)
    /// PyTorch `ConstantLR`: the rate times `factor` from the start, `lr ← lr·(1/factor)` when the step count reaches
    /// `total_iters`.
    case constantLR(factor: Double, totalIters: Int)
    /// PyTorch `CosineAnnealingWarmRestarts`: `η + (lr₀ − η)(1 + cos(π·T_cur/T_i))/2`, `T_cur` counting the steps of
    /// the period and restarting at 0 when it reaches `T_i`, which then grows `T_mult` times (`T_i` starts at `T_0`).
    case cosineAnnealingWarmRestarts(t0: Int, tMult: Int, etaMin: Double)
    /// PyTorch `CyclicLR` (closed form at each step; its `base_lr` replaces the optimizer's own rate).
    case cyclicLR(Cyclic)

    /// `torch.optim.lr_scheduler.CyclicLR`'s settings: the rate runs from `base_lr` up to `max_lr` over `step_size_up`
    /// steps and back over `step_size_down`, the cycle's height scaled by `mode` (`triangular`: 1, `triangular2`:
    /// `1/2^(cycle − 1)`, `exp_range`: `gamma^step`); with `cycle_momentum` the momentum (or β₁) runs the opposite way
    /// between `max_momentum` and `base_momentum`.
    public struct Cyclic: Sendable, Hashable {
        public enum Mode: Sendable, Hashable {
            case triangular, triangular2
            case expRange(gamma: Double)
        }

        public var baseLR: Double
        public var maxLR: Double
        /// `step_size_up`, `step_size_down` (the latter defaults to the former).
        public var stepSizeUp: Double, stepSizeDown: Double
        public var mode: Mode
        /// `(base_momentum, max_momentum)` when `cycle_momentum=True`.
        public var momentum: [Double]?

        /// The rate and momentum after `k` scheduler steps (`get_lr` at `last_epoch = k`), in Python doubles.
        func values(at k: Int) -> (lr: Double, momentum: Double) {
            let total = stepSizeUp + stepSizeDown, ratio = stepSizeUp / total
            let cycle = (1 + Double(k) / total).rounded(.down)
            let x = 1.0 + Double(k) / total - cycle
            let factor = x <= ratio ? x / ratio : (x - 1) / (ratio - 1)
            let scale: Double
            switch mode {
            case .triangular: scale = 1
            case .triangular2: scale = 1 / Foundation.pow(2.0, cycle - 1)
            case .expRange(let gamma): scale = Foundation.pow(gamma, Double(k))
            }
            let lr = baseLR + (maxLR - baseLR) * factor * scale
            let (base, top) = (momentum?[0] ?? 0, momentum?[1] ?? 0)
            return (lr, top - (top - base) * factor * scale)
        }
    }

    /// `torch.optim.lr_scheduler.OneCycleLR`'s settings: phases from `max_lr/div_factor` up to `max_lr`, then down
    /// to `initial/final_div_factor` (three phases: up, back to the initial rate, then down), annealed by cosine
    /// (`end + (start − end)/2·(cos(π·pct) + 1)`) or linearly; with `cycle_momentum`, the optimizer's momentum (or β₁)
    /// runs the opposite way between `max_momentum` and `base_momentum`.
    public struct OneCycle: Sendable, Hashable {
        /// `max_lr`, the rate at the top of the cycle.
        public var maxLR: Double
        /// `total_steps` (or `epochs·steps_per_epoch`).
        public var totalSteps: Int
        /// `pct_start`, the share of the steps spent rising.
        public var pctStart: Double
        /// `anneal_strategy='cos'` (true) or `'linear'`.
        public var cosine: Bool
        /// `div_factor`: the first rate is `max_lr/div_factor`.
        public var divFactor: Double
        /// `final_div_factor`: the last rate is the first over it.
        public var finalDivFactor: Double
        /// `three_phase`: back down to the first rate before the final decay.
        public var threePhase: Bool
        /// `(base_momentum, max_momentum)` when `cycle_momentum=True`.
        public var momentum: [Double]?

        /// The phases: end step, start and end rate, start and end momentum (`torch.optim.lr_scheduler.OneCycleLR.__init__`).
        var phases: [(end: Double, lr: (Double, Double), momentum: (Double, Double))] {
            let initial = maxLR / divFactor, minimum = initial / finalDivFactor
            let (base, top) = (momentum?[0] ?? 0, momentum?[1] ?? 0)
            let n = Double(totalSteps)
            if threePhase {
                return [(pctStart * n - 1, (initial, maxLR), (top, base)), (2 * pctStart * n - 2, (maxLR, initial), (base, top)),
                        (n - 1, (initial, minimum), (top, top))]
            }
            return [(pctStart * n - 1, (initial, maxLR), (top, base)), (n - 1, (maxLR, minimum), (base, top))]
        }

        /// The rate and momentum after `k` scheduler steps (`get_lr` at `last_epoch = k`).
        func values(at k: Int) -> (lr: Double, momentum: Double) {
            func anneal(_ start: Double, _ end: Double, _ pct: Double) -> Double {
                cosine ? end + (start - end) / 2.0 * (Foundation.cos(Double.pi * pct) + 1) : (end - start) * pct + start
            }
            let phases = self.phases
            let i = phases.firstIndex { Double(k) <= $0.end } ?? phases.count - 1
            let start = i == 0 ? 0.0 : phases[i - 1].end, phase = phases[i]
            let pct = (Double(k) - start) / (phase.end - start)
            return (anneal(phase.lr.0, phase.lr.1, pct), anneal(phase.momentum.0, phase.momentum.1, pct))
        }
    }

    /// The framework the schedule belongs to.
    public var framework: Framework {
        switch self {
        case .exponentialDecay, .inverseTimeDecay, .piecewiseConstant, .polynomialDecay, .cosineDecay, .cosineDecayRestarts: return .keras
        case .exponentialLR, .stepLR, .multiStepLR, .linearLR, .cosineAnnealingLR, .polynomialLR, .oneCycleLR, .cyclicLR, .constantLR,
             .cosineAnnealingWarmRestarts: return .pyTorch
        }
    }

    /// The learning rate of step `t` (from 1): Keras evaluates the schedule at `iterations = t − 1` in `dtype`
    /// (float32 for float32 variables); PyTorch's rate is the base rate after `t − 1` scheduler steps.
    public func rate(step t: Int, base: Double, dtype: DType) -> Double {
        if framework == .keras, dtype == .float32 { return Double(keras(Float(t - 1))) }
        return framework == .keras ? keras(Double(t - 1)) : torch(steps: t - 1, base: base)
    }

    private func keras<T: FloatElement>(_ step: T) -> T {
        switch self {
        case let .exponentialDecay(initial, decaySteps, decayRate, staircase):
            var p = step / T(decaySteps)
            if staircase { p = p.rounded(.down) }
            return T(initial) * T.pow(T(decayRate), p)
        case let .inverseTimeDecay(initial, decaySteps, decayRate, staircase):
            var p = step / T(decaySteps)
            if staircase { p = p.rounded(.down) }
            return T(initial) / (1 + T(decayRate) * p)
        case let .piecewiseConstant(boundaries, values):
            for (boundary, value) in zip(boundaries, values) where step <= T(boundary) { return T(value) }
            return T(values.last ?? 0)
        case let .polynomialDecay(initial, decaySteps, end, power, cycle):
            var steps = T(decaySteps), s = step
            if cycle {
                steps *= step == 0 ? 1 : (step / steps).rounded(.up)
            } else {
                s = Swift.min(s, steps)
            }
            return (T(initial) - T(end)) * T.pow(1 - s / steps, T(power)) + T(end)
        case let .cosineDecay(initial, decaySteps, alpha, warmupTarget, warmupSteps):
            func decay(_ s: T, from rate: T) -> T {
                // π as `ops.array(math.pi, dtype)` rounds it (to nearest): Float.pi is rounded toward zero, one ulp
                // below, which moved the Float32 rate by up to 3 ulps (SpecTests, Keras 3.15's values).
                let cosine = T(0.5) * (1 + T.cos(T(Double.pi) * (s / T(decaySteps))))
                return rate * ((1 - T(alpha)) * cosine + T(alpha))
            }
            guard let warmupTarget else { return decay(Swift.min(step, T(decaySteps)), from: T(initial)) }
            // `__call__`: the step capped at decay_steps + warmup_steps; below warmup_steps the linear warm-up
            // (target − lr₀)·step/warmup_steps + lr₀, after it the cosine from the target.
            let s = Swift.min(step, T(decaySteps) + T(warmupSteps))
            if s < T(warmupSteps) { return (T(warmupTarget) - T(initial)) * (s / T(warmupSteps)) + T(initial) }
            return decay(s - T(warmupSteps), from: T(warmupTarget))
        case let .cosineDecayRestarts(initial, firstDecaySteps, tMul, mMul, alpha):
            let t = T(tMul)
            var fraction = step / T(firstDecaySteps), restart: T
            if tMul == 1 {
                restart = fraction.rounded(.down)
                fraction -= restart
            } else {
                restart = (T.log(1 - fraction * (1 - t)) / T.log(t)).rounded(.down)
                let sum = (1 - T.pow(t, restart)) / (1 - t)
                fraction = (fraction - sum) / T.pow(t, restart)
            }
            let cosine = T(0.5) * T.pow(T(mMul), restart) * (1 + T.cos(T(Double.pi) * fraction))
            return T(initial) * ((1 - T(alpha)) * cosine + T(alpha))
        case .exponentialLR, .stepLR, .multiStepLR, .linearLR, .cosineAnnealingLR, .polynomialLR, .oneCycleLR, .cyclicLR, .constantLR,
             .cosineAnnealingWarmRestarts:
            return 0
        }
    }

    /// The momentum (SGD, RMSprop) or β₁ (Adam, Adamax, NAdam) of step `t` (from 1), for a scheduler that cycles it
    /// (`OneCycleLR` or `CyclicLR` with `cycle_momentum=True`); nil for the others.
    public func momentum(step t: Int) -> Double? {
        switch self {
        case .oneCycleLR(let cycle) where cycle.momentum != nil: return cycle.values(at: t - 1).momentum
        case .cyclicLR(let cycle) where cycle.momentum != nil: return cycle.values(at: t - 1).momentum
        default: return nil
        }
    }

    /// The group's rate after `steps` scheduler steps: the constructor's own step (`last_epoch` 0, which only
    /// `LinearLR` and `OneCycleLR` change), then each `step()` in the scheduler's `get_lr`, in Python doubles.
    private func torch(steps: Int, base: Double) -> Double {
        if case .oneCycleLR(let cycle) = self { return cycle.values(at: steps).lr }
        if case .cyclicLR(let cycle) = self { return cycle.values(at: steps).lr }
        if case let .cosineAnnealingWarmRestarts(t0, tMult, etaMin) = self {
            // `step()` without an epoch: T_cur += 1, and at the period's end T_cur %= T_i, T_i *= T_mult (integers).
            var (tCur, tI) = (0, t0)
            for _ in 0..<steps {
                tCur += 1
                if tCur >= tI { (tCur, tI) = (tCur % tI, tI * tMult) }
            }
            return etaMin + (base - etaMin) * (1 + Foundation.cos(Double.pi * Double(tCur) / Double(tI))) / 2
        }
        var lr = base
        if case .linearLR(let startFactor, _, _) = self { lr *= startFactor }
        if case .constantLR(let factor, _) = self { lr *= factor }
        guard steps > 0 else { return lr }
        for k in 1...steps {
            switch self {
            case .exponentialLR(let gamma): lr *= gamma
            case let .stepLR(stepSize, gamma): if k % stepSize == 0 { lr *= gamma }
            case let .multiStepLR(milestones, gamma): lr *= Foundation.pow(gamma, Double(milestones.filter { $0 == k }.count))
            case let .linearLR(s, e, n):
                if k <= n { lr *= 1.0 + (e - s) / (Double(n) * s + Double(k - 1) * (e - s)) }
            case let .cosineAnnealingLR(tMax, etaMin):
                let T = Double(tMax)
                if ((k - 1 - tMax) % (2 * tMax) + 2 * tMax) % (2 * tMax) == 0 {  // Python's modulo: never negative
                    lr = lr + (base - etaMin) * (1 - Foundation.cos(Double.pi / T)) / 2
                } else {
                    lr = (1 + Foundation.cos(Double.pi * Double(k) / T)) / (1 + Foundation.cos(Double.pi * Double(k - 1) / T)) * (lr - etaMin) + etaMin
                }
            case let .polynomialLR(n, power):
                if k <= n { lr *= Foundation.pow((1.0 - Double(k) / Double(n)) / (1.0 - Double(k - 1) / Double(n)), power) }
            case let .constantLR(factor, n):
                if k == n { lr *= 1.0 / factor }
            default: break
            }
        }
        return lr
    }

    public var description: String {
        func n(_ x: Double) -> String { String(format: "%g", x) }
        switch self {
        case let .exponentialDecay(i, s, r, st): return "ExponentialDecay(\(n(i)), decay_steps=\(n(s)), decay_rate=\(n(r))\(st ? ", staircase=True" : ""))"
        case let .inverseTimeDecay(i, s, r, st): return "InverseTimeDecay(\(n(i)), decay_steps=\(n(s)), decay_rate=\(n(r))\(st ? ", staircase=True" : ""))"
        case let .piecewiseConstant(b, v): return "PiecewiseConstantDecay(\(b.map(n)), \(v.map(n)))"
        case let .polynomialDecay(i, s, e, p, c): return "PolynomialDecay(\(n(i)), decay_steps=\(n(s)), end_learning_rate=\(n(e)), power=\(n(p))\(c ? ", cycle=True" : ""))"
        case let .cosineDecay(i, s, a, target, w):
            return "CosineDecay(\(n(i)), decay_steps=\(n(s)), alpha=\(n(a))\(target.map { ", warmup_target=\(n($0)), warmup_steps=\(n(w))" } ?? ""))"
        case let .cosineDecayRestarts(i, s, t, m, a): return "CosineDecayRestarts(\(n(i)), first_decay_steps=\(n(s)), t_mul=\(n(t)), m_mul=\(n(m)), alpha=\(n(a)))"
        case .cyclicLR(let c):
            let mode: String
            switch c.mode {
            case .triangular: mode = "'triangular'"
            case .triangular2: mode = "'triangular2'"
            case .expRange(let gamma): mode = "'exp_range', gamma=\(n(gamma))"
            }
            return "CyclicLR(base_lr=\(n(c.baseLR)), max_lr=\(n(c.maxLR)), step_size_up=\(n(c.stepSizeUp)), step_size_down=\(n(c.stepSizeDown)), mode=\(mode), "
                + "cycle_momentum=\(c.momentum.map { "True, base_momentum=\(n($0[0])), max_momentum=\(n($0[1]))" } ?? "False"))"
        case .exponentialLR(let g): return "ExponentialLR(gamma=\(n(g)))"
        case let .stepLR(s, g): return "StepLR(step_size=\(s), gamma=\(n(g)))"
        case let .multiStepLR(m, g): return "MultiStepLR(milestones=\(m), gamma=\(n(g)))"
        case let .linearLR(s, e, t): return "LinearLR(start_factor=\(n(s)), end_factor=\(n(e)), total_iters=\(t))"
        case let .cosineAnnealingLR(t, e): return "CosineAnnealingLR(T_max=\(t), eta_min=\(n(e)))"
        case let .polynomialLR(t, p): return "PolynomialLR(total_iters=\(t), power=\(n(p)))"
        case let .constantLR(f, t): return "ConstantLR(factor=\(n(f)), total_iters=\(t))"
        case let .cosineAnnealingWarmRestarts(t0, m, e): return "CosineAnnealingWarmRestarts(T_0=\(t0), T_mult=\(m), eta_min=\(n(e)))"
        case .oneCycleLR(let c):
            return "OneCycleLR(max_lr=\(n(c.maxLR)), total_steps=\(c.totalSteps), pct_start=\(n(c.pctStart)), anneal_strategy='\(c.cosine ? "cos" : "linear")', "
                + "cycle_momentum=\(c.momentum == nil ? "False" : "True"), div_factor=\(n(c.divFactor)), final_div_factor=\(n(c.finalDivFactor))\(c.threePhase ? ", three_phase=True" : ""))"
        }
    }
}
