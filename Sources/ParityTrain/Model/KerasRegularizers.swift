import Foundation
import ParityKeras
import ParityNN

/// A Keras weight regularizer, `keras/src/regularizers/regularizers.py` (Keras 3), computed in the variable's dtype
/// on the variable's value before the step:
///
/// - `L1(l1)` is `l1 · sum(|x|)`, `L2(l2)` is `l2 · sum(x²)`, `L1L2(l1, l2)` the two added (a zero factor's term
///   left out): ``l1l2(l1:l2:)``;
/// - `OrthogonalRegularizer(factor, mode)` (``orthogonal(factor:rows:)``), on a rank-2 variable only: the rows
///   (`mode="rows"`) or columns L2-normalized (`normalize`: `x·min(rsqrt(Σx²), 1/ε)`, ε = 1e-7), their Gram
///   matrix with its diagonal zeroed, then `factor · 0.5 · sum(|product|) / (n(n − 1)/2)` for `n` rows or columns.
public enum KerasRegularizer: Sendable, Equatable, CustomStringConvertible {
    case l1l2(l1: Double, l2: Double)
    case orthogonal(factor: Double, rows: Bool)

    /// `L1L2(l1, l2)`; `L1(l1)` and `L2(l2)` leave the other factor 0.
    public init(l1: Double = 0, l2: Double = 0) { self = .l1l2(l1: l1, l2: l2) }

    /// The config keys a regularizer can sit under, with the variable each regularizes (the last part of its
    /// Keras path). `activity_regularizer` (a penalty on the layer's output) is not among them.
    public static let variableKeys: [(key: String, variable: String)] = [
        ("kernel_regularizer", "kernel"), ("bias_regularizer", "bias"), ("recurrent_regularizer", "recurrent_kernel"),
        ("embeddings_regularizer", "embeddings"), ("depthwise_regularizer", "depthwise_kernel"),
        ("pointwise_regularizer", "pointwise_kernel"), ("gamma_regularizer", "gamma"), ("beta_regularizer", "beta"),
        ("alpha_regularizer", "alpha"),
    ]

    /// The regularizers Parity applies, as the refusals name them.
    public static let known = "L1, L2, L1L2 and OrthogonalRegularizer"

    /// The regularizer a layer config records, serialized as `{"class_name": "L2", "config": {"l2": 0.01}}` (a
    /// string identifier given to the layer is saved so too); `nil` for any other class or setting.
    public init?(config value: KerasJSON) {
        guard let className = value["class_name"]?.string else { return nil }
        let config = value["config"]
        if className == "OrthogonalRegularizer" {
            // Defaults of `OrthogonalRegularizer.__init__`: factor 0.01, mode "rows".
            var factor: Double? = 0.01
            if let entry = config?["factor"] { factor = entry.double }
            let mode = config?["mode"]?.string ?? "rows"
            guard let factor, ["rows", "columns"].contains(mode) else { return nil }
            self = .orthogonal(factor: factor, rows: mode == "rows")
            return
        }
        func factor(_ name: String) -> Double? {
            guard let entry = config?[name] else { return 0 }
            return entry.isNull ? 0 : entry.double
        }
        guard let l1 = factor("l1"), let l2 = factor("l2") else { return nil }
        switch className {
        case "L1", "l1": self.init(l1: l1)
        case "L2", "l2": self.init(l2: l2)
        case "L1L2", "l1_l2": self.init(l1: l1, l2: l2)
        default: return nil
        }
    }

    /// As Keras's Python writes it: `L2(0.05)`, `L1L2(l1=0.01, l2=0.02)`, `OrthogonalRegularizer(factor=0.01, mode="rows")`.
    public var description: String {
        switch self {
        case let .l1l2(l1, 0): return "L1(\(Self.number(l1)))"
        case let .l1l2(0, l2): return "L2(\(Self.number(l2)))"
        case let .l1l2(l1, l2): return "L1L2(l1=\(Self.number(l1)), l2=\(Self.number(l2)))"
        case let .orthogonal(factor, rows): return "OrthogonalRegularizer(factor=\(Self.number(factor)), mode=\"\(rows ? "rows" : "columns")\")"
        }
    }

    static func number(_ x: Double) -> String { String(format: "%g", x) }

    /// Why the regularizer cannot apply to a variable of `shape` (Keras raises the same at the first step), or `nil`.
    public func refusal(shape: [Int]) -> String? {
        guard case .orthogonal = self, shape.count != 2 else { return nil }
        return "OrthogonalRegularizer needs a rank-2 variable (Keras raises at the first step); this one has shape \(shape)"
    }

    /// The penalty of `x`, as the regularizer's `__call__` computes it (``KerasRegularizer``).
    public func penalty<B: Builder>(_ x: B.Value, in b: B) throws -> B.Value? {
        let shape = b.shape(of: x)
        switch self {
        case let .l1l2(l1, l2):
            let axes = Array(0..<shape.count)
            var total: B.Value? = nil
            if l1 != 0 {
                total = try b.multiply(b.scalar(l1, like: x), b.reduce(.sum, b.unary(.abs, x), axes: axes, keepDims: false))
            }
            if l2 != 0 {
                let term = try b.multiply(b.scalar(l2, like: x), b.reduce(.sum, b.multiply(x, x), axes: axes, keepDims: false))
                total = try total.map { try b.add($0, term) } ?? term
            }
            return total
        case let .orthogonal(factor, rows):
            if let reason = refusal(shape: shape) { throw TrainError.unsupportedModel(reason) }
            let normalized = try KerasNormalize.l2(x, axes: [rows ? 1 : 0], in: b)
            let transposed = try b.transposeMatrix(normalized)
            let product = try rows ? b.matmul(normalized, transposed) : b.matmul(transposed, normalized)
            let size = shape[rows ? 0 : 1]
            let offDiagonal = (0..<size * size).map { $0 / size == $0 % size ? 0.0 : 1.0 }
            let mask = b.constant(Tensor(shape: [size, size], values: offDiagonal).cast(to: b.type(of: x).dtype))
            let sum = try b.reduce(.sum, b.unary(.abs, b.multiply(product, mask)), axes: [0, 1], keepDims: false)
            let pairs = Double(size) * (Double(size) - 1) / 2
            return try b.divide(b.multiply(b.scalar(factor * 0.5, like: x), sum), b.scalar(pairs, like: x))
        }
    }
}
