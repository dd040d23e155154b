/// An op defined by other ops and computed by a faster kernel: the ``definition(_:_:)`` says what it
/// is (the forward must equal it bit for bit) and the VJP is the definition's, found by replaying it on
/// the builder and walking its ops backwards with their own rules. A fused kernel then never needs a
/// hand-written gradient, and its gradient is exactly the unfused ops' gradient.
public protocol CompositeOp: Op {
    /// The op as a composition of other ops on `b`.
    func definition<B: Builder>(_ b: B, _ inputs: [B.Value]) throws -> B.Value
}

extension CompositeOp {
    public func vjp<B: Builder>(_ b: B, inputs: [B.Value], output: B.Value, cotangent: B.Value) throws -> [B.Value?] {
        try pullback(b, at: inputs, cotangent: cotangent) { tape, leaves in try definition(tape, leaves) }
    }
}

/// The vector-Jacobian product of `function` at `inputs` for `cotangent`, as ops on `b`: `function` runs
/// on a recording builder and its ops are walked backwards with their own VJP rules (how a
/// ``CompositeOp`` is differentiated; a framework's backward kernel run as a forward function, such as
/// PyTorch's `avg_pool2d_backward`, is the pullback of its forward). Nil for an input the result does
/// not depend on.
public func pullback<B: Builder>(_ b: B, at inputs: [B.Value], cotangent: B.Value,
                                 of function: (Replay<B>, [Replay<B>.Value]) throws -> Replay<B>.Value) throws -> [B.Value?] {
    let tape = Replay(base: b)
    let leaves = inputs.map(tape.leaf)
    let result = try function(tape, leaves)
    guard let slot = result.slot else { return inputs.map { _ in nil } }
    var adjoints: [Int: B.Value] = [slot: cotangent]
    for entry in tape.entries.reversed() {
        guard let slot = entry.output.slot, let g = adjoints.removeValue(forKey: slot) else { continue }
        let grads = try entry.op.vjp(b, inputs: entry.inputs.map(\.value), output: entry.output.value, cotangent: g)
        for (input, grad) in zip(entry.inputs, grads) {
            guard let slot = input.slot, let grad else { continue }
            adjoints[slot] = try b.accumulate(adjoints[slot], grad)
        }
    }
    return leaves.map { $0.slot.flatMap { adjoints[$0] } }
}

/// A builder that applies ops on `base` and remembers those that depend on the leaves, so that a
/// ``CompositeOp``'s definition can be differentiated in either execution mode.
public final class Replay<Base: Builder>: Builder {
    public struct Value {
        public let value: Base.Value
        let slot: Int?
    }

    struct Entry {
        let op: any Op
        let inputs: [Value]
        let output: Value
    }

    let base: Base
    private(set) var entries: [Entry] = []
    private var slots = 0

    init(base: Base) { self.base = base }

    func leaf(_ value: Base.Value) -> Value {
        defer { slots += 1 }
        return Value(value: value, slot: slots)
    }

    public func apply(_ op: any Op, _ inputs: [Value]) throws -> Value {
        let output = try base.apply(op, inputs.map(\.value))
        guard inputs.contains(where: { $0.slot != nil }) else { return Value(value: output, slot: nil) }
        let value = leaf(output)
        entries.append(Entry(op: op, inputs: inputs, output: value))
        return value
    }

    public func type(of value: Value) -> TensorType { base.type(of: value.value) }

    public func constant(_ tensor: Tensor) -> Value { Value(value: base.constant(tensor), slot: nil) }

    public func cond(_ predicate: Value, operands: [Value], then thenBranch: (Replay, [Value]) throws -> Value,
              else elseBranch: (Replay, [Value]) throws -> Value) throws -> Value {
        throw TensorError.invalidArgument(op: "composite op", message: "a definition cannot branch on data")
    }
}
