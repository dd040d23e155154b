import ParityNN
import ParityKeras

/// Where Keras and PyTorch keep the same weights (docs/conventions.md A.1–A.4, C.11–C.12, D.13–D.14,
/// E.18): per Keras layer class, each Keras variable ↔ the PyTorch parameter(s) of the module it becomes,
/// with the transform as data (``ParameterStep``, ``ParameterRow/Parts``). The one mapping read by
/// Keras → PyTorch (state_dict entries and the printed mapping), PyTorch → Keras (the weights written into
/// the `.keras` archive) and `parity compare`'s weight check; its wording is generated from the data,
/// in either direction.
public enum ParameterTable {
    /// What a layer holds beyond its class: whether it has a bias (`use_bias`), a scale and an offset
    /// (`scale`, `center`), and for a GRU whether it is `reset_after` (a convolution's spatial rank is in its class name).
    public struct Options: Sendable, Hashable {
        public var bias: Bool
        public var scale: Bool
        public var center: Bool
        public var resetAfter: Bool

        public init(bias: Bool = true, scale: Bool = true, center: Bool = true, resetAfter: Bool = true) {
            (self.bias, self.scale, self.center, self.resetAfter) = (bias, scale, center, resetAfter)
        }
    }

    /// The PyTorch module each Keras class becomes in a faithful port.
    public static let modules: [String: String] = [
        "Dense": "nn.Linear", "Embedding": "nn.Embedding",
        "Conv1D": "nn.Conv1d", "Conv2D": "nn.Conv2d", "Conv3D": "nn.Conv3d",
        "Conv1DTranspose": "nn.ConvTranspose1d", "Conv2DTranspose": "nn.ConvTranspose2d", "Conv3DTranspose": "nn.ConvTranspose3d",
        "DepthwiseConv1D": "nn.Conv1d(groups=C)", "DepthwiseConv2D": "nn.Conv2d(groups=C)",
        "SeparableConv1D": "nn.Conv1d(groups=C) then nn.Conv1d", "SeparableConv2D": "nn.Conv2d(groups=C) then nn.Conv2d",
        "BatchNormalization": "nn.BatchNorm{1,2,3}d", "LayerNormalization": "nn.LayerNorm", "GroupNormalization": "nn.GroupNorm",
        "LSTM": "nn.LSTM", "GRU": "nn.GRU", "SimpleRNN": "nn.RNN",
        "LayerScale": "KerasLayerScale (x * gamma)",
    ]

    /// The Keras and PyTorch names of each recurrent class's gate blocks, in each framework's order, and
    /// the order taking Keras's blocks to PyTorch's (PyTorch's block `j` is Keras's block `order[j]`).
    /// GRU: ParityNN's `GRU.GateOrder` values (Keras `[z, r, h]`, PyTorch `[r, z, n]`), which the layer and
    /// the ATen kernel also run; LSTM: the same order under other names (`c` is `g`).
    public static let gates: [String: ParameterStep] = [
        "LSTM": .gates(keras: ["i", "f", "c", "o"], torch: ["i", "f", "g", "o"], order: [0, 1, 2, 3]),
        "GRU": .gates(keras: GRU.GateOrder.keras.names, torch: GRU.GateOrder.pyTorch.names, order: GRU.GateOrder.pyTorch.blocks(from: .keras)),
    ]

    /// Keras's convolution kernel `(k…, in, out)` (a transposed convolution's `(k…, out, in)`) → PyTorch's
    /// `(out, in, k…)` (`(in, out, k…)`), for `spatial` kernel axes.
    public static func convolutionKernel(spatial: Int) -> ParameterStep { .permute([spatial + 1, spatial] + Array(0..<spatial)) }

    /// The rows of Keras class `className` in Keras's `layer.weights` order; `nil` for a class without a
    /// faithful PyTorch module (a GRU with `reset_after=False` included).
    public static func rows(_ className: String, _ o: Options = Options()) -> [ParameterRow]? {
        let bias = o.bias ? [ParameterRow("bias", "bias")] : []
        // A convolution class names its spatial rank (Conv1D, DepthwiseConv2D).
        let spatial = className.first(where: \.isNumber).flatMap { Int(String($0)) } ?? 2
        switch className {
        case "Dense":
            return [ParameterRow("kernel", "weight", [.permute([1, 0])])] + bias
        case "Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose":
            return [ParameterRow("kernel", "weight", [convolutionKernel(spatial: spatial)])] + bias
        case "DepthwiseConv1D", "DepthwiseConv2D":
            return [ParameterRow("kernel", "weight", [.depthwiseChannels, convolutionKernel(spatial: spatial)])] + bias
        case "SeparableConv1D", "SeparableConv2D":
            return [ParameterRow("depthwise_kernel", "weight", [.depthwiseChannels, convolutionKernel(spatial: spatial)], module: "_depthwise"),
                    ParameterRow("pointwise_kernel", "weight", [convolutionKernel(spatial: spatial)], module: "_pointwise")]
                + bias.map { var b = $0; b.module = "_pointwise"; return b }
        case "BatchNormalization":
            return normalization(o) + [ParameterRow("moving_mean", "running_mean", buffer: true), ParameterRow("moving_variance", "running_var", buffer: true)]
        case "LayerNormalization", "GroupNormalization":
            return normalization(o)
        case "Embedding":
            return [ParameterRow("embeddings", "weight")]
        case "LayerScale":
            return [ParameterRow("gamma", "gamma")]
        case "LSTM", "SimpleRNN":
            let g = gates[className].map { [$0] } ?? []
            return recurrent(g) + (o.bias ? [ParameterRow("bias", ["bias_ih_l0", "bias_hh_l0"], g, parts: .sum)] : [])
        case "GRU":
            guard o.resetAfter, let g = gates["GRU"] else { return nil }
            return recurrent([g]) + (o.bias ? [ParameterRow("bias", ["bias_ih_l0", "bias_hh_l0"], [g], parts: .rows)] : [])
        default:
            return nil
        }
    }

    /// Every class with rows (for the round-trip test and the docs).
    public static var classes: [String] { modules.keys.sorted() }

    static func normalization(_ o: Options) -> [ParameterRow] {
        (o.scale ? [ParameterRow("gamma", "weight")] : []) + (o.center ? [ParameterRow("beta", "bias")] : [])
    }

    /// A kernel `[in, k·u]` → `weight_ih_l0` `[k·u, in]`, then the gate blocks reordered; the same for the recurrent kernel.
    static func recurrent(_ gates: [ParameterStep]) -> [ParameterRow] {
        [ParameterRow("kernel", "weight_ih_l0", [.permute([1, 0])] + gates),
         ParameterRow("recurrent_kernel", "weight_hh_l0", [.permute([1, 0])] + gates)]
    }

    /// Parity's own recurrent helper module (for a Keras LSTM/GRU that no `nn` module reproduces): the
    /// kernels transposed, the gates kept in Keras's order, one bias as Keras's.
    public static let recurrentHelper: [ParameterRow] = [
        ParameterRow("kernel", "weight_ih", [.permute([1, 0])]), ParameterRow("recurrent_kernel", "weight_hh", [.permute([1, 0])]),
        ParameterRow("bias", "bias"),
    ]
}

/// One step of a Keras variable's way to its PyTorch parameter; ``inverse(multiplier:)`` comes back.
public enum ParameterStep: Sendable, Hashable {
    /// Axes reordered: axis `i` of the result is axis `order[i]` (`[1, 0]` is the transpose).
    case permute([Int])
    /// The equal gate blocks along axis 0 reordered: block `j` of the result is block `order[j]`;
    /// `keras` and `torch` name the blocks in each framework's order.
    case gates(keras: [String], torch: [String], order: [Int])
    /// A depthwise kernel `(k…, C, M)` read as `(k…, 1, C·M)` (output channel `c·M + m`, no element moves),
    /// as PyTorch's `groups = C` convolution holds it.
    case depthwiseChannels
    /// The inverse of ``depthwiseChannels``: `(k…, 1, C·M)` read as `(k…, C, M)` for `multiplier` M.
    case depthwiseSplit(multiplier: Int)

    /// The step undoing this one. `multiplier`: a depthwise kernel's M (to split its channels again).
    public func inverse(multiplier: Int) -> ParameterStep {
        switch self {
        case .permute(let order): return .permute(Self.inverse(order))
        case let .gates(keras, torch, order): return .gates(keras: torch, torch: keras, order: Self.inverse(order))
        case .depthwiseChannels: return .depthwiseSplit(multiplier: multiplier)
        case .depthwiseSplit: return .depthwiseChannels
        }
    }

    /// Whether the step moves no element (LSTM's gates, which keep their order under other names).
    public var movesNothing: Bool {
        if case let .gates(_, _, order) = self { return order == Array(order.indices) }
        return false
    }

    /// The step, in the one wording every converter, mapping and weight check prints.
    public var wording: String {
        switch self {
        case .permute(let order) where order == [1, 0]: return "transpose"
        case .permute(let order): return "permute (\(order.map(String.init).joined(separator: ", ")))"
        case let .gates(from, to, order):
            return order == Array(order.indices) ? "gates [\(from.joined(separator: ", "))] = [\(to.joined(separator: ", "))]"
                : "gate blocks [\(from.joined(separator: ", "))] → [\(to.joined(separator: ", "))]"
        case .depthwiseChannels: return "(k…, C, M) as (k…, 1, C·M)"
        case .depthwiseSplit(let m): return "(k…, 1, C·M) as (k…, C, M) with M = \(m)"
        }
    }

    public func apply(_ t: Tensor) throws -> Tensor {
        switch self {
        case .permute(let order): return try t.permuted(order)
        case .gates(_, _, let order): return try Self.reorderingBlocks(t, order)
        case .depthwiseChannels:
            guard t.rank >= 2 else { throw TensorError.shapeMismatch(op: "depthwise kernel", expected: "(k…, C, M)", received: [t.shape]) }
            return try t.reshaped(Array(t.shape.dropLast(2)) + [1, t.shape[t.rank - 2] * t.shape[t.rank - 1]])
        case .depthwiseSplit(let m):
            guard t.rank >= 2, m > 0, t.shape[t.rank - 1] % m == 0 else {
                throw TensorError.shapeMismatch(op: "depthwise kernel", expected: "(k…, 1, C·\(m))", received: [t.shape])
            }
            return try t.reshaped(Array(t.shape.dropLast(2)) + [t.shape[t.rank - 1] / m, m])
        }
    }

    /// `order`'s inverse permutation.
    public static func inverse(_ order: [Int]) -> [Int] {
        var result = order
        for (i, o) in order.enumerated() { result[o] = i }
        return result
    }

    /// `t` with its equal blocks along axis 0 reordered: block `j` of the result is block `order[j]` of `t`.
    public static func reorderingBlocks(_ t: Tensor, _ order: [Int]) throws -> Tensor {
        guard order.count > 1, order != Array(order.indices) else { return t }
        let parts = try t.split(sizes: Array(repeating: t.shape[0] / order.count, count: order.count), axis: 0)
        return try Tensor.concatenate(order.map { parts[$0] }, axis: 0)
    }
}

/// One Keras variable ↔ the PyTorch parameter(s) it becomes.
public struct ParameterRow: Sendable, Hashable {
    /// How one Keras variable spreads over several PyTorch parameters.
    public enum Parts: Sendable, Hashable {
        /// One parameter.
        case one
        /// Keras's variable is their sum (PyTorch adds `bias_ih` and `bias_hh` to the gates, Keras its one
        /// bias): the first gets all of it, the others zeros.
        case sum
        /// Keras's variable stacks them as rows (a reset-after GRU's `[2, 3u]` bias: `[bias_ih, bias_hh]`).
        case rows
    }

    /// The Keras variable (`kernel`, `moving_variance`).
    public var keras: String
    /// The PyTorch names relative to the module (`weight`, `bias_ih_l0`); several for ``Parts/sum`` and ``Parts/rows``.
    public var torch: [String]
    /// Keras → PyTorch, in order, applied to each part.
    public var steps: [ParameterStep]
    public var parts: Parts
    /// A buffer in PyTorch (`running_mean`), not a parameter.
    public var buffer: Bool
    /// The submodule suffix the parameters sit in (SeparableConv's `_depthwise`, `_pointwise`), empty for the layer's module.
    public var module: String

    public init(_ keras: String, _ torch: [String], _ steps: [ParameterStep] = [], parts: Parts = .one, buffer: Bool = false, module: String = "") {
        (self.keras, self.torch, self.steps, self.parts, self.buffer, self.module) = (keras, torch, steps, parts, buffer, module)
    }

    public init(_ keras: String, _ torch: String, _ steps: [ParameterStep] = [], buffer: Bool = false, module: String = "") {
        self.init(keras, [torch], steps, buffer: buffer, module: module)
    }

    /// The gate names along axis 0 of the PyTorch value, in PyTorch's order (recurrent rows).
    public var gates: [String]? {
        for case let .gates(_, torch, _) in steps { return torch }
        return nil
    }

    /// The axis permutation taking the Keras variable to the PyTorch value, when the transform is only that.
    public var permutation: [Int]? {
        guard parts == .one else { return nil }
        var order: [Int]? = nil
        for step in steps {
            switch step {
            case .permute(let p): order = order.map { o in p.map { o[$0] } } ?? p
            case _ where step.movesNothing: continue
            default: return nil
            }
        }
        return order
    }

    /// Whether nothing changes but the name.
    public var isIdentity: Bool { parts == .one && steps.allSatisfy(\.movesNothing) }

    var stepWording: String? {
        let words = steps.map(\.wording)
        return words.isEmpty ? nil : words.joined(separator: ", ")
    }

    /// Keras → PyTorch, in words (`transpose, gate blocks [z, r, h] → [r, z, n]`, `as is`).
    public var transform: String {
        let split: String? = switch parts {
        case .one: nil
        case .sum: "\(keras) = \(torch.joined(separator: " + ")) (\(torch.dropFirst().joined(separator: ", ")) = 0)"
        case .rows: "rows [\(torch.joined(separator: ", "))] of \(keras)"
        }
        return [split, stepWording].compactMap { $0 }.joined(separator: ", ").nonEmpty ?? "as is"
    }

    /// PyTorch part `index` from Keras, in words (`row 1 of bias, gate blocks …`, `zeros (bias = bias_ih_l0 + bias_hh_l0)`).
    public func transform(part index: Int) -> String {
        switch parts {
        case .one: return transform
        case .sum where index > 0: return "zeros (\(keras) = \(torch.joined(separator: " + ")))"
        case .sum: return ["all of \(keras) (\(keras) = \(torch.joined(separator: " + ")))", stepWording].compactMap { $0 }.joined(separator: ", ")
        case .rows: return ["row \(index) of \(keras)", stepWording].compactMap { $0 }.joined(separator: ", ")
        }
    }

    /// PyTorch → Keras, in words (the inverse steps in reverse order, then how the parts combine).
    public func inverseTransform(multiplier: Int = 1) -> String {
        let words = steps.reversed().map { $0.inverse(multiplier: multiplier).wording }
        let combine: String? = switch parts {
        case .one: nil
        case .sum: "\(keras) = \(torch.joined(separator: " + ")) (one sum, exact up to its rounding)"
        case .rows: "rows [\(torch.joined(separator: ", "))]"
        }
        return ([words.isEmpty ? nil : (parts == .one ? words.joined(separator: ", ") : "each " + words.joined(separator: ", "))] + [combine])
            .compactMap { $0 }.joined(separator: ", ").nonEmpty ?? "as is"
    }

    /// The PyTorch values (one per ``torch`` name) of Keras variable `value`.
    public func toTorch(_ value: Tensor) throws -> [Tensor] {
        func stepped(_ t: Tensor) throws -> Tensor { try steps.reduce(t) { try $1.apply($0) } }
        switch parts {
        case .one: return [try stepped(value)]
        case .sum:
            let first = try stepped(value)
            return [first] + torch.dropFirst().map { _ in Tensor.zeros(first.shape, dtype: first.dtype) }
        case .rows:
            guard value.rank == 2, value.shape[0] == torch.count else {
                throw TensorError.shapeMismatch(op: "\(keras) rows", expected: "[\(torch.count), n]", received: [value.shape])
            }
            return try value.split(sizes: Array(repeating: 1, count: torch.count), axis: 0).map { try stepped($0.reshaped([value.shape[1]])) }
        }
    }

    /// The Keras variable from PyTorch values `values` (one per ``torch`` name). `multiplier`: a depthwise
    /// kernel's M. A ``Parts/sum`` is one sum in the values' dtype, so exact up to its rounding.
    public func toKeras(_ values: [Tensor], multiplier: Int = 1) throws -> Tensor {
        guard values.count == torch.count else {
            throw TensorError.shapeMismatch(op: "\(keras) from \(torch.joined(separator: ", "))", expected: "\(torch.count) tensors", received: values.map(\.shape))
        }
        let back = steps.reversed().map { $0.inverse(multiplier: multiplier) }
        let each = try values.map { v in try back.reduce(v) { try $1.apply($0) } }
        switch parts {
        case .one: return each[0]
        case .sum: return try each.dropFirst().reduce(each[0]) { try $0.combining($1, .add) }
        case .rows: return try Tensor.concatenate(each.map { try $0.reshaped([1, $0.count]) }, axis: 0)
        }
    }
}

extension String {
    var nonEmpty: String? { isEmpty ? nil : self }
}

extension ParameterTable.Options {
    /// What the layer the Keras loader built holds: its bias, scale and offset, a GRU's reset position; `nil`
    /// for a type that has no rows.
    public init?(_ model: Any) {
        switch model {
        case let m as LSTM: self.init(bias: m.useBias)
        case let m as SeparableConvolution: self.init(bias: m.pointwise.bias != nil)
        case let m as GroupNorm: self.init(scale: m.gamma != nil, center: m.beta != nil)
        case let m as Dense: self.init(bias: m.bias != nil)
        case let m as Convolution: self.init(bias: m.bias != nil)
        case let m as TransposedConvolution: self.init(bias: m.bias != nil)
        case let m as DepthwiseConvolution: self.init(bias: m.convolution.bias != nil)
        case let m as BatchNorm: self.init(scale: m.gamma != nil, center: m.beta != nil)
        case let m as LayerNorm: self.init(scale: m.gamma != nil, center: m.beta != nil)
        case let m as GRU: self.init(bias: m.inputBias != nil || m.stackedBias != nil, resetAfter: m.resetAfter)
        case let m as SimpleRNN: self.init(bias: m.bias != nil)
        case is Embedding, is ScaleByWeights: self.init()
        default: return nil
        }
    }
}

extension ParameterTable {
    /// docs/parameters.md: every row, both ways, in the wording the converters and the weight check print
    /// (a test keeps the committed file equal to it).
    public static var markdown: String {
        var lines = [
            "# Parameters: Keras variables and PyTorch parameters",
            "",
            "Generated from `ParameterTable` (`Sources/ParityConvert/ParameterTable.swift`); regenerate with",
            "`PARITY_RECORD_PARAMETERS=1 swift test --filter ParameterTableTests`. This one table is what Keras → PyTorch",
            "writes into the state_dict (and prints as the mapping), what PyTorch → Keras writes into the `.keras`",
            "archive, and what `parity compare`'s weight check expects; a test takes every row Keras → PyTorch → Keras",
            "to the same bits. Rows are for the default options (bias, scale and center on; 2-D kernels; a",
            "`reset_after` GRU); a layer without a bias, scale or center has no such row, and a GRU with",
            "`reset_after=False` has no row at all (no `nn.GRU` computes it).",
            "",
            "## One value, every reader",
            "",
            "A convention is one value. Changing one of these lines changes every loader, kernel, converter, weight",
            "check and diagnosis that uses it, and the catalog in [conventions.md](conventions.md):",
            "",
            "- PyTorch's default normalisation epsilon: `NormalizationDefaults.pyTorchEpsilon` in",
            "  `Sources/ParityNN/Layers/Normalization.swift`, read by the ATen batch/layer/group/instance-norm kernels when a",
            "  node has no `eps`, both converters, the `batchnorm-epsilon`/`layernorm-epsilon` diagnosis, the catalog rows",
            "  C.11/C.12 and the cause wording. `ConventionValueTests` (Tests/ParityCompareTests/ConventionsTests.swift)",
            "  checks that a norm node without `eps` gives the bits of `eps = NormalizationDefaults.pyTorchEpsilon`, and",
            "  that the catalog and the causes print it.",
            "- The GRU gate orders: `GRU.GateOrder.keras` and `.pyTorch` in `Sources/ParityNN/Layers/Recurrent.swift`, run",
            "  by the Keras layer and the ATen `gru` kernel; this table derives its block reorder from them.",
            "- LeakyReLU's slopes: `ActivationTable.kerasLeakyReLUSlope` (the function), `kerasLeakyReLULayerSlope` (the",
            "  layer), `pyTorchLeakyReLUSlope` in `Sources/ParityNN/Conventions/ActivationTable.swift`.",
            "",
            "## Rows",
            "",
            "| Keras class | PyTorch module | Keras variable | PyTorch parameter(s) | Keras → PyTorch | PyTorch → Keras |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for className in classes {
            for row in rows(className) ?? [] {
                let torch = row.torch.map { "`\(row.module.isEmpty ? "" : row.module.dropFirst() + ".")\($0)`" + (row.buffer ? " (buffer)" : "") }
                lines.append("| \(className) | `\(modules[className] ?? "")` | `\(row.keras)` | \(torch.joined(separator: ", ")) | \(row.transform) | \(row.inverseTransform(multiplier: 2).replacingOccurrences(of: "M = 2", with: "M = depth_multiplier")) |")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
