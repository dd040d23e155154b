import ParityKeras
import ParityNN

/// A Keras weight constraint, `keras/src/constraints/constraints.py` (Keras 3): the optimizer assigns
/// `constraint(variable)` to each constrained trainable variable right after its update
/// (`BaseOptimizer.apply`). The norms are `sqrt(sum(w², axis, keepdims))` and ε is `backend.epsilon()` = 1e-7.
public enum KerasConstraint: Sendable, Equatable {
    /// `MaxNorm`: `w · clip(norms, 0, max) / (ε + norms)`.
    case maxNorm(max: Double, axes: [Int])
    /// `NonNeg`: `maximum(w, 0)`.
    case nonNeg
    /// `UnitNorm`: `w / (ε + norms)`.
    case unitNorm(axes: [Int])
    /// `MinMaxNorm`: `w · (rate · clip(norms, min, max) + (1 − rate) · norms) / (ε + norms)`.
    case minMaxNorm(min: Double, max: Double, rate: Double, axes: [Int])

    /// The config keys a constraint can sit under, with the variable each constrains: every regularizer key
    /// (``KerasRegularizer/variableKeys``) with `_constraint` in place of `_regularizer` (`kernel_constraint`, …).
    public static let variableKeys: [(key: String, variable: String)] = KerasRegularizer.variableKeys.map {
        (String($0.key.dropLast("_regularizer".count)) + "_constraint", $0.variable)
    }

    /// The constraint a layer config records (`{"class_name": "MaxNorm", "config": {"max_value": 2, "axis": 0}}`);
    /// `nil` for any other class or a config Parity cannot read.
    public init?(config value: KerasJSON) {
        guard let className = value["class_name"]?.string else { return nil }
        let config = value["config"]
        func number(_ name: String, _ fallback: Double) -> Double? {
            guard let entry = config?[name], !entry.isNull else { return fallback }
            return entry.double
        }
        func axes() -> [Int]? {
            guard let entry = config?["axis"], !entry.isNull else { return [0] }
            if let axis = entry.int { return [axis] }
            return entry.ints
        }
        switch className {
        case "NonNeg": self = .nonNeg
        case "MaxNorm":
            guard let max = number("max_value", 2), let axes = axes() else { return nil }
            self = .maxNorm(max: max, axes: axes)
        case "UnitNorm":
            guard let axes = axes() else { return nil }
            self = .unitNorm(axes: axes)
        case "MinMaxNorm":
            guard let min = number("min_value", 0), let max = number("max_value", 1), let rate = number("rate", 1), let axes = axes() else { return nil }
            self = .minMaxNorm(min: min, max: max, rate: rate, axes: axes)
        default: return nil
        }
    }

    /// The constrained value of `w`, computed in Float64 and rounded to `w`'s dtype.
    public func apply(_ w: Tensor) throws -> Tensor {
        let values = w.doubles
        let result: [Double]
        switch self {
        case .nonNeg:
            result = values.map { Swift.max($0, 0) }
        case .maxNorm(let high, let axes):
            let norms = try Self.norms(values, shape: w.shape, axes: axes)
            result = zip(values, norms).map { x, n in x * (Swift.min(Swift.max(n, 0), high) / (NormalizationDefaults.kerasBackendEpsilon + n)) }
        case .unitNorm(let axes):
            let norms = try Self.norms(values, shape: w.shape, axes: axes)
            result = zip(values, norms).map { x, n in x / (NormalizationDefaults.kerasBackendEpsilon + n) }
        case .minMaxNorm(let low, let high, let rate, let axes):
            let norms = try Self.norms(values, shape: w.shape, axes: axes)
            result = zip(values, norms).map { x, n in x * ((rate * Swift.min(Swift.max(n, low), high) + (1 - rate) * n) / (NormalizationDefaults.kerasBackendEpsilon + n)) }
        }
        return Tensor(shape: w.shape, values: result).cast(to: w.dtype)
    }

    /// For each element, the norm of its slice along `axes` (the reduced axes; negative ones count from the end).
    static func norms(_ values: [Double], shape: [Int], axes: [Int]) throws -> [Double] {
        let rank = shape.count
        let reduced = Set(try axes.map { axis -> Int in
            let a = axis < 0 ? axis + rank : axis
            guard a >= 0, a < rank else { throw TrainError.badArgument(name: "constraint axis", value: "\(axis)", reason: "the variable has rank \(rank)") }
            return a
        })
        var strides = [Int](repeating: 1, count: rank)
        for d in stride(from: rank - 2, through: 0, by: -1) { strides[d] = strides[d + 1] * shape[d + 1] }
        // The key of an element: its flat index with the reduced axes' coordinates set to 0.
        func key(_ index: Int) -> Int {
            var k = 0
            for d in 0..<rank where !reduced.contains(d) { k += (index / strides[d]) % shape[d] * strides[d] }
            return k
        }
        var sums: [Int: Double] = [:]
        for (i, x) in values.enumerated() { sums[key(i), default: 0] += x * x }
        return values.indices.map { (sums[key($0)] ?? 0).squareRoot() }
    }
}
