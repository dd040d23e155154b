import ParityNN

/// Flatten, Reshape, Permute, RepeatVector, ZeroPadding, Cropping, UpSampling, Resizing
/// (`keras/src/layers/reshaping/`, `keras/src/layers/preprocessing/image_preprocessing/resizing.py`).
extension KerasLayers {
    static let reshaping: [String: Factory] = {
        var table: [String: Factory] = [
            "Flatten": { Flatten(dataFormat: try $0.dataFormat()) },
            "Reshape": { layer in
                let target = try layer.ints("target_shape")
                guard target.filter({ $0 == -1 }).count <= 1, target.allSatisfy({ $0 >= 1 || $0 == -1 }) else {
                    throw KerasError.badConfig(layer: layer.name, key: "target_shape", found: "\(target)")
                }
                return ReshapeLayer(targetShape: target)
            },
            "Permute": { layer in
                let dims = try layer.ints("dims")
                guard dims.sorted() == Array(1...max(dims.count, 1)) else { throw KerasError.badConfig(layer: layer.name, key: "dims", found: "\(dims)") }
                return PermuteAxes(dims: dims)
            },
            "RepeatVector": { RepeatVector(n: try $0.int("n")) },
        ]
        for rank in 1...3 {
            table["ZeroPadding\(rank)D"] = { layer in
                let (before, after) = try layer.sides("padding", rank: rank)
                return ZeroPadding(before: before, after: after, dataFormat: try layer.dataFormat())
            }
            table["Cropping\(rank)D"] = { layer in
                let (before, after) = try layer.sides("cropping", rank: rank)
                return Cropping(before: before, after: after, dataFormat: try layer.dataFormat())
            }
        }
        return table
    }()
}
