import ParityKeras
import ParityTorch

/// Add, Subtract, Multiply, Average, Maximum → Python operators / `torch.maximum`, applied left to
/// right as Keras does (`((a + b) + c)`; Average sums then divides by the count); Concatenate →
/// `torch.cat` along where Keras's axis is held. Every input is first brought to the first input's
/// layout, so channels-first branches merge without permuting back.
enum MergingLayers: KerasToTorchFamily {
    static let classes: Set<String> = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Concatenate"]

    static func convert(_ c: LayerConversion) throws -> [TorchValue] {
        guard c.inputs.count >= 2 else { throw ConvertError.shape(layer: c.name, message: "merges \(c.inputs.count) input(s); Keras needs at least 2") }
        let perm = c.inputs[0].perm
        let xs = c.inputs.indices.map { c.input($0, perm: perm) }
        let w = c.writer
        if c.className == "Concatenate" {
            let k = c.keras
            let axis = try k.has("axis") ? k.int("axis") : -1
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
        default: (nil, "aten.maximum.default")
        }
        var graph = xs[0].graph
        var python = xs[0].python
        for x in xs.dropFirst() {
            graph = w.node(target, [("self", .tensor(graph)), ("other", .tensor(x.graph))], module: c.module)[0]
            python = symbol.map { "\(python) \($0) \(x.python)" } ?? "torch.maximum(\(python), \(x.python))"
        }
        if c.className == "Average" {
            graph = w.node("aten.div.Tensor", [("self", .tensor(graph)), ("other", .float(Double(xs.count)))], module: c.module)[0]
            python = "(\(python)) / \(xs.count)"
        }
        w.line("\(c.output) = \(python)")
        return [TorchValue(graph: graph, python: c.output, perm: perm)]
    }
}
