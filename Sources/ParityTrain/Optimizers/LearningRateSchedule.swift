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
    /// Keras `CosineDecay` without warm-up: `lr₀·((1 − α)·½(1 + cos(π·min(step, decay_steps)/decay_steps)) + α)`.
    case cosineDecay(initial: Double, decaySteps: Double, alpha: Double)
    /// PyTorch `ExponentialLR`: `lr ← lr·γ` after every step.
    case exponentialLR(gamma: Double)
    /// PyTorch `StepLR`: `lr ← lr·γ` after every `step_size` steps.
    case stepLR(stepSize: Int, gamma: Double)
    /// PyTorch `MultiStepLR`: `lr ← lr·γ` when the count of steps taken reaches a milestone.
    case multiStepLR(milestones: [Int], gamma: Double)

    /// The framework the schedule belongs to.
    public var framework: Framework {
        switch self {
        case .exponentialDecay, .inverseTimeDecay, .piecewiseConstant, .polynomialDecay, .cosineDecay: return .keras
        case .exponentialLR, .stepLR, .multiStepLR: return .pyTorch
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
        case let .cosineDecay(initial, decaySteps, alpha):
            let fraction = Swift.min(step, T(decaySteps)) / T(decaySteps)
            let cosine = T(0.5) * (1 + T.cos(T.pi * fraction))
            return T(initial) * ((1 - T(alpha)) * cosine + T(alpha))
        case .exponentialLR, .stepLR, .multiStepLR:
            return 0
        }
    }

    private func torch(steps: Int, base: Double) -> Double {
        var lr = base
        guard steps > 0 else { return lr }
        for epoch in 1...steps {
            switch self {
            case .exponentialLR(let gamma): lr *= gamma
            case let .stepLR(stepSize, gamma): if epoch % stepSize == 0 { lr *= gamma }
            case let .multiStepLR(milestones, gamma): lr *= Foundation.pow(gamma, Double(milestones.filter { $0 == epoch }.count))
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
        case let .cosineDecay(i, s, a): return "CosineDecay(\(n(i)), decay_steps=\(n(s)), alpha=\(n(a)))"
        case .exponentialLR(let g): return "ExponentialLR(gamma=\(n(g)))"
        case let .stepLR(s, g): return "StepLR(step_size=\(s), gamma=\(n(g)))"
        case let .multiStepLR(m, g): return "MultiStepLR(milestones=\(m), gamma=\(n(g)))"
        }
    }
}
