import Foundation
import ParityKeras
import ParityTestSupport
import ParityTorch
import Testing
@testable import ParityTrain

/// One case of `Tests/Fixtures/train/cases.json` (scripts/make_training_fixtures.py): a model trained 10
/// steps by real Keras (`train_on_batch`) or real PyTorch (`backward(); step()`), with the loss of each
/// step and every variable after the last.
struct TrainingCase: CustomStringConvertible, Sendable {
    var name: String
    var framework: Framework
    var model: String
    var optimizer: String?
    var loss: String?
    var steps: Int
    var batchSize: Int

    var description: String { name }

    static let all: [TrainingCase] = {
        guard let json = try? Fixtures.json("train/cases.json"), let cases = json["cases"]?.array else { return [] }
        return cases.compactMap { c in
            guard let name = c["name"]?.string, let framework = c["framework"]?.string.flatMap(Framework.init(rawValue:)),
                  let model = c["model"]?.string, let steps = c["steps"]?.double, let batch = c["batch_size"]?.double else { return nil }
            return TrainingCase(name: name, framework: framework, model: model, optimizer: c["optimizer"]?.string, loss: c["loss"]?.string,
                                steps: Int(steps), batchSize: Int(batch))
        }
    }()

    func arrays() throws -> [String: Tensor] {
        let url = Fixtures.root.appendingPathComponent("train/cases/\(name).npz")
        var table: [String: Tensor] = [:]
        for entry in try NumpyArchive.read(contentsOf: url) { table[entry.name] = try entry.record.toTensor() }
        return table
    }

    /// Trains the case's model in Parity: returns each step's loss and the variables after the last step.
    func train(dtype: DType = .float32, mode: GradientMode? = nil) throws -> (losses: [Double], variables: [TrainingVariable]) {
        let arrays = try arrays()
        let url = Fixtures.root.appendingPathComponent("train/\(model)")
        let input = try #require(arrays["input"]), target = try #require(arrays["target"])
        switch framework {
        case .keras:
            let keras = try KerasModel.load(url)
            let trainable = try KerasTrainable(keras, name: model)
            let (optimizer, loss) = try specs(compiled: try KerasCompileConfig(keras))
            var session = try TrainingSession(model: trainable, loss: loss, optimizer: optimizer, mode: mode, dtype: dtype)
            let losses = try session.train(inputs: [input], target: target, steps: steps, batchSize: batchSize, sampleWeight: arrays["sample_weight"])
            return (losses, session.variables)
        case .pyTorch:
            let trainable = try TorchTrainable(try TorchProgram.load(url), name: model)
            let (optimizer, loss) = try specs(compiled: nil)
            var session = try TrainingSession(model: trainable, loss: loss, optimizer: optimizer, mode: mode, dtype: dtype)
            let losses = try session.train(inputs: [input], target: target, steps: steps, batchSize: batchSize)
            return (losses, session.variables)
        }
    }

    func specs(compiled: KerasCompileConfig?) throws -> (Optimizer, Loss) {
        if let optimizer, let loss {
            let prefix = framework == .keras ? "keras.losses." : "torch.nn."
            return (try Optimizer.parse(optimizer, framework: framework), try Loss.parse(prefix + loss))
        }
        let config = try #require(compiled)
        return (config.optimizer, config.loss)
    }
}

@Suite struct TrainingFixtureTests {
    /// The bound: |parity − framework| ≤ 1e-5 + 1e-5·|w| per weight after 10 steps, in Float32.
    static func within(_ a: Double, _ e: Double) -> Bool { abs(a - e) <= 1e-5 + 1e-5 * abs(e) }

    @Test(arguments: TrainingCase.all)
    func matchesTheFramework(_ fixture: TrainingCase) throws {
        let expected = try fixture.arrays()
        let (losses, variables) = try fixture.train()
        let reference = try #require(expected["losses"]).doubles
        #expect(losses.count == reference.count)
        for (step, (a, e)) in zip(losses, reference).enumerated() {
            #expect(Self.within(a, e), "step \(step) loss \(a), \(fixture.framework) \(e)")
        }
        let saved = variables.filter(\.saved)
        let names = Set(expected.keys.filter { $0.hasPrefix("weight:") }.map { String($0.dropFirst(7)) })
        #expect(Set(saved.map(\.name)) == names, "variable names")
        for variable in saved {
            guard let reference = expected["weight:" + variable.name] else { continue }
            #expect(variable.value.shape == reference.shape, "\(variable.name) shape")
            let worst = zip(variable.value.doubles, reference.doubles).map { abs($0 - $1) - 1e-5 * abs($1) }.max() ?? 0
            #expect(worst <= 1e-5, "\(variable.name): worst excess \(worst)")
        }
    }
}
