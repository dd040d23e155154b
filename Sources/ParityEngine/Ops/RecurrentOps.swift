/// A recurrent layer's loop over time as one op: every step's cell, given the input projections of
/// all steps (`x·W`, computed before as one matmul, bit-identical to projecting step by step).
///
/// The cell formulas are values, so Keras's and PyTorch's variants are one op with different
/// parameters (docs/conventions.md, D.13–D.15); ``definition(_:_:)`` writes each as the ops it is made
/// of, and the forward computes exactly those roundings in one fused loop per step (the recurrent
/// product through the GEMM, then the gate math), without allocating per op. Per step `t` (in
/// processing order), with `pre = h·U (+ recurrentBias)` and `z = (x_t + pre) (+ outputBias)`:
///
///     LSTM:   gate blocks [i, f, c, o]: i, f, o = recurrentActivation;  c' = f·c + i·activation(z_c);
///             h' = o·activation(c')
///     GRU:    reset after:  z, r = recurrentActivation(x + pre) per block;  h̃ = activation(x_h + r·pre_h)
///             reset before: pre = h·U over the z and r blocks only;  h̃ = activation(x_h + (r·h)·U_h)
///             h' = z·h + (1 − z)·h̃ (Keras) or (h − h̃)·z + h̃ (PyTorch)
///     simple: h' = activation(z)
///
/// Inputs: `x` `[batch, time, G·u]`, `h0` `[batch, u]`, `c0` (LSTM), `U` `[u, G·u]`, then the
/// recurrent bias `[G·u]` and the output bias `[G·u]` when present. Output: `[batch, time, u]`, the
/// hidden state after each processed step, in processing order; an LSTM appends the cell state,
/// `[batch, time, 2u]`.
///
/// With ``projection`` (what ``GraphPass/recurrentProjection`` makes of a layer's input projection
/// `MatMul` or ``FusedLinear`` feeding the op), `x` is the layer's input `[batch, time, F]`, followed
/// at the end by `W` `[F, G·u]` and, with ``projectionBias``, the bias `[G·u]` the sums start from: the
/// op projects `x·W` itself (the matmul's or the fused linear layer's bits), step by step in its loop.
public struct RecurrentSequence: CompositeOp {
    public enum Cell: Sendable, Hashable {
        case lstm(activation: UnaryFunction, recurrentActivation: UnaryFunction)
        case gru(GRUCell)
        case simple(activation: UnaryFunction?)

        /// Gate blocks along the weights' last axis.
        public var gates: Int {
            switch self {
            case .lstm: return 4
            case .gru: return 3
            case .simple: return 1
            }
        }
    }

    /// A GRU's formula: where its blocks are, when the reset applies, how the new state is mixed.
    public struct GRUCell: Sendable, Hashable {
        public enum Mix: Sendable, Hashable {
            /// `z·h + (1 − z)·h̃` (`keras/src/layers/rnn/gru.py`).
            case keras
            /// `(h − h̃)·z + h̃` (`aten/src/ATen/native/RNN.cpp`, `GRUCell`).
            case torch
        }
        /// Block index of the update gate, the reset gate and the candidate.
        public var update: Int
        public var reset: Int
        public var candidate: Int
        public var resetAfter: Bool
        public var mix: Mix
        public var activation: UnaryFunction
        public var recurrentActivation: UnaryFunction

        public init(update: Int, reset: Int, candidate: Int, resetAfter: Bool, mix: Mix,
                    activation: UnaryFunction = .tanh, recurrentActivation: UnaryFunction = .sigmoid) {
            self.update = update
            self.reset = reset
            self.candidate = candidate
            self.resetAfter = resetAfter
            self.mix = mix
            self.activation = activation
            self.recurrentActivation = recurrentActivation
        }
    }

    public var cell: Cell
    /// Process the last step first (Keras `go_backwards`, PyTorch's reverse direction).
    public var reversed: Bool
    /// A `[G·u]` input added to `h·U` before the sum with `x_t` (PyTorch's `b_hh`, Keras GRU's recurrent bias).
    public var recurrentBias: Bool
    /// A `[G·u]` input added after the sum (the single bias of Keras's LSTM).
    public var outputBias: Bool
    public var numerics: Numerics
    /// The numerics of the input projection `x·W` the op computes itself (a last input `W`), or `nil`
    /// when `x` is the projection already.
    public var projection: Numerics?
    /// The projection's sums start from a last input, a bias `[G·u]` (``FusedLinear``'s rounding: the
    /// bias first, then the products), instead of +0. Only with ``projection``.
    public var projectionBias: Bool
    /// `U` and the projection's `W` kept packed in the loop's layout across runs when they are graph
    /// constants (``GraphPass/kernelPacking``); each read only for that very tensor
    /// (``KeptRecurrentMatrix``), never changes a value.
    public var keptMatrix: KeptRecurrentMatrix?
    public var keptProjection: KeptRecurrentMatrix?

    public init(cell: Cell, reversed: Bool = false, recurrentBias: Bool = false, outputBias: Bool = false,
                numerics: Numerics = .matmulDefault, projection: Numerics? = nil, projectionBias: Bool = false) {
        self.cell = cell
        self.reversed = reversed
        self.recurrentBias = recurrentBias
        self.outputBias = outputBias
        self.numerics = numerics
        self.projection = projection
        self.projectionBias = projection != nil && projectionBias
    }

    public var name: String { "recurrent sequence" }

    var isLSTM: Bool { if case .lstm = cell { return true } else { return false } }
    var inputCount: Int { 3 + (isLSTM ? 1 : 0) + (recurrentBias ? 1 : 0) + (outputBias ? 1 : 0) + (projection == nil ? 0 : 1) + (projectionBias ? 1 : 0) }
    /// Positions of W and the projection's bias (last) among the inputs.
    var projectionIndex: Int? { projection == nil ? nil : inputCount - (projectionBias ? 2 : 1) }
    var projectionBiasIndex: Int? { projectionBias ? inputCount - 1 : nil }
    /// Positions of U and the biases among the inputs.
    var matrixIndex: Int { isLSTM ? 3 : 2 }
    var recurrentBiasIndex: Int? { recurrentBias ? matrixIndex + 1 : nil }
    var outputBiasIndex: Int? { outputBias ? matrixIndex + (recurrentBias ? 2 : 1) : nil }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        try expect(inputs, count: inputCount)
        let dtype = try expectSameFloat(inputs)
        let h = inputs[1].shape, u = inputs[matrixIndex].shape
        let units = h.count == 2 ? h[1] : -1, width = cell.gates * units
        var x = inputs[0].shape
        if let projectionIndex {
            // x [batch, time, F] with W [F, G·u] (and its bias [G·u]): checked as the projection's shape below.
            let w = inputs[projectionIndex].shape
            guard x.count == 3, w == [x[2], width], projectionBiasIndex.map({ inputs[$0].shape == [width] }) ?? true else {
                throw TensorError.shapeMismatch(op: name, expected: "x [batch, time, F] with W [F, \(cell.gates)·u]\(projectionBias ? " and its bias [\(cell.gates)·u]" : "")",
                                                received: inputs.map(\.shape))
            }
            x[2] = width
        }
        let biases = [recurrentBiasIndex, outputBiasIndex].compactMap { $0 }.map { inputs[$0].shape }
        if case let .gru(g) = cell, !g.resetAfter, recurrentBias {
            throw TensorError.invalidArgument(op: name, message: "a GRU with the reset before the recurrent product has no recurrent bias")
        }
        guard x.count == 3, h.count == 2, h[0] == x[0], x[2] == width, u == [units, width],
              !isLSTM || inputs[2].shape == h, biases.allSatisfy({ $0 == [width] }) else {
            throw TensorError.shapeMismatch(op: name, expected: "x [batch, time, \(cell.gates)·u], states [batch, u], U [u, \(cell.gates)·u], biases [\(cell.gates)·u]",
                                            received: inputs.map(\.shape))
        }
        return TensorType(dtype, [x[0], x[1], (isLSTM ? 2 : 1) * units])
    }

    // MARK: Definition

    public func definition<B: Builder>(_ b: B, _ inputs: [B.Value]) throws -> B.Value {
        var x = inputs[0]
        let matrix = inputs[matrixIndex]
        let (batch, time) = (b.shape(of: x)[0], b.shape(of: x)[1])
        let units = b.shape(of: inputs[1])[1], width = cell.gates * units
        if let projection, let projectionIndex {
            let (rows, w) = (try b.reshape(x, [batch * time, b.shape(of: x)[2]]), inputs[projectionIndex])
            let projected = try projectionBiasIndex.map { try b.apply(FusedLinear(numerics: projection), [rows, w, inputs[$0]]) }
                ?? b.matmul(rows, w, numerics: projection)
            x = try b.reshape(projected, [batch, time, width])
        }
        let recurrentBias = recurrentBiasIndex.map { inputs[$0] }, outputBias = outputBiasIndex.map { inputs[$0] }
        func block(_ v: B.Value, _ i: Int) throws -> B.Value { try b.slice(v, [.all, SliceAxis(start: i * units, end: (i + 1) * units)]) }
        func recurrent(_ h: B.Value) throws -> B.Value {
            let product = try b.matmul(h, matrix, numerics: numerics)
            return try recurrentBias.map { try b.add(product, $0) } ?? product
        }
        var states = isLSTM ? [inputs[1], inputs[2]] : [inputs[1]]
        var steps: [B.Value] = []
        for i in 0..<time {
            let t = reversed ? time - 1 - i : i
            let xt = try b.reshape(b.slice(x, [.all, SliceAxis(start: t, end: t + 1)]), [batch, width])
            let h = states[0]
            switch cell {
            case let .lstm(activation, recurrentActivation):
                var z = try b.add(xt, recurrent(h))
                if let outputBias { z = try b.add(z, outputBias) }
                let gates = try b.split(z, sizes: Array(repeating: units, count: 4), axis: 1)
                let input = try b.unary(recurrentActivation, gates[0])
                let forget = try b.unary(recurrentActivation, gates[1])
                let c = try b.add(b.multiply(forget, states[1]), b.multiply(input, b.unary(activation, gates[2])))
                let output = try b.unary(recurrentActivation, gates[3])
                states = [try b.multiply(output, b.unary(activation, c)), c]
                steps.append(try b.concat(states, axis: 1))
            case let .gru(g):
                let candidate: B.Value, update: B.Value
                if g.resetAfter {
                    let pre = try recurrent(h)
                    update = try b.unary(g.recurrentActivation, b.add(block(xt, g.update), block(pre, g.update)))
                    let reset = try b.unary(g.recurrentActivation, b.add(block(xt, g.reset), block(pre, g.reset)))
                    candidate = try b.unary(g.activation, b.add(block(xt, g.candidate), b.multiply(reset, block(pre, g.candidate))))
                } else {
                    update = try b.unary(g.recurrentActivation, b.add(block(xt, g.update), b.matmul(h, block(matrix, g.update), numerics: numerics)))
                    let reset = try b.unary(g.recurrentActivation, b.add(block(xt, g.reset), b.matmul(h, block(matrix, g.reset), numerics: numerics)))
                    let product = try b.matmul(b.multiply(reset, h), block(matrix, g.candidate), numerics: numerics)
                    candidate = try b.unary(g.activation, b.add(block(xt, g.candidate), product))
                }
                let next: B.Value
                switch g.mix {
                case .keras: next = try b.add(b.multiply(update, h), b.multiply(b.subtract(b.scalar(1, like: update), update), candidate))
                case .torch: next = try b.add(b.multiply(b.subtract(h, candidate), update), candidate)
                }
                states = [next]
                steps.append(next)
            case let .simple(activation):
                var z = try b.add(xt, recurrent(h))
                if let outputBias { z = try b.add(z, outputBias) }
                let next = try activation.map { try b.unary($0, z) } ?? z
                states = [next]
                steps.append(next)
            }
        }
        let stepWidth = b.shape(of: steps[0])[1]
        return try b.concat(steps.map { try b.reshape($0, [batch, 1, stepWidth]) }, axis: 1)
    }

    // MARK: Fused forward

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        var x = inputs[0]
        let units = inputs[1].shape[1]
        let (batch, time, width) = (x.shape[0], x.shape[1], cell.gates * units)
        let outWidth = (isLSTM ? 2 : 1) * units
        // An LSTM with sequential sums projects each step inside its loop; otherwise the projection first.
        var projecting: (numerics: Numerics, weights: Tensor, bias: Tensor?)?
        if let projection, let projectionIndex {
            let (features, weights, bias) = (x.shape[2], inputs[projectionIndex], projectionBiasIndex.map { inputs[$0] })
            if isLSTM, features > 0, numerics.accumulation == .sequential, projection.accumulation == .sequential {
                projecting = (projection, weights, bias)
            } else {
                x = try x.reshaped([batch * time, features]).matmul(weights, numerics: projection, bias: bias).reshaped([batch, time, width])
            }
        }
        // The weights and biases in place (a Keras recurrent kernel read from a file stays in its mapping).
        func run<T: FloatElement>(_ type: T.Type) -> [T] {
            inputs[matrixIndex].withUnsafeElements(as: T.self) { matrix in
                Tensor.withUnsafeElements(of: recurrentBiasIndex.map { inputs[$0] }, as: T.self) { recurrentBias in
                    Tensor.withUnsafeElements(of: outputBiasIndex.map { inputs[$0] }, as: T.self) { outputBias in
                        Tensor.withUnsafeElements(of: projecting?.weights, as: T.self) { projectionWeights in
                            Tensor.withUnsafeElements(of: projecting?.bias, as: T.self) { projectionBias in
                                run(matrix: matrix, recurrentBias: recurrentBias, outputBias: outputBias,
                                    projectionWeights: projectionWeights, projectionBias: projectionBias)
                            }
                        }
                    }
                }
            }!
        }
        func run<T: FloatElement>(matrix: UnsafeBufferPointer<T>, recurrentBias: UnsafeBufferPointer<T>?, outputBias: UnsafeBufferPointer<T>?,
                                  projectionWeights: UnsafeBufferPointer<T>?, projectionBias: UnsafeBufferPointer<T>?) -> [T] {
            let xs = x.values(T.self)!
            var h = inputs[1].values(T.self)!
            let step = StepContext(batch: batch, units: units, width: width, numerics: numerics)
            if case let .lstm(activation, recurrentActivation) = cell {
                let projection = projecting.map {
                    StepContext.Projection(weights: projectionWeights!, bias: projectionBias, features: x.shape[2],
                                           fused: $0.numerics.fusedMultiplyAdd)
                }
                let kept = (keptMatrix.flatMap { $0.holds(inputs[matrixIndex]) ? $0 : nil },
                            keptProjection.flatMap { kept in projecting.flatMap { kept.holds($0.weights) ? kept : nil } })
                return step.lstmSequence(xs, time: time, reversed: reversed, matrix: matrix, recurrentBias: recurrentBias,
                                         outputBias: outputBias, h0: h, c0: inputs[2].values(T.self)!, activation: activation,
                                         recurrentActivation: recurrentActivation, projection: projection, kept: kept)
            }
            var out = [T](repeating: 0, count: batch * time * outWidth)
            var pre = [T](repeating: 0, count: batch * width)
            var scratch = [T](repeating: 0, count: batch * units)
            do { let u = matrix
                for i in 0..<time {
                    let t = reversed ? time - 1 - i : i
                    xs.withUnsafeBufferPointer { xp in
                        let xt = xp.baseAddress! + t * width
                        switch cell {
                        case .lstm: break
                        case let .gru(g):
                            step.gru(g, xt, xStride: time * width, matrix: u.baseAddress!, recurrentBias: recurrentBias,
                                     pre: &pre, scratch: &scratch, h: &h)
                        case let .simple(activation):
                            step.recurrent(h, u.baseAddress!, into: &pre, columns: 0..<width, bias: recurrentBias)
                            step.simple(xt, xStride: time * width, pre: pre, bias: outputBias, h: &h, activation: activation)
                        }
                    }
                    for row in 0..<batch {
                        let base = (row * time + i) * outWidth
                        for j in 0..<units { out[base + j] = h[row * units + j] }
                    }
                }
            }
            return out
        }
        let shape = [batch, time, outWidth]
        switch x.dtype {
        case .float32: return Tensor(shape: shape, values: run(Float.self))
        case .float64: return Tensor(shape: shape, values: run(Double.self))
        default: throw TensorError.unsupportedDType(op: name, dtype: x.dtype)
        }
    }
}

/// One step's kernels, each computing its definition's roundings in the same order (products and
/// sums rounded one by one, activations by ``UnaryFunction/withKernel(_:_:)`` or, over rows,
/// ``UnaryFunction/applyRow(_:_:count:)``, the recurrent
/// product by the GEMM with the op's numerics).
private struct StepContext {
    let batch: Int, units: Int, width: Int
    let numerics: Numerics

    /// The input projection an LSTM computes step by step: `W` `[features, 4u]`, the sums from +0 or from
    /// `bias` `[4u]`, the products fused or not.
    struct Projection<T: FloatElement> {
        let weights: UnsafeBufferPointer<T>, bias: UnsafeBufferPointer<T>?, features: Int, fused: Bool
    }

    /// `pre[:, columns] = h·U[:, columns] (+ bias[columns])`.
    func recurrent<T: FloatElement>(_ h: [T], _ u: UnsafePointer<T>, into pre: inout [T], columns: Range<Int>, bias: UnsafeBufferPointer<T>?) {
        h.withUnsafeBufferPointer { hp in
            pre.withUnsafeMutableBufferPointer { pp in
                let out = pp.baseAddress! + columns.lowerBound
                for row in 0..<batch { for j in 0..<columns.count { out[row * width + j] = 0 } }
                accumulateProducts(hp.baseAddress!, u + columns.lowerBound, out: out, columns: columns.count)
                if let bias {
                    for row in 0..<batch { for j in 0..<columns.count { out[row * width + j] = out[row * width + j] + bias[columns.lowerBound + j] } }
                }
            }
        }
    }

    /// `out[batch, columns] += a[batch, units]·b[units, columns]` (b rows `bRows` apart, out rows `ldc`
    /// apart; both `width` unless given), in `numerics`.
    func accumulateProducts<T: FloatElement>(_ a: UnsafePointer<T>, _ b: UnsafePointer<T>, out: UnsafeMutablePointer<T>, columns: Int,
                                             bRows: Int? = nil, ldc: Int? = nil) {
        let (bRows, ldc) = (bRows ?? width, ldc ?? width)
        if case .sequential = numerics.accumulation {
            MatMulKernel.addProducts(a: a, aRows: units, aColumns: 1, b: b, bRows: bRows, bColumns: 1, c: out, ldc: ldc,
                                     m: batch, n: columns, k: units, fused: numerics.fusedMultiplyAdd)
            return
        }
        // Other orders: through the GEMM's accumulation on a dense copy.
        var dense = [T](repeating: 0, count: units * columns)
        for p in 0..<units { for j in 0..<columns { dense[p * columns + j] = b[p * bRows + j] } }
        let product = try! Tensor(shape: [batch, units], values: Array(UnsafeBufferPointer(start: a, count: batch * units)))
            .matmul(Tensor(shape: [units, columns], values: dense), numerics: numerics).values(T.self)!
        for row in 0..<batch { for j in 0..<columns { out[row * ldc + j] = out[row * ldc + j] + product[row * columns + j] } }
    }

    /// The whole LSTM loop, the units split into groups (multiples of 16 units; one group on one
    /// thread, two per thread otherwise, so that a late thread leaves work to the others):
    /// U's columns of a group's four gates are packed side by side once (in the strips of
    /// ``MatMulKernel/packStrips(k:n:b:ldb:into:)``), so each step is, per group and in parallel, one
    /// product over contiguous weights from a zero start (`pre = h·U (+ recurrentBias)`) followed by that
    /// group's cell math
    /// (`z = x_t + pre (+ outputBias)`; i, f, o = recurrentActivation; `c' = f·c + i·activation(g)`;
    /// `h' = o·activation(c')`): in Float32 with sigmoid and tanh one C pass over the four gates in
    /// registers (``RecurrentCellKernel/lstmStep(rows:units:pre:ldz:x:ldx:xGate:recurrentBias:outputBias:biasGate:c:ldc:h:ldh:outH:outC:ldo:)``),
    /// otherwise element passes, each gate block applied as one row by
    /// ``UnaryFunction/applyRow(_:_:count:)``. Every output's sum and every rounding are the
    /// definition's; groups only decide who computes which units. Returns `[batch, time, 2u]` (h, c).
    ///
    /// With a `projection` (sequential sums only), `xs` is the layer's input `[batch, time, F]` and each
    /// step first projects its rows, per group, from W's columns packed like U's (`x_t·W` from +0, or
    /// from the bias: the matmul's or the fused linear layer's sums) into a buffer in the group's z
    /// layout, which the cell reads as `x_t`: the 3.2 MB projection of every step is then never written
    /// out and read back.
    func lstmSequence<T: FloatElement>(_ xs: [T], time: Int, reversed: Bool, matrix: UnsafeBufferPointer<T>, recurrentBias: UnsafeBufferPointer<T>?,
                                       outputBias: UnsafeBufferPointer<T>?,
                                       h0: [T], c0: [T], activation: UnaryFunction, recurrentActivation: UnaryFunction,
                                       projection: Projection<T>? = nil,
                                       kept: (matrix: KeptRecurrentMatrix?, projection: KeptRecurrentMatrix?) = (nil, nil)) -> [T] {
        let u = units
        let parts = KernelThreads.count
        let group = Swift.max(16, (u + parts - 1) / parts + 15) / 16 * 16
        let groups = (u + group - 1) / group, outWidth = 2 * u
        // Group g (units first..<first+n) multiplies h by its gates' columns, column q·n + j = U[:, q·u + first + j],
        // packed in strips at packed[g·stripSize ..] (sequential accumulation) into z rows `ldz` apart.
        let strip = MatMulKernel.stripWidth(T.self), sequential = numerics.accumulation == .sequential
        let ldz = (4 * group + strip - 1) / strip * strip, stripSize = ldz * u
        let features = projection?.features ?? 0, projectionSize = ldz * features
        // One group's four gate blocks of a [rows, 4u] matrix (U, or W) side by side, as the rows of a
        // [rows, 4n] matrix: strip s, row p, lane l is column s·W + l, i.e. gate (s·W + l) / n, unit
        // (s·W + l) % n; lanes past 4n are 0. Strips a group does not use (past 4n) are never read;
        // every value of the used ones is written. Each group on the thread that will most likely run
        // its steps (its half of U then in that core's cache).
        func packGroups(_ mp: UnsafeBufferPointer<T>, rows: Int, into base: UnsafeMutablePointer<T>?) {
            let size = ldz * rows
            do {
                KernelThreads.forEach(groups) { g in
                    let first = g * group, n = Swift.min(group, u - first), to = base! + g * size
                    // The columns in runs within one strip and one gate block: (source offset, strip, lane, length).
                    var runs: [(Int, Int, Int, Int)] = []
                    var column = 0
                    while column < 4 * n {
                        let (q, j, s) = (column / n, column % n, column / strip)
                        let run = Swift.min(n - j, (s + 1) * strip - column)
                        runs.append((q * u + first + j, s, column - s * strip, run))
                        column += run
                    }
                    let (last, used) = ((4 * n - 1) / strip, (4 * n - 1) % strip + 1)
                    for p in 0..<rows {
                        let row = mp.baseAddress! + p * width
                        for (offset, s, lane, run) in runs {
                            let (from, into) = (row + offset, to + (s * rows + p) * strip + lane)
                            for t in 0..<run { into[t] = from[t] }
                        }
                        let tail = to + (last * rows + p) * strip
                        for lane in used..<strip { tail[lane] = 0 }
                    }
                }
            }
        }
        // The packs kept with the graph's constants when they hold this layout, else packed for this call.
        func packs(_ source: UnsafeBufferPointer<T>, rows: Int, kept: KeptRecurrentMatrix?) -> (local: [T], kept: UnsafePointer<T>?) {
            let count = groups * ldz * rows
            if let kept, let pack = kept.pack(T.self, key: [group, groups, ldz], count: count, fill: { packGroups(source, rows: rows, into: $0) }) {
                return ([], pack)
            }
            let local = [T](unsafeUninitializedCapacity: count) { buffer, initialized in
                packGroups(source, rows: rows, into: buffer.baseAddress)
                initialized = count
            }
            return (local, nil)
        }
        let (packed, keptPacked) = sequential ? packs(matrix, rows: u, kept: kept.matrix) : ([], nil)
        let (packedProjection, keptProjection) = projection.map { packs($0.weights, rows: features, kept: kept.projection) } ?? ([], nil)
        // Every element is written: each step's h and c, by the group holding the unit.
        var out = [T](unsafeUninitializedCapacity: batch * time * outWidth) { _, initialized in initialized = batch * time * outWidth }
        var states = h0 + h0  // h before and after the step, swapped each step
        var c = c0
        // Per group: z, then the cell's row (element passes), then the step's projection.
        let projectionRows = projection == nil ? 0 : batch * ldz
        let scratchSize = batch * ldz + group + projectionRows
        var scratch = [T](repeating: 0, count: groups * scratchSize)
        xs.withUnsafeBufferPointer { xp in
        packed.withUnsafeBufferPointer { pp in
        packedProjection.withUnsafeBufferPointer { wp in
        do { let (pbp, mp) = (projection?.bias ?? UnsafeBufferPointer(start: nil, count: 0), matrix)
        out.withUnsafeMutableBufferPointer { op in
        states.withUnsafeMutableBufferPointer { sp in
        c.withUnsafeMutableBufferPointer { cp in
        scratch.withUnsafeMutableBufferPointer { zp in
            let (x0, o0, cs, z0) = (xp.baseAddress!, op.baseAddress!, cp.baseAddress!, zp.baseAddress!)
            let (rb, ob) = (recurrentBias?.baseAddress, outputBias?.baseAddress)
            let fused = numerics.fusedMultiplyAdd
            let fusedCell = RecurrentCellKernel.fusesLSTM(T.self, activation: activation, recurrentActivation: recurrentActivation)
            for i in 0..<time {
                let t = reversed ? time - 1 - i : i
                let hRead = UnsafePointer(sp.baseAddress! + (i % 2) * batch * u), hWrite = sp.baseAddress! + ((i + 1) % 2) * batch * u
                KernelThreads.forEach(groups) { g in
                    let first = g * group, n = Swift.min(group, u - first)
                    let z = z0 + g * scratchSize, cell = z + batch * ldz
                    // This step's input rows: x_t·W into the group's z layout (gate q's units at q·n), or
                    // the projection given.
                    let (xStep, ldx, xGate): (UnsafePointer<T>, Int, Int)
                    if let projection {
                        let projected = cell + group
                        if projection.bias != nil {
                            // The sums start from the bias (lanes past 4n stay as the scratch was: never read).
                            for row in 0..<batch {
                                for q in 0..<4 {
                                    let (from, into) = (pbp.baseAddress! + q * u + first, projected + row * ldz + q * n)
                                    for j in 0..<n { into[j] = from[j] }
                                }
                            }
                        }
                        MatMulKernel.stripProducts(m: batch, strips: (4 * n + strip - 1) / strip, k: features, a: x0 + t * features,
                                                   lda: time * features, packed: (keptProjection ?? UnsafePointer(wp.baseAddress!)) + g * projectionSize, c: projected,
                                                   ldc: ldz, fused: projection.fused, zero: projection.bias == nil)
                        (xStep, ldx, xGate) = (UnsafePointer(projected), ldz, n)
                    } else {
                        (xStep, ldx, xGate) = (x0 + t * width + first, time * width, u)
                    }
                    if projection == nil, i + 1 < time {
                        // The next step's input rows, 4·u values apart per row and time·4·u per batch row: too far
                        // apart for the hardware to guess; fetched while this step's product runs (the fused cell
                        // fetches each next row itself while a row's math runs, so only the first one here).
                        let next = reversed ? time - 2 - i : i + 1
                        for row in 0..<(fusedCell ? 1 : batch) {
                            for q in 0..<4 { KernelThreads.prefetch(x0 + (row * time + next) * width + q * u + first, bytes: n * MemoryLayout<T>.stride) }
                        }
                    }
                    if sequential {
                        MatMulKernel.stripProducts(m: batch, strips: (4 * n + strip - 1) / strip, k: u, a: hRead, lda: u,
                                                   packed: (keptPacked ?? UnsafePointer(pp.baseAddress!)) + g * stripSize, c: z, ldc: ldz, fused: fused, zero: true)
                    } else {
                        for row in 0..<batch { for e in 0..<(4 * n) { z[row * ldz + e] = 0 } }
                        for q in 0..<4 {
                            accumulateProducts(hRead, mp.baseAddress! + q * u + first, out: z + q * n, columns: n, ldc: ldz)
                        }
                    }
                    if fusedCell {
                        func read(_ p: UnsafePointer<T>) -> UnsafePointer<Float> { UnsafeRawPointer(p).assumingMemoryBound(to: Float.self) }
                        func write(_ p: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<Float> {
                            UnsafeMutableRawPointer(p).assumingMemoryBound(to: Float.self)
                        }
                        let o = o0 + i * outWidth + first
                        RecurrentCellKernel.lstmStep(rows: batch, units: n, pre: read(z), ldz: ldz, x: read(xStep),
                                                     ldx: ldx, xGate: xGate, recurrentBias: rb.map { read($0 + first) },
                                                     outputBias: ob.map { read($0 + first) }, biasGate: u, c: write(cs + first), ldc: u,
                                                     h: write(hWrite + first), ldh: u, outH: write(o), outC: write(o + u), ldo: time * outWidth)
                        return
                    }
                    for row in 0..<batch {
                        let zr = z + row * ldz, xr = xStep + row * ldx
                        for q in 0..<4 {
                            // Pointers hoisted so that each loop is a plain vectorisable pass.
                            let (zq, xq, column) = (zr + q * n, xr + q * xGate, q * u + first)
                            if let rb {
                                let bq = rb + column
                                for j in 0..<n { zq[j] = zq[j] + bq[j] }
                            }
                            if let ob {
                                let bq = ob + column
                                for j in 0..<n { zq[j] = (xq[j] + zq[j]) + bq[j] }
                            } else {
                                for j in 0..<n { zq[j] = xq[j] + zq[j] }
                            }
                        }
                        recurrentActivation.applyRow(zr, zr, count: 2 * n)
                        activation.applyRow(zr + 2 * n, zr + 2 * n, count: n)
                        recurrentActivation.applyRow(zr + 3 * n, zr + 3 * n, count: n)
                        let (input, forget, candidate, output) = (zr, zr + n, zr + 2 * n, zr + 3 * n)
                        let (cRow, hRow) = (cs + row * u + first, hWrite + row * u + first)
                        for j in 0..<n {
                            let kept = forget[j] * cRow[j], added = input[j] * candidate[j]
                            cell[j] = kept + added
                        }
                        let o = o0 + (row * time + i) * outWidth + first, oCell = o + u
                        for j in 0..<n { cRow[j] = cell[j] }
                        for j in 0..<n { oCell[j] = cell[j] }
                        activation.applyRow(cell, cell, count: n)
                        for j in 0..<n { hRow[j] = output[j] * cell[j] }
                        for j in 0..<n { o[j] = hRow[j] }
                    }
                }
            }
        }}}}}}}}
        return out
    }

    func simple<T: FloatElement>(_ x: UnsafePointer<T>, xStride: Int, pre: [T], bias: UnsafeBufferPointer<T>?, h: inout [T], activation: UnaryFunction?) {
        h.withUnsafeMutableBufferPointer { hp in
            for row in 0..<batch {
                let out = hp.baseAddress! + row * units
                for j in 0..<units {
                    var z = x[row * xStride + j] + pre[row * width + j]
                    if let bias { z = z + bias[j] }
                    out[j] = z
                }
                activation?.applyRow(out, out, count: units)
            }
        }
    }

    func gru<T: FloatElement>(_ g: RecurrentSequence.GRUCell, _ x: UnsafePointer<T>, xStride: Int, matrix: UnsafePointer<T>,
                              recurrentBias: UnsafeBufferPointer<T>?, pre: inout [T], scratch: inout [T], h: inout [T]) {
        let u = units
        let (zb, rb, cb) = (g.update * u, g.reset * u, g.candidate * u)
        if g.resetAfter {
            recurrent(h, matrix, into: &pre, columns: 0..<width, bias: recurrentBias)
        } else {
            recurrent(h, matrix, into: &pre, columns: zb..<(zb + u), bias: nil)
            recurrent(h, matrix, into: &pre, columns: rb..<(rb + u), bias: nil)
        }
        // Gates, each a row: update into scratch (kept for the mix), reset into pre's reset block.
        pre.withUnsafeMutableBufferPointer { pp in
            scratch.withUnsafeMutableBufferPointer { sp in
                for row in 0..<batch {
                    let xr = x + row * xStride, z = pp.baseAddress! + row * width, update = sp.baseAddress! + row * u
                    for j in 0..<u { update[j] = xr[zb + j] + z[zb + j] }
                    for j in 0..<u { z[rb + j] = xr[rb + j] + z[rb + j] }
                    g.recurrentActivation.applyRow(update, update, count: u)
                    g.recurrentActivation.applyRow(z + rb, z + rb, count: u)
                }
            }
        }
        if !g.resetAfter {
            // (r·h)·U_h into pre's candidate block.
            var resetState = [T](repeating: 0, count: batch * u)
            for row in 0..<batch { for j in 0..<u { resetState[row * u + j] = pre[row * width + rb + j] * h[row * u + j] } }
            recurrent(resetState, matrix, into: &pre, columns: cb..<(cb + u), bias: nil)
        }
        var candidate = [T](repeating: 0, count: u)
        for row in 0..<batch {
            let xr = x + row * xStride, pr = row * width
            for j in 0..<u {
                let inner = g.resetAfter ? pre[pr + rb + j] * pre[pr + cb + j] : pre[pr + cb + j]
                candidate[j] = xr[cb + j] + inner
            }
            candidate.withUnsafeMutableBufferPointer { g.activation.applyRow($0.baseAddress!, $0.baseAddress!, count: u) }
            for j in 0..<u {
                let z = scratch[row * u + j], previous = h[row * u + j]
                switch g.mix {
                case .keras:
                    let kept = z * previous, added = (1 - z) * candidate[j]
                    h[row * u + j] = kept + added
                case .torch:
                    let difference = previous - candidate[j]
                    let scaled = difference * z
                    h[row * u + j] = scaled + candidate[j]
                }
            }
        }
    }
}

/// A recurrent layer's results: every step's output and the final states.
public struct RecurrenceResult<Value> {
    /// Each processed step's output (the hidden state), `[batch, time, units]` in processing order.
    public var sequence: Value
    /// The final states: `h`, and `c` for an LSTM.
    public var states: [Value]

    public init(sequence: Value, states: [Value]) {
        self.sequence = sequence
        self.states = states
    }

    /// Keras's outputs (`keras/src/layers/rnn/rnn.py`): the last output or the whole sequence
    /// `[batch, time, units]`, followed by the final states when `returnState` is set.
    public func outputs(returnSequences: Bool, returnState: Bool) -> [Value] {
        [returnSequences ? sequence : states[0]] + (returnState ? states : [])
    }
}

extension Builder {
    /// Applies `op` and splits its output into the hidden-state sequence and the final states.
    public func recurrence(_ op: RecurrentSequence, _ inputs: [Value]) throws -> RecurrenceResult<Value> {
        let y = try apply(op, inputs)
        let shape = self.shape(of: y)
        let (batch, time, width) = (shape[0], shape[1], shape[2])
        guard time > 0 else { throw TensorError.invalidArgument(op: op.name, message: "a sequence of 0 steps") }
        let last = try reshape(slice(y, [.all, SliceAxis(start: time - 1, end: time)]), [batch, width])
        guard op.isLSTM else { return RecurrenceResult(sequence: y, states: [last]) }
        let units = width / 2
        let h = SliceAxis(start: 0, end: units), c = SliceAxis(start: units, end: width)
        return RecurrenceResult(sequence: try slice(y, [.all, .all, h]), states: [try slice(last, [.all, h]), try slice(last, [.all, c])])
    }
}
