import ParityKeras
import ParityTorch

/// `permute` / `transpose` → nothing: only the held layout changes (a Permute layer is written when a
/// later layer needs an order). `flatten`, `view`, `reshape`, `unsqueeze` → Flatten / Reshape on the
/// value in PyTorch's element order (Keras flattens its own axis order, so a channels-last value is
/// first permuted back to (C, H, W), PyTorch's order; `reshape_as` to its other tensor's shape); `select` or `squeeze` of a size-1 axis →
/// Reshape without it. Refused: anything that changes the batch axis (`view(6, 4)` of a `(2, 3, 4)`
/// batch), `select` of one entry of a longer axis.
enum ReshapingOps: TorchToKerasFamily {
    static let targets: Set<String> = [
        "aten.permute.default", "aten.transpose.int", "aten.flatten.using_ints", "aten.view.default", "aten.reshape.default",
        "aten.unsqueeze.default", "aten.squeeze.dim", "aten.select.int", "aten.unflatten.int", "aten.squeeze.dims", "aten.swapaxes.default",
        "aten.t.default", "aten.squeeze.default", "aten.reshape_as.default",
    ]

    static func convert(_ c: NodeConversion) throws -> [TorchOperand] {
        let x = try c.value("self")
        switch c.target {
        case "aten.permute.default":
            return [.value(permuted(x, try c.ints("dims").map { try c.dim($0, rank: x.rank) }))]
        case "aten.t.default":
            return [.value(permuted(x, x.rank == 2 ? [1, 0] : Array(0..<x.rank)))]
        case "aten.transpose.int", "aten.swapaxes.default":
            var order = Array(0..<x.rank)
            let names = c.target == "aten.swapaxes.default" ? ("axis0", "axis1") : ("dim0", "dim1")
            order.swapAt(try c.dim(c.int(names.0), rank: x.rank), try c.dim(c.int(names.1), rank: x.rank))
            return [.value(permuted(x, order))]
        case "aten.select.int", "aten.squeeze.dim":
            let dim = try c.dim(c.int("dim"), rank: x.rank)
            let perm = x.perm.filter { $0 != dim }.map { $0 > dim ? $0 - 1 : $0 }
            if x.torchShape[dim] == 1 && dim != x.perm[0] { return [.value(try dropUnitAxis(c, x, dim))] }
            if c.target == "aten.squeeze.dim" && x.torchShape[dim] != 1 { return [.value(x)] }
            let size = x.torchShape[dim], index = try c.int("index", default: 0)
            guard index >= -size, index < size else { throw c.refuse("index \(index) out of range for dim \(dim) of size \(size)") }
            return [.value(try c.operation("Take", ["axis": .int(x.position(of: dim))], arguments: [.value(x), .constant(.int(index < 0 ? index + size : index))],
                                           perm: perm, dtype: x.dtype))]
        default:
            return [.value(try reshape(c, x))]
        }
    }

    /// The same elements with PyTorch axis `i` of the result being axis `order[i]` of `x`.
    static func permuted(_ x: KerasValue, _ order: [Int]) -> KerasValue {
        KerasValue(ref: x.ref, perm: x.perm.map { order.firstIndex(of: $0)! }, torchShape: order.map { x.torchShape[$0] }, dtype: x.dtype)
    }

    static func dropUnitAxis(_ c: NodeConversion, _ x: KerasValue, _ dim: Int) throws -> KerasValue {
        let perm = x.perm.filter { $0 != dim }.map { $0 > dim ? $0 - 1 : $0 }
        var shape = x.torchShape
        shape.remove(at: dim)
        let kerasShape = perm.map { shape[$0] }
        let layer = c.writer.layer("Reshape", name: c.layerName, config: ["target_shape": .ints(Array(kerasShape.dropFirst()))], inputs: [x])
        return KerasValue(ref: .init(layer: layer, tensor: 0), perm: perm, torchShape: shape, dtype: x.dtype)
    }

    /// A PyTorch reshape (row-major) of `x`: Reshape or Flatten when it keeps the batch size on axis 0,
    /// else the `reshape` operation on `x` in PyTorch's order.
    static func reshape(_ c: NodeConversion, _ x: KerasValue) throws -> KerasValue {
        let shape = try c.outputShape()
        if shape == x.torchShape { return x }
        guard let first = shape.first, x.perm[0] == 0, first == x.torchShape[0], x.rank > 0 else {
            return try c.operation("Reshape", ["newshape": .ints(shape)], arguments: [.value(c.inTorchOrder(x))], shape: shape, dtype: x.dtype)
        }
        let identity = Array(0..<x.rank)
        let nonUnit = { (perm: [Int]) in perm.filter { x.torchShape[$0] != 1 } }
        let ordered = nonUnit(x.perm) == nonUnit(identity) ? x : c.arrange(x, as: identity)
        let flatten = shape.count == 2 && c.target == "aten.flatten.using_ints"
        let layer = c.writer.layer(flatten ? "Flatten" : "Reshape", name: c.layerName,
                                   config: flatten ? ["data_format": .string("channels_last")] : ["target_shape": .ints(Array(shape.dropFirst()))],
                                   inputs: [ordered])
        return KerasValue(ref: .init(layer: layer, tensor: 0), perm: Array(shape.indices), torchShape: shape, dtype: x.dtype)
    }
}
