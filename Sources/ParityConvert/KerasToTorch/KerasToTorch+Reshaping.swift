import ParityKeras
import ParityNN
import ParityTorch

/// Flatten (in Keras's order: a channels-first held tensor goes back to channels-last first, and Keras's
/// own `channels_first` Flatten transposes to channels-last too), Reshape and Permute (their shapes and
/// dims exclude the batch axis; Permute counts from 1); ZeroPadding → `F.pad` and Cropping → slicing
/// on whatever layout the value is held in (Keras's `((top, bottom), (left, right))` becomes F.pad's
/// last-axis-first list); UpSampling1D/2D → `F.interpolate` / `nn.Upsample` (`nearest` repeats;
/// Keras's `bilinear` uses half-pixel centres, PyTorch's `align_corners=False`); RepeatVector →
/// `unsqueeze(1).expand(...)`.
///
/// Parity's ATen table upsamples 2-D only; a 1-D upsampling runs there as `unsqueeze(2)`, the 2-D
/// upsampling by `(1, s)`, `squeeze(2)`, which is the same computation.
enum ReshapingLayers: KerasToTorchFamily {
    static let classes: Set<String> = [
        "Flatten", "Reshape", "Permute", "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D", "Cropping1D", "Cropping2D", "Cropping3D",
        "UpSampling1D", "UpSampling2D", "RepeatVector",
    ]

    static func convert(_ c: LayerConversion) throws -> [TorchValue] {
        switch c.className {
        case "Flatten":
            let rank = c.inputs[0].rank
            let channelsFirst = try c.typed(Flatten.self).dataFormat == .channelsFirst && rank > 2
            // keras/src/layers/reshaping/flatten.py: channels_first inputs are transposed to channels-last first.
            let order = channelsFirst ? DataFormat.channelsLast.permutation(rank: rank) : Array(0..<rank)
            let wasPermuted = c.inputs[0].perm != order
            let x = c.input(0, perm: order)
            if wasPermuted && rank > 2 { c.comment("Keras flattens in (\(channelsFirst ? "spatial…, C" : "H, W, C")) order, not PyTorch's (C, H, W)") }
            return [c.apply("torch.flatten(\(x.python), 1)", "aten.flatten.using_ints", [("self", .tensor(x.graph)), ("start_dim", .int(1)), ("end_dim", .int(-1))],
                            perm: [0, 1])]
        case "Reshape":
            let x = c.kerasInput()
            let target = try c.typed(ReshapeLayer.self).targetShape
            let batch = c.inputShapes[0].first ?? 1
            return [c.apply("\(x.python).reshape(\(x.python).shape[0], \(target.map(String.init).joined(separator: ", ")))", "aten.reshape.default",
                            [("self", .tensor(x.graph)), ("shape", .ints([batch] + target))], perm: Array(0...target.count))]
        case "Permute":
            let x = c.kerasInput()
            let dims = try c.typed(PermuteAxes.self).dims
            let order = [0] + dims
            return [c.apply("\(x.python).permute(\(order.map(String.init).joined(separator: ", ")))", "aten.permute.default",
                            [("self", .tensor(x.graph)), ("dims", .ints(order))], perm: Array(order.indices),
                            comment: "Keras Permute(\(Py.tuple(dims))) counts axes from 1 after the batch")]
        case let name where name.hasPrefix("ZeroPadding") || name.hasPrefix("Cropping"):
            let n = Int(String(name.dropLast().last!))!
            let x = c.inputs[0]
            let crop = name.hasPrefix("Cropping")
            let (before, after, format): ([Int], [Int], DataFormat)
            switch c.layer.model {
            case let m as Cropping: (before, after, format) = (m.before, m.after, m.dataFormat)
            case let m as ZeroPadding: (before, after, format) = (m.before, m.after, m.dataFormat)
            default: throw ConvertError.shape(layer: c.name, message: "was loaded as \(type(of: c.layer.model)), not as a padding or cropping")
            }
            let spatial = format == .channelsLast ? Array(1...n) : Array(2..<(n + 2))
            var amounts: [Int: (Int, Int)] = [:]
            for (i, axis) in spatial.enumerated() { amounts[axis] = (before[i], after[i]) }
            let keras = "Keras \(name) \(zip(before, after).map { "(\($0), \($1))" }.joined(separator: ", "))"
            return [crop ? cropping(c, x, amounts, comment: keras) : TorchPad.pad(c, x, keras: amounts, value: 0, comment: keras + ": F.pad lists the last axis first")]
        case "UpSampling1D", "UpSampling2D":
            return [try upsampling(c, n: c.className == "UpSampling1D" ? 1 : 2)]
        case "RepeatVector":
            let x = c.kerasInput()
            let n = try c.typed(RepeatVector.self).n
            c.writer.line("\(c.output) = \(x.python).unsqueeze(1).expand(-1, \(n), -1)  # Keras RepeatVector(\(n)): (N, D) → (N, \(n), D)")
            let unsqueezed = c.writer.node("aten.unsqueeze.default", [("self", .tensor(x.graph)), ("dim", .int(1))], module: c.module)[0]
            let y = c.writer.node("aten.expand.default", [("self", .tensor(unsqueezed)), ("size", .ints([-1, n, -1]))], module: c.module)[0]
            return [TorchValue(graph: y, python: c.output, perm: [0, 1, 2])]
        default:
            throw ConvertError.unsupportedLayer(name: c.name, className: c.className, supported: KerasToTorch.supportedClasses)
        }
    }

    /// `x[:, a:-b, …]` over the held layout; one `aten.slice` per cropped axis.
    static func cropping(_ c: LayerConversion, _ x: TorchValue, _ amounts: [Int: (Int, Int)], comment: String) -> TorchValue {
        let shape = c.inputShapes[0]
        let last = x.perm.lastIndex { amounts[$0] != nil }!
        let slices = (0...last).map { p -> String in
            guard let (b, a) = amounts[x.perm[p]] else { return ":" }
            return "\(b == 0 ? "" : "\(b)"):\(a == 0 ? "" : "-\(a)")"
        }
        c.writer.line("\(c.output) = \(x.python)[\(slices.joined(separator: ", "))]  # \(comment)")
        var graph = x.graph
        for p in 0...last {
            guard let (b, a) = amounts[x.perm[p]] else { continue }
            graph = c.writer.node("aten.slice.Tensor", [("self", .tensor(graph)), ("dim", .int(p)), ("start", .int(b)),
                                                        ("end", .int(shape[x.perm[p]] - a)), ("step", .int(1))], module: c.module)[0]
        }
        return TorchValue(graph: graph, python: c.output, perm: x.perm)
    }

    static func upsampling(_ c: LayerConversion, n: Int) throws -> TorchValue {
        let (size, format, interpolation): ([Int], DataFormat, String)
        switch c.layer.model {
        case let m as Upsampling: (size, format, interpolation) = (m.factors, m.dataFormat, "nearest")
        case let m as UpsamplingByResize: (size, format, interpolation) = (m.factors, m.dataFormat, "bilinear")
        default: throw ConvertError.shape(layer: c.name, message: "was loaded as \(type(of: c.layer.model)), not as an upsampling")
        }
        guard interpolation == "nearest" || n == 2 else {
            throw c.refuse("interpolation", interpolation, "only nearest (1-D, 2-D) and bilinear (2-D) are converted")
        }
        let rank = n + 2
        let x = c.input(0, perm: LayerConversion.channelsFirst(from: format, rank: rank))
        let scales = size.map(Double.init)
        let bilinear = interpolation == "bilinear"
        let mode = bilinear ? "mode=\"bilinear\", align_corners=False" : "mode=\"nearest\""
        let comment = bilinear ? "Keras bilinear: half-pixel centres" : "Keras repeats each cell"
        let factor = n == 1 ? Py.float(scales[0]) : "(\(scales.map(Py.float).joined(separator: ", ")))"
        if n == 1 {
            c.writer.line("\(c.output) = F.interpolate(\(x.python), scale_factor=\(factor), \(mode))  # \(comment)")
        } else {
            let module = c.submodule("nn.Upsample(scale_factor=\(factor), \(mode))", comment: comment)
            c.writer.line("\(c.output) = \(module)(\(x.python))")
        }
        let w = c.writer
        let input = n == 1 ? w.node("aten.unsqueeze.default", [("self", .tensor(x.graph)), ("dim", .int(2))], module: c.module)[0] : x.graph
        var arguments: [(String, TorchArgument)] = [("input", .tensor(input)), ("output_size", .none), ("scale_factors", .floats(n == 1 ? [1] + scales : scales))]
        if bilinear { arguments.append(("align_corners", .bool(false))) }
        let y = w.node(bilinear ? "aten.upsample_bilinear2d.vec" : "aten.upsample_nearest2d.vec", arguments, module: c.module)[0]
        let graph = n == 1 ? w.node("aten.squeeze.dim", [("self", .tensor(y)), ("dim", .int(2))], module: c.module)[0] : y
        return TorchValue(graph: graph, python: c.output, perm: x.perm)
    }
}
