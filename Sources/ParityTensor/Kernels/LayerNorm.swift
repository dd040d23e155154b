import CParityKernels

extension Tensor {
    /// Layer norm over the last `rowLength` elements of each row (`x`'s trailing axes flattened), as the
    /// unfused graph computes PyTorch's `layer_norm`: `mean = Σx / n`, `c = x − mean`,
    /// `var = Σ(c·c) / n` (each Σ pairwise with leaves of `leaf` terms, ``AccumulationOrder/pairwise(leaf:)``),
    /// `rstd = 1 / sqrt(var + ε)` (ε rounded to the dtype), `y = c·rstd`, then `·scale`, then `+ shift`,
    /// each operation rounded once; with `fusedShift` the last product and the `+ shift` are one fused
    /// multiply-add, as the graph's fusion pass contracts them. `scale` and `shift` hold `rowLength`
    /// values. One C pass per group of rows (`parity_layer_norm_*`): the chain's bits on every
    /// instruction set and thread count.
    public static func layerNormRows(_ x: Tensor, rowLength: Int, leaf: Int, epsilon: Double, scale: Tensor?, shift: Tensor?,
                                     fusedShift: Bool) throws -> Tensor {
        let op = "layer norm"
        // Rows of no elements (an empty normalised axis) only in an empty input: no rows, an empty result.
        guard rowLength >= 1 ? x.count % rowLength == 0 : rowLength == 0 && x.count == 0 else {
            throw TensorError.invalidArgument(op: op, message: "rows of \(rowLength) elements do not divide an input of shape \(x.shape)")
        }
        for (name, parameter) in [("scale", scale), ("shift", shift)] {
            if let parameter, parameter.count != rowLength || parameter.dtype != x.dtype {
                throw TensorError.invalidArgument(op: op, message: "\(name) of shape \(parameter.shape) and \(parameter.dtype) is not \(rowLength) \(x.dtype) values")
            }
        }
        let rows = rowLength == 0 ? 0 : x.count / rowLength
        // The input, scale and shift in place (parameters read from a file stay in their mapping).
        func run<T: FloatElement>(_: T.Type,
                                  _ kernel: (Int, Int, Int, UnsafePointer<T>?, UnsafePointer<T>?, UnsafePointer<T>?, Double, Int32, UnsafeMutablePointer<T>?) -> Void) -> [T]? {
            x.withUnsafeElements(as: T.self) { xp in
                withUnsafeElements(of: scale, as: T.self) { gp in
                    withUnsafeElements(of: shift, as: T.self) { bp in
                        [T](unsafeUninitializedCapacity: xp.count) { out, initialized in
                            kernel(rows, rowLength, leaf, xp.baseAddress, gp?.baseAddress, bp?.baseAddress, epsilon, fusedShift ? 1 : 0, out.baseAddress)
                            initialized = xp.count
                        }
                    }
                }
            }
        }
        if let values = run(Float.self, parity_layer_norm_f32) { return Tensor(shape: x.shape, values: values) }
        if let values = run(Double.self, parity_layer_norm_f64) { return Tensor(shape: x.shape, values: values) }
        throw TensorError.unsupportedDType(op: op, dtype: x.dtype)
    }
}
