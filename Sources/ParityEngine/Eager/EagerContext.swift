/// A value in eager mode: a computed tensor and, when a tape is recording, its slot on the tape.
public struct EagerTensor: Sendable {
    /// The computed tensor.
    public let tensor: Tensor
    let slot: Int?
}

/// Define-by-run execution, PyTorch style: every op runs the moment it is applied, Swift's own
/// control flow decides what runs, and, while recording, a tape remembers each op so that
/// ``gradients(of:withRespectTo:cotangent:)`` can walk it backwards with the ops' VJP rules.
public final class EagerContext: Builder {
    public typealias Value = EagerTensor

    struct TapeEntry {
        let op: any Op
        let inputs: [EagerTensor]
        let output: EagerTensor
    }

    private var tape: [TapeEntry] = []
    private var slotCount = 0
    private let recording: Bool

    /// - Parameter recording: keep a tape for reverse-mode gradients (PyTorch's `requires_grad`).
    public init(recording: Bool = false) { self.recording = recording }

    /// A value whose gradient can be asked for (a leaf of the tape).
    public func watch(_ tensor: Tensor) -> EagerTensor {
        guard recording else { return EagerTensor(tensor: tensor, slot: nil) }
        defer { slotCount += 1 }
        return EagerTensor(tensor: tensor, slot: slotCount)
    }

    public func constant(_ tensor: Tensor) -> EagerTensor { EagerTensor(tensor: tensor, slot: nil) }

    public func type(of value: EagerTensor) -> TensorType { TensorType(of: value.tensor) }

    public func apply(_ op: any Op, _ inputs: [EagerTensor]) throws -> EagerTensor {
        let expected = try op.checkedOutputType(inputs.map { TensorType(of: $0.tensor) })
        let result = try op.forward(inputs.map(\.tensor))
        guard TensorType(of: result) == expected else {
            throw TensorError.invalidArgument(op: op.name, message: "computed \(TensorType(of: result)) but its shape inference says \(expected)")
        }
        guard recording, inputs.contains(where: { $0.slot != nil }) else { return EagerTensor(tensor: result, slot: nil) }
        let output = watch(result)
        tape.append(TapeEntry(op: op, inputs: inputs, output: output))
        return output
    }

    public func cond(_ predicate: EagerTensor, operands: [EagerTensor],
                     then thenBranch: (EagerContext, [EagerTensor]) throws -> EagerTensor,
                     else elseBranch: (EagerContext, [EagerTensor]) throws -> EagerTensor) throws -> EagerTensor {
        guard let flag = predicate.tensor.scalarValue else {
            throw TensorError.invalidArgument(op: "cond", message: "the predicate must have one element; received shape \(predicate.tensor.shape)")
        }
        return try flag != 0 ? thenBranch(self, operands) : elseBranch(self, operands)
    }

    /// Reverse-mode gradients of `output` with respect to `leaves`, seeded with `cotangent`
    /// (ones when `nil`, i.e. the gradient of `output`'s sum). A leaf the output does not depend on
    /// gets zeros.
    public func gradients(of output: EagerTensor, withRespectTo leaves: [EagerTensor],
                          cotangent: Tensor? = nil) throws -> [Tensor] {
        guard recording else {
            throw TensorError.invalidArgument(op: "gradients", message: "this context was created with recording: false")
        }
        let seed = cotangent ?? Tensor(repeating: 1, shape: output.tensor.shape, dtype: output.tensor.dtype)
        guard seed.shape == output.tensor.shape, seed.dtype == output.tensor.dtype else {
            throw TensorError.shapeMismatch(op: "gradients", expected: "a cotangent of type \(type(of: output))", received: [seed.shape])
        }
        var adjoints: [Int: EagerTensor] = [:]
        if let slot = output.slot { adjoints[slot] = constant(seed) }
        let rules = EagerContext()
        for entry in tape.reversed() {
            guard let slot = entry.output.slot, let g = adjoints.removeValue(forKey: slot) else { continue }
            let inputs = entry.inputs.map { rules.constant($0.tensor) }
            let grads = try entry.op.vjp(rules, inputs: inputs, output: rules.constant(entry.output.tensor), cotangent: g)
            for (input, grad) in zip(entry.inputs, grads) {
                guard let slot = input.slot, let grad else { continue }
                adjoints[slot] = try rules.accumulate(adjoints[slot], grad)
            }
        }
        return leaves.map { leaf in
            leaf.slot.flatMap { adjoints[$0]?.tensor } ?? Tensor.zeros(leaf.tensor.shape, dtype: leaf.tensor.dtype)
        }
    }
}
