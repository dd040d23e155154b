import ParityKeras
import ParityNN
import ParityTorch

/// Max/AveragePooling1D/2D → `nn.MaxPool{n}d` / `nn.AvgPool{n}d` on channels-first values, and the
/// global poolings → `mean` / `amax` over the spatial dims. TensorFlow's `same` padding: symmetric
/// amounts become the module's `padding` (max pooling pads with −∞; `count_include_pad=False` leaves
/// the padding out of an average, as TensorFlow does); uneven amounts become `F.pad(…, value=-inf)`
/// for max pooling and the `AvgPoolSame` helper module for averages (a padded sum divided by the
/// count of real cells: no PyTorch module pads unevenly and excludes the padding).
///
/// Parity's ATen table has 2-D pooling only; a 1-D pooling runs there as `unsqueeze(2)`, the 2-D
/// pooling over `(1, k)`, `squeeze(2)`, which is the same computation.
enum PoolingLayers: KerasToTorchFamily {
    static let classes: Set<String> = {
        var all: Set<String> = []
        for n in 1...2 { all.formUnion(["MaxPooling\(n)D", "AveragePooling\(n)D", "MaxPool\(n)D", "AvgPool\(n)D"]) }
        for n in 1...3 { all.formUnion(["GlobalAveragePooling\(n)D", "GlobalMaxPooling\(n)D", "GlobalAvgPool\(n)D", "GlobalMaxPool\(n)D"]) }
        return all
    }()

    static func convert(_ c: LayerConversion) throws -> [TorchValue] {
        let name = c.className
        guard let n = name.last(where: \.isNumber).flatMap({ Int(String($0)) }) else {
            throw ConvertError.unsupportedLayer(name: c.name, className: c.className, supported: KerasToTorch.supportedClasses)
        }
        let isMax = name.contains("Max")
        if name.hasPrefix("Global") { return [try global(c, rank: n + 2, isMax: isMax)] }
        return [try window(c, n: n, isMax: isMax)]
    }

    static func global(_ c: LayerConversion, rank: Int, isMax: Bool) throws -> TorchValue {
        let pooling = try c.typed(GlobalPooling.self)
        let keep = pooling.keepDims
        let x = c.inputs[0]
        let spatial = pooling.dataFormat == .channelsLast ? Array(1..<(rank - 1)) : Array(2..<rank)
        let dims = spatial.map { x.position(of: $0) }.sorted()
        let keepText = keep ? ", keepdim=True" : ""
        let perm = keep ? x.perm : x.perm.filter { !spatial.contains($0) }.map { $0 == 0 ? 0 : 1 }
        return c.apply("\(x.python).\(isMax ? "amax" : "mean")(dim=\(Py.tuple(dims))\(keepText))", isMax ? "aten.amax.default" : "aten.mean.dim",
                       [("self", .tensor(x.graph)), ("dim", .ints(dims)), ("keepdim", .bool(keep))], perm: perm,
                       comment: x.isKerasLayout ? nil : "over the spatial dims of the channels-first value")
    }

    static func window(_ c: LayerConversion, n: Int, isMax: Bool) throws -> TorchValue {
        let pooling = try c.typed(Pooling.self)
        let (size, strides) = (pooling.window, pooling.strides)
        let rank = n + 2
        let shape = c.inputShapes[0]
        let spatial = (pooling.dataFormat == .channelsLast ? Array(1...n) : Array(2..<rank)).map { shape[$0] }
        var x = c.input(0, perm: LayerConversion.channelsFirst(from: pooling.dataFormat, rank: rank))
        let (before, after) = pooling.padding.amounts(input: spatial, kernel: size, strides: strides, dilations: Array(repeating: 1, count: n))
        if pooling.padding == .same && strides.contains(where: { $0 > 1 }) {
            c.writer.shapeNote("\(c.module): TensorFlow's strided 'same' padding was computed for spatial size \(Py.tuple(spatial)).")
        }
        let padded = before.contains { $0 != 0 } || after.contains { $0 != 0 }
        if padded && before != after && !isMax { return try averageSame(c, x, spatial: spatial, size: size, strides: strides, before: before, after: after) }
        if padded && before != after {
            x = TorchPad.pad(c, x, before: before, after: after, value: -.infinity,
                            comment: "TensorFlow 'same' for input \(Py.tuple(spatial)): the odd cell goes after; padding never wins the max")
        }
        let symmetric = padded && before == after
        var options = ["kernel_size=\(Py.ints(size))", "stride=\(Py.ints(strides))"]
        if symmetric { options.append("padding=\(Py.ints(before))") }
        if symmetric && !isMax { options.append("count_include_pad=False") }
        let comment = symmetric ? (isMax ? "TensorFlow 'same', symmetric here" : "TensorFlow 'same': padding is not counted in the average") : nil
        let module = c.submodule("nn.\(isMax ? "MaxPool" : "AvgPool")\(n)d(\(options.joined(separator: ", ")))", comment: comment)
        c.writer.line("\(c.output) = \(module)(\(x.python))")
        let pads = symmetric ? before : Array(repeating: 0, count: n)
        var arguments: [(String, TorchArgument)] = [("kernel_size", .ints(twoD(size, n, 1))), ("stride", .ints(twoD(strides, n, 1))),
                                                    ("padding", .ints(twoD(pads, n, 0)))]
        if !isMax { arguments += [("ceil_mode", .bool(false)), ("count_include_pad", .bool(!symmetric))] }
        let graph = pool2d(c, x.graph, n: n, target: isMax ? "aten.max_pool2d.default" : "aten.avg_pool2d.default", arguments)
        return TorchValue(graph: graph, python: c.output, perm: x.perm)
    }

    /// `values` for the 2-D op: a 1-D window `k` is `(1, k)` (`fill` on the added axis).
    static func twoD(_ values: [Int], _ n: Int, _ fill: Int) -> [Int] { n == 1 ? [fill] + values : values }

    /// The 2-D pooling node, wrapped in `unsqueeze(2)` / `squeeze(2)` for a 1-D pooling.
    static func pool2d(_ c: LayerConversion, _ input: String, n: Int, target: String, _ arguments: [(String, TorchArgument)]) -> String {
        let w = c.writer
        let x = n == 1 ? w.node("aten.unsqueeze.default", [("self", .tensor(input)), ("dim", .int(2))], module: c.module)[0] : input
        let y = w.node(target, [("self", .tensor(x))] + arguments, module: c.module)[0]
        return n == 1 ? w.node("aten.squeeze.dim", [("self", .tensor(y)), ("dim", .int(2))], module: c.module)[0] : y
    }

    static let averageSameHelper = """
    class AvgPoolSame(nn.Module):
        \"\"\"Average pooling with TensorFlow's 'same' padding: the zeros are split unevenly (the odd cell
        after) and left out of each window's divisor. PyTorch's AvgPool pads symmetrically, and after an
        explicit F.pad the zeros count as inputs even with count_include_pad=False, so this divides a
        padded sum by the number of real cells in each window.\"\"\"

        def __init__(self, kernel_size, stride, padding):
            super().__init__()
            self.kernel_size, self.stride = kernel_size, stride
            self.padding = padding  # F.pad order: (left, right[, top, bottom])

        def forward(self, x):
            pool = F.avg_pool1d if len(self.kernel_size) == 1 else F.avg_pool2d
            ones = x.new_ones((1, 1) + tuple(x.shape[2:]))
            sums = pool(F.pad(x, self.padding), self.kernel_size, self.stride)  # window sums / window size
            counts = pool(F.pad(ones, self.padding), self.kernel_size, self.stride)  # real cells / window size
            return sums / counts
    """

    static func averageSame(_ c: LayerConversion, _ x: TorchValue, spatial: [Int], size: [Int], strides: [Int], before: [Int], after: [Int]) throws -> TorchValue {
        let n = spatial.count
        c.writer.helper("AvgPoolSame", averageSameHelper)
        let amounts = (0..<n).reversed().flatMap { [before[$0], after[$0]] }
        let module = c.submodule("AvgPoolSame(\(Py.tuple(size)), \(Py.tuple(strides)), \(Py.tuple(amounts)))",
                                 comment: "TensorFlow 'same': uneven padding, not counted in the average")
        c.writer.line("\(c.output) = \(module)(\(x.python))")
        let w = c.writer
        let onesShape = [1, 1] + spatial
        let padArguments: [(String, TorchArgument)] = [("pad", .ints(amounts)), ("mode", .string("constant")), ("value", .float(0))]
        let poolArguments: [(String, TorchArgument)] = [("kernel_size", .ints(twoD(size, n, 1))), ("stride", .ints(twoD(strides, n, 1))),
                                                        ("padding", .ints(Array(repeating: 0, count: 2))), ("ceil_mode", .bool(false)),
                                                        ("count_include_pad", .bool(true))]
        let paddedX = w.node("aten.pad.default", [("self", .tensor(x.graph))] + padArguments, module: c.module)[0]
        let sums = pool2d(c, paddedX, n: n, target: "aten.avg_pool2d.default", poolArguments)
        let ones = w.node("aten.full.default", [("size", .ints(onesShape)), ("fill_value", .float(1))], module: c.module)[0]
        let paddedOnes = w.node("aten.pad.default", [("self", .tensor(ones))] + padArguments, module: c.module)[0]
        let counts = pool2d(c, paddedOnes, n: n, target: "aten.avg_pool2d.default", poolArguments)
        let y = w.node("aten.div.Tensor", [("self", .tensor(sums)), ("other", .tensor(counts))], module: c.module)[0]
        return TorchValue(graph: y, python: c.output, perm: x.perm)
    }
}
