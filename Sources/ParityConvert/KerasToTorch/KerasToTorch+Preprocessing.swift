import ParityKeras
import ParityTorch

/// Rescaling → `x * scale + offset` with the file's constants (a Python float times a float32 tensor
/// is computed in float32, as Keras casts the constants to the layer's dtype).
enum PreprocessingLayers: KerasToTorchFamily {
    static let classes: Set<String> = ["Rescaling"]

    static func convert(_ c: LayerConversion) throws -> [TorchValue] {
        let k = c.keras
        guard let scale = c.layer.config["scale"]?.double else { throw c.refuse("scale", "\(c.layer.config["scale"] ?? .null)", "only one scale for every channel is converted") }
        guard let offset = (c.layer.config["offset"] ?? .number(0)).double else {
            throw c.refuse("offset", "\(try k.value("offset"))", "only one offset for every channel is converted")
        }
        let x = c.inputs[0]
        c.writer.line("\(c.output) = \(x.python) * \(Py.float(scale)) + \(Py.float(offset))  # Keras Rescaling(scale, offset)")
        let scaled = c.writer.node("aten.mul.Tensor", [("self", .tensor(x.graph)), ("other", .float(scale))], module: c.module)[0]
        let shifted = c.writer.node("aten.add.Tensor", [("self", .tensor(scaled)), ("other", .float(offset))], module: c.module)[0]
        return [TorchValue(graph: shifted, python: c.output, perm: x.perm)]
    }
}
