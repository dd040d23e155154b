import ArgumentParser
import Foundation
import ParityFormats
import ParityKeras
import ParityTorch
import ParityTrain

/// `parity train`: trains a model N steps with its framework's conventions and writes the weights.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a model N steps as its framework would, and write its weights.",
        discussion: """
        MODEL is a Keras .keras archive (its optimizer and loss come from the compile_config it was saved \
        with, unless --optimizer / --loss are given) or a PyTorch .pt2 (exported with torch.export; give \
        --optimizer and --loss). Specs are written as in the framework's Python: "Adam(lr=1e-3, eps=1e-8)", \
        "CrossEntropyLoss(label_smoothing=0.1)", "keras.optimizers.SGD(learning_rate=0.1, momentum=0.9)"; \
        PyTorch clipping joins with +: "SGD(lr=0.1) + clip_grad_norm_(max_norm=1.0)". Step i takes the i-th \
        batch of B consecutive rows (all rows without --batch-size), in order, wrapping around. Keras trains as \
        model.fit does (the step traced into a graph, BatchNorm on batch statistics with Keras's momentum); \
        PyTorch as loss.backward(); optimizer.step() (eager), each BatchNorm and Dropout in the mode it was \
        exported in (export after model.train()), parameters saved with requires_grad=False frozen. Dropout (MultiHeadAttention's and the \
        recurrent layers' dropouts too) uses one seeded mask per step and layer (the frameworks' random streams cannot be \
        reproduced). Schedulers join the optimizer with +: "SGD(lr=0.1) + OneCycleLR(max_lr=0.1, total_steps=100)". W.npz holds every variable \
        after the last step under the framework's names (Keras variable paths, PyTorch state_dict keys with \
        buffers); --json adds the loss of each step. Exit 2 with the reason for a bad spec, target or model.
        """
    )

    @Argument(help: "The model file (.keras or .pt2).") var model: String
    @Option(name: .long, help: "Input array (.npy), repeated per input, or one .npz keyed by input name.") var input: [String] = []
    @Option(name: .long, help: "Target array (.npy): values, or class indices (int64) for sparse / index losses.") var target: String
    @Option(name: .long, help: "Number of optimizer steps.") var steps: Int
    @Option(name: .long, help: "Where to write the weights after the last step (.npz).") var output: String
    @Option(name: .long, help: "The optimizer, as in the framework's Python (default: the Keras file's compile_config).") var optimizer: String?
    @Option(name: .long, help: "The loss, as in the framework's Python (default: the Keras file's compile_config).") var loss: String?
    @Option(name: .customLong("batch-size"), help: "Rows per step (default: all rows).") var batchSize: Int?
    @Option(name: .customLong("sample-weight"),
            help: "Per-row weights (.npy, one per target row), as Keras's sample_weight.")
    var sampleWeight: String?
    @Option(name: .customLong("class-weight"),
            help: "Keras's class_weight, as in Python: \"{0: 1.0, 1: 2.5}\" (each row weighted by its class, the argmax of a one-hot target, as fit does).")
    var classWeight: String?
    @Option(name: .long, help: "Precision to train in: float32 or float64.") var dtype: Run.Precision = .float32
    @Option(name: .long, help: "Write the run (specs, the loss of each step) as JSON to this file.") var json: String?
    @Option(name: .long, help: "Seed of the shared dropout masks.") var seed: UInt64 = 0

    func validate() throws {
        guard !input.isEmpty else { throw ValidationError("give at least one --input") }
        guard steps >= 1 else { throw ValidationError("--steps must be at least 1; received \(steps)") }
        if let batchSize, batchSize < 1 { throw ValidationError("--batch-size must be at least 1; received \(batchSize)") }
        guard output.lowercased().hasSuffix(".npz") else { throw ValidationError("--output must be a .npz file; received \(output)") }
    }

    func run() throws {
        let precision: DType = dtype == .float32 ? .float32 : .float64
        let result: TrainingReport
        if ModelFiles.isTorchProgram(model) {
            let trainable = try TorchTrainable(try TorchProgram.load(URL(fileURLWithPath: model)), name: model)
            guard let optimizer, let loss else {
                throw CLIError.badInput("a .pt2 records no optimizer or loss: give --optimizer and --loss (e.g. --optimizer \"Adam(lr=1e-3)\" --loss \"MSELoss()\")")
            }
            let eval = trainable.inferenceModeNodes
            if !eval.isEmpty {
                FileHandle.standardError.write(Data(("note: \(eval.count) batch_norm/dropout node(s) were exported in eval mode (\(eval.prefix(3).map { $0.modulePath.isEmpty ? $0.name : $0.modulePath }.joined(separator: ", "))\(eval.count > 3 ? ", …" : "")) "
                    + "and train in inference mode, as PyTorch trains a module after .eval(); export after model.train() to train them with batch statistics\n").utf8))
            }
            result = try train(trainable, optimizer: try Optimizer.parse(optimizer, framework: .pyTorch), loss: try Loss.parse(loss), dtype: precision)
        } else {
            let keras = try ModelFiles.keras(model, weights: nil)
            let compiled = try KerasCompileConfig(keras)
            guard let chosenOptimizer = try optimizer.map({ try Optimizer.parse($0, framework: .keras) }) ?? compiled?.optimizer,
                  let chosenLoss = try loss.map({ try Loss.parse($0) }) ?? compiled?.loss else {
                throw CLIError.badInput("\(model) was saved without compile_config (save it after model.compile, or give --optimizer and --loss)")
            }
            result = try train(try KerasTrainable(keras, name: model), optimizer: chosenOptimizer, loss: chosenLoss, dtype: precision)
        }
        try NumpyArchive.write(result.variables.filter(\.saved).map { (name: $0.name, record: ArrayRecord($0.value)) }, to: URL(fileURLWithPath: output))
        if let json {
            try JSONEncoder.report().encode(result).write(to: URL(fileURLWithPath: json))
        }
        let first = result.losses.first.map { String(format: "%.6g", $0) } ?? "-", last = result.losses.last.map { String(format: "%.6g", $0) } ?? "-"
        FileHandle.standardError.write(Data("""
            trained \(result.steps) steps (\(result.framework), \(result.mode) gradients, \(result.dtype)): \(result.optimizer), \(result.loss)
            loss \(first) → \(last); wrote \(output): \(result.variables.filter(\.saved).count) variables\n
            """.utf8))
    }

    func train<M: TrainableModel>(_ trainable: M, optimizer: Optimizer, loss: Loss, dtype: DType) throws -> TrainingReport {
        let inputs = try ModelFiles.inputs(input, names: trainable.inputNames, dtype: dtype)
        let targetArray = try NumpyArray.read(contentsOf: URL(fileURLWithPath: target)).toTensor()
        var session = try TrainingSession(model: trainable, loss: loss, optimizer: optimizer, dtype: dtype, seed: seed)
        let weights = try sampleWeight.map { try NumpyArray.read(contentsOf: URL(fileURLWithPath: $0)).toTensor() }
        if weights != nil || classWeight != nil, trainable.framework == .pyTorch {
            throw CLIError.badInput("PyTorch losses take no sample or class weights (weight the loss per class with weight= or pos_weight=)")
        }
        if weights != nil, classWeight != nil {
            throw CLIError.badInput("give --sample-weight or --class-weight, not both (Keras refuses sample_weight and class_weight together)")
        }
        let rowWeights = try weights ?? classWeight.map { try Loss.kerasClassWeights(try Loss.parseClassWeights($0), target: targetArray) }
        let losses = try session.train(inputs: inputs, target: targetArray, steps: steps, batchSize: batchSize, sampleWeight: rowWeights)
        return TrainingReport(model: model, framework: "\(trainable.framework)", optimizer: "\(optimizer)", loss: "\(loss)", steps: steps,
                              batchSize: batchSize, dtype: "\(dtype)", mode: "\(session.mode)", losses: losses, variables: session.variables)
    }
}

/// What `parity train --json` writes.
struct TrainingReport: Encodable {
    var model: String
    var framework: String
    var optimizer: String
    var loss: String
    var steps: Int
    var batchSize: Int?
    var dtype: String
    var mode: String
    var losses: [Double]
    var variables: [TrainingVariable]

    enum CodingKeys: String, CodingKey {
        case model, framework, optimizer, loss, steps, dtype, mode, losses
        case batchSize = "batch_size"
        case variableNames = "variables"
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(model, forKey: .model)
        try c.encode(framework, forKey: .framework)
        try c.encode(optimizer, forKey: .optimizer)
        try c.encode(loss, forKey: .loss)
        try c.encode(steps, forKey: .steps)
        try c.encode(batchSize, forKey: .batchSize)
        try c.encode(dtype, forKey: .dtype)
        try c.encode(mode, forKey: .mode)
        try c.encode(losses, forKey: .losses)
        try c.encode(variables.filter(\.saved).map(\.name), forKey: .variableNames)
    }
}
