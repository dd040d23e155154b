import ParityKeras
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
        let k = c.keras
        guard let scale = c.layer.config["scale"]?.double else { throw c.refuse("scale", "\(c.layer.config["scale"] ?? .null)", "only one scale for every channel is converted") }
        guard let offset = (c.layer.config["offset"] ?? .int(0)).double else {
            throw c.refuse("offset", "\(try k.value("offset"))", "only one offset for every channel is converted")
        }
        let x = c.inputs[0]
        c.writer.line("\(c.output) = \(x.python) * \(Py.float(scale)) + \(Py.float(offset))  # Keras Rescaling(scale, offset)")
        let scaled = c.writer.node("aten.mul.Tensor", [("self", .tensor(x.graph)), ("other", .float(scale))], module: c.module)[0]
        let shifted = c.writer.node("aten.add.Tensor", [("self", .tensor(scaled)), ("other", .float(offset))], module: c.module)[0]
        return TorchValue(graph: shifted, python: c.output, perm: x.perm)
    }

    /// Keras's `backend.epsilon()`, the floor of the standard deviation.
    static let normalizationEpsilon = 1e-7

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
        let k = c.keras
        if try k.has("invert") && k.bool("invert") { throw c.refuse("invert", "true", "only the forward normalisation is converted") }
        let x = c.kerasInput()
        let rank = x.rank
        let axes = try k.has("axis") ? k.axes() : [-1]
        let kept = axes.map { $0 < 0 ? $0 + rank : $0 }.sorted()
        let mean: Tensor, variance: Tensor, source: String
        if let m = c.layer.config["mean"], !m.isNull, let v = c.layer.config["variance"], !v.isNull {
            func values(_ value: KerasJSON, _ key: String) throws -> Tensor {
                if let d = value.double { return Tensor(shape: [], values: [Float(d)]) }
                guard let items = value.array, items.allSatisfy({ $0.double != nil }) else { throw c.refuse(key, "\(value)", "not a list of numbers") }
                return Tensor(shape: [items.count], values: items.map { Float($0.double!) })
            }
            (mean, variance, source) = (try values(m, "mean"), try values(v, "variance"), "config")
        } else {
            guard c.layer.weights.count >= 2 else { throw ConvertError.shape(layer: c.name, message: "Normalization has no mean and variance") }
            (mean, variance, source) = (c.layer.weights[0].cast(to: .float32), c.layer.weights[1].cast(to: .float32), "weights")
        }
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
        let module = c.submodule("KerasNormalization(\(Py.tuple(shape)), epsilon=\(Py.float(normalizationEpsilon)))",
                                 comment: "Keras axis \(axes.count == 1 ? "\(axes[0])" : Py.tuple(axes)); epsilon is Keras's backend.epsilon()")
        w.line("\(c.output) = \(module)(\(x.python))")
        let centred = w.node("aten.sub.Tensor", [("self", .tensor(x.graph)), ("other", .tensor(meanGraph))], module: c.module)[0]
        let deviation = w.node("aten.sqrt.default", [("self", .tensor(varianceGraph))], module: c.module)[0]
        let floor = w.node("aten.clamp.default", [("self", .tensor(deviation)), ("min", .float(normalizationEpsilon))], module: c.module)[0]
        let y = w.node("aten.div.Tensor", [("self", .tensor(centred)), ("other", .tensor(floor))], module: c.module)[0]
        return TorchValue(graph: y, python: c.output, perm: x.perm)
    }

    static func resizing(_ c: LayerConversion) throws -> TorchValue {
        let k = c.keras
        for key in ["crop_to_aspect_ratio", "pad_to_aspect_ratio", "antialias"] where try k.has(key) && k.bool(key) {
            throw c.refuse(key, "true", "only a plain resize is converted")
        }
        let size = [try k.int("height"), try k.int("width")]
        let interpolation = try k.has("interpolation") ? k.string("interpolation") : "bilinear"
        guard interpolation == "bilinear" || interpolation == "nearest" else {
            throw c.refuse("interpolation", interpolation, "only bilinear and nearest are converted")
        }
        let channelsLast = try k.dataFormat() == .channelsLast
        let x = c.input(0, perm: LayerConversion.channelFirst(channelsLast ? 3 : 1, rank: 4))
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
