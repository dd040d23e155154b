import ParityNN

/// Config values shared by several layer families, each read with an error naming the layer and key.
extension KerasLayerConfig {
    /// Whether `key` is present and not null.
    public func has(_ key: String) -> Bool { config[key].map { !$0.isNull } ?? false }

    public func optionalDouble(_ key: String) throws -> Double? { has(key) ? try double(key) : nil }

    public func optionalInts(_ key: String, count: Int? = nil) throws -> [Int]? { has(key) ? try ints(key, count: count) : nil }

    /// `data_format` (`channels_last` when missing, as Keras's `image_data_format()` default).
    public func dataFormat() throws -> DataFormat {
        guard has("data_format") else { return .channelsLast }
        let value = try string("data_format")
        guard let format = DataFormat(rawValue: value) else {
            throw KerasError.unsupportedSetting(layer: name, key: "data_format", value: value)
        }
        return format
    }

    /// `padding`: `valid`, `same`, and `causal` where the layer allows it.
    public func padding(allowCausal: Bool = false) throws -> Padding {
        let value = try string("padding")
        switch value.lowercased() {
        case "valid": return .valid
        case "same": return .same
        case "causal" where allowCausal: return .causal
        default: throw KerasError.unsupportedSetting(layer: name, key: "padding", value: value)
        }
    }

    /// A per-axis `(before, after)` amount as Keras's ZeroPadding / Cropping accept it: one int for
    /// every side, a pair per axis, or (1-D) one pair.
    public func sides(_ key: String, rank: Int) throws -> (before: [Int], after: [Int]) {
        let v = try value(key)
        let bad = KerasError.badConfig(layer: name, key: key, found: "\(v)")
        if let i = v.int, i >= 0 { return (Array(repeating: i, count: rank), Array(repeating: i, count: rank)) }
        guard let items = v.array else { throw bad }
        if rank == 1, items.count == 2, let a = items[0].int, let b = items[1].int, a >= 0, b >= 0 { return ([a], [b]) }
        guard items.count == rank else { throw bad }
        var before = [Int](), after = [Int]()
        for item in items {
            if let i = item.int, i >= 0 { before.append(i); after.append(i); continue }
            guard let pair = item.array, pair.count == 2, let a = pair[0].int, let b = pair[1].int, a >= 0, b >= 0 else { throw bad }
            before.append(a)
            after.append(b)
        }
        return (before, after)
    }

    /// An `axis` that may be one int or a list of ints.
    public func axes(_ key: String = "axis") throws -> [Int] {
        let v = try value(key)
        if let i = v.int { return [i] }
        return try ints(key)
    }

    /// Fails with a clear error unless `key` is missing or has one of `allowed` values (for options
    /// Parity does not implement, e.g. `renorm`).
    public func require(_ key: String, in allowed: [KerasJSON]) throws {
        guard let v = config[key], !allowed.contains(v) else { return }
        throw KerasError.unsupportedSetting(layer: name, key: key, value: "\(v)")
    }

    /// Wraps a layer-construction error from the engine (`TensorError`) as a `KerasError` naming the layer.
    public func guarded<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as TensorError {
            throw KerasError.weightMismatch(layer: name, message: "\(error)")
        }
    }
}
