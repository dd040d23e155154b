import ParityKeras
import ParityTorch

/// `upsample_nearest2d` / `upsample_bilinear2d` (`align_corners=False`) by whole factors → UpSampling2D
/// (`nearest` repeats each cell, PyTorch's `i·in/out` floored index for a whole factor; `bilinear` is
/// TensorFlow's half-pixel resize, PyTorch's `align_corners=False`), on the channels-last input.
/// Refused: `align_corners=True`, sizes that are not whole multiples of the input.
enum UpsamplingOps: TorchToKerasFamily {
    static let targets: Set<String> = ["aten.upsample_nearest2d.vec", "aten.upsample_bilinear2d.vec"]

    static func convert(_ c: NodeConversion) throws -> [TorchOperand] {
        var x = try c.value("input")
        guard x.rank == 4 else { throw c.refuse("expects (N, C, H, W); received \(x.torchShape)") }
        let bilinear = c.target == "aten.upsample_bilinear2d.vec"
        if bilinear, try c.bool("align_corners") { throw c.refuse("align_corners=True: Keras's bilinear UpSampling2D is half-pixel (align_corners=False)") }
        let output = try c.outputShape()
        let spatial = Array(x.torchShape.suffix(2)), size = Array(output.suffix(2))
        let factors = (0..<2).map { size[$0] / spatial[$0] }
        var scales: [Double]?
        if case .floats(let s)? = c.node.argument("scale_factors") { scales = s }
        let whole = (0..<2).allSatisfy { i in
            factors[i] >= 1 && factors[i] * spatial[i] == size[i] && (scales.map { $0[i] == Double(factors[i]) } ?? true)
        }
        guard whole else {
            throw c.refuse("\(spatial) → \(size)\(scales.map { " (scale_factors \($0))" } ?? ""): UpSampling2D repeats by whole factors only")
        }
        x = c.arrange(x, as: channelsLast(4))
        return [.value(try c.layer("UpSampling2D", ["size": .ints(factors), "interpolation": .string(bilinear ? "bilinear" : "nearest"),
                                                    "data_format": .string("channels_last")], inputs: [x], perm: x.perm)[0])]
    }
}
