import ParityNN

/// Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot (`keras/src/layers/merging/`).
extension KerasLayers {
    static let merging: [String: Factory] = [
        "Add": { _ in Merge(.add) }, "Subtract": { _ in Merge(.subtract) }, "Multiply": { _ in Merge(.multiply) },
        "Average": { _ in Merge(.average) }, "Maximum": { _ in Merge(.maximum) }, "Minimum": { _ in Merge(.minimum) },
        "Concatenate": { Concatenate(axis: try $0.has("axis") ? $0.int("axis") : -1) },
        "Dot": { layer in
            let axes = try layer.axes("axes")
            guard axes.count == 1 || axes.count == 2 else { throw KerasError.badConfig(layer: layer.name, key: "axes", found: "\(axes)") }
            return Dot(axes: (axes[0], axes.last!), normalize: try layer.has("normalize") ? layer.bool("normalize") : false)
        },
    ]
}
