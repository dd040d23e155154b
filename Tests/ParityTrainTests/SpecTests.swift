import Foundation
import ParityNN
import ParityTestSupport
import Testing
@testable import ParityTrain

@Suite struct SpecTests {
    @Test func classWeightsAsKerasMakesThem() throws {
        let table = try Loss.parseClassWeights("{0: 0.5, 2: 3}")
        #expect(table == [0: 0.5, 2: 3])
        // One-hot rows: the argmax (the first on ties); class 1 has no key below the largest, so weight 1.
        let onehot = Tensor(shape: [3, 3], values: [0, 0, 1, 1, 0, 0, 0.5, 0.5, 0])
        #expect(try Loss.kerasClassWeights(table, target: onehot).doubles == [3, 0.5, 0.5])
        // One column: squeezed and rounded half to even (0.5 → 0, 2.5 → 2).
        let column = Tensor(shape: [3, 1], values: [0.5, 1, 2.5])
        #expect(try Loss.kerasClassWeights(table, target: column).doubles == [0.5, 1, 3])
        // A class without a key weighs 1, above the largest key too (class_weight.get(c, 1.0)).
        #expect(try Loss.kerasClassWeights(table, target: Tensor(shape: [2], values: [3, 2])).doubles == [1, 3])
        #expect(throws: TrainError.self) { try Loss.kerasClassWeights(table, target: Tensor(shape: [1, 2, 2], values: [0, 1, 1, 0])) }
    }

    @Test func cosineDecayWithATargetAndNoWarmUpStepsDecaysFromTheTarget() throws {
        // Keras 3.15 accepts warmup_target with warmup_steps=0 and decays from the target; its float32 values at
        // steps 0, 1, 2, 5 (printed by keras.optimizers.schedules.CosineDecay in the reference venv), to 1e-7 relative
        // (float32 rounding of the cosine).
        let call = try #require(try SpecCall.parse("CosineDecay(0.1, decay_steps=4, alpha=0.1, warmup_target=0.2, warmup_steps=0)").first)
        let schedule = try Optimizer.kerasSchedule(call)
        let keras: [(Int, Double)] = [(0, 0.20000000298023224), (1, 0.17363962531089783), (2, 0.10999999195337296), (5, 0.020000001415610313)]
        for (step, expected) in keras {
            let rate = schedule.rate(step: step + 1, base: 0.1, dtype: .float32)
            #expect(abs(rate - expected) <= 1e-7 * expected, "Keras step \(step): \(rate) vs \(expected)")
        }
    }

    /// Keras's float32 learning rates of the schedules in `Tests/Fixtures/train/schedules.json`
    /// (scripts/make_schedule_fixtures.py, Keras 3.15.1) at steps 0…40.
    static let kerasSchedules: [(spec: String, rates: [Double])] = {
        guard let cases = try? Fixtures.json("train/schedules.json")["cases"]?.array else { return [] }
        return cases.compactMap { c in
            guard let spec = c["spec"]?.string, let rates = c["rates"]?.array?.compactMap(\.double) else { return nil }
            return (spec, rates)
        }
    }()

    /// CosineDecayRestarts against Keras's values through the restarts (where ⌊log(1 − f(1 − t_mul))/log(t_mul)⌋
    /// lands on a whole number), to 1e-6 relative (float32 rounding).
    @Test func cosineDecayRestartsAsKerasComputesIt() throws {
        #expect(Self.kerasSchedules.count == 4 && Self.kerasSchedules.allSatisfy { $0.rates.count == 41 }, "train/schedules.json unread")
        for (spec, keras) in Self.kerasSchedules {
            let schedule = try Optimizer.kerasSchedule(try #require(try SpecCall.parse(spec).first))
            for (step, expected) in keras.enumerated() {
                let rate = schedule.rate(step: step + 1, base: 0, dtype: .float32)
                #expect(abs(rate - expected) <= 1e-6 * expected, "\(spec), Keras step \(step): \(rate) vs \(expected)")
            }
        }
    }

    @Test func refusedSchedulersSayWhy() throws {
        for (spec, reason) in [("SGD(lr=0.1) + ReduceLROnPlateau()", "monitored metric"), ("SGD(lr=0.1) + LambdaLR(lr_lambda=1)", "Python code"),
                               ("SGD(lr=0.1) + StepLR(step_size=2) + ExponentialLR(gamma=0.9)", "chain"),
                               ("Adagrad(lr=0.1) + CyclicLR(base_lr=0.01, max_lr=0.1)", "no momentum or betas")] {
            // A refusal of what parses says so, not "cannot parse … at character 0".
            #expect { _ = try Optimizer.parse(spec, framework: .pyTorch) } throws: { "\($0)".contains(reason) && !"\($0)".contains("cannot parse") }
        }
        // CyclicLR's default cycle_momentum=True gives an SGD built without momentum max_momentum 0.9 (PyTorch does too).
        let cyclic = try Optimizer.parse("SGD(lr=0.1) + CyclicLR(base_lr=0.01, max_lr=0.1, step_size_up=3)", framework: .pyTorch)
        #expect(cyclic.algorithm == .sgd(momentum: 0.9, nesterov: false, dampening: 0))
        #expect(abs(cyclic.schedule!.rate(step: 4, base: 0.1, dtype: .float64) - 0.1) < 1e-15)
        #expect(abs(cyclic.schedule!.momentum(step: 4)! - 0.8) < 1e-15)
    }

    @Test func warmRestartsAndConstantAsPyTorchStepsThem() throws {
        // CosineAnnealingWarmRestarts(T_0=3, T_mult=2): T_cur 0, 1, 2, then 0…5 of a period of 6, then 0 of 12.
        let restarts = try Optimizer.parse("SGD(lr=0.1) + CosineAnnealingWarmRestarts(T_0=3, T_mult=2, eta_min=0.01)", framework: .pyTorch).schedule!
        let periods: [(Int, Int)] = [(0, 3), (1, 3), (2, 3), (0, 6), (1, 6), (2, 6), (3, 6), (4, 6), (5, 6), (0, 12)]
        for (t, (tCur, tI)) in periods.enumerated() {
            let closed = 0.01 + (0.1 - 0.01) * (1 + cos(Double.pi * Double(tCur) / Double(tI))) / 2
            #expect(abs(restarts.rate(step: t + 1, base: 0.1, dtype: .float64) - closed) < 1e-15, "step \(t + 1)")
        }
        // ConstantLR(factor=0.25, total_iters=4): lr·0.25 for 4 steps, then lr·0.25·(1/0.25).
        let constant = try Optimizer.parse("Adam(lr=0.02) + ConstantLR(factor=0.25, total_iters=4)", framework: .pyTorch).schedule!
        #expect(constant.rate(step: 4, base: 0.02, dtype: .float64) == 0.02 * 0.25)
        #expect(constant.rate(step: 5, base: 0.02, dtype: .float64) == 0.02 * 0.25 * (1 / 0.25))
        #expect(throws: TrainError.self) { try Optimizer.parse("SGD(lr=0.1) + ConstantLR(factor=0)", framework: .pyTorch) }
    }

    @Test func hostileSchedulerValuesAreRefusedOrSaturate() throws {
        // Step counts past 2^53 (Int(x) would trap), and CyclicLR settings where PyTorch's get_lr divides by zero.
        for (spec, name) in [("StepLR(step_size=1e300)", "step_size"), ("CosineAnnealingWarmRestarts(T_0=1e300)", "T_0"),
                             ("MultiStepLR(milestones=[2, 1e300])", "milestones"),
                             ("CyclicLR(base_lr=0.1, max_lr=1, step_size_up=0, step_size_down=2)", "step_size_up"),
                             ("CyclicLR(base_lr=0.1, max_lr=1, step_size_up=1e308, step_size_down=1e308)", "step_size_up"),
                             ("CyclicLR(base_lr=0.1, max_lr=1, step_size_up=2, step_size_down=-2)", "step_size_up")] {
            #expect { _ = try Optimizer.parse("SGD(lr=0.1) + \(spec)", framework: .pyTorch) } throws: { "\($0)".contains(name) }
        }
        // T_i past Int.max saturates where Python's integer grows on (here to 1024·2^53 = 2^63 at the restart):
        // cos(π·T_cur/T_i) is 1 in doubles either way, and the step does not trap.
        let huge = try Optimizer.parse("SGD(lr=0.1) + CosineAnnealingWarmRestarts(T_0=1024, T_mult=9007199254740992)", framework: .pyTorch).schedule!
        #expect(huge.rate(step: 1024, base: 0.1, dtype: .float64) < 0.1)
        #expect(huge.rate(step: 1027, base: 0.1, dtype: .float64) == 0.1)
    }

    @Test func schedulersAsPyTorchStepsThem() throws {
        // LinearLR starts at lr·start_factor when it is built and reaches lr·end_factor after total_iters steps.
        let linear = LearningRateSchedule.linearLR(startFactor: 0.25, endFactor: 1, totalIters: 4)
        #expect(abs(linear.rate(step: 1, base: 0.1, dtype: .float64) - 0.025) < 1e-15)
        #expect(abs(linear.rate(step: 5, base: 0.1, dtype: .float64) - 0.1) < 1e-15)
        // CosineAnnealingLR follows the closed form to rounding, through the rising half (step 5 of T_max 4).
        let cosine = LearningRateSchedule.cosineAnnealingLR(tMax: 4, etaMin: 0.001)
        for t in 1...10 {
            let closed = 0.001 + (0.02 - 0.001) * (1 + cos(Double.pi * Double(t - 1) / 4)) / 2
            #expect(abs(cosine.rate(step: t, base: 0.02, dtype: .float64) - closed) < 1e-12, "step \(t)")
        }
        // OneCycleLR ignores the optimizer's rate: max_lr/div_factor first, max_lr at the end of the first phase.
        let cycle = try Optimizer.parse("SGD(lr=0.5, momentum=0.9) + OneCycleLR(max_lr=0.1, total_steps=10)", framework: .pyTorch)
        #expect(abs(cycle.schedule!.rate(step: 1, base: 0.5, dtype: .float64) - 0.004) < 1e-15)
        #expect(abs(cycle.schedule!.rate(step: 3, base: 0.5, dtype: .float64) - 0.1) < 1e-15)
        // …and sets the momentum to max_momentum when it is built.
        #expect(cycle.algorithm == .sgd(momentum: 0.95, nesterov: false, dampening: 0))
        #expect(cycle.schedule?.momentum(step: 3) == 0.85)
    }

    @Test func parsesCalls() throws {
        let calls = try SpecCall.parse("torch.optim.Adam(lr=1e-3, betas=(0.9, 0.99)) + clip_grad_norm_(1.0)")
        #expect(calls.count == 2)
        #expect(calls[0].name == "Adam" && calls[0].module == "torch.optim")
        #expect(calls[0].keywords.map(\.name) == ["lr", "betas"])
        #expect(calls[1].positional == [.number(1)])
    }
}
