import ParityNN

/// One variable of a model: its name in the framework (a Keras variable path such as `dense/kernel`, a
/// PyTorch state_dict key such as `0.weight`), its value, and whether the optimizer trains it (running
/// statistics and `num_batches_tracked` are state, assigned by the forward pass).
public struct TrainingVariable: Sendable {
    /// The name the framework gives it.
    public var name: String
    /// Its value.
    public var value: Tensor
    /// Whether the optimizer updates it.
    public var trainable: Bool
    /// Whether it is saved with the model (a PyTorch non-persistent buffer is not).
    public var saved: Bool

    /// A variable; the parameters are the properties of the same names.
    public init(name: String, value: Tensor, trainable: Bool, saved: Bool = true) {
        self.name = name
        self.value = value
        self.trainable = trainable
        self.saved = saved
    }
}

/// A model a training step can run: its variables, and its forward pass written against `Builder`.
/// The tensors in ``variables`` are the very ones the model reads (their storage is each variable's
/// handle, see ``TrainingBuilder``).
public protocol TrainableModel: Sendable {
    /// The framework whose training conventions the model follows.
    var framework: Framework { get }
    /// A name for messages (the file).
    var name: String { get }
    /// Every variable, trainable or state, in the model's order.
    var variables: [TrainingVariable] { get }
    /// The names of the model's inputs, in order.
    var inputNames: [String] { get }
    /// The number of outputs.
    var outputCount: Int { get }
    /// The outputs, in training mode when `b` runs a training step.
    func outputs<B: Builder>(_ inputs: [B.Value], in b: B, dtype: DType) throws -> [B.Value]
    /// The same model with its floating variables converted to `dtype` (new handles).
    func converted(to dtype: DType) throws -> Self
    /// The outputs, with the penalties the forward pass adds to the loss (Keras's activity regularizers), in the
    /// order the framework sums them.
    func trainingOutputs<B: Builder>(_ inputs: [B.Value], in b: B, dtype: DType) throws -> (outputs: [B.Value], penalties: [B.Value])
    /// The terms the framework's training step adds to the loss besides it (Keras's weight regularizers), in the
    /// order it sums them, computed from `variables` (the builder's value of each variable, in ``variables``'s order).
    func penalties<B: Builder>(variables: [B.Value], in b: B) throws -> [B.Value]
    /// The framework's projection of the variables after the optimizer's update (Keras's constraints), applied to
    /// `values` (every variable's value, in ``variables``'s order).
    func constrain(_ values: inout [Tensor]) throws
}

extension TrainableModel {
    /// The outputs, no penalty.
    public func trainingOutputs<B: Builder>(_ inputs: [B.Value], in b: B, dtype: DType) throws -> (outputs: [B.Value], penalties: [B.Value]) {
        (try outputs(inputs, in: b, dtype: dtype), [])
    }

    /// No penalty: the loss alone.
    public func penalties<B: Builder>(variables: [B.Value], in b: B) throws -> [B.Value] { [] }
    /// No constraint: the update as the optimizer made it.
    public func constrain(_ values: inout [Tensor]) throws {}
}
