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
