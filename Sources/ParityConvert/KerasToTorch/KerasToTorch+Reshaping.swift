import ParityKeras
import ParityTorch

/// Flatten (in Keras's order: a channels-first held tensor goes back to channels-last first, and Keras's
/// own `channels_first` Flatten transposes to channels-last too), Reshape and Permute (their shapes and
/// dims exclude the batch axis; Permute counts from 1).
enum ReshapingLayers: KerasToTorchFamily {
    static let classes: Set<String> = ["Flatten", "Reshape", "Permute"]

    static func convert(_ c: LayerConversion) throws -> [TorchValue] {
        let k = c.keras
        switch c.className {
        case "Flatten":
            let rank = c.inputs[0].rank
            let channelsFirst = try k.dataFormat() == .channelsFirst && rank > 2
            // keras/src/layers/reshaping/flatten.py: channels_first inputs are transposed to channels-last first.
            let order = channelsFirst ? [0] + Array(2..<rank) + [1] : Array(0..<rank)
            let wasPermuted = c.inputs[0].perm != order
            let x = c.input(0, perm: order)
            if wasPermuted && rank > 2 { c.comment("Keras flattens in (\(channelsFirst ? "spatial…, C" : "H, W, C")) order, not PyTorch's (C, H, W)") }
            return [c.apply("torch.flatten(\(x.python), 1)", "aten.flatten.using_ints", [("self", .tensor(x.graph)), ("start_dim", .int(1)), ("end_dim", .int(-1))],
                            perm: [0, 1])]
        case "Reshape":
            let x = c.kerasInput()
            let target = try k.ints("target_shape")
            let batch = c.inputShapes[0].first ?? 1
            return [c.apply("\(x.python).reshape(\(x.python).shape[0], \(target.map(String.init).joined(separator: ", ")))", "aten.reshape.default",
                            [("self", .tensor(x.graph)), ("shape", .ints([batch] + target))], perm: Array(0...target.count))]
        case "Permute":
            let x = c.kerasInput()
            let dims = try k.ints("dims")
            let order = [0] + dims
            return [c.apply("\(x.python).permute(\(order.map(String.init).joined(separator: ", ")))", "aten.permute.default",
                            [("self", .tensor(x.graph)), ("dims", .ints(order))], perm: Array(order.indices),
                            comment: "Keras Permute(\(Py.tuple(dims))) counts axes from 1 after the batch")]
        default:
            throw ConvertError.unsupportedLayer(name: c.name, className: c.className, supported: KerasToTorch.supportedClasses)
        }
    }
}
