/// The result of running a recurrent cell over a sequence: each step's output in processing order,
/// and the final states.
public struct RecurrenceResult<Value> {
    public var steps: [Value]
    public var states: [Value]

    /// Keras's outputs (`keras/src/layers/rnn/rnn.py`): the last output or the whole sequence
    /// `[batch, time, units]`, followed by the final states when `returnState` is set.
    public func outputs<B: Builder>(returnSequences: Bool, returnState: Bool, in b: B) throws -> [Value] where B.Value == Value {
        guard let last = steps.last else { throw TensorError.invalidArgument(op: "recurrence", message: "a sequence of 0 steps") }
        let output: Value
        if returnSequences {
            let shape = b.shape(of: last)
            output = try b.concat(steps.map { try b.reshape($0, [shape[0], 1] + shape.dropFirst()) }, axis: 1)
        } else {
            output = last
        }
        return [output] + (returnState ? states : [])
    }
}

extension Builder {
    /// Runs `cell` over the time axis (1) of `x` `[batch, time, features]`, from the first step or,
    /// with `goBackwards`, from the last (Keras's `go_backwards`, which also returns the outputs in
    /// that reversed order).
    public func recurrence(_ x: Value, states initial: [Value], goBackwards: Bool,
                           cell: (Value, [Value]) throws -> (output: Value, states: [Value])) throws -> RecurrenceResult<Value> {
        let shape = self.shape(of: x)
        guard shape.count == 3 else { throw TensorError.shapeMismatch(op: "recurrence", expected: "[batch, time, features]", received: [shape]) }
        var states = initial
        var steps: [Value] = []
        for i in 0..<shape[1] {
            let t = goBackwards ? shape[1] - 1 - i : i
            let xt = try reshape(slice(x, [.all, SliceAxis(start: t, end: t + 1)]), [shape[0], shape[2]])
            let (output, next) = try cell(xt, states)
            steps.append(output)
            states = next
        }
        return RecurrenceResult(steps: steps, states: states)
    }
}

/// A fully connected recurrent layer in Keras's convention (`keras/src/layers/rnn/simple_rnn.py`):
/// `h = activation((x·kernel + bias) + h·recurrentKernel)`, `kernel` `[features, units]`,
/// `recurrentKernel` `[units, units]`, one optional `bias`. PyTorch's `nn.RNN` stores both matrices
/// transposed and has two biases (docs/conventions.md, D.15).
public struct SimpleRNN: MultiOutputModel {
    public var kernel: Tensor
    public var recurrentKernel: Tensor
    public var bias: Tensor?
    public var activation: Activation?
    public var returnSequences: Bool
    public var returnState: Bool
    public var goBackwards: Bool

    public init(kernel: Tensor, recurrentKernel: Tensor, bias: Tensor?, activation: Activation? = .unary(.tanh),
                returnSequences: Bool = false, returnState: Bool = false, goBackwards: Bool = false) {
        self.kernel = kernel
        self.recurrentKernel = recurrentKernel
        self.bias = bias
        self.activation = activation
        self.returnSequences = returnSequences
        self.returnState = returnState
        self.goBackwards = goBackwards
    }

    public var units: Int { recurrentKernel.shape[0] }

    public func outputs<B: Builder>(_ inputs: [B.Value], in b: B) throws -> [B.Value] {
        let x = inputs[0]
        let shape = b.shape(of: x)
        guard shape.count == 3, kernel.shape == [shape[2], units], recurrentKernel.shape == [units, units], bias.map({ $0.shape == [units] }) ?? true else {
            throw TensorError.shapeMismatch(op: "SimpleRNN", expected: "input [batch, time, \(kernel.shape.first ?? 0)] with kernel [in, u], recurrent kernel [u, u], bias [u]",
                                            received: [shape, kernel.shape, recurrentKernel.shape, bias?.shape ?? []])
        }
        let (w, u) = (b.weight(kernel, like: x), b.weight(recurrentKernel, like: x))
        let bias = self.bias.map { b.weight($0, like: x) }
        let zeros = b.constant(Tensor.zeros([shape[0], units], dtype: b.type(of: x).dtype))
        let run = try b.recurrence(x, states: [zeros], goBackwards: goBackwards) { xt, states in
            var h = try b.matmul(xt, w)
            if let bias { h = try b.add(h, bias) }
            h = try b.add(h, b.matmul(states[0], u))
            if let activation { h = try activation.apply(h, in: b) }
            return (h, [h])
        }
        return try run.outputs(returnSequences: returnSequences, returnState: returnState, in: b)
    }
}

/// A gated recurrent unit. Keras's convention (`keras/src/layers/rnn/gru.py`, `GRUCell` with
/// `implementation=2`), gate blocks `[z, r, h]` in `kernel` `[features, 3u]` and `recurrentKernel`
/// `[units, 3u]`:
///
///     xz, xr, xh = x·kernel + inputBias
///     resetAfter:  rz, rr, rh = h·recurrentKernel + recurrentBias;   rh = r·rh
///     otherwise:   rz, rr = h·recurrentKernel[:, :2u];               rh = (r·h)·recurrentKernel[:, 2u:]
///     z = σ(xz + rz), r = σ(xr + rr), h̃ = activation(xh + rh),   h = z·h + (1 − z)·h̃
///
/// `resetAfter` (Keras 3 / TF2 default, bias `[2, 3u]`) equals PyTorch's `nn.GRU` after reordering
/// its `[r, z, n]` blocks; `resetAfter: false` (Keras 2 default, bias `[3u]`) applies the reset
/// before the recurrent product, which `nn.GRU` cannot express (docs/conventions.md, D.14).
public struct GRU: MultiOutputModel {
    /// The order of the three gate blocks along the weights' last axis.
    public enum GateOrder: Sendable, Hashable {
        /// update, reset, candidate (Keras).
        case updateResetCandidate
        /// reset, update, candidate (PyTorch `[r, z, n]`).
        case resetUpdateCandidate
    }

    public var kernel: Tensor
    public var recurrentKernel: Tensor
    public var inputBias: Tensor?
    public var recurrentBias: Tensor?
    /// Both biases stacked `[2, 3u]` (input row, recurrent row) as Keras stores a `reset_after` GRU's
    /// bias; used in place of ``inputBias`` and ``recurrentBias`` when set, so that a training step
    /// differentiates the variable Keras has.
    public var stackedBias: Tensor?
    public var resetAfter: Bool
    public var gateOrder: GateOrder
    public var activation: UnaryFunction
    public var recurrentActivation: UnaryFunction
    public var returnSequences: Bool
    public var returnState: Bool
    public var goBackwards: Bool

    public init(kernel: Tensor, recurrentKernel: Tensor, inputBias: Tensor?, recurrentBias: Tensor?, resetAfter: Bool,
                gateOrder: GateOrder = .updateResetCandidate, activation: UnaryFunction = .tanh,
                recurrentActivation: UnaryFunction = .sigmoid, returnSequences: Bool = false, returnState: Bool = false,
                goBackwards: Bool = false, stackedBias: Tensor? = nil) {
        self.stackedBias = stackedBias
        self.kernel = kernel
        self.recurrentKernel = recurrentKernel
        self.inputBias = inputBias
        self.recurrentBias = recurrentBias
        self.resetAfter = resetAfter
        self.gateOrder = gateOrder
        self.activation = activation
        self.recurrentActivation = recurrentActivation
        self.returnSequences = returnSequences
        self.returnState = returnState
        self.goBackwards = goBackwards
    }

    public var units: Int { recurrentKernel.shape[0] }

    public func outputs<B: Builder>(_ inputs: [B.Value], in b: B) throws -> [B.Value] {
        let x = inputs[0]
        let shape = b.shape(of: x)
        let biasesFit = [inputBias, recurrentBias].allSatisfy { $0.map { $0.shape == [3 * units] } ?? true }
            && (stackedBias.map { $0.shape == [2, 3 * units] && resetAfter } ?? true)
        guard shape.count == 3, kernel.shape == [shape[2], 3 * units], recurrentKernel.shape == [units, 3 * units], biasesFit,
              resetAfter || recurrentBias == nil else {
            throw TensorError.shapeMismatch(op: "GRU", expected: "input [batch, time, \(kernel.shape.first ?? 0)] with kernel [in, 3u], recurrent kernel [u, 3u], biases [3u] (a recurrent bias only with resetAfter)",
                                            received: [shape, kernel.shape, recurrentKernel.shape, inputBias?.shape ?? [], recurrentBias?.shape ?? []])
        }
        let u = units
        // Block index of update, reset, candidate.
        let (zi, ri, hi) = gateOrder == .updateResetCandidate ? (0, 1, 2) : (1, 0, 2)
        func block(_ v: B.Value, _ i: Int) throws -> B.Value { try b.slice(v, [.all, SliceAxis(start: i * u, end: (i + 1) * u)]) }
        let w = b.weight(kernel, like: x), rw = b.weight(recurrentKernel, like: x)
        var inBias = inputBias.map { b.weight($0, like: x) }, recBias = recurrentBias.map { b.weight($0, like: x) }
        if let stackedBias {
            let rows = try b.split(b.weight(stackedBias, like: x), sizes: [1, 1], axis: 0)
            (inBias, recBias) = (try b.reshape(rows[0], [3 * u]), try b.reshape(rows[1], [3 * u]))
        }
        // Without reset-after, the candidate's recurrent block is used on its own.
        let rwGates = try [zi, ri].map { try block(rw, $0) }, rwCandidate = try block(rw, hi)
        let zeros = b.constant(Tensor.zeros([shape[0], u], dtype: b.type(of: x).dtype))
        let run = try b.recurrence(x, states: [zeros], goBackwards: goBackwards) { xt, states in
            let h = states[0]
            var mx = try b.matmul(xt, w)
            if let inBias { mx = try b.add(mx, inBias) }
            let (xz, xr, xh) = (try block(mx, zi), try block(mx, ri), try block(mx, hi))
            let rz, rr: B.Value
            var rh: B.Value
            if resetAfter {
                var inner = try b.matmul(h, rw)
                if let recBias { inner = try b.add(inner, recBias) }
                (rz, rr, rh) = (try block(inner, zi), try block(inner, ri), try block(inner, hi))
            } else {
                (rz, rr) = (try b.matmul(h, rwGates[0]), try b.matmul(h, rwGates[1]))
                rh = h  // replaced below
            }
            let z = try b.unary(recurrentActivation, b.add(xz, rz))
            let r = try b.unary(recurrentActivation, b.add(xr, rr))
            rh = resetAfter ? try b.multiply(r, rh) : try b.matmul(b.multiply(r, h), rwCandidate)
            let candidate = try b.unary(activation, b.add(xh, rh))
            let next = try b.add(b.multiply(z, h), b.multiply(b.subtract(b.scalar(1, like: z), z), candidate))
            return (next, [next])
        }
        return try run.outputs(returnSequences: returnSequences, returnState: returnState, in: b)
    }
}

/// Runs a recurrent layer forwards and a second one backwards over the same sequence and merges
/// them (`keras/src/layers/rnn/bidirectional.py`). The backward layer must process the steps last
/// to first (`goBackwards`); its sequence output is flipped back into time order before merging, so
/// with `returnSequences` false its half is the backward pass's final state (PyTorch `h_n[1]`, not
/// `out[:, -1, H:]`; docs/conventions.md, D.16). Outputs: the merged output (two outputs, forward
/// then backward, when `merge` is nil), then the forward and the backward states when the layers
/// return them.
public struct Bidirectional: MultiOutputModel {
    public enum MergeMode: String, Sendable, Hashable {
        case concat, sum, mul, ave
    }

    public var forward: any MultiOutputModel
    public var backward: any MultiOutputModel
    public var merge: MergeMode?
    public var returnSequences: Bool
    /// How many outputs after the first are states (per direction).
    public var stateCount: Int

    public init(forward: any MultiOutputModel, backward: any MultiOutputModel, merge: MergeMode?, returnSequences: Bool, stateCount: Int) {
        self.forward = forward
        self.backward = backward
        self.merge = merge
        self.returnSequences = returnSequences
        self.stateCount = stateCount
    }

    public func outputs<B: Builder>(_ inputs: [B.Value], in b: B) throws -> [B.Value] {
        let fw = try forward.outputs(inputs, in: b), bw = try backward.outputs(inputs, in: b)
        let y = fw[0]
        var yRev = bw[0]
        if returnSequences {
            let steps = b.shape(of: yRev)[1]
            yRev = try b.slice(yRev, [.all, SliceAxis(start: steps - 1, end: nil, step: -1)])
        }
        let merged: [B.Value]
        switch merge {
        case .concat: merged = [try b.concat([y, yRev], axis: -1)]
        case .sum: merged = [try b.add(y, yRev)]
        case .mul: merged = [try b.multiply(y, yRev)]
        case .ave: merged = [try b.divide(b.add(y, yRev), b.scalar(2, like: y))]
        case nil: merged = [y, yRev]
        }
        return merged + fw.dropFirst().prefix(stateCount) + bw.dropFirst().prefix(stateCount)
    }
}
