import ParityNN

/// An optimizer as a value: the algorithm with every constant explicit, the framework whose update
/// formulas it follows, and what happens to the gradients before the update (clipping) and to the
/// weights (weight decay).
///
/// One step (``apply(gradients:to:state:)``), in the order both frameworks use:
/// 1. clipping (Keras `_clip_gradients` in `keras/src/optimizers/base_optimizer.py`; PyTorch:
///    `clip_grad_norm_` / `clip_grad_value_` called between `backward()` and `step()`);
/// 2. decoupled weight decay `w ← w − w·λ·lr` (every Keras optimizer's `weight_decay`,
///    `_apply_weight_decay`; PyTorch `AdamW` and `decoupled_weight_decay=True`), or coupled L2
///    `g ← g + λ·w` inside PyTorch's `step()`;
/// 3. the algorithm's update (``Algorithm``), in the framework's own formula.
public struct Optimizer: Sendable, Hashable, CustomStringConvertible {
    /// The update rule and its constants; each case gives both frameworks' formulas.
    public enum Algorithm: Sendable, Hashable {
        /// Keras `SGD` (velocity `v = μv − lr·g`, `w += v`; Nesterov `w += μv − lr·g`) or PyTorch `SGD`
        /// (buffer `b = g` at the first step, then `μb + (1 − dampening)·g`; `w −= lr·b`, Nesterov
        /// `w −= lr·(g + μb)`). The two agree while lr is constant.
        case sgd(momentum: Double, nesterov: Bool, dampening: Double)
        /// Keras `Adam`: `w −= lr·√(1 − β₂ᵗ)/(1 − β₁ᵗ) · m/(√v + ε̂)`, ε̂ added to the uncorrected √v.
        /// PyTorch `Adam`: `w −= lr/(1 − β₁ᵗ) · m/(√v/√(1 − β₂ᵗ) + ε)`. `amsgrad` uses the running max of v.
        case adam(beta1: Double, beta2: Double, epsilon: Double, amsgrad: Bool)
        /// Keras `RMSprop`: `Δ = lr·g/√(v + ε)`, momentum buffer `μm + Δ` (lr inside). PyTorch `RMSprop`:
        /// `g/(√v + ε)`, buffer `μb + g/(√v + ε)`, `w −= lr·b` (lr outside). `centered` subtracts the squared
        /// mean gradient from v.
        case rmsprop(rho: Double, momentum: Double, epsilon: Double, centered: Bool)
        /// Keras `Adagrad`: `w −= lr·g/√(acc + ε)`, acc from 0.1. PyTorch `Adagrad`: `w −= clr·g/(√acc + ε)`,
        /// `clr = lr/(1 + (t − 1)·lr_decay)`, acc from 0.
        case adagrad(initialAccumulator: Double, epsilon: Double, learningRateDecay: Double)
        /// Both: `Δ = √(acc_Δ + ε)/√(acc_g + ε)·g`, `w −= lr·Δ` (the same formula; the defaults differ).
        case adadelta(rho: Double, epsilon: Double)
        /// Keras `Adamax`: `u = max(β₂u, |g|)`, `w −= lr·m/((1 − β₁ᵗ)(u + ε))`. PyTorch `Adamax`:
        /// `u = max(β₂u, |g| + ε)`, `w −= lr/(1 − β₁ᵗ)·m/u` (ε inside the max, so it is kept in u).
        case adamax(beta1: Double, beta2: Double, epsilon: Double)
        /// Nesterov Adam with the momentum schedule `μₜ = β₁(1 − ½·0.96^(t·momentumDecay))`: Keras `Nadam`
        /// (momentum decay 1, i.e. `0.96ᵗ`), PyTorch `NAdam` (momentum_decay 0.004).
        case nadam(beta1: Double, beta2: Double, epsilon: Double, momentumDecay: Double)
        /// Keras `Lion`: `w −= lr·sign(β₁m + (1 − β₁)g)`, then `m = β₂m + (1 − β₂)g` (no PyTorch class).
        case lion(beta1: Double, beta2: Double)
    }

    /// How weight decay is applied.
    public enum WeightDecay: Sendable, Hashable {
        /// `w ← w − w·λ·lr` before the update (Keras `weight_decay` on every optimizer; PyTorch `AdamW`,
        /// `decoupled_weight_decay=True`, as `w·(1 − lr·λ)`).
        case decoupled(Double)
        /// `g ← g + λ·w` inside the update (PyTorch `weight_decay` on SGD, Adam, RMSprop, …).
        case coupled(Double)
    }

    /// How gradients are clipped before the update.
    public enum Clipping: Sendable, Hashable {
        /// Keras `clipnorm`: each variable's gradient scaled to norm ≤ c (`tf.clip_by_norm`).
        case perVariableNorm(Double)
        /// Keras `global_clipnorm` (`clip_by_global_norm`, scale `c·min(1/‖g‖, 1/c)`, ε 0), or PyTorch
        /// `clip_grad_norm_(max_norm=c)` (scale `min(c/(‖g‖ + 1e-6), 1)`, the ε explicit here; a Keras optimizer
        /// given ε > 0 clips as PyTorch does, which is how a comparison swaps PyTorch's clipping in).
        case globalNorm(Double, epsilon: Double)
        /// Keras `clipvalue`, PyTorch `clip_grad_value_`: each element clipped to [−c, c].
        case value(Double)
    }

    /// The framework whose update formulas the optimizer follows.
    public var framework: Framework
    /// The update rule.
    public var algorithm: Algorithm
    /// The learning rate, or the base rate a PyTorch scheduler starts from (a Keras schedule carries its own).
    public var learningRate: Double
    /// A learning rate that changes with the step (a Keras schedule in the file, a PyTorch scheduler).
    public var schedule: LearningRateSchedule?
    /// The weight decay, if any.
    public var weightDecay: WeightDecay?
    /// The gradient clipping, if any.
    public var clipping: Clipping?
    /// The class as the framework spells it, and the arguments given (for reports).
    public var className: String
    /// The arguments given, as written.
    public var arguments: [String]

    /// An optimizer; the parameters are the properties of the same names. `Optimizer.parse(_:framework:)`
    /// builds one from the framework's own spelling.
    public init(framework: Framework, algorithm: Algorithm, learningRate: Double, weightDecay: WeightDecay? = nil,
                clipping: Clipping? = nil, className: String, arguments: [String] = []) {
        self.framework = framework
        self.algorithm = algorithm
        self.learningRate = learningRate
        self.weightDecay = weightDecay
        self.clipping = clipping
        self.className = className
        self.arguments = arguments
    }

    public var description: String {
        var text = "\(className)(\(arguments.joined(separator: ", ")))"
        if let schedule { text += framework == .pyTorch ? " + \(schedule)" : " with learning_rate=\(schedule)" }
        if framework == .pyTorch, let clipping {
            switch clipping {
            case .globalNorm(let c, _): text += " + clip_grad_norm_(max_norm=\(c))"
            case .value(let c): text += " + clip_grad_value_(clip_value=\(c))"
            case .perVariableNorm(let c): text += " + clip_grad_norm_ per parameter (max_norm=\(c))"
            }
        }
        return text
    }
}

extension Optimizer.Algorithm {
    /// The algorithm with its momentum (SGD, RMSprop) or β₁ (Adam, Adamax, Nadam) set to `m`, as a scheduler that
    /// cycles momentum writes it into the param group (`group["momentum"]`, `group["betas"][0]`); nil for an
    /// algorithm without one.
    func replacingMomentum(_ m: Double) -> Optimizer.Algorithm? {
        switch self {
        case let .sgd(_, nesterov, dampening): return .sgd(momentum: m, nesterov: nesterov, dampening: dampening)
        case let .rmsprop(rho, _, epsilon, centered): return .rmsprop(rho: rho, momentum: m, epsilon: epsilon, centered: centered)
        case let .adam(_, beta2, epsilon, amsgrad): return .adam(beta1: m, beta2: beta2, epsilon: epsilon, amsgrad: amsgrad)
        case let .adamax(_, beta2, epsilon): return .adamax(beta1: m, beta2: beta2, epsilon: epsilon)
        case let .nadam(_, beta2, epsilon, decay): return .nadam(beta1: m, beta2: beta2, epsilon: epsilon, momentumDecay: decay)
        case .adagrad, .adadelta, .lion: return nil
        }
    }
}

/// An optimizer's state between steps: the step count and each variable's slots (moments, buffers).
public struct OptimizerState: Sendable {
    /// Steps taken so far (Keras `iterations`, PyTorch `state['step']`).
    public var step: Int
    /// Per variable, its slots in the algorithm's order.
    public var slots: [[Tensor]]
    /// Nadam's running product of the momentum schedule (Keras `_u_product`, PyTorch `mu_product`).
    public var momentumProduct: Double
}

extension Optimizer {
    /// Fresh state for `variables` (slots of zeros, Keras Adagrad's accumulators at their initial value).
    public func initialState(for variables: [Tensor]) -> OptimizerState {
        OptimizerState(step: 0, slots: variables.map { v in slotInitialValues.map { Tensor(repeating: $0, shape: v.shape, dtype: v.dtype) } },
                       momentumProduct: 1)
    }

    /// The initial value of each slot, in order.
    var slotInitialValues: [Double] {
        switch algorithm {
        case .sgd(let momentum, _, _): return momentum == 0 ? [] : [0]
        case .adam(_, _, _, let amsgrad): return amsgrad ? [0, 0, 0] : [0, 0]
        case .rmsprop(_, let momentum, _, let centered): return [0] + (momentum > 0 ? [0] : []) + (centered ? [0] : [])
        case .adagrad(let initial, _, _): return [initial]
        case .adadelta: return [0, 0]
        case .adamax: return [0, 0]
        case .nadam: return [0, 0]
        case .lion: return [0]
        }
    }

    /// One step: returns the updated variables and advances `state`. `gradients[i]` is the gradient of
    /// `variables[i]` (all trainable, in one dtype).
    public func apply(gradients: [Tensor], to variables: [Tensor], state: inout OptimizerState) throws -> [Tensor] {
        guard gradients.count == variables.count, state.slots.count == variables.count else {
            throw TrainError.badInput(reason: "\(gradients.count) gradients, \(state.slots.count) states for \(variables.count) variables")
        }
        let b = EagerContext()
        var grads = try clip(gradients.map(b.constant), in: b)
        state.step += 1
        let t = state.step
        // The step's learning rate (a schedule's value at this step) in every formula below.
        var current = self
        if let schedule {
            current.learningRate = schedule.rate(step: t, base: learningRate, dtype: variables.first?.dtype ?? .float32)
            if let momentum = schedule.momentum(step: t), let cycled = algorithm.replacingMomentum(momentum) { current.algorithm = cycled }
        }
        return try current.update(gradients: &grads, variables: variables, state: &state, step: t, in: b)
    }

    private func update(gradients grads: inout [EagerContext.Value], variables: [Tensor], state: inout OptimizerState, step t: Int,
                        in b: EagerContext) throws -> [Tensor] {
        if case .nadam(let beta1, _, _, let decay) = algorithm {
            // Keras `_backend_update_step` and PyTorch's `mu_product *= mu`, before the variable updates.
            let mu = beta1 * (1 - 0.5 * Optimizer.pow(0.96, Double(t) * decay, framework: framework, dtype: variables.first?.dtype ?? .float32))
            state.momentumProduct *= mu
            if framework == .keras, variables.first?.dtype == .float32 { state.momentumProduct = Double(Float(state.momentumProduct)) }
        }
        var updated: [Tensor] = []
        for index in variables.indices {
            var w = b.constant(variables[index])
            switch weightDecay {
            case .decoupled(let lambda)?:
                if framework == .keras {
                    let lr = b.scalar(learningRate, like: w)
                    w = try b.subtract(w, b.multiply(b.multiply(w, b.scalar(lambda, like: w)), lr))
                } else {
                    w = try b.multiply(w, b.scalar(1 - learningRate * lambda, like: w))
                }
            case .coupled(let lambda)?:
                grads[index] = try b.add(grads[index], b.multiply(w, b.scalar(lambda, like: w)))
            case nil:
                break
            }
            let slots = state.slots[index].map(b.constant)
            let (next, nextSlots) = try update(w, gradient: grads[index], slots: slots, step: t, momentumProduct: state.momentumProduct, in: b)
            updated.append(next.tensor)
            state.slots[index] = nextSlots.map(\.tensor)
        }
        return updated
    }

    /// Clips the gradients (``Clipping``).
    func clip<B: Builder>(_ grads: [B.Value], in b: B) throws -> [B.Value] {
        guard let clipping else { return grads }
        switch clipping {
        case .value(let c):
            return try grads.map { try b.clipByValue($0, -c, c) }
        case .perVariableNorm(let c):
            // `tf.clip_by_norm`: g·c / max(‖g‖, c), ‖g‖ taken as 0 for an all-zero gradient.
            return try grads.map { g in
                let l2sum = try b.reduce(.sum, b.multiply(g, g), axes: [])
                let norm = try b.unary(.sqrt, l2sum)
                let denominator = try b.tfMaximum(norm, c)
                return try b.divide(b.multiply(g, b.scalar(c, like: g)), b.broadcast(denominator, to: b.shape(of: g)))
            }
        case .globalNorm(let c, let epsilon):
            var sum: B.Value?
            for g in grads {
                let s = try b.reduce(.sum, b.multiply(g, g), axes: [])
                sum = try sum.map { try b.add($0, s) } ?? s
            }
            guard let sum else { return grads }
            let norm = try b.unary(.sqrt, sum)
            let scale: B.Value
            if framework == .keras, epsilon == 0 {
                // `clip_by_global_norm`: c·min(1/‖g‖, 1/c) + (‖g‖ − ‖g‖).
                let inverse = try b.apply(Binary(.minimum, ties: .first), [b.unary(.reciprocal, norm), b.scalar(1 / c, like: norm)])
                scale = try b.add(b.multiply(b.scalar(c, like: norm), inverse), b.subtract(norm, norm))
            } else {
                // `clip_grad_norm_`: clamp(c/(‖g‖ + 1e-6), max=1).
                let coefficient = try b.divide(b.scalar(c, like: norm), b.add(norm, b.scalar(epsilon, like: norm)))
                scale = try b.apply(Binary(.minimum, ties: .first), [coefficient, b.scalar(1, like: norm)])
            }
            return try grads.map { try b.multiply($0, b.broadcast(scale, to: b.shape(of: $0))) }
        }
    }

    /// `base^exponent` as the framework computes its scalars: Keras in the variable's dtype
    /// (`ops.power` on Float32 tensors), PyTorch in Python's double.
    static func pow(_ base: Double, _ exponent: Double, framework: Framework, dtype: DType) -> Double {
        guard framework == .keras, dtype == .float32 else { return Foundation.pow(base, exponent) }
        return Double(Foundation.powf(Float(base), Float(exponent)))
    }
}

import Foundation
