import Foundation
import ParityNN
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

    /// CosineDecayRestarts against Keras 3.15.1's float32 values at steps 0…40 (printed in the reference venv), through the
    /// restarts (where ⌊log(1 − f(1 − t_mul))/log(t_mul)⌋ lands on a whole number), to 1e-6 relative (float32 rounding).
    @Test(arguments: [
        ("CosineDecayRestarts(0.05, first_decay_steps=3, t_mul=2.0, m_mul=0.7, alpha=0.1)", [
            0.05000000074505806, 0.038750000298023224, 0.016249997541308403, 0.036500003188848495, 0.03438990190625191, 0.0286250002682209,
            0.020749999210238457, 0.012875000946223736, 0.007110097911208868, 0.027050001546740532, 0.026674330234527588, 0.02557292953133583,
            0.023820850998163223, 0.021537497639656067, 0.018878480419516563, 0.01602499932050705, 0.013171518221497536, 0.010512501001358032,
            0.008229147642850876, 0.006477068644016981, 0.005375667940825224, 0.020434999838471413, 0.020368976518511772, 0.020172031596302986,
            0.01984754018485546, 0.019401051104068756, 0.018840203061699867, 0.01817459613084793, 0.017415618523955345, 0.01657624915242195,
            0.015670858323574066, 0.014714936725795269, 0.013724835589528084, 0.012717499397695065, 0.01171016413718462, 0.01072006206959486,
            0.009764140471816063, 0.008858750574290752, 0.008019382134079933, 0.0072604031302034855, 0.006594795733690262]),
        ("CosineDecayRestarts(0.1, first_decay_steps=4, t_mul=1.0, m_mul=0.5)", [
            0.10000000149011612, 0.08535534143447876, 0.04999999701976776, 0.014644661918282509, 0.05000000074505806, 0.04267767071723938,
            0.02499999850988388, 0.007322330959141254, 0.02500000037252903, 0.02133883535861969, 0.01249999925494194, 0.003661165479570627,
            0.012500000186264515, 0.010669417679309845, 0.00624999962747097, 0.0018305827397853136, 0.0062500000931322575, 0.0053347088396549225,
            0.003124999813735485, 0.0009152913698926568, 0.0031250000465661287, 0.0026673544198274612, 0.0015624999068677425, 0.0004576456849463284,
            0.0015625000232830644, 0.0013336772099137306, 0.0007812499534338713, 0.0002288228424731642, 0.0007812500116415322, 0.0006668386049568653,
            0.00039062497671693563, 0.0001144114212365821, 0.0003906250058207661, 0.00033341930247843266, 0.00019531248835846782, 5.720571061829105e-05,
            0.00019531250291038305, 0.00016670965123921633, 9.765624417923391e-05, 2.8602855309145525e-05, 9.765625145519152e-05]),
        ("CosineDecayRestarts(0.1, first_decay_steps=5, t_mul=1.5, alpha=0.05)", [
            0.10000000149011612, 0.09092830866575241, 0.06717830151319504, 0.037821684032678604, 0.014071689918637276, 0.10000000149011612,
            0.09589340537786484, 0.08428370207548141, 0.06717830151319504, 0.04753490537405014, 0.028749996796250343, 0.014071689918637276,
            0.006037984974682331, 0.09953773766756058, 0.09589341282844543, 0.08888711035251617, 0.07906166464090347, 0.06717830151319504,
            0.05415772274136543, 0.041008710861206055, 0.028749996796250343, 0.018331371247768402, 0.010559985414147377, 0.006037991028279066,
            0.09994856268167496, 0.09871963411569595, 0.09589342027902603, 0.09156756103038788, 0.08589159697294235, 0.07906164973974228,
            0.07131379097700119, 0.06291574239730835, 0.054157715290784836, 0.04534243792295456, 0.03677447885274887, 0.028749996796250343,
            0.021546287462115288, 0.015412275679409504, 0.010559991002082825, 0.007157084532082081, 0.00532117672264576]),
        ("CosineDecayRestarts(0.01, first_decay_steps=1, t_mul=3.0, m_mul=0.9)", [
            0.009999999776482582, 0.008999999612569809, 0.006749999243766069, 0.0022499996703118086, 0.008099999278783798, 0.007855754345655441,
            0.007152479141950607, 0.006074999459087849, 0.004753274377435446, 0.0033467242028564215, 0.002024999586865306, 0.0009475192055106163,
            0.00024424464209005237, 0.0072899991646409035, 0.0072653526440262794, 0.007191747426986694, 0.007070178631693125, 0.006902290042489767,
            0.006690352223813534, 0.006437230389565229, 0.00614634994417429, 0.005821642931550741, 0.005467499140650034, 0.005088710226118565,
            0.004690397065132856, 0.0042779468931257725, 0.0038569369353353977, 0.0034330617636442184, 0.0030120515730232, 0.00259960163384676,
            0.002201288938522339, 0.0018224995583295822, 0.0014683568151667714, 0.0011436488712206483, 0.0008527672616764903, 0.0005996465333737433,
            0.0003877085109706968, 0.00021982015459798276, 9.825142478803173e-05, 2.4646065867273137e-05, 0.006560998968780041]),
    ])
    func cosineDecayRestartsAsKerasComputesIt(spec: String, keras: [Double]) throws {
        let schedule = try Optimizer.kerasSchedule(try #require(try SpecCall.parse(spec).first))
        for (step, expected) in keras.enumerated() {
            let rate = schedule.rate(step: step + 1, base: 0, dtype: .float32)
            #expect(abs(rate - expected) <= 1e-6 * expected, "Keras step \(step): \(rate) vs \(expected)")
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
