import ParityKeras
import ParityTorch

/// `max_pool2d` / `avg_pool2d` without padding or dilation → MaxPooling2D / AveragePooling2D on the
/// channels-last input. `ceil_mode=False` is `valid`. `ceil_mode=True` adds a last window that hangs
/// off the end, over the cells inside only (the maximum of them; their mean, since PyTorch's divisor
/// stops at the input plus its zero padding): that is TensorFlow's `same` exactly when `same` gives
/// the same number of windows and puts its padding after the input only (`total // 2 = 0` before), and
/// `valid` when the extra window does not arise; other sizes are refused. `adaptive_avg_pool2d` to
/// `(1, 1)` → GlobalAveragePooling2D(keepdims=True); to a size dividing the input → AveragePooling2D
/// with window = stride = input / output (the same windows); to other sizes → averaging matrices
/// (``adaptive(_:_:size:)``).
/// Padding: an explicit `Pad` operation node (−inf for the maximum, zeros for the average with
/// PyTorch's default `count_include_pad=True`) before `valid` windows; with `ceil_mode=True` the max
/// pool's extra window gets −inf cells after the input.
/// `count_include_pad=False` with padding: ``excludingPadding(_:_:spatial:kernel:strides:padding:ceil:)``.
/// `avg_pool1d`: ``average1D(_:)``. Refused: dilation, `divisor_override`, other adaptive sizes.
enum PoolingOps: TorchToKerasFamily {
    static let targets: Set<String> = ["aten.max_pool2d.default", "aten.avg_pool2d.default", "aten.adaptive_avg_pool2d.default", "aten.avg_pool1d.default"]

    static func convert(_ c: NodeConversion) throws -> [TorchOperand] {
        if c.target == "aten.avg_pool1d.default" { return [.value(try average1D(c))] }
        var x = try c.value("self")
        guard x.rank == 4 else { throw c.refuse("expects a batched (N, C, H, W) input; received \(x.torchShape)") }
        x = c.arrange(x, as: channelsLast(4))
        let spatial = Array(x.torchShape.suffix(2))
        if c.target == "aten.adaptive_avg_pool2d.default" {
            let size = try c.ints("output_size", count: 2)
            if size == [1, 1] {
                return [.value(try c.layer("GlobalAveragePooling2D", ["data_format": .string("channels_last"), "keepdims": .bool(true)], inputs: [x], perm: x.perm)[0])]
            }
            guard size.allSatisfy({ $0 >= 1 }) else { throw c.refuse("output_size \(size)") }
            if spatial[0] % size[0] != 0 || spatial[1] % size[1] != 0 { return [.value(try adaptive(c, x, size: size))] }
            let window = [spatial[0] / size[0], spatial[1] / size[1]]
            return [.value(try c.layer("AveragePooling2D", ["pool_size": .ints(window), "strides": .ints(window), "padding": .string("valid"),
                                                            "data_format": .string("channels_last")], inputs: [x], perm: x.perm)[0])]
        }
        let isMax = c.target == "aten.max_pool2d.default"
        let kernel = try c.ints("kernel_size", count: 2)
        var strides = try c.ints("stride", default: [], count: 2)
        if strides.isEmpty { strides = kernel }
        let padding = try c.ints("padding", default: [0], count: 2)
        if isMax, try c.ints("dilation", default: [1], count: 2) != [1, 1] { throw c.refuse("dilation \(try c.ints("dilation", count: 2)): Keras pooling has none") }
        if !isMax, case .int(let d)? = c.node.argument("divisor_override") { throw c.refuse("divisor_override=\(d): Keras divides by the window's cell count") }
        let ceil = try c.bool("ceil_mode", default: false)
        if !isMax, padding.contains(where: { $0 != 0 }), try !c.bool("count_include_pad", default: true) {
            return [.value(try excludingPadding(c, x, spatial: spatial, kernel: kernel, strides: strides, padding: padding, ceil: ceil))]
        }
        let windows = try? Self.padding(c, spatial: spatial, kernel: kernel, strides: strides, ceil: ceil)
        if padding.contains(where: { $0 != 0 }) || (windows == nil && isMax) {
            // PyTorch's padding as an explicit `Pad` operation, then `valid` windows: −inf cells never
            // win a maximum; zeros counted in the divisor are `count_include_pad=True` without ceil_mode.
            let padded = spatial.indices.map { spatial[$0] + 2 * padding[$0] }
            var after = padding
            if ceil {
                guard isMax else { throw c.refuse("avg_pool2d with padding and ceil_mode=True: the extra window's divisor counts neither Keras's cells nor its padding") }
                for i in 0..<2 {
                    let out = TorchPoolingWindows.outputSize(spatial[i], kernel: kernel[i], stride: strides[i], padding: padding[i], dilation: 1, ceil: true)
                    after[i] += max(0, (out - 1) * strides[i] + kernel[i] - padded[i])
                }
            }
            x = try OperationNodes.padded(c, x, widths: [(0, 0), (0, 0), (padding[0], after[0]), (padding[1], after[1])],
                                          value: isMax ? -.infinity : 0)
            return [.value(try c.layer(isMax ? "MaxPooling2D" : "AveragePooling2D", [
                "pool_size": .ints(kernel), "strides": .ints(strides), "padding": .string("valid"), "data_format": .string("channels_last"),
            ], inputs: [x], perm: x.perm)[0])]
        }
        let mode = try Self.padding(c, spatial: spatial, kernel: kernel, strides: strides, ceil: ceil)
        return [.value(try c.layer(isMax ? "MaxPooling2D" : "AveragePooling2D", [
            "pool_size": .ints(kernel), "strides": .ints(strides), "padding": .string(mode), "data_format": .string("channels_last"),
        ], inputs: [x], perm: x.perm)[0])]
    }

    /// `avg_pool1d` (NextViT's spatial reduction) → AveragePooling1D(`valid`) on the channels-last
    /// value, after a zero `Pad` for a padding counted in the divisor (`count_include_pad=True`).
    /// Refused: `ceil_mode`, a padding left out of the divisor.
    static func average1D(_ c: NodeConversion) throws -> KerasValue {
        var x = try c.value("self")
        guard x.rank == 3 else { throw c.refuse("expects a batched (N, C, L) input; received \(x.torchShape)") }
        let kernel = try c.ints("kernel_size", count: 1)[0]
        let stride = try c.ints("stride", default: [], count: 1).first ?? kernel, padding = try c.ints("padding", default: [0], count: 1)[0]
        if try c.bool("ceil_mode", default: false) { throw c.refuse("ceil_mode=True") }
        if padding != 0, try !c.bool("count_include_pad", default: true) { throw c.refuse("count_include_pad=False with padding \(padding)") }
        x = c.arrange(x, as: channelsLast(3))
        if padding != 0 { x = try OperationNodes.padded(c, x, widths: [(0, 0), (0, 0), (padding, padding)], value: 0) }
        return try c.layer("AveragePooling1D", ["pool_size": .int(kernel), "strides": .int(stride), "padding": .string("valid"),
                                                "data_format": .string("channels_last")], inputs: [x], perm: x.perm)[0]
    }

    /// `avg_pool2d` with padding and `count_include_pad=False` (PoolFormer's and EfficientFormer's token
    /// mixer): each window's sum divided by the number of its cells inside the input. When TensorFlow's
    /// `same` has PyTorch's windows (the same count, `padding` cells before the input), that is
    /// AveragePooling2D(`same`), whose divisor counts the cells inside the input too. Otherwise the
    /// zero-padded input summed by a DepthwiseConv2D with a kernel of ones (no bias), then `Divide` by
    /// the constant table of cell counts: one division, as PyTorch's.
    static func excludingPadding(_ c: NodeConversion, _ x: KerasValue, spatial: [Int], kernel: [Int], strides: [Int], padding: [Int],
                                 ceil: Bool) throws -> KerasValue {
        var out: [Int] = []
        for i in 0..<2 {
            guard spatial[i] + 2 * padding[i] >= kernel[i], 2 * padding[i] <= kernel[i] else { throw c.refuse("window \(kernel), padding \(padding) on \(spatial)") }
            out.append(TorchPoolingWindows.outputSize(spatial[i], kernel: kernel[i], stride: strides[i], padding: padding[i], dilation: 1, ceil: ceil))
        }
        let same = try kerasWindows(.same, spatial: spatial, kernel: kernel, strides: strides)
        if same.output == out && same.padBefore == padding {
            return try c.layer("AveragePooling2D", ["pool_size": .ints(kernel), "strides": .ints(strides), "padding": .string("same"),
                                                    "data_format": .string("channels_last")], inputs: [x], perm: x.perm)[0]
        }
        var after: [Int] = []
        for i in 0..<2 {
            let end: Int = (out[i] - 1) * strides[i] + kernel[i]
            after.append(max(0, end - spatial[i] - padding[i]))
        }
        let padded = try OperationNodes.padded(c, x, widths: [(0, 0), (0, 0), (padding[0], after[0]), (padding[1], after[1])], value: 0)
        let channels = x.torchShape[1]
        let ones = Tensor(shape: [kernel[0], kernel[1], channels, 1], values: Array(repeating: 1, count: kernel[0] * kernel[1] * channels)).cast(to: .float32)
        // TensorFlow's depthwise kernel takes equal strides only: unequal ones sum every window (stride 1)
        // and keep every stride-th with a `GetItem` (the same sums).
        let equal = strides[0] == strides[1]
        var shape = x.torchShape
        for i in 0..<2 { shape[2 + i] = equal ? out[i] : padded.torchShape[2 + i] - kernel[i] + 1 }
        let kernelName = ParameterTable.rows("DepthwiseConv2D", .init(bias: false))![0].keras
        var sums = try c.layer("DepthwiseConv2D", [
            "kernel_size": .ints(kernel), "strides": .ints(equal ? strides : [1, 1]), "padding": .string("valid"), "depth_multiplier": .int(1),
            "dilation_rate": .ints([1, 1]), "activation": .string("linear"), "use_bias": .bool(false), "data_format": .string("channels_last"),
        ], inputs: [padded], weights: [c.kerasWeight(kernelName, ones, from: [], transform: "ones: the window's sum")], perm: x.perm, shapes: [shape])[0]
        for i in 0..<2 where !equal {
            sums = try OperationNodes.take(c, sums, dim: 2 + i, start: 0, end: (out[i] - 1) * strides[i] + 1, step: strides[i])
        }
        shape = sums.torchShape
        func cells(_ i: Int, _ axis: Int) -> Int {
            let start = i * strides[axis] - padding[axis]
            return min(start + kernel[axis], spatial[axis]) - max(start, 0)
        }
        var divisors: [Double] = []
        for i in 0..<out[0] { for j in 0..<out[1] { divisors.append(Double(cells(i, 0) * cells(j, 1))) } }
        let counts = Tensor(shape: [out[0], out[1], 1], values: divisors)
        return try c.operation("Divide", arguments: [.value(sums), .tensor(counts.cast(to: .float32))], perm: x.perm, shape: shape)
    }

    /// PyTorch's adaptive windows (`floor(i·in/out) ..< ceil((i+1)·in/out)`, overlapping or repeated
    /// when the sizes do not divide) as two `Matmul` operations with averaging matrices on the value in
    /// PyTorch's order: `A_h · x · A_wᵀ` (for a 1×1 input, exact repetition).
    static func adaptive(_ c: NodeConversion, _ x: KerasValue, size: [Int]) throws -> KerasValue {
        let x = c.inTorchOrder(x)
        let (n, channels, h, w) = (x.torchShape[0], x.torchShape[1], x.torchShape[2], x.torchShape[3])
        func averaging(_ input: Int, _ output: Int) -> Tensor {
            var values = Array(repeating: 0.0, count: output * input)
            for (i, window) in TorchPoolingWindows.adaptive(input: input, output: output).enumerated() {
                for j in window { values[i * input + j] = 1 / Double(window.count) }
            }
            return Tensor(shape: [output, input], values: values).cast(to: .float32)
        }
        let columns = try c.operation("Matmul", arguments: [.value(x), .tensor(try averaging(w, size[1]).transposedMatrix())],
                                      shape: [n, channels, h, size[1]])
        return try c.operation("Matmul", arguments: [.tensor(averaging(h, size[0])), .value(columns)])
    }

    /// `valid` or `same` when it has PyTorch's windows (see the type's documentation); else refused.
    static func padding(_ c: NodeConversion, spatial: [Int], kernel: [Int], strides: [Int], ceil: Bool) throws -> String {
        var torch: [Int] = []
        for (n, (k, s)) in zip(spatial, zip(kernel, strides)) {
            guard n >= k else { throw c.refuse("window \(kernel) larger than the input \(spatial)") }
            torch.append(TorchPoolingWindows.outputSize(n, kernel: k, stride: s, padding: 0, dilation: 1, ceil: ceil))
        }
        if try kerasWindows(.valid, spatial: spatial, kernel: kernel, strides: strides).output == torch { return "valid" }
        let same = try kerasWindows(.same, spatial: spatial, kernel: kernel, strides: strides)
        guard same.output == torch, same.padBefore.allSatisfy({ $0 == 0 }) else {
            throw c.refuse("ceil_mode=True on \(spatial) with window \(kernel), stride \(strides): \(torch) windows, which neither `valid` nor TensorFlow's `same` (padding after the input only) gives")
        }
        return "same"
    }

    /// Keras's (TensorFlow's) windows for `padding` (`valid` or `same`): ParityEngine's geometry, whose
    /// output size and padding before each axis the pooling layers of a Keras model run with.
    static func kerasWindows(_ padding: Padding, spatial: [Int], kernel: [Int], strides: [Int]) throws -> WindowGeometry {
        try WindowGeometry(input: spatial, channels: 1, kernel: kernel, strides: strides, dilations: kernel.map { _ in 1 }, padding: padding)
    }
}
