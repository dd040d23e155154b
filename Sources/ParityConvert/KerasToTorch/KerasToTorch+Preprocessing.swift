import ParityKeras
import ParityNN
import ParityTorch

/// Rescaling → `x * scale + offset` with the file's constants (a Python float times a float32 tensor
/// is computed in float32, as Keras casts the constants to the layer's dtype); Normalization → the
/// `KerasNormalization` helper module (Keras's `(x − mean) / max(sqrt(variance), 1e-7)`, the statistics
/// as buffers shaped to broadcast); Resizing → `F.interpolate` to the fixed size: TensorFlow's bilinear
/// resize is PyTorch's `bilinear` with `align_corners=False`, its nearest (half-pixel centres) is
/// `nearest-exact`, not `nearest`.
enum PreprocessingLayers: KerasToTorchFamily {
    static let classes: Set<String> = ["Rescaling", "Normalization", "Resizing"]

    static func convert(_ c: LayerConversion) throws -> [TorchValue] {
        switch c.className {
        case "Normalization": return [try normalization(c)]
        case "Resizing": return [try resizing(c)]
        default: return [try rescaling(c)]
        }
    }

    static func rescaling(_ c: LayerConversion) throws -> TorchValue {
        let layer = try c.typed(Rescaling.self)
        guard layer.scale.count == 1, let scale = layer.scale.first else { throw c.refuse("scale", "\(layer.scale)", "only one scale for every channel is converted") }
        guard layer.offset.count == 1, let offset = layer.offset.first else {
            throw c.refuse("offset", "\(layer.offset)", "only one offset for every channel is converted")
        }
        let x = c.inputs[0]
        c.writer.line("\(c.output) = \(x.python) * \(Py.float(scale)) + \(Py.float(offset))  # Keras Rescaling(scale, offset)")
        let scaled = c.writer.node("aten.mul.Tensor", [("self", .tensor(x.graph)), ("other", .float(scale))], module: c.module)[0]
        let shifted = c.writer.node("aten.add.Tensor", [("self", .tensor(scaled)), ("other", .float(offset))], module: c.module)[0]
        return TorchValue(graph: shifted, python: c.output, perm: x.perm)
    }

    static let normalizationHelper = """
    class KerasNormalization(nn.Module):
        \"\"\"Keras Normalization (invert=False): (x - mean) / max(sqrt(variance), epsilon), the statistics
        shaped to broadcast against the input (1 on the batch and the normalised-over axes).\"\"\"

        def __init__(self, shape, epsilon):
            super().__init__()
            self.epsilon = epsilon
            self.register_buffer("mean", torch.zeros(shape))
            self.register_buffer("variance", torch.ones(shape))

        def forward(self, x):
            return (x - self.mean) / torch.clamp(torch.sqrt(self.variance), min=self.epsilon)
    """

    static func normalization(_ c: LayerConversion) throws -> TorchValue {
        // The loader refuses invert=True.
        let layer = try c.typed(BroadcastNormalization.self)
        let x = c.kerasInput()
        let rank = x.rank
        let axes = layer.axes
        let kept = axes.map { $0 < 0 ? $0 + rank : $0 }.sorted()
        let (mean, variance) = (layer.mean.cast(to: .float32), layer.variance.cast(to: .float32))
        let source = layer.statisticsInConfig ? "config" : "weights"
        var shape = Array(repeating: 1, count: rank)
        guard mean.shape == variance.shape, mean.rank <= kept.count else {
            throw ConvertError.shape(layer: c.name, message: "statistics \(mean.shape), \(variance.shape) for axes \(kept)")
        }
        for i in stride(from: 1, through: mean.rank, by: 1) { shape[kept[kept.count - i]] = mean.shape[mean.rank - i] }
        let transform = source == "config" ? "the config's list as float32 (as Keras stores it), reshaped to \(Py.tuple(shape))" : "reshaped to \(Py.tuple(shape))"
        let meanGraph = c.parameter("mean", try mean.reshaped(shape), from: source == "config" ? "mean (config)" : "mean", kerasShape: mean.shape,
                                    transform: transform, buffer: true)
        let varianceGraph = c.parameter("variance", try variance.reshaped(shape), from: source == "config" ? "variance (config)" : "variance",
                                        kerasShape: variance.shape, transform: transform, buffer: true)
        let w = c.writer
        w.helper("KerasNormalization", normalizationHelper)
        let module = c.submodule("KerasNormalization(\(Py.tuple(shape)), epsilon=\(Py.float(NormalizationDefaults.kerasBackendEpsilon)))",
                                 comment: "Keras axis \(axes.count == 1 ? "\(axes[0])" : Py.tuple(axes)); epsilon is Keras's backend.epsilon()")
        w.line("\(c.output) = \(module)(\(x.python))")
        let centred = w.node("aten.sub.Tensor", [("self", .tensor(x.graph)), ("other", .tensor(meanGraph))], module: c.module)[0]
        let deviation = w.node("aten.sqrt.default", [("self", .tensor(varianceGraph))], module: c.module)[0]
        let floor = w.node("aten.clamp.default", [("self", .tensor(deviation)), ("min", .float(NormalizationDefaults.kerasBackendEpsilon))], module: c.module)[0]
        let y = w.node("aten.div.Tensor", [("self", .tensor(centred)), ("other", .tensor(floor))], module: c.module)[0]
        return TorchValue(graph: y, python: c.output, perm: x.perm)
    }

    static func resizing(_ c: LayerConversion) throws -> TorchValue {
        // The loader refuses crop_to_aspect_ratio, pad_to_aspect_ratio and antialias.
        let layer = try c.typed(ImageResize.self)
        let (size, interpolation) = (layer.size, layer.method.rawValue)
        let x = c.input(0, perm: LayerConversion.channelsFirst(from: layer.dataFormat, rank: 4))
        let bilinear = interpolation == "bilinear"
        let mode = bilinear ? "mode=\"bilinear\", align_corners=False" : "mode=\"nearest-exact\""
        let comment = bilinear ? "tf.image.resize bilinear: half-pixel centres, no antialias" : "tf.image.resize nearest: half-pixel centres (PyTorch's 'nearest' has none)"
        c.writer.line("\(c.output) = F.interpolate(\(x.python), size=\(Py.tuple(size)), \(mode))  # \(comment)")
        var arguments: [(String, TorchArgument)] = [("input", .tensor(x.graph)), ("output_size", .ints(size)), ("scale_factors", .none)]
        if bilinear { arguments.append(("align_corners", .bool(false))) }
        let y = c.writer.node(bilinear ? "aten.upsample_bilinear2d.vec" : "aten._upsample_nearest_exact2d.vec", arguments, module: c.module)[0]
        return TorchValue(graph: y, python: c.output, perm: x.perm)
    }
}
