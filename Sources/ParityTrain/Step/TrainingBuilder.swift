import ParityNN

/// The handle of a model variable: the storage of the tensor a layer (or a PyTorch program) was built
/// with. Layers read their weights with `Builder.constant`; a ``TrainingBuilder`` recognises these
/// tensors by their storage (the same buffer, whatever shape a layer views it in) and hands back the
/// variable's current value instead, a watched leaf when it is trained. Copy-on-write storage makes the
/// buffer a stable identity for as long as the model holds the tensor.
struct VariableHandle: Hashable {
    let address: UInt
    let count: Int

    init?(_ tensor: Tensor) {
        guard tensor.count > 0 else { return nil }
        func base<T>(_ v: [T]) -> UInt { v.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) } }
        switch tensor.storage {
        case .float32(let v): address = base(v)
        case .float64(let v): address = base(v)
        case .int64(let v): address = base(v)
        case .int32(let v): address = base(v)
        case .bool(let v): address = base(v)
        case .float16(let v), .bfloat16(let v): address = base(v)
        case .complex64(let v): address = base(v)
        case .complex128(let v): address = base(v)
        }
        count = tensor.count
    }
}

/// Where a model's output came from, for losses that recover logits (Keras on TensorFlow turns a
/// cross-entropy on a softmax or sigmoid output into the fused loss on its logits,
/// `keras/src/backend/tensorflow/nn.py`, `_get_logits`).
public enum OutputProducer<Value> {
    /// A softmax along `axis` of `logits`.
    case softmax(axis: Int, logits: Value)
    /// A sigmoid of `logits`.
    case sigmoid(logits: Value)
}

/// A `Builder` that runs one training step on top of another builder (an `EagerContext` recording a
/// tape, PyTorch style, or a `GraphBuilder` tracing the step, Keras-on-TensorFlow style):
///
/// - the model's variables, met as the constants the layers were built with, become the values bound
///   to them (watched leaves or graph inputs);
/// - layers in training mode draw their dropout masks from the step's ``DropoutMasks`` and assign running
///   statistics through it (`TrainingStep`);
/// - every value remembers whether a softmax or sigmoid produced it, for logits recovery.
public final class TrainingBuilder<Base: Builder>: Builder, TrainingStep {
    /// A value of the step: the base builder's value, and what produced it when a loss can use that.
    public struct Value {
        /// The base builder's value.
        public let base: Base.Value
        /// The softmax or sigmoid that produced it, if one did.
        public let producer: OutputProducer<Base.Value>?
    }

    struct Binding {
        let index: Int
        let value: Base.Value
        let shape: [Int]
    }

    let base: Base
    /// Whose rules the ops' gradients follow where the frameworks differ.
    let convention: GradientConvention
    private var bindings: [VariableHandle: Binding]
    private(set) var reached: Set<Int> = []
    /// Assignments made by layers in this step, in order: variable index and its new value.
    private(set) var assignments: [(index: Int, value: Base.Value)] = []
    private let masks: DropoutMasks
    /// Graph inputs standing for the step's masks (a traced step takes them as inputs, so one trace
    /// serves every step); `nil` to use the masks' values as constants.
    private let maskInputs: [Base.Value]?
    /// The placeholder tensors handed to layers for mask inputs (kept alive: their storage is their handle).
    private var maskPlaceholders: [Tensor] = []
    private(set) var requestedMasks: [(rate: Double, shape: [Int])] = []

    /// - Parameters:
    ///   - variables: each variable's handle (the tensor the model was built with) and the value bound to it.
    ///   - masks: the step's dropout masks; `maskInputs`, when given, are graph inputs to use for them in order.
    init(base: Base, variables: [(handle: Tensor, value: Base.Value)], masks: DropoutMasks, maskInputs: [Base.Value]? = nil,
         convention: GradientConvention = .aten) throws {
        self.base = base
        self.convention = convention
        self.masks = masks
        self.maskInputs = maskInputs
        var table: [VariableHandle: Binding] = [:]
        for (index, variable) in variables.enumerated() {
            guard let handle = VariableHandle(variable.handle) else { continue }
            guard table[handle] == nil else {
                throw TrainError.sharedVariable(index: index, shape: variable.handle.shape)
            }
            table[handle] = Binding(index: index, value: variable.value, shape: variable.handle.shape)
        }
        bindings = table
    }

    /// A base builder's value as a value of the step.
    public func wrap(_ value: Base.Value) -> Value { Value(base: value, producer: nil) }

    public func type(of value: Value) -> TensorType { base.type(of: value.base) }

    public func constant(_ tensor: Tensor) -> Value {
        guard let handle = VariableHandle(tensor), let binding = bindings[handle] else { return wrap(base.constant(tensor)) }
        if binding.index >= 0 { reached.insert(binding.index) }
        if tensor.shape == binding.shape { return wrap(binding.value) }
        // A layer viewing the variable in another shape (a depthwise kernel as a grouped one).
        guard let reshaped = try? base.apply(Reshape(shape: tensor.shape), [binding.value]) else { return wrap(base.constant(tensor)) }
        return wrap(reshaped)
    }

    public func apply(_ op: any Op, _ inputs: [Value]) throws -> Value {
        let op = convention.adapt(op)
        let result = try base.apply(op, inputs.map(\.base))
        if let softmax = op as? Softmax, !softmax.logarithm {
            return Value(base: result, producer: .softmax(axis: softmax.axis, logits: inputs[0].base))
        }
        if let unary = op as? Unary, unary.function == .sigmoid {
            return Value(base: result, producer: .sigmoid(logits: inputs[0].base))
        }
        return wrap(result)
    }

    public func cond(_ predicate: Value, operands: [Value],
                     then thenBranch: (TrainingBuilder, [Value]) throws -> Value,
                     else elseBranch: (TrainingBuilder, [Value]) throws -> Value) throws -> Value {
        // Inside a branch the model's variables are plain constants (a traced branch cannot read the
        // enclosing graph's inputs), so a model that reads weights inside a `cond` is refused.
        let masks = self.masks, convention = self.convention
        func run(_ body: (TrainingBuilder, [Value]) throws -> Value, _ inner: Base, _ values: [Base.Value]) throws -> Base.Value {
            let nested = try TrainingBuilder(base: inner, variables: [], masks: masks, convention: convention)
            let result = try body(nested, values.map(nested.wrap))
            guard nested.reached.isEmpty, nested.assignments.isEmpty, nested.requestedMasks.isEmpty else {
                throw TrainError.unsupportedModel("a data-dependent branch (cond) reads weights or runs a training-mode layer")
            }
            return result.base
        }
        return wrap(try base.cond(predicate.base, operands: operands.map(\.base),
                                  then: { try run(thenBranch, $0, $1) }, else: { try run(elseBranch, $0, $1) }))
    }

    // MARK: TrainingStep

    public func dropoutMask(rate: Double, shape: [Int], dtype: DType) throws -> Tensor {
        let site = requestedMasks.count
        requestedMasks.append((rate, shape))
        guard let maskInputs else { return try masks.mask(site: site, rate: rate, shape: shape, dtype: dtype) }
        guard site < maskInputs.count, base.type(of: maskInputs[site]) == TensorType(dtype, shape) else {
            throw TrainError.unsupportedModel("dropout call \(site) asks for a mask \(TensorType(dtype, shape)) the traced step did not foresee")
        }
        let placeholder = Tensor.zeros(shape, dtype: dtype)
        maskPlaceholders.append(placeholder)
        if let handle = VariableHandle(placeholder) {
            bindings[handle] = Binding(index: -1 - site, value: maskInputs[site], shape: shape)
        }
        return placeholder
    }

    public func assign<V>(_ variable: Tensor, _ value: V) throws {
        guard let handle = VariableHandle(variable), let binding = bindings[handle] else {
            throw TrainError.unsupportedModel("a layer assigns a state variable of shape \(variable.shape) that is not one of the model's variables")
        }
        guard let value = value as? Value else {
            throw TrainError.unsupportedModel("a layer assigned a value of another builder (\(Swift.type(of: value)))")
        }
        assignments.append((binding.index, value.base))
    }
}

/// The dropout keep-masks of one training step, drawn by an explicit rule so that any program can
/// reproduce them (scripts/make_training_fixtures.py does, to train real Keras and PyTorch with them):
/// mask number `site` of step `step` comes from a SplitMix64 stream seeded with
/// `seed·0x9E3779B9 + step·0x85EBCA6B + site·0xC2B2AE35` (wrapping); element `i` is kept (1) when the
/// stream's `i`-th output `z` gives `u = (z >> 11)·2⁻⁵³ ≥ rate`, else dropped (0). Both models of a
/// comparison, asking in the same order, get the same masks.
public struct DropoutMasks: Sendable {
    /// The session's seed.
    public var seed: UInt64
    /// The step, from 0.
    public var step: Int

    /// The masks of step `step` under `seed`.
    public init(seed: UInt64, step: Int) {
        self.seed = seed
        self.step = step
    }

    /// Mask number `site` of the step: 1 (kept) or 0 (dropped) per element, dropped with probability `rate`.
    public func mask(site: Int, rate: Double, shape: [Int], dtype: DType) throws -> Tensor {
        guard rate >= 0, rate < 1 else { throw TrainError.badArgument(name: "rate", value: "\(rate)", reason: "a dropout rate must be in [0, 1)") }
        var generator = SeededGenerator(seed: seed &* 0x9E37_79B9 &+ UInt64(step) &* 0x85EB_CA6B &+ UInt64(site) &* 0xC2B2_AE35)
        let values = (0..<Shape.count(shape)).map { _ in Double(generator.next() >> 11) * 0x1p-53 >= rate ? 1.0 : 0.0 }
        return Tensor(shape: shape, values: values).cast(to: dtype)
    }
}
