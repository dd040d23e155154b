import ParityNN

/// Max / average pooling and their global forms (`keras/src/layers/pooling/`).
extension KerasLayers {
    static let pooling: [String: Factory] = {
        var table: [String: Factory] = [:]
        for rank in 1...3 {
            table["MaxPooling\(rank)D"] = { try pool($0, .max, rank: rank) }
            table["AveragePooling\(rank)D"] = { try pool($0, .mean, rank: rank) }
            table["MaxPool\(rank)D"] = { try pool($0, .max, rank: rank) }
            table["AvgPool\(rank)D"] = { try pool($0, .mean, rank: rank) }
            table["GlobalMaxPooling\(rank)D"] = { try global($0, .max) }
            table["GlobalAveragePooling\(rank)D"] = { try global($0, .mean) }
            table["GlobalMaxPool\(rank)D"] = { try global($0, .max) }
            table["GlobalAvgPool\(rank)D"] = { try global($0, .mean) }
        }
        return table
    }()

    /// Keras: `strides` defaults to `pool_size` (the config stores the resolved value).
    static func pool(_ layer: KerasLayerConfig, _ kind: ReductionKind, rank: Int) throws -> any Model {
        let window = try layer.ints("pool_size", count: rank)
        let strides = try layer.has("strides") ? layer.ints("strides", count: rank) : window
        for (key, values) in [("pool_size", window), ("strides", strides)] where values.contains(where: { $0 < 1 }) {
            throw KerasError.badConfig(layer: layer.name, key: key, found: "\(values)")
        }
        return Pooling(kind, window: window, strides: strides, padding: try layer.padding(), dataFormat: try layer.dataFormat())
    }

    static func global(_ layer: KerasLayerConfig, _ kind: ReductionKind) throws -> any Model {
        GlobalPooling(kind, keepDims: try layer.has("keepdims") ? layer.bool("keepdims") : false, dataFormat: try layer.dataFormat())
    }
}
