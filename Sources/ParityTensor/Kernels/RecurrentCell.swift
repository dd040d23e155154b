import CParityKernels

/// Fused recurrent cells in C (`parity_lstm_cell_f32`, `Sources/CParityKernels/vmath_template.h`): one
/// step's gate math in one pass over registers, the roundings of the separate element passes.
public enum RecurrentCellKernel {
    /// Whether ``lstmStep(rows:units:pre:ldz:x:ldx:xGate:recurrentBias:outputBias:biasGate:c:ldc:h:ldh:outH:outC:ldo:)``
    /// computes this cell: Float32 with sigmoid gates and tanh (the C kernel's formula); other types and
    /// activations run the element passes.
    public static func fusesLSTM<T: FloatElement>(_ type: T.Type, activation: UnaryFunction, recurrentActivation: UnaryFunction) -> Bool {
        T.self == Float.self && activation == .tanh && recurrentActivation == .sigmoid
    }

    /// One LSTM step over `rows` rows of `units` units (`parity_lstm_cell_f32`): per unit `j` and gate
    /// `q` (input, forget, cell, output), `v = x[q·xGate + j] + (pre[q·units + j] (+ recurrentBias[q·biasGate + j]))
    /// (+ outputBias[q·biasGate + j])`; `i, f, o = sigmoid`, `g = tanh`; `c' = f·c + i·g` (each product
    /// rounded, then the sum); `h' = o·tanh(c')`; `c'` written over `c` and into `outC`, `h'` into `h` and
    /// `outH`. Row `r` of each array starts `r·` its stride. Only for ``fusesLSTM(_:activation:recurrentActivation:)``.
    public static func lstmStep(rows: Int, units: Int, pre: UnsafePointer<Float>, ldz: Int, x: UnsafePointer<Float>, ldx: Int, xGate: Int,
                                recurrentBias: UnsafePointer<Float>?, outputBias: UnsafePointer<Float>?, biasGate: Int,
                                c: UnsafeMutablePointer<Float>, ldc: Int, h: UnsafeMutablePointer<Float>, ldh: Int,
                                outH: UnsafeMutablePointer<Float>, outC: UnsafeMutablePointer<Float>, ldo: Int) {
        var step = parity_lstm_step(rows: rows, units: units, z: pre, ldz: ldz, x: x, ldx: ldx, x_gate: xGate,
                                    recurrent_bias: recurrentBias, output_bias: outputBias, bias_gate: biasGate,
                                    c: c, ldc: ldc, h: h, ldh: ldh, out_h: outH, out_c: outC, ldo: ldo)
        parity_lstm_cell_f32(&step)
    }
}

/// A recurrent layer's weight matrix (`U` `[u, G·u]`, or the input projection's `W`; a graph constant)
/// kept packed in a recurrent loop's own layout (``KeptPacks``), so the loop reads the pack instead of
/// packing the matrix on every call. One pack per instruction-set level, for one layout (`key`): a call
/// needing another (another thread count's split of the units) packs as without one.
public final class KeptRecurrentMatrix: KeptPacks, @unchecked Sendable {
    /// Whether `other` is the kept matrix itself, a matrix (``KeptPacks/holds(_:)``).
    override public func holds(_ other: Tensor) -> Bool { tensor.rank == 2 && super.holds(other) }

    /// The pack of `count` values for `key` (at most 7 integers besides the element size), made by `fill` on
    /// first use; nil when this level's pack was made for another key or `count` is 0.
    public func pack<T: FloatElement>(_ type: T.Type, key: [Int], count: Int,
                                      fill: (UnsafeMutablePointer<T>) -> Void) -> UnsafePointer<T>? {
        let key = [MemoryLayout<T>.size] + key
        guard key.count <= 8, count > 0 else { return nil }
        let data = withoutActuallyEscaping(fill) { fill -> UnsafeRawPointer? in
            var body: (UnsafeMutableRawPointer) -> Void = { fill($0.assumingMemoryBound(to: T.self)) }
            return withUnsafeMutablePointer(to: &body) { context in
                key.withUnsafeBytes { k in
                    parity_kept_bytes(packs, k.baseAddress, k.count, count * MemoryLayout<T>.stride, { data, context in
                        context!.assumingMemoryBound(to: ((UnsafeMutableRawPointer) -> Void).self).pointee(data!)
                    }, context)
                }
            }
        }
        return data.map { $0.assumingMemoryBound(to: T.self) }
    }
}
