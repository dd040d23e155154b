import Foundation
import ParityConvert
import ParityKeras

/// How a Keras layer's variables become a PyTorch module's parameters in a faithful port, and back
/// (docs/conventions.md A.1–A.2 kernels, C.11–C.12 normalisation, D.13–D.14 recurrent gates and biases,
/// E.18 embeddings).
///
/// Keras and PyTorch name and lay out the same numbers differently: a Dense `kernel` `[in, out]` is a
/// Linear `weight` `[out, in]`; a ConvNd `kernel` `[k…, in, out]` is `[out, in, k…]`; an LSTM keeps the
/// gate order but splits one bias in two (`b_ih + b_hh`); a GRU reorders its gate blocks from Keras's
/// `[z, r, h]` to PyTorch's `[r, z, n]`.
struct WeightConvention {
    /// One PyTorch parameter (or a sum of them) expected from one Keras variable.
    struct Parameter {
        /// The PyTorch parameter names relative to the module (`weight`, `bias_ih_l0`); several when their
        /// sum is the Keras variable (LSTM and SimpleRNN biases).
        var names: [String]
        /// The Keras variable (`kernel`, `recurrent_kernel`, `moving_variance`).
        var keras: String
        /// The Keras variable as stored.
        var source: Tensor
        /// The expected PyTorch value (of the sum when `names` has several).
        var value: Tensor
        /// The transform, in words (`transpose`, `permute(3, 2, 0, 1)`, `gate blocks [z, r, h] → [r, z, n], transpose`).
        var transform: String
        /// The axis permutation taking `source` to `value`, when the transform is only that.
        var permutation: [Int]?
        /// Gate blocks along axis 0 of `value`: their names in PyTorch's order.
        var gates: [String]?
    }

    /// The layer's Keras class, for the cause ids of its mistakes (`lstm-gate-order`, `gru-gate-order`).
    var className: String
    var parameters: [Parameter]
    /// Keras variables (in `layer.weights` order) from PyTorch parameters keyed by their relative names.
    var kerasWeights: ([String: Tensor]) throws -> [Tensor]

    /// The faithful convention for a Keras layer, `nil` for a class without weights or without a faithful
    /// PyTorch counterpart (e.g. a GRU with `reset_after=False`).
    static func of(_ layer: KerasNetwork.Layer) throws -> WeightConvention? {
        try of(className: layer.className, config: layer.config, weights: layer.weights)
    }

    static func of(className: String, config: KerasJSON, weights w: [Tensor]) throws -> WeightConvention? {
        guard !w.isEmpty else { return nil }
        let useBias = config["use_bias"]?.bool ?? true
        switch className {
        case "Dense":
            guard w[0].rank == 2 else { return nil }
            var p = [Parameter(names: ["weight"], keras: "kernel", source: w[0], value: try w[0].permuted([1, 0]),
                               transform: "transpose", permutation: [1, 0])]
            if useBias, w.count > 1 { p.append(identity("bias", "bias", w[1])) }
            return WeightConvention(className: className, parameters: p) { t in
                try [require(t, "weight").permuted([1, 0])] + (useBias ? [try require(t, "bias")] : [])
            }
        case "Conv1D", "Conv2D", "Conv3D":
            let r = w[0].rank - 2
            guard r >= 1 else { return nil }
            let order = WeightLayout.convolutionKernelToTorch(spatial: r)
            var p = [Parameter(names: ["weight"], keras: "kernel", source: w[0], value: try w[0].permuted(order),
                               transform: "permute(\(order.map(String.init).joined(separator: ", ")))", permutation: order)]
            if useBias, w.count > 1 { p.append(identity("bias", "bias", w[1])) }
            let back = Layout.inverse(order)
            return WeightConvention(className: className, parameters: p) { t in
                try [require(t, "weight").permuted(back)] + (useBias ? [try require(t, "bias")] : [])
            }
        case "BatchNormalization":
            var pairs: [(String, String)] = []
            if config["scale"]?.bool ?? true { pairs.append(("weight", "gamma")) }
            if config["center"]?.bool ?? true { pairs.append(("bias", "beta")) }
            pairs += [("running_mean", "moving_mean"), ("running_var", "moving_variance")]
            return try named(className, pairs, w)
        case "LayerNormalization":
            var pairs: [(String, String)] = []
            if config["scale"]?.bool ?? true { pairs.append(("weight", "gamma")) }
            if config["center"]?.bool ?? true { pairs.append(("bias", "beta")) }
            return try named(className, pairs, w)
        case "Embedding":
            return try named(className, [("weight", "embeddings")], w)
        case "LSTM":
            return try recurrent(className, w, useBias: useBias, keras: ["i", "f", "c", "o"], torch: ["i", "f", "g", "o"], order: [0, 1, 2, 3],
                                 splitBias: true)
        case "SimpleRNN":
            return try recurrent(className, w, useBias: useBias, keras: ["h"], torch: ["h"], order: [0], splitBias: true)
        case "GRU":
            guard config["reset_after"]?.bool ?? true else { return nil }
            return try recurrent(className, w, useBias: useBias, keras: ["z", "r", "h"], torch: ["r", "z", "n"], order: WeightLayout.gruGatesToTorch,
                                 splitBias: false)
        case "Bidirectional":
            return try bidirectional(config, w)
        case "TimeDistributed":
            // The wrapped layer's convention: its weights are the wrapper's, applied to every step.
            guard let inner = config["layer"], let innerClass = inner["class_name"]?.string else { return nil }
            return try of(className: innerClass, config: inner["config"] ?? .object([:]), weights: w)
        default:
            return nil
        }
    }

    /// A Bidirectional wrapper (its forward layer's variables, then its backward layer's) ↔ one
    /// `bidirectional=True` module: the reverse direction's parameters carry PyTorch's `_reverse` suffix.
    static func bidirectional(_ config: KerasJSON, _ w: [Tensor]) throws -> WeightConvention? {
        guard w.count % 2 == 0, let forward = config["layer"], let inner = forward["class_name"]?.string else { return nil }
        let backward = config["backward_layer"] ?? forward
        let half = w.count / 2
        guard let f = try of(className: inner, config: forward["config"] ?? .object([:]), weights: Array(w[..<half])),
              let b = try of(className: inner, config: backward["config"] ?? .object([:]), weights: Array(w[half...])) else { return nil }
        func prefixed(_ p: Parameter, _ direction: String, suffix: String) -> Parameter {
            var p = p
            p.names = p.names.map { $0 + suffix }
            p.keras = "\(direction)_layer.\(p.keras)"
            return p
        }
        return WeightConvention(className: inner,
                                parameters: f.parameters.map { prefixed($0, "forward", suffix: "") } + b.parameters.map { prefixed($0, "backward", suffix: "_reverse") }) { t in
            var reverse: [String: Tensor] = [:]
            for (name, tensor) in t where name.hasSuffix("_reverse") { reverse[String(name.dropLast("_reverse".count))] = tensor }
            return try f.kerasWeights(t) + b.kerasWeights(reverse)
        }
    }

    static func identity(_ name: String, _ keras: String, _ t: Tensor) -> Parameter {
        Parameter(names: [name], keras: keras, source: t, value: t, transform: "as is", permutation: Array(0..<t.rank))
    }

    /// Variables copied one to one (normalisation, embeddings).
    static func named(_ className: String, _ pairs: [(torch: String, keras: String)], _ w: [Tensor]) throws -> WeightConvention? {
        guard pairs.count == w.count else { return nil }
        return WeightConvention(className: className, parameters: zip(pairs, w).map { identity($0.torch, $0.keras, $1) }) { t in
            try pairs.map { try require(t, $0.torch) }
        }
    }

    /// LSTM / GRU / SimpleRNN (one layer, one direction): kernels `[in, k·u]` → `weight_ih_l0` `[k·u, in]` with
    /// gate blocks reordered by `order` (PyTorch block `j` is Keras block `order[j]`), the same for the
    /// recurrent kernel; the bias either split into `b_ih + b_hh` (`splitBias`, LSTM and SimpleRNN: `b_ih = bias`,
    /// `b_hh = 0`) or, for a reset-after GRU, Keras's `[2, 3u]` rows to `b_ih` and `b_hh`, each reordered.
    static func recurrent(_ className: String, _ w: [Tensor], useBias: Bool, keras: [String], torch: [String], order: [Int],
                          splitBias: Bool) throws -> WeightConvention? {
        guard w.count == (useBias ? 3 : 2), w[0].rank == 2, w[1].rank == 2 else { return nil }
        let k = order.count
        let reorder = order == Array(0..<k) ? "" : "gate blocks [\(keras.joined(separator: ", "))] → [\(torch.joined(separator: ", "))], "
        func toTorch(_ kernel: Tensor) throws -> Tensor { try WeightLayout.reorderingBlocks(kernel.permuted([1, 0]), order) }
        var p = [
            Parameter(names: ["weight_ih_l0"], keras: "kernel", source: w[0], value: try toTorch(w[0]), transform: reorder + "transpose",
                      permutation: reorder.isEmpty ? [1, 0] : nil, gates: torch),
            Parameter(names: ["weight_hh_l0"], keras: "recurrent_kernel", source: w[1], value: try toTorch(w[1]), transform: reorder + "transpose",
                      permutation: reorder.isEmpty ? [1, 0] : nil, gates: torch),
        ]
        let inverse = Layout.inverse(order)
        if useBias {
            if splitBias {
                guard w[2].rank == 1 else { return nil }
                p.append(Parameter(names: ["bias_ih_l0", "bias_hh_l0"], keras: "bias", source: w[2], value: try WeightLayout.reorderingBlocks(w[2], order),
                                   transform: reorder + "bias = b_ih + b_hh (b_hh = 0)", gates: torch))
            } else {
                guard w[2].shape.count == 2, w[2].shape[0] == 2 else { return nil }
                let rows = try w[2].split(sizes: [1, 1], axis: 0).map { try WeightLayout.reorderingBlocks($0.reshaped([w[2].shape[1]]), order) }
                p.append(Parameter(names: ["bias_ih_l0"], keras: "bias[0]", source: w[2], value: rows[0], transform: reorder + "row 0", gates: torch))
                p.append(Parameter(names: ["bias_hh_l0"], keras: "bias[1]", source: w[2], value: rows[1], transform: reorder + "row 1", gates: torch))
            }
        }
        return WeightConvention(className: className, parameters: p) { t in
            func back(_ x: Tensor) throws -> Tensor { try WeightLayout.reorderingBlocks(x, inverse).permuted([1, 0]) }
            var result = [try back(require(t, "weight_ih_l0")), try back(require(t, "weight_hh_l0"))]
            guard useBias else { return result }
            let (bih, bhh) = (try require(t, "bias_ih_l0"), try require(t, "bias_hh_l0"))
            if splitBias {
                result.append(try WeightLayout.reorderingBlocks(bih.combining(bhh, .add), inverse))
            } else {
                result.append(try Tensor.concatenate([WeightLayout.reorderingBlocks(bih, inverse), WeightLayout.reorderingBlocks(bhh, inverse)], axis: 0).reshaped([2, bih.count]))
            }
            return result
        }
    }

    static func require(_ t: [String: Tensor], _ name: String) throws -> Tensor {
        guard let x = t[name] else { throw CompareError.unsupported("B has no parameter `\(name)`") }
        return x
    }
}
