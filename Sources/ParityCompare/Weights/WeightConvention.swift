import Foundation
import ParityConvert
import ParityKeras

/// A Keras layer's variables with the PyTorch values a faithful port holds, and the way back: ParityConvert's
/// ``ParameterTable`` (the one Keras ↔ PyTorch parameter mapping, which the converters also read) applied
/// to the layer's stored weights, plus the Bidirectional and TimeDistributed wrappers.
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
        /// The transform, in ``ParameterTable``'s words (`transpose`, `permute (3, 2, 0, 1)`, `transpose, gate blocks [z, r, h] → [r, z, n]`).
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
        try of(className: layer.className, model: layer.model, weights: layer.weights)
    }

    /// `model`: the layer the loader built; what it holds (bias, scale, spatial rank, reset position, a
    /// wrapper's layers) is read from it (``ParameterTable/Options/init(_:)``).
    static func of(className: String, model: any Model, weights w: [Tensor]) throws -> WeightConvention? {
        guard !w.isEmpty else { return nil }
        switch model {
        case let m as Bidirectional:
            return try bidirectional(m, w)
        case let m as TimeDistributed:
            // The wrapped layer's convention: its weights are the wrapper's, applied to every step.
            return try of(className: m.className, model: m.layer, weights: w)
        default:
            break
        }
        guard let options = ParameterTable.Options(model) else { return nil }
        return try of(className: className, options: options, weights: w)
    }

    /// The convention of ``ParameterTable`` class `className`'s rows under `options` for Keras variables `w`.
    static func of(className: String, options: ParameterTable.Options, weights w: [Tensor]) throws -> WeightConvention? {
        // A port names its own submodules: only rows on the layer's one module are looked up.
        guard let rows = ParameterTable.rows(className, options), rows.count == w.count, rows.allSatisfy({ $0.module.isEmpty }) else { return nil }
        var parameters: [Parameter] = []
        for (row, source) in zip(rows, w) {
            guard let values = try? row.toTorch(source) else { return nil }
            if row.parts == .rows {
                for (i, (name, value)) in zip(row.torch, values).enumerated() {
                    parameters.append(Parameter(names: [name], keras: "\(row.keras)[\(i)]", source: source, value: value, transform: row.transform(part: i),
                                                gates: row.gates))
                }
            } else {
                // A sum's expected value is its first part, the whole Keras variable (the others are zeros).
                parameters.append(Parameter(names: row.torch, keras: row.keras, source: source, value: values[0], transform: row.transform,
                                            permutation: row.permutation, gates: row.gates))
            }
        }
        return WeightConvention(className: className, parameters: parameters) { t in
            try zip(rows, w).map { row, source in try row.toKeras(row.torch.map { try require(t, $0) }, multiplier: source.shape.last ?? 1) }
        }
    }

    /// A Bidirectional wrapper (its forward layer's variables, then its backward layer's) ↔ one
    /// `bidirectional=True` module: the reverse direction's parameters carry PyTorch's `_reverse` suffix.
    static func bidirectional(_ layer: Bidirectional, _ w: [Tensor]) throws -> WeightConvention? {
        guard w.count % 2 == 0, let inner = recurrentClass(layer.forward) else { return nil }
        let half = w.count / 2
        guard let f = try of(className: inner, model: layer.forward, weights: Array(w[..<half])),
              let b = try of(className: inner, model: layer.backward, weights: Array(w[half...])) else { return nil }
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

    /// The Keras class of a recurrent layer the loader built.
    static func recurrentClass(_ model: any Model) -> String? {
        switch model {
        case is LSTM: return "LSTM"
        case is GRU: return "GRU"
        case is SimpleRNN: return "SimpleRNN"
        default: return nil
        }
    }

    static func require(_ t: [String: Tensor], _ name: String) throws -> Tensor {
        guard let x = t[name] else { throw CompareError.unsupported("B has no parameter `\(name)`") }
        return x
    }
}
