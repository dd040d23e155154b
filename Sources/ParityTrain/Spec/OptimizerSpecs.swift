/// The optimizer classes of both frameworks with their arguments and defaults (Keras 3.15
/// `keras/src/optimizers/*.py`, PyTorch 2.15 `torch/optim/*.py`; the defaults checked with
/// `inspect.signature`), and how a call of one becomes an ``Optimizer``.
extension Optimizer {
    /// Parses `"Adam(lr=1e-3, eps=1e-8)"` (optionally `+ clip_grad_norm_(max_norm=1.0)` or
    /// `+ clip_grad_value_(clip_value=0.5)` for PyTorch). A `torch.optim.` / `keras.optimizers.` prefix picks
    /// the framework; without one, `framework` (the model's) decides for the names both have.
    public static func parse(_ spec: String, framework: Framework) throws -> Optimizer {
        let calls = try SpecCall.parse(spec)
        guard let first = calls.first else { throw TrainError.badSpec(spec: spec, position: 0, reason: "empty") }
        var optimizer = try make(first, framework: framework)
        for extra in calls.dropFirst() {
            guard optimizer.framework == .pyTorch else {
                throw TrainError.refusedSpec(spec: spec, reason: "Keras optimizers clip with clipnorm=, clipvalue= or global_clipnorm=, and take a schedule as learning_rate, not '+ \(extra.qualifiedName)'")
            }
            if let reason = refusedTorchSchedulers[extra.name] {
                throw TrainError.refusedSpec(spec: spec, reason: "\(extra.name) is not applied: \(reason)")
            }
            if torchSchedulers.contains(extra.name) {
                if let first = optimizer.schedule {
                    throw TrainError.refusedSpec(spec: spec, reason: "one scheduler per optimizer: \(extra.name) after \(first) would chain them "
                                             + "(each multiplying the other's rate, as ChainedScheduler does), which Parity does not apply")
                }
                let schedule = try torchScheduler(extra)
                if let momentum = schedule.momentum(step: 1) {
                    // OneCycleLR and CyclicLR with cycle_momentum=True set the group's momentum (or β₁) to max_momentum when built.
                    guard let cycled = optimizer.algorithm.replacingMomentum(momentum) else {
                        throw TrainError.badArgument(name: "\(extra.name) cycle_momentum", value: "True",
                                                     reason: "\(optimizer.className) has no momentum or betas to cycle (PyTorch refuses it too); give cycle_momentum=False")
                    }
                    optimizer.algorithm = cycled
                }
                optimizer.schedule = schedule
            } else {
                optimizer.clipping = try torchClipping(extra)
            }
        }
        return optimizer
    }

    /// The default of one constructor argument as the framework's signature writes it (`"1e-07"` for Keras
    /// Adam's `epsilon`), read from the argument tables below; nil for an unknown class or argument. The
    /// conventions catalog quotes its defaults from here.
    public static func defaultArgument(_ parameter: String, of className: String, framework: Framework) -> String? {
        let tables = framework == .keras ? kerasTables : torchTables
        return tables[className]?.parameters.first { $0.name == parameter }?.value.description
    }

    static let torchSchedulers: Set<String> = ["ExponentialLR", "StepLR", "MultiStepLR", "LinearLR", "CosineAnnealingLR", "PolynomialLR", "OneCycleLR", "CyclicLR",
                                                 "ConstantLR", "CosineAnnealingWarmRestarts"]

    /// The `torch.optim.lr_scheduler` classes Parity refuses, with why.
    static let refusedTorchSchedulers: [String: String] = [
        "ReduceLROnPlateau": "it steps on a monitored metric (scheduler.step(val_loss)) after each epoch, and parity train has no validation metric",
        "LambdaLR": "its lr_lambda is Python code, which Parity cannot run; give the closed form as one of the built-in schedulers",
        "MultiplicativeLR": "its lr_lambda is Python code, which Parity cannot run",
        "SequentialLR": "it switches between schedulers at milestones; give one scheduler",
        "ChainedScheduler": "it chains schedulers; give one scheduler",
    ]

    /// A `torch.optim.lr_scheduler` class of ``torchSchedulers`` with PyTorch 2.15's defaults (the optimizer is the
    /// scheduler's first argument in Python and is left out here), stepped after every `optimizer.step()`.
    static func torchScheduler(_ call: SpecCall) throws -> LearningRateSchedule {
        /// The call bound to the scheduler's parameters and `last_epoch`, which must keep its default -1.
        func bind(_ parameters: [(String, SpecCall.Value)]) throws -> Arguments {
            let a = try ArgumentTable(className: call.name, parameters: parameters + [("last_epoch", .number(-1))]).bind(call)
            try a.requireDefault("last_epoch", .number(-1), because: "the scheduler starts with the optimizer")
            return a
        }
        switch call.name {
        case "ExponentialLR":
            let a = try bind([("gamma", .none)])
            return .exponentialLR(gamma: try a.nonNegative("gamma"))
        case "StepLR":
            let a = try bind([("step_size", .none), ("gamma", .number(0.1))])
            return .stepLR(stepSize: try steps(a, "step_size"), gamma: try a.nonNegative("gamma"))
        case "MultiStepLR":
            let a = try bind([("milestones", .none), ("gamma", .number(0.1))])
            guard let counts = try a.doubles("milestones") else { throw a.fail("milestones", "must be a list of step counts") }
            let milestones = try counts.map { x -> Int in
                guard let n = wholeSteps(x) else { throw a.fail("milestones", "must be whole step counts from 1 to 2^53") }
                return n
            }
            return .multiStepLR(milestones: milestones, gamma: try a.nonNegative("gamma"))
        case "LinearLR":
            let a = try bind([("start_factor", .number(1.0 / 3)), ("end_factor", .number(1)),
                                                                         ("total_iters", .number(5))])
            let (start, end) = (try a.double("start_factor"), try a.double("end_factor"))
            guard start > 0, start <= 1 else { throw a.fail("start_factor", "must be in (0, 1] (PyTorch's check)") }
            guard end >= 0, end <= 1 else { throw a.fail("end_factor", "must be in [0, 1] (PyTorch's check)") }
            return .linearLR(startFactor: start, endFactor: end, totalIters: try steps(a, "total_iters"))
        case "CosineAnnealingLR":
            let a = try bind([("T_max", .none), ("eta_min", .number(0))])
            return .cosineAnnealingLR(tMax: try steps(a, "T_max"), etaMin: try a.double("eta_min"))
        case "PolynomialLR":
            let a = try bind([("total_iters", .number(5)), ("power", .number(1))])
            return .polynomialLR(totalIters: try steps(a, "total_iters"), power: try a.double("power"))
        case "OneCycleLR":
            let a = try bind([
                ("max_lr", .none), ("total_steps", .none), ("epochs", .none), ("steps_per_epoch", .none), ("pct_start", .number(0.3)),
                ("anneal_strategy", .string("cos")), ("cycle_momentum", .bool(true)), ("base_momentum", .number(0.85)), ("max_momentum", .number(0.95)),
                ("div_factor", .number(25)), ("final_div_factor", .number(1e4)), ("three_phase", .bool(false))])
            let total: Int
            if case .number? = a.values["total_steps"] {
                total = try steps(a, "total_steps")
            } else if case .number? = a.values["epochs"], case .number? = a.values["steps_per_epoch"] {
                total = try steps(a, "epochs") * (try steps(a, "steps_per_epoch"))
            } else {
                throw a.fail("total_steps", "give total_steps, or epochs and steps_per_epoch (PyTorch's rule)")
            }
            let pct = try a.double("pct_start")
            guard pct >= 0, pct <= 1 else { throw a.fail("pct_start", "must be in [0, 1]") }
            let strategy = try a.string("anneal_strategy")
            guard strategy == "cos" || strategy == "linear" else { throw a.fail("anneal_strategy", "'cos' or 'linear'") }
            let momentum = try a.bool("cycle_momentum") ? [try a.double("base_momentum"), try a.double("max_momentum")] : nil
            let cycle = LearningRateSchedule.OneCycle(maxLR: try a.nonNegative("max_lr"), totalSteps: total, pctStart: pct, cosine: strategy == "cos",
                                                      divFactor: try a.double("div_factor"), finalDivFactor: try a.double("final_div_factor"),
                                                      threePhase: try a.bool("three_phase"), momentum: momentum)
            // get_lr divides by each phase's length (end_step − start_step): PyTorch fails on a phase of length 0.
            var start = 0.0
            for phase in cycle.phases {
                guard phase.end != start else { throw a.fail("pct_start", "gives a phase of no steps (pct_start·total_steps − 1 = \(start)): PyTorch divides by zero there") }
                start = phase.end
            }
            return .oneCycleLR(cycle)
        case "ConstantLR":
            let a = try bind([("factor", .number(1.0 / 3)), ("total_iters", .number(5))])
            let factor = try a.double("factor")
            guard factor > 0, factor <= 1 else { throw a.fail("factor", "must be in (0, 1] (PyTorch checks [0, 1], and divides by it after total_iters)") }
            return .constantLR(factor: factor, totalIters: try steps(a, "total_iters"))
        case "CosineAnnealingWarmRestarts":
            let a = try bind([("T_0", .none), ("T_mult", .number(1)), ("eta_min", .number(0))])
            return .cosineAnnealingWarmRestarts(t0: try steps(a, "T_0"), tMult: try steps(a, "T_mult"), etaMin: try a.double("eta_min"))
        case "CyclicLR":
            let a = try bind([
                ("base_lr", .none), ("max_lr", .none), ("step_size_up", .number(2000)), ("step_size_down", .none), ("mode", .string("triangular")),
                ("gamma", .number(1)), ("scale_fn", .none), ("scale_mode", .string("cycle")), ("cycle_momentum", .bool(true)),
                ("base_momentum", .number(0.8)), ("max_momentum", .number(0.9))])
            try a.requireDefault("scale_fn", .none, because: "a scale_fn is Python code, which Parity cannot run (mode= picks the built-in ones)")
            let up = try a.nonNegative("step_size_up"), down = try a.optionalDouble("step_size_down") ?? up
            // get_lr divides by step_size_up/(step_size_up + step_size_down) at step 0: Python raises ZeroDivisionError when it is 0.
            guard up + down > 0, up / (up + down) > 0 else {
                throw a.fail("step_size_up", "with step_size_down \(down): the cycle or its rising share step_size_up/(step_size_up + step_size_down) is 0, and PyTorch's get_lr divides by both")
            }
            let mode: LearningRateSchedule.Cyclic.Mode
            switch try a.string("mode") {
            case "triangular": mode = .triangular
            case "triangular2": mode = .triangular2
            case "exp_range": mode = .expRange(gamma: try a.double("gamma"))
            default: throw a.fail("mode", "'triangular', 'triangular2' or 'exp_range'")
            }
            // scale_mode only acts with a scale_fn of the user's: each mode sets its own (cycle, cycle, iterations).
            let momentum = try a.bool("cycle_momentum") ? [try a.double("base_momentum"), try a.double("max_momentum")] : nil
            return .cyclicLR(.init(baseLR: try a.nonNegative("base_lr"), maxLR: try a.nonNegative("max_lr"), stepSizeUp: up, stepSizeDown: down,
                                   mode: mode, momentum: momentum))
        default:
            throw TrainError.unknownClass(name: call.qualifiedName, kind: "learning rate scheduler", known: torchSchedulers.sorted())
        }
    }

    /// A whole number of steps from 1 to 2⁵³.
    static func steps(_ a: Arguments, _ name: String) throws -> Int {
        guard let n = wholeSteps(try a.nonNegative(name)) else { throw a.fail(name, "must be a whole number of steps from 1 to 2^53") }
        return n
    }

    /// `x` as a step count when it is a whole number from 1 to 2⁵³ (past that a spec's doubles skip whole numbers,
    /// and `Int(x)` would trap), else nil.
    static func wholeSteps(_ x: Double) -> Int? {
        guard x >= 1, x <= 0x1p53, x == x.rounded() else { return nil }
        return Int(x)
    }

    /// A Keras `LearningRateSchedule` as `compile_config` records it (`{"class_name": "ExponentialDecay",
    /// "config": {...}}`), with the defaults of Keras 3.15's constructors.
    static func kerasSchedule(_ call: SpecCall) throws -> LearningRateSchedule {
        let name: [(String, SpecCall.Value)] = [("name", .none)]
        switch call.name {
        case "ExponentialDecay", "InverseTimeDecay":
            let a = try ArgumentTable(className: call.name, parameters: [("initial_learning_rate", .none), ("decay_steps", .none), ("decay_rate", .none),
                                                                         ("staircase", .bool(false))] + name).bind(call)
            let (initial, steps, rate, staircase) = (try a.nonNegative("initial_learning_rate"), try a.nonNegative("decay_steps"),
                                                     try a.double("decay_rate"), try a.bool("staircase"))
            guard steps > 0 else { throw a.fail("decay_steps", "must be positive") }
            return call.name == "ExponentialDecay" ? .exponentialDecay(initial: initial, decaySteps: steps, decayRate: rate, staircase: staircase)
                : .inverseTimeDecay(initial: initial, decaySteps: steps, decayRate: rate, staircase: staircase)
        case "PiecewiseConstantDecay":
            let a = try ArgumentTable(className: call.name, parameters: [("boundaries", .none), ("values", .none)] + name).bind(call)
            guard let boundaries = try a.doubles("boundaries", count: nil), let values = try a.doubles("values", count: boundaries.count + 1) else {
                throw a.fail("values", "needs boundaries and one more value than boundaries")
            }
            return .piecewiseConstant(boundaries: boundaries, values: values)
        case "PolynomialDecay":
            let a = try ArgumentTable(className: call.name, parameters: [("initial_learning_rate", .none), ("decay_steps", .none),
                                                                         ("end_learning_rate", .number(1e-4)), ("power", .number(1)), ("cycle", .bool(false))] + name).bind(call)
            let steps = try a.nonNegative("decay_steps")
            guard steps > 0 else { throw a.fail("decay_steps", "must be positive") }
            return .polynomialDecay(initial: try a.nonNegative("initial_learning_rate"), decaySteps: steps, end: try a.nonNegative("end_learning_rate"),
                                    power: try a.double("power"), cycle: try a.bool("cycle"))
        case "CosineDecayRestarts":
            let a = try ArgumentTable(className: call.name, parameters: [("initial_learning_rate", .none), ("first_decay_steps", .none), ("t_mul", .number(2)),
                                                                         ("m_mul", .number(1)), ("alpha", .number(0))] + name).bind(call)
            let steps = try a.nonNegative("first_decay_steps")
            guard steps > 0 else { throw a.fail("first_decay_steps", "must be positive (Keras's check)") }
            return .cosineDecayRestarts(initial: try a.nonNegative("initial_learning_rate"), firstDecaySteps: steps, tMul: try a.nonNegative("t_mul"),
                                        mMul: try a.double("m_mul"), alpha: try a.double("alpha"))
        case "CosineDecay":
            let a = try ArgumentTable(className: call.name, parameters: [("initial_learning_rate", .none), ("decay_steps", .none), ("alpha", .number(0)),
                                                                         ("warmup_target", .none), ("warmup_steps", .number(0))] + name).bind(call)
            let steps = try a.nonNegative("decay_steps")
            guard steps > 0 else { throw a.fail("decay_steps", "must be positive") }
            let target = try a.optionalDouble("warmup_target")
            let warmup = try a.nonNegative("warmup_steps")
            return .cosineDecay(initial: try a.nonNegative("initial_learning_rate"), decaySteps: steps, alpha: try a.double("alpha"),
                                warmupTarget: target, warmupSteps: warmup)
        default:
            throw TrainError.unknownClass(name: call.qualifiedName, kind: "Keras learning rate schedule",
                                          known: ["CosineDecay", "CosineDecayRestarts", "ExponentialDecay", "InverseTimeDecay", "PiecewiseConstantDecay", "PolynomialDecay"])
        }
    }

    static func frameworkOf(_ call: SpecCall, default framework: Framework) throws -> Framework {
        switch call.module {
        case "": return framework
        case "torch.optim", "optim": return .pyTorch
        case "keras.optimizers", "tf.keras.optimizers", "optimizers": return .keras
        default:
            throw TrainError.unknownClass(name: call.qualifiedName, kind: "optimizer", known: ["torch.optim.<name>", "keras.optimizers.<name>"])
        }
    }

    /// An optimizer from a call (a spec, or a Keras `compile_config` optimizer with its config as keywords).
    static func make(_ call: SpecCall, framework defaultFramework: Framework) throws -> Optimizer {
        let framework = try frameworkOf(call, default: defaultFramework)
        if framework == .keras {
            guard let table = kerasTables[call.name] else {
                throw TrainError.unknownClass(name: call.name, kind: "Keras optimizer", known: kerasTables.keys.sorted())
            }
            return try keras(call.name, try table.bind(call))
        }
        guard let table = torchTables[call.name] else {
            throw TrainError.unknownClass(name: call.name, kind: "PyTorch optimizer", known: torchTables.keys.sorted())
        }
        return try torch(call.name, try table.bind(call))
    }

    // MARK: Keras

    static let kerasCommon: [(String, SpecCall.Value)] = [
        ("weight_decay", .none), ("clipnorm", .none), ("clipvalue", .none), ("global_clipnorm", .none), ("use_ema", .bool(false)),
        ("ema_momentum", .number(0.99)), ("ema_overwrite_frequency", .none), ("loss_scale_factor", .none),
        ("gradient_accumulation_steps", .none), ("name", .none),
    ]

    static let kerasTables: [String: ArgumentTable] = {
        func table(_ name: String, _ own: [(String, SpecCall.Value)]) -> (String, ArgumentTable) {
            (name, ArgumentTable(className: name, parameters: own.map { ($0.0, $0.1) } + kerasCommon.map { ($0.0, $0.1) }))
        }
        let betas: [(String, SpecCall.Value)] = [("beta_1", .number(0.9)), ("beta_2", .number(0.999)), ("epsilon", .number(1e-7))]
        return Dictionary(uniqueKeysWithValues: [
            table("SGD", [("learning_rate", .number(0.01)), ("momentum", .number(0)), ("nesterov", .bool(false))]),
            table("Adam", [("learning_rate", .number(0.001))] + betas + [("amsgrad", .bool(false))]),
            // AdamW's weight_decay comes second and defaults to 0.004 (`keras/src/optimizers/adamw.py`).
            ("AdamW", ArgumentTable(className: "AdamW", parameters: [("learning_rate", .number(0.001)), ("weight_decay", .number(0.004))] + betas
                                     + [("amsgrad", .bool(false))] + kerasCommon.filter { $0.0 != "weight_decay" }.map { ($0.0, $0.1) })),
            table("RMSprop", [("learning_rate", .number(0.001)), ("rho", .number(0.9)), ("momentum", .number(0)), ("epsilon", .number(1e-7)),
                              ("centered", .bool(false))]),
            table("Adagrad", [("learning_rate", .number(0.001)), ("initial_accumulator_value", .number(0.1)), ("epsilon", .number(1e-7))]),
            table("Adadelta", [("learning_rate", .number(0.001)), ("rho", .number(0.95)), ("epsilon", .number(1e-7))]),
            table("Adamax", [("learning_rate", .number(0.001))] + betas),
            table("Nadam", [("learning_rate", .number(0.001))] + betas),
            table("Lion", [("learning_rate", .number(0.001)), ("beta_1", .number(0.9)), ("beta_2", .number(0.99))]),
        ])
    }()

    static func keras(_ name: String, _ a: Arguments) throws -> Optimizer {
        try a.requireDefault("use_ema", .bool(false), because: "weight EMA is not applied (use_ema=False)")
        try a.requireDefault("loss_scale_factor", .none, because: "loss scaling is not applied")
        try a.requireDefault("gradient_accumulation_steps", .none, because: "gradient accumulation is not applied")
        let algorithm: Algorithm
        switch name {
        case "SGD": algorithm = .sgd(momentum: try a.nonNegative("momentum"), nesterov: try a.bool("nesterov"), dampening: 0)
        case "Adam", "AdamW":
            algorithm = .adam(beta1: try a.double("beta_1"), beta2: try a.double("beta_2"), epsilon: try a.nonNegative("epsilon"), amsgrad: try a.bool("amsgrad"))
        case "RMSprop":
            algorithm = .rmsprop(rho: try a.double("rho"), momentum: try a.nonNegative("momentum"), epsilon: try a.nonNegative("epsilon"), centered: try a.bool("centered"))
        case "Adagrad":
            algorithm = .adagrad(initialAccumulator: try a.nonNegative("initial_accumulator_value"), epsilon: try a.nonNegative("epsilon"), learningRateDecay: 0)
        case "Adadelta": algorithm = .adadelta(rho: try a.double("rho"), epsilon: try a.nonNegative("epsilon"))
        case "Adamax": algorithm = .adamax(beta1: try a.double("beta_1"), beta2: try a.double("beta_2"), epsilon: try a.nonNegative("epsilon"))
        case "Nadam": algorithm = .nadam(beta1: try a.double("beta_1"), beta2: try a.double("beta_2"), epsilon: try a.nonNegative("epsilon"), momentumDecay: 1)
        case "Lion":
            let beta1 = try a.double("beta_1")
            guard beta1 > 0, beta1 <= 1 else { throw a.fail("beta_1", "must be in (0, 1] (`keras/src/optimizers/lion.py`)") }
            algorithm = .lion(beta1: beta1, beta2: try a.double("beta_2"))
        default: throw TrainError.unknownClass(name: name, kind: "Keras optimizer", known: kerasTables.keys.sorted())
        }
        // `_clip_gradients` applies the first of clipnorm, global_clipnorm, clipvalue that is set (> 0).
        var clipping: Clipping?
        if let c = try a.optionalDouble("clipnorm"), c > 0 {
            clipping = .perVariableNorm(c)
        } else if let c = try a.optionalDouble("global_clipnorm"), c > 0 {
            clipping = .globalNorm(c, epsilon: 0)
        } else if let c = try a.optionalDouble("clipvalue"), c > 0 {
            clipping = .value(c)
        }
        let decay = try a.optionalDouble("weight_decay")
        return Optimizer(framework: .keras, algorithm: algorithm, learningRate: try a.nonNegative("learning_rate"),
                         weightDecay: decay.map { .decoupled($0) }, clipping: clipping, className: name, arguments: a.written)
    }

    // MARK: PyTorch

    static let torchTables: [String: ArgumentTable] = {
        let betas: SpecCall.Value = .sequence([.number(0.9), .number(0.999)])
        let flags: [(String, SpecCall.Value)] = [("maximize", .bool(false)), ("foreach", .none), ("capturable", .bool(false)),
                                                 ("differentiable", .bool(false)), ("fused", .none)]
        func table(_ name: String, _ own: [(String, SpecCall.Value)]) -> (String, ArgumentTable) {
            (name, ArgumentTable(className: name, parameters: own.map { ($0.0, $0.1) } + flags.map { ($0.0, $0.1) }))
        }
        return Dictionary(uniqueKeysWithValues: [
            table("SGD", [("lr", .number(1e-3)), ("momentum", .number(0)), ("dampening", .number(0)), ("weight_decay", .number(0)), ("nesterov", .bool(false))]),
            table("Adam", [("lr", .number(1e-3)), ("betas", betas), ("eps", .number(1e-8)), ("weight_decay", .number(0)), ("amsgrad", .bool(false)),
                           ("decoupled_weight_decay", .bool(false))]),
            table("AdamW", [("lr", .number(1e-3)), ("betas", betas), ("eps", .number(1e-8)), ("weight_decay", .number(1e-2)), ("amsgrad", .bool(false))]),
            table("RMSprop", [("lr", .number(1e-2)), ("alpha", .number(0.99)), ("eps", .number(1e-8)), ("weight_decay", .number(0)), ("momentum", .number(0)),
                              ("centered", .bool(false))]),
            table("Adagrad", [("lr", .number(1e-2)), ("lr_decay", .number(0)), ("weight_decay", .number(0)), ("initial_accumulator_value", .number(0)),
                              ("eps", .number(1e-10))]),
            table("Adadelta", [("lr", .number(1.0)), ("rho", .number(0.9)), ("eps", .number(1e-6)), ("weight_decay", .number(0))]),
            table("Adamax", [("lr", .number(2e-3)), ("betas", betas), ("eps", .number(1e-8)), ("weight_decay", .number(0))]),
            table("NAdam", [("lr", .number(2e-3)), ("betas", betas), ("eps", .number(1e-8)), ("weight_decay", .number(0)), ("momentum_decay", .number(4e-3)),
                            ("decoupled_weight_decay", .bool(false))]),
        ])
    }()

    static func torch(_ name: String, _ a: Arguments) throws -> Optimizer {
        try a.requireDefault("maximize", .bool(false), because: "maximize=True is not applied")
        try a.requireDefault("differentiable", .bool(false), because: "differentiable optimizers are not supported")
        func betas() throws -> (Double, Double) {
            let b = try a.doubles("betas", count: 2) ?? [0.9, 0.999]
            guard b.allSatisfy({ $0 >= 0 && $0 < 1 }) else { throw a.fail("betas", "each must be in [0, 1)") }
            return (b[0], b[1])
        }
        let algorithm: Algorithm
        var decoupled = false
        switch name {
        case "SGD":
            let momentum = try a.nonNegative("momentum"), dampening = try a.double("dampening"), nesterov = try a.bool("nesterov")
            if nesterov, momentum <= 0 || dampening != 0 {
                throw a.fail("nesterov", "Nesterov momentum requires a momentum and zero dampening (torch/optim/sgd.py)")
            }
            algorithm = .sgd(momentum: momentum, nesterov: nesterov, dampening: dampening)
        case "Adam", "AdamW":
            let (b1, b2) = try betas()
            algorithm = .adam(beta1: b1, beta2: b2, epsilon: try a.nonNegative("eps"), amsgrad: try a.bool("amsgrad"))
            decoupled = name == "AdamW" ? true : try a.bool("decoupled_weight_decay")
        case "RMSprop":
            algorithm = .rmsprop(rho: try a.double("alpha"), momentum: try a.nonNegative("momentum"), epsilon: try a.nonNegative("eps"), centered: try a.bool("centered"))
        case "Adagrad":
            algorithm = .adagrad(initialAccumulator: try a.nonNegative("initial_accumulator_value"), epsilon: try a.nonNegative("eps"),
                                 learningRateDecay: try a.nonNegative("lr_decay"))
        case "Adadelta": algorithm = .adadelta(rho: try a.double("rho"), epsilon: try a.nonNegative("eps"))
        case "Adamax":
            let (b1, b2) = try betas()
            algorithm = .adamax(beta1: b1, beta2: b2, epsilon: try a.nonNegative("eps"))
        case "NAdam":
            let (b1, b2) = try betas()
            algorithm = .nadam(beta1: b1, beta2: b2, epsilon: try a.nonNegative("eps"), momentumDecay: try a.nonNegative("momentum_decay"))
            decoupled = try a.bool("decoupled_weight_decay")
        default: throw TrainError.unknownClass(name: name, kind: "PyTorch optimizer", known: torchTables.keys.sorted())
        }
        let lambda = try a.nonNegative("weight_decay")
        return Optimizer(framework: .pyTorch, algorithm: algorithm, learningRate: try a.nonNegative("lr"),
                         weightDecay: lambda == 0 ? nil : (decoupled ? .decoupled(lambda) : .coupled(lambda)), className: name, arguments: a.written)
    }

    /// `clip_grad_norm_(max_norm, norm_type=2.0, error_if_nonfinite=False)` or `clip_grad_value_(clip_value)`
    /// (`torch/nn/utils/clip_grad.py`), run between `backward()` and `step()`.
    static func torchClipping(_ call: SpecCall) throws -> Clipping {
        switch call.name {
        case "clip_grad_norm_", "clip_grad_norm":
            let table = ArgumentTable(className: call.name, parameters: [("max_norm", .none), ("norm_type", .number(2)), ("error_if_nonfinite", .bool(false)),
                                                                         ("foreach", .none)])
            let a = try table.bind(call)
            try a.requireDefault("norm_type", .number(2), because: "only the 2-norm is applied")
            let c = try a.nonNegative("max_norm")
            return .globalNorm(c, epsilon: 1e-6)
        case "clip_grad_value_":
            let a = try ArgumentTable(className: call.name, parameters: [("clip_value", .none), ("foreach", .none)]).bind(call)
            return .value(try a.nonNegative("clip_value"))
        default:
            throw TrainError.unknownClass(name: call.qualifiedName, kind: "gradient clipping", known: ["clip_grad_norm_", "clip_grad_value_"])
        }
    }
}
