import ParityNN

/// How a training step computes its gradients.
public enum GradientMode: String, Sendable, Hashable, CustomStringConvertible {
    /// Op by op with a tape, as PyTorch's `loss.backward()`.
    case eager
    /// The step traced once into a static graph and differentiated there (`tf.GradientTape` inside Keras's
    /// `tf.function` train step), optimised, then run every step.
    case graph

    /// The framework's own: PyTorch eager, Keras (`fit`, `train_on_batch`, `run_eagerly=False`) graph.
    public static func `default`(for framework: Framework) -> GradientMode { framework == .keras ? .graph : .eager }

    public var description: String { rawValue }
}

/// What one step did: the loss before the update, each trainable variable's gradient, and every variable's
/// value after the step.
public struct StepRecord: Sendable {
    /// The loss on the batch, before the update.
    public var loss: Double
    /// Indexed like the model's variables; `nil` for a variable that is not trained.
    public var gradients: [Tensor?]
    /// Every variable's value after the step, indexed like the model's variables.
    public var values: [Tensor]
}

/// A model being trained: its current variable values and optimizer state, advanced one batch at a time by
/// ``step(inputs:target:sampleWeight:)``.
public struct TrainingSession<Model: TrainableModel> {
    /// The model, its variables converted to ``dtype``.
    public let model: Model
    /// The loss.
    public let loss: Loss
    /// The optimizer.
    public let optimizer: Optimizer
    /// How the gradients are computed.
    public let mode: GradientMode
    /// The precision the session trains in.
    public let dtype: DType
    /// Seeds the shared dropout masks (``DropoutMasks``).
    public let seed: UInt64
    /// Every variable's current value, in the model's order.
    public private(set) var values: [Tensor]
    /// The optimizer's state after the last step.
    public private(set) var optimizerState: OptimizerState
    /// The number of steps taken.
    public private(set) var steps = 0
    /// Whose derivative rules the ops follow where the frameworks differ (``GradientConvention``); the
    /// model's own framework unless set (a comparison tries the other side's).
    public var convention: GradientConvention {
        didSet { traced = [:] }
    }
    /// Factors on some variables' optimizer updates, by variable index: `w + k·(update − w)`. A comparison
    /// uses 2 to stand for a PyTorch bias trained as two parameters (`b_ih`, `b_hh`) whose sum one Keras
    /// bias is. Empty in a plain run.
    public var updateScales: [Int: Double] = [:]
    private var traced: [[TensorType]: TracedStep] = [:]

    /// A session at step 0: the model's own variable values and a fresh optimizer state.
    ///
    /// - Parameters:
    ///   - model: The model to train; it must have trainable variables and one output.
    ///   - loss: The loss of the model's output against the target.
    ///   - optimizer: The optimizer that updates the trainable variables.
    ///   - mode: How gradients are computed; `nil` takes the model's framework's own (``GradientMode/default(for:)``).
    ///   - dtype: the precision to train in (the model's variables are converted; Float64 gives the referee run).
    ///   - seed: Seeds the dropout masks (``DropoutMasks``).
    public init(model: Model, loss: Loss, optimizer: Optimizer, mode: GradientMode? = nil, dtype: DType = .float32, seed: UInt64 = 0) throws {
        guard dtype.isFloatingPoint else { throw TrainError.badArgument(name: "dtype", value: "\(dtype)", reason: "training needs a floating dtype") }
        let converted = try model.converted(to: dtype)
        guard converted.variables.contains(where: \.trainable) else { throw TrainError.noTrainableWeights(model: model.name) }
        guard converted.outputCount == 1 else {
            throw TrainError.unsupportedModel("\(model.name) has \(converted.outputCount) outputs; training maps one output to one loss")
        }
        self.model = converted
        self.loss = loss
        self.optimizer = optimizer
        self.mode = mode ?? .default(for: model.framework)
        self.dtype = dtype
        self.seed = seed
        values = converted.variables.map(\.value)
        optimizerState = optimizer.initialState(for: converted.variables.filter(\.trainable).map(\.value))
        convention = .of(model.framework)
    }

    var trainableIndices: [Int] { model.variables.indices.filter { model.variables[$0].trainable } }

    /// The variables with their current values (names as the framework gives them).
    public var variables: [TrainingVariable] {
        zip(model.variables, values).map { variable, value in
            var copy = variable
            copy.value = value
            return copy
        }
    }

    /// Runs one step on a batch: forward in training mode, loss, gradients, optimizer update, state updates.
    public mutating func step(inputs: [Tensor], target: Tensor, sampleWeight: Tensor? = nil) throws -> StepRecord {
        guard inputs.count == model.inputNames.count else {
            throw TrainError.badInput(reason: "the model has \(model.inputNames.count) inputs \(model.inputNames); received \(inputs.count) arrays")
        }
        let data = inputs.map { $0.dtype.isFloatingPoint ? $0.cast(to: dtype) : $0 }
        let masks = DropoutMasks(seed: seed, step: steps)
        let result: (loss: Double, gradients: [Tensor], assignments: [(Int, Tensor)])
        switch mode {
        case .eager: result = try eagerStep(data, target: target, sampleWeight: sampleWeight, masks: masks)
        case .graph: result = try graphStep(data, target: target, sampleWeight: sampleWeight, masks: masks)
        }
        let trainable = trainableIndices
        var state = optimizerState
        let updated = try optimizer.apply(gradients: result.gradients, to: trainable.map { values[$0] }, state: &state)
        optimizerState = state
        var gradients = [Tensor?](repeating: nil, count: values.count)
        for (position, index) in trainable.enumerated() {
            if let k = updateScales[index] {
                let (old, new) = (values[index].doubles, updated[position].doubles)
                values[index] = Tensor(shape: values[index].shape, values: zip(old, new).map { $0 + k * ($1 - $0) })
                    .cast(to: values[index].dtype)
            } else {
                values[index] = updated[position]
            }
            gradients[index] = result.gradients[position]
        }
        try model.constrain(&values)
        for (index, value) in result.assignments { values[index] = value.cast(to: values[index].dtype) }
        steps += 1
        return StepRecord(loss: result.loss, gradients: gradients, values: values)
    }

    /// Checks the step read every trainable variable.
    func checkReached(_ reached: Set<Int>) throws {
        let missing = trainableIndices.filter { !reached.contains($0) }.map { model.variables[$0].name }
        guard missing.isEmpty else { throw TrainError.unreachedVariables(missing) }
    }

    private func eagerStep(_ data: [Tensor], target: Tensor, sampleWeight: Tensor?, masks: DropoutMasks) throws
        -> (loss: Double, gradients: [Tensor], assignments: [(Int, Tensor)]) {
        let context = EagerContext(recording: true)
        let bound = zip(model.variables, values).map { variable, value in variable.trainable ? context.watch(value) : context.constant(value) }
        let builder = try TrainingBuilder(base: context, variables: Array(zip(model.variables.map(\.value), bound)), masks: masks,
                                          convention: convention)
        let (outputs, activity) = try model.trainingOutputs(data.map { builder.wrap(context.constant($0)) }, in: builder, dtype: dtype)
        try checkReached(builder.reached)
        let output = outputs[0]
        let prepared = try loss.prepare(target: target, predictionShape: context.shape(of: output.base), dtype: dtype, sampleWeight: sampleWeight)
        var lossValue = try loss.value(output.base, producer: output.producer, target: prepared, targetValues: prepared.tensors.map(context.constant), in: context)
        for term in try activity.map(\.base) + model.penalties(variables: bound, in: context) { lossValue = try context.add(lossValue, term) }
        let leaves = trainableIndices.map { bound[$0] }
        let gradients = try context.gradients(of: lossValue, withRespectTo: leaves)
        return (lossValue.tensor.doubles[0], gradients, builder.assignments.map { ($0.index, $0.value.tensor) })
    }

    private mutating func graphStep(_ data: [Tensor], target: Tensor, sampleWeight: Tensor?, masks: DropoutMasks) throws
        -> (loss: Double, gradients: [Tensor], assignments: [(Int, Tensor)]) {
        let key = (data + [target] + [sampleWeight].compactMap { $0 }).map(TensorType.init(of:))
        if traced[key] == nil { traced[key] = try trace(data, target: target, sampleWeight: sampleWeight, masks: masks) }
        let step = traced[key]!
        let prepared = try loss.prepare(target: target, predictionShape: step.predictionShape, dtype: dtype, sampleWeight: sampleWeight)
        let maskValues = try step.masks.enumerated().map { site, request in
            try masks.mask(site: site, rate: request.rate, shape: request.shape, dtype: dtype)
        }
        let lossType = step.graph.inputTypes.last!
        let feeds = data + prepared.tensors + values + maskValues + [Tensor(repeating: 1, shape: lossType.shape, dtype: lossType.dtype)]
        let results = try GraphExecutor().run(step.graph, inputs: feeds)
        let assignments = step.assigned.enumerated().map { ($1, results[1 + $0]) }
        return (results[0].doubles[0], Array(results.suffix(trainableIndices.count)), assignments)
    }

    struct TracedStep {
        var graph: Graph
        var predictionShape: [Int]
        var masks: [(rate: Double, shape: [Int])]
        /// The variable index of each assignment output, in order.
        var assigned: [Int]
    }

    /// Traces forward + loss (+ assignments) with data, target tensors, variables and masks as inputs, then
    /// differentiates the loss with respect to the trainable variables and optimises the result.
    private func trace(_ data: [Tensor], target: Tensor, sampleWeight: Tensor?, masks: DropoutMasks) throws -> TracedStep {
        // A first eager forward learns the output shape and the masks the step asks for.
        let probe = EagerContext()
        let probeBuilder = try TrainingBuilder(base: probe, variables: Array(zip(model.variables.map(\.value), values.map(probe.constant))), masks: masks,
                                               convention: convention)
        let probeOutput = try model.outputs(data.map { probeBuilder.wrap(probe.constant($0)) }, in: probeBuilder, dtype: dtype)[0]
        try checkReached(probeBuilder.reached)
        let predictionShape = probe.shape(of: probeOutput.base)
        let prepared = try loss.prepare(target: target, predictionShape: predictionShape, dtype: dtype, sampleWeight: sampleWeight)
        let requested = probeBuilder.requestedMasks
        let maskTypes = requested.map { TensorType(dtype, $0.shape) }
        let types = data.map(TensorType.init(of:)) + prepared.tensors.map(TensorType.init(of:)) + values.map(TensorType.init(of:)) + maskTypes
        let (dataCount, targetCount, variableCount) = (data.count, prepared.tensors.count, values.count)
        var assigned: [Int] = []
        let forward = try Graph.trace(inputs: types) { g, symbols in
            let variableSymbols = Array(symbols[(dataCount + targetCount)..<(dataCount + targetCount + variableCount)])
            let maskSymbols = Array(symbols.suffix(maskTypes.count))
            let builder = try TrainingBuilder(base: g, variables: Array(zip(model.variables.map(\.value), variableSymbols)), masks: masks,
                                              maskInputs: maskSymbols, convention: convention)
            let (outputs, activity) = try model.trainingOutputs(symbols.prefix(dataCount).map(builder.wrap), in: builder, dtype: dtype)
            let output = outputs[0]
            var lossValue = try loss.value(output.base, producer: output.producer, target: prepared,
                                           targetValues: Array(symbols[dataCount..<(dataCount + targetCount)]), in: g)
            for term in try activity.map(\.base) + model.penalties(variables: variableSymbols, in: g) { lossValue = try g.add(lossValue, term) }
            assigned = builder.assignments.map(\.index)
            return [lossValue] + builder.assignments.map(\.value)
        }
        let trainableInputs = trainableIndices.map { dataCount + targetCount + $0 }
        let gradient = try forward.gradient(ofOutput: 0, withRespectTo: trainableInputs)
        let optimised = try GraphOptimizer.standard.optimize(gradient)
        return TracedStep(graph: optimised, predictionShape: predictionShape, masks: requested, assigned: assigned)
    }
}
