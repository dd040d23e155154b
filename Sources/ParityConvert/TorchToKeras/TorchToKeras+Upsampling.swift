import ParityKeras
import ParityTorch

/// `interpolate`: each output cell's source cells and weights computed as PyTorch's CPU kernels
/// compute them (`aten/src/ATen/native/UpSample.h`, `cpu/UpSampleKernel.cpp`, in float32), then:
///
/// - nearest (`upsample_nearest2d`: `floor(i·scale)`) and nearest-exact
///   (`_upsample_nearest_exact2d`: `floor((i + ½)·scale)`), capped at the last cell, where
///   `scale` is `1/scale_factor` when given, else `in/out`: UpSampling2D when the table repeats each
///   cell a whole number of times, else one `Take` operation per axis with the table (a gather: exact);
/// - linear / bilinear (`align_corners` both ways: source `i·(in−1)/(out−1)`, or `(i + ½)·scale − ½`
///   clamped at 0) and bicubic (Keys' kernel with PyTorch's `A = −0.75`, taps clamped to the edge),
///   the taps ParityTorch's kernels use (``TorchInterpolationTaps``):
///   UpSampling2D's half-pixel bilinear for whole factors without `align_corners` (TensorFlow's resize
///   is PyTorch's there), else one `Matmul` per axis with the interpolation matrix (two or four
///   weights a row, PyTorch's float32 weights): PyTorch's weighted sums, added in another order.
///
/// Refused (no converter): trilinear, antialiased modes (other operators). Every
/// table above was checked against PyTorch 2.15 for inputs of 1–29 cells to 1–59 cells and 9 scale
/// factors (scripts/make_convert_form_fixtures.py has the fixtures; the check was by hand).
enum UpsamplingOps: TorchToKerasFamily {
    /// Each nearest target with its number of spatial axes; the source cells are ParityTorch's
    /// (`TorchNearestIndices`: the kernel PyTorch picks for the sizes, 1-D and 3-D included).
    static let nearest: [String: Int] = [
        "aten.upsample_nearest1d.vec": 1, "aten.upsample_nearest2d.vec": 2, "aten.upsample_nearest3d.vec": 3,
        "aten._upsample_nearest_exact1d.vec": 1, "aten._upsample_nearest_exact2d.vec": 2, "aten._upsample_nearest_exact3d.vec": 3,
    ]
    static let interpolating: [String: (axes: Int, cubic: Bool)] = [
        "aten.upsample_linear1d.vec": (1, false), "aten.upsample_bilinear2d.vec": (2, false), "aten.upsample_bicubic2d.vec": (2, true),
    ]
    static let targets: Set<String> = Set(nearest.keys).union(interpolating.keys)

    static func convert(_ c: NodeConversion) throws -> [TorchOperand] {
        var x = try c.value("input")
        let n = nearest[c.target] ?? interpolating[c.target]?.axes ?? 0
        guard x.rank == n + 2, x.perm[0] == 0 else { throw c.refuse("expects (N, C, \(n) spatial axes) with the batch first; received \(x.torchShape)") }
        let output = try c.outputShape()
        let spatial = Array(x.torchShape.suffix(n)), size = Array(output.suffix(n))
        var scales: [Double?] = Array(repeating: nil, count: n)
        if case .floats(let s)? = c.node.argument("scale_factors"), s.count == n { scales = s.map { $0 > 0 ? $0 : nil } }
        if let (_, cubic) = interpolating[c.target] {
            let alignCorners = try c.bool("align_corners")
            let factors = (0..<n).map { size[$0] / spatial[$0] }
            let whole = (0..<n).allSatisfy { i in factors[i] >= 1 && factors[i] * spatial[i] == size[i] && (scales[i] ?? Double(factors[i])) == Double(factors[i]) }
            if n == 2, !cubic, !alignCorners, whole {
                x = c.arrange(x, as: channelsLast(4))
                return [.value(try c.layer("UpSampling2D", ["size": .ints(factors), "interpolation": .string("bilinear"),
                                                            "data_format": .string("channels_last")], inputs: [x], perm: x.perm)[0])]
            }
            x = c.inTorchOrder(x)
            // The last axis first (x · Aᵀ), then the one before it (A · x).
            for axis in (0..<n).reversed() {
                let matrix = interpolation(input: spatial[axis], output: size[axis], scale: scales[axis], alignCorners: alignCorners, cubic: cubic)
                var shape = x.torchShape
                shape[axis + 2] = size[axis]
                let last = axis == n - 1
                let constant = OperationArgument.tensor(last ? try matrix.transposedMatrix() : matrix)
                x = try c.operation("Matmul", arguments: last ? [.value(x), constant] : [constant, .value(x)], shape: shape)
            }
            return [.value(x)]
        }
        let exact = c.target.hasPrefix("aten._upsample_nearest_exact")
        // The source model runs in float32 (the proof's precision), so its kernel's float32 indices.
        let tables = TorchNearestIndices.forward(exact: exact, input: spatial, output: size, scales: scales, dtype: .float32)
        let factors = (0..<n).map { size[$0] / spatial[$0] }
        if n == 2, (0..<n).allSatisfy({ i in factors[i] >= 1 && tables[i] == (0..<size[i]).map { $0 / factors[i] } }) {
            x = c.arrange(x, as: channelsLast(4))
            return [.value(try c.layer("UpSampling2D", ["size": .ints(factors), "interpolation": .string("nearest"),
                                                        "data_format": .string("channels_last")], inputs: [x], perm: x.perm)[0])]
        }
        for axis in 0..<n where tables[axis] != Array(0..<spatial[axis]) {
            var shape = x.torchShape
            shape[axis + 2] = size[axis]
            let indices = Tensor(shape: [size[axis]], int64: tables[axis].map(Int64.init))
            x = try c.operation("Take", ["axis": .int(x.position(of: axis + 2))], arguments: [.value(x), .tensor(indices)],
                                perm: x.perm, shape: shape, dtype: x.dtype)
        }
        return [.value(x)]
    }

    /// The `(output, input)` matrix of linear (two taps) or cubic (four taps) interpolation weights:
    /// ParityTorch's ``TorchInterpolationTaps`` in float32 (`compute_source_index_and_lambda`,
    /// `get_cubic_upsample_coefficients`), the weights of a cell that two taps share added in float32.
    static func interpolation(input: Int, output: Int, scale given: Double?, alignCorners: Bool, cubic: Bool) -> Tensor {
        var values = Array(repeating: Float(0), count: output * input)
        if cubic {
            let taps = TorchInterpolationTaps.cubic(Float.self, input: input, output: output, alignCorners: alignCorners, scale: given)
            for i in 0..<output {
                for (k, w) in taps.weights[i].enumerated() { values[i * input + TorchInterpolationTaps.cubicTap(taps.start[i], k, input: input)] += Float(w) }
            }
        } else {
            let taps = TorchInterpolationTaps.linear(Float.self, input: input, output: output, alignCorners: alignCorners, scale: given, fused: false)
            for i in 0..<output {
                values[i * input + taps.i0[i]] += Float(taps.w0[i])
                values[i * input + taps.i1[i]] += Float(taps.w1[i])
            }
        }
        return Tensor(shape: [output, input], values: values.map(Double.init)).cast(to: .float32)
    }
}
