import ParityKeras
import ParityNN
import ParityTorch

/// Add, Subtract, Multiply, Average, Maximum, Minimum → Python operators / `torch.maximum` /
/// `torch.minimum` (both propagate NaN, as Keras's), applied left to right as Keras does
/// (`((a + b) + c)`; Average sums then divides by the count); Concatenate → `torch.cat` along where
/// Keras's axis is held. Every input is first brought to the first input's layout, so channels-first
/// branches merge without permuting back. Dot → the `KerasDot` helper module (a batched matmul over
/// Keras's axes, with Keras's L2 normalisation).
enum MergingLayers: KerasToTorchFamily {
    static let classes: Set<String> = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot"]

    static func convert(_ c: LayerConversion) throws -> [TorchValue] {
        guard c.inputs.count >= 2 else { throw ConvertError.shape(layer: c.name, message: "merges \(c.inputs.count) input(s); Keras needs at least 2") }
        if c.className == "Dot" { return [try dot(c)] }
        let perm = c.inputs[0].perm
        let xs = c.inputs.indices.map { c.input($0, perm: perm) }
        let w = c.writer
        if c.className == "Concatenate" {
            let axis = try c.typed(Concatenate.self).axis
            let dim = ActivationLayers.dimension(xs[0], axis < 0 ? axis + xs[0].rank : axis)
            return [c.apply("torch.cat([\(xs.map(\.python).joined(separator: ", "))], dim=\(dim))", "aten.cat.default",
                            [("tensors", .tensors(xs.map(\.graph))), ("dim", .int(dim))], perm: perm,
                            comment: dim == axis || dim == -1 ? nil : "Keras axis \(axis), here at dim \(dim)")]
        }
        if c.className == "Subtract" && xs.count != 2 { throw ConvertError.shape(layer: c.name, message: "Subtract takes exactly 2 inputs; received \(xs.count)") }
        let (symbol, target): (String?, String) = switch c.className {
        case "Add", "Average": ("+", "aten.add.Tensor")
        case "Subtract": ("-", "aten.sub.Tensor")
        case "Multiply": ("*", "aten.mul.Tensor")
        case "Minimum": (nil, "aten.minimum.default")
        default: (nil, "aten.maximum.default")
        }
        let function = c.className == "Minimum" ? "torch.minimum" : "torch.maximum"
        var graph = xs[0].graph
        var python = xs[0].python
        for x in xs.dropFirst() {
            graph = w.node(target, [("self", .tensor(graph)), ("other", .tensor(x.graph))], module: c.module)[0]
            python = symbol.map { "\(python) \($0) \(x.python)" } ?? "\(function)(\(python), \(x.python))"
        }
        if c.className == "Average" {
            graph = w.node("aten.div.Tensor", [("self", .tensor(graph)), ("other", .float(Double(xs.count)))], module: c.module)[0]
            python = "(\(python)) / \(xs.count)"
        }
        w.line("\(c.output) = \(python)")
        return [TorchValue(graph: graph, python: c.output, perm: perm)]
    }

    static let dotHelper = """
    class KerasDot(nn.Module):
        \"\"\"Keras Dot: a batchwise dot product over axis a of x and axis b of y (the batch axis excluded);
        the result holds x's other axes, then y's ((N, 1) when none are left). With normalize, each input
        is first L2-normalised along its axis as Keras does, x * min(rsqrt(sum(x * x)), 1 / epsilon).\"\"\"

        def __init__(self, axes, normalize, epsilon):
            super().__init__()
            self.axes, self.normalize, self.epsilon = axes, normalize, epsilon

        def forward(self, x, y):
            a, b = self.axes
            if self.normalize:
                x = x * torch.clamp(torch.rsqrt(torch.sum(x * x, dim=a, keepdim=True)), max=1 / self.epsilon)
                y = y * torch.clamp(torch.rsqrt(torch.sum(y * y, dim=b, keepdim=True)), max=1 / self.epsilon)
            x_rest = [d for d in range(1, x.dim()) if d != a]
            y_rest = [d for d in range(1, y.dim()) if d != b]
            out = torch.bmm(x.permute(0, *x_rest, a).reshape(x.shape[0], -1, x.shape[a]),
                            y.permute(0, b, *y_rest).reshape(y.shape[0], y.shape[b], -1))
            rest = [x.shape[d] for d in x_rest] + [y.shape[d] for d in y_rest]
            return out.reshape(x.shape[0], *(rest or [1]))
    """

    /// Dot on the inputs in Keras's layout: `KerasDot` in model.py; in the graph, the normalisation,
    /// permutes, reshapes and one `aten.bmm` with the shapes of the conversion run.
    static func dot(_ c: LayerConversion) throws -> TorchValue {
        guard c.inputs.count == 2 else { throw ConvertError.shape(layer: c.name, message: "Dot takes exactly 2 inputs; received \(c.inputs.count)") }
        let layer = try c.typed(Dot.self)
        let normalize = layer.normalize
        let xs = [c.kerasInput(0), c.kerasInput(1)]
        let shapes = c.inputShapes
        let chosen = [layer.axes.0, layer.axes.1]
        let along = (0..<2).map { chosen[$0] < 0 ? chosen[$0] + shapes[$0].count : chosen[$0] }
        guard along.allSatisfy({ $0 > 0 }), shapes[0][along[0]] == shapes[1][along[1]] else {
            throw c.refuse("axes", "\(chosen)", "Dot needs equal sizes along non-batch axes; the inputs are \(shapes)")
        }
        let w = c.writer
        w.helper("KerasDot", dotHelper)
        let module = c.submodule("KerasDot(axes=\(Py.tuple(along)), normalize=\(normalize ? "True" : "False"), epsilon=\(Py.float(NormalizationDefaults.kerasBackendEpsilon)))",
                                 comment: normalize ? "Keras normalize: x * min(rsqrt(sum(x²)), 1 / 1e-7)" : nil)
        w.line("\(c.output) = \(module)(\(xs[0].python), \(xs[1].python))")
        var graphs = xs.map(\.graph)
        if normalize {
            for i in 0..<2 {
                let square = w.node("aten.mul.Tensor", [("self", .tensor(graphs[i])), ("other", .tensor(graphs[i]))], module: c.module)[0]
                let sum = w.node("aten.sum.dim_IntList", [("self", .tensor(square)), ("dim", .ints([along[i]])), ("keepdim", .bool(true))], module: c.module)[0]
                let inverse = w.node("aten.rsqrt.default", [("self", .tensor(sum))], module: c.module)[0]
                let capped = w.node("aten.clamp.default", [("self", .tensor(inverse)), ("max", .float(1 / NormalizationDefaults.kerasBackendEpsilon))], module: c.module)[0]
                graphs[i] = w.node("aten.mul.Tensor", [("self", .tensor(graphs[i])), ("other", .tensor(capped))], module: c.module)[0]
            }
        }
        let rest = (0..<2).map { i in (1..<shapes[i].count).filter { $0 != along[i] } }
        let batch = shapes[0][0], depth = shapes[0][along[0]]
        let orders = [[0] + rest[0] + [along[0]], [0, along[1]] + rest[1]]
        let matrices = [[batch, -1, depth], [batch, depth, -1]]
        for i in 0..<2 {
            let permuted = w.node("aten.permute.default", [("self", .tensor(graphs[i])), ("dims", .ints(orders[i]))], module: c.module)[0]
            graphs[i] = w.node("aten.reshape.default", [("self", .tensor(permuted)), ("shape", .ints(matrices[i]))], module: c.module)[0]
        }
        let product = w.node("aten.bmm.default", [("self", .tensor(graphs[0])), ("mat2", .tensor(graphs[1]))], module: c.module)[0]
        let out = [batch] + rest[0].map { shapes[0][$0] } + rest[1].map { shapes[1][$0] }
        let y = w.node("aten.reshape.default", [("self", .tensor(product)), ("shape", .ints(out.count == 1 ? [batch, 1] : out))], module: c.module)[0]
        return TorchValue(graph: y, python: c.output, perm: Array(0..<max(out.count, 2)))
    }
}
