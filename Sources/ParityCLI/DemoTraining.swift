import Foundation
import ParityCompare
import ParityNN
import ParityTrain

/// The seed LSTM (example b) as a trainable model: its five variables under Keras's names, read by the
/// layers as the very tensors listed (``TrainableModel``).
struct SeedRecurrent: TrainableModel {
    var lstm: LSTM
    var head: Dense
    let framework: Framework
    var name: String { "the seed LSTM" }
    var inputNames: [String] { ["sequence"] }
    var outputCount: Int { 1 }

    var variables: [TrainingVariable] {
        [("lstm/lstm_cell/kernel", lstm.kernel), ("lstm/lstm_cell/recurrent_kernel", lstm.recurrentKernel), ("lstm/lstm_cell/bias", lstm.bias),
         ("dense/kernel", head.kernel), ("dense/bias", head.bias!)].map { TrainingVariable(name: $0.0, value: $0.1, trainable: true) }
    }

    func outputs<B: Builder>(_ inputs: [B.Value], in b: B, dtype: DType) throws -> [B.Value] {
        [try head([try lstm(inputs, in: b)], in: b)]
    }

    func converted(to dtype: DType) throws -> SeedRecurrent {
        var copy = self
        copy.lstm.kernel = lstm.kernel.cast(to: dtype)
        copy.lstm.recurrentKernel = lstm.recurrentKernel.cast(to: dtype)
        copy.lstm.bias = lstm.bias.cast(to: dtype)
        copy.head.kernel = head.kernel.cast(to: dtype)
        copy.head.bias = head.bias?.cast(to: dtype)
        return copy
    }
}

/// The demo's second section: the seed LSTM trained a few steps PyTorch-style (eager tape, PyTorch's
/// formulas) and Keras-style (traced graph gradient, Keras's formulas), first with plain SGD, then with each
/// framework's default Adam, showing at which step and variable the weights part and which convention
/// explains it (each rerun with the other side's convention swapped in).
enum TrainingDemo {
    static let steps = 5

    struct Run {
        var losses: [Double] = []
        /// Per step, every variable's value after the step.
        var values: [[Tensor]] = []
    }

    static func train(_ model: SeedRecurrent, optimizer: Optimizer, loss: Loss, input: Tensor, target: Tensor, dtype: DType) throws -> Run {
        var session = try TrainingSession(model: model, loss: loss, optimizer: optimizer, dtype: dtype)
        var run = Run()
        _ = try session.train(inputs: [input], target: target, steps: steps) { _, record in
            run.losses.append(record.loss)
            run.values.append(record.values)
        }
        return run
    }

    /// A side trained in float32 and Float64.
    static func both(_ framework: Framework, _ optimizer: Optimizer, _ loss: Loss, lstm: LSTM, head: Dense, input: Tensor, target: Tensor) throws -> (Run, Run) {
        let model = SeedRecurrent(lstm: lstm, head: head, framework: framework)
        return (try train(model, optimizer: optimizer, loss: loss, input: input, target: target, dtype: .float32),
                try train(model, optimizer: optimizer, loss: loss, input: input, target: target, dtype: .float64))
    }

    /// Where two runs first part beyond float noise (step from 1, variable), and the largest Float64
    /// difference of any weight over the run, relative to the weight.
    static func parting(_ a: (Run, Run), _ b: (Run, Run), names: [String]) throws -> (first: (Int, String)?, size: Double, maxAbs: [Double]) {
        var first: (Int, String)?
        var size = 0.0
        var maxAbs: [Double] = []
        for s in 0..<steps {
            var worst = 0.0
            for v in names.indices {
                let m = try PairMeasurement(a32: a.0.values[s][v], a64: a.1.values[s][v], b32: b.0.values[s][v], b64: b.1.values[s][v])
                worst = max(worst, m.metrics.maxAbs)
                let scale = a.1.values[s][v].doubles.reduce(0) { max($0, abs($1)) }
                size = max(size, scale > 0 ? m.maxAbsFloat64 / scale : m.maxAbsFloat64)
                if first == nil, m.exceedsNoise { first = (s + 1, names[v]) }
            }
            maxAbs.append(worst)
        }
        return (first, size, maxAbs)
    }

    static func render(seed: UInt64) throws -> String {
        let example = SeedExamples.all(seed: seed)[1]
        guard let network = example.model as? Sequential, let lstm = network.layers.first as? LSTM, let head = network.layers.last as? Dense else {
            return ""
        }
        let input = example.input
        // A fixed target: each sequence's mean, scaled (the demo needs a signal, not a task).
        let rows = input.shape[0], length = input.shape[1]
        let x = input.doubles
        let target = Tensor(shape: [rows, 1], values: (0..<rows).map { r in Float(2 * (0..<length).reduce(0) { $0 + x[r * length + $1] } / Double(length) - 1) })
        let names = SeedRecurrent(lstm: lstm, head: head, framework: .keras).variables.map(\.name)
        let kerasLoss = try Loss.parse("MeanSquaredError()"), torchLoss = try Loss.parse("MSELoss()")

        var out = ["Training the seed LSTM (b) \(steps) steps on its 16 sequences, MSE against a fixed target, from the same weights:", ""]
        func table(_ label: String, _ a: (Run, Run), _ b: (Run, Run), _ nameA: String, _ nameB: String) throws -> (first: (Int, String)?, size: Double) {
            let p = try parting(a, b, names: names)
            out.append("  \(label)")
            out.append("    step  loss \(nameA.padding(toLength: 16, withPad: " ", startingAt: 0))loss \(nameB.padding(toLength: 16, withPad: " ", startingAt: 0))max |Δw| float32")
            for s in 0..<steps {
                out.append(String(format: "    %4ld  %-21.9g%-21.9g", s + 1, a.0.losses[s], b.0.losses[s]) + DemoReport.sci(p.maxAbs[s]))
            }
            if let first = p.first {
                out.append("    the weights part at step \(first.0), first in \(first.1) (Float64 runs differ by up to \(String(format: "%.2g", p.size)) of a weight)")
            } else {
                out.append("    no step parts beyond float noise: the difference is each side's float32 rounding (measured against its Float64 run)")
            }
            return (p.first, p.size)
        }

        // 1. The same optimizer, each framework's gradient machinery.
        let sgdTorch = try both(.pyTorch, try Optimizer.parse("SGD(lr=0.5)", framework: .pyTorch), torchLoss, lstm: lstm, head: head, input: input, target: target)
        let sgdKeras = try both(.keras, try Optimizer.parse("SGD(learning_rate=0.5)", framework: .keras), kerasLoss, lstm: lstm, head: head, input: input, target: target)
        _ = try table("SGD(lr=0.5): PyTorch-style (eager tape) against Keras-style (traced graph gradient)", sgdTorch, sgdKeras, "PyTorch", "Keras")
        out.append("    cause: float-noise: the tape and the optimised graph add the same terms in other orders")
        out.append("")

        // 2. Each framework's Adam with its defaults.
        let adamTorch = try Optimizer.parse("Adam()", framework: .pyTorch), adamKeras = try Optimizer.parse("Adam()", framework: .keras)
        let torchRun = try both(.pyTorch, adamTorch, torchLoss, lstm: lstm, head: head, input: input, target: target)
        let kerasRun = try both(.keras, adamKeras, kerasLoss, lstm: lstm, head: head, input: input, target: target)
        let base = try table("torch.optim.Adam() against keras.optimizers.Adam(), each with its defaults", torchRun, kerasRun, "PyTorch", "Keras")
        guard base.first != nil, base.size > 0 else { return out.joined(separator: "\n") }
        // Hypotheses, swapped into the Keras side one after the other: PyTorch's ε, then PyTorch's formula.
        var epsilonOnly = adamKeras
        epsilonOnly.algorithm = adamTorch.algorithm
        let withEpsilon = try both(.keras, epsilonOnly, kerasLoss, lstm: lstm, head: head, input: input, target: target)
        let afterEpsilon = try parting(torchRun, withEpsilon, names: names).size
        var formula = epsilonOnly
        formula.framework = .pyTorch
        let withFormula = try both(.keras, formula, kerasLoss, lstm: lstm, head: head, input: input, target: target)
        let afterFormula = try parting(torchRun, withFormula, names: names)
        func share(_ before: Double, _ after: Double) -> String { "\(Int(((before - after) / base.size * 100).rounded()))%" }
        out.append("    cause: optimizer-hyperparameter (ε 1e-7 in Keras, 1e-8 in PyTorch) explains \(share(base.size, afterEpsilon))")
        out.append("    cause: adam-epsilon (Keras adds ε to √v before the bias correction, PyTorch after) explains \(share(afterEpsilon, afterFormula.size))"
                   + (afterFormula.first == nil ? "; with both swapped in, the runs agree within float noise" : ""))
        out.append("    (small gradients feel ε most: the LSTM's weights with the smallest gradients part first)")
        return out.joined(separator: "\n")
    }
}
