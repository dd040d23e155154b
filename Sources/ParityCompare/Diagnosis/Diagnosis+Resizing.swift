import ParityKeras
import ParityNN
import ParityTorch

extension Diagnosis {
    /// `interpolation-mode`: B's upsampling node (its mode and `align_corners`) applied to A's input when it
    /// resamples differently: Keras 3 bilinear uses half-pixel centres (PyTorch `align_corners=False`),
    /// Keras nearest repeats (conventions.md F.26).
    static func interpolationMode(_ c: Context) throws -> [Hypothesis] {
        let modeA: String
        switch c.layer.model {
        case is Upsampling: modeA = "nearest"
        case is UpsamplingByResize: modeA = "bilinear"
        case let m as ImageResize: modeA = m.method.rawValue
        default: return []
        }
        guard ["UpSampling2D", "Resizing"].contains(c.layer.className),
              let node = c.nodes.first(where: { $0.target.hasPrefix("aten.upsample_") }) else { return [] }
        let bilinearB = node.target.contains("bilinear")
        let alignCorners = bool(node, "align_corners") ?? false
        let describedB: String
        switch (modeA, bilinearB, alignCorners) {
        case ("bilinear", true, false), ("nearest", false, _): return []
        case (_, true, true): describedB = "bilinear with align_corners=True (corner pixels aligned)"
        case (_, true, false): describedB = "bilinear (half-pixel centres)"
        default: describedB = "nearest"
        }
        let describedA = modeA == "bilinear" ? "bilinear with half-pixel centres (align_corners=False)" : modeA
        let fix = modeA == "bilinear" ? "nn.Upsample(scale_factor=..., mode=\"bilinear\", align_corners=False)"
            : "nn.Upsample(scale_factor=..., mode=\"\(modeA)\")"
        let kerasFix = bilinearB && alignCorners ? "no Keras layer resizes with align_corners=True: use align_corners=False on the PyTorch side (keras.ops can: `parity convert --to keras` writes it as one Matmul per axis)"
            : "keras.layers.UpSampling2D(..., interpolation=\"\(bilinearB ? "bilinear" : "nearest")\")"
        return [Hypothesis(cause: .interpolationMode, a: describedA, b: describedB, fix: fix, kerasFix: kerasFix, rerun: c.applyingB(node, argument: "input"))]
    }
}
