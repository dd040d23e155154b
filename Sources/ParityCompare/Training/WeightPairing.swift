import ParityKeras
import ParityTorch

/// A Keras layer with weights and the fully qualified names of the PyTorch parameters its faithful port
/// reads (``WeightConvention``), found by the forward comparison's pairing.
struct WeightPairing: Sendable {
    var layer: KerasNetwork.Layer
    /// PyTorch parameter name relative to the module (`weight`, `bias_hh_l0`) → state_dict key.
    var torch: [String: String]

    /// `nil` when Parity knows no faithful mapping of the layer's weights or the part reads no such parameters.
    init?(_ layer: KerasNetwork.Layer, lookup: ParameterLookup) throws {
        guard let convention = try WeightConvention.of(layer) else { return nil }
        var torch: [String: String] = [:]
        for name in convention.parameters.flatMap(\.names) {
            guard let found = lookup.find(name) else { return nil }
            torch[name] = found.fqn
        }
        self.layer = layer
        self.torch = torch
    }

    /// The layer's variables as Keras names them (`lstm/lstm_cell/bias`), in `layer.weights` order.
    var kerasNames: [KerasVariableNames.Entry] {
        KerasVariableNames.entries(className: layer.className, layer: layer.name, config: layer.config, count: layer.weights.count) ?? []
    }
}

/// How the variables of two training runs are paired: by name when both models are of one framework, else
/// each Keras variable with the PyTorch parameters of its layer's faithful port, under that port's
/// convention (``WeightConvention``: transposes, permutes, gate reorders; a Keras LSTM/SimpleRNN bias is
/// the sum `b_ih + b_hh`). Comparisons are made in the Keras variables' layout and names.
struct VariablePairing {
    /// One compared variable: its name on the compared side (the Keras side in a Keras ↔ PyTorch pair),
    /// the other side's name(s), and whether the optimizer trains it.
    struct Entry: Sendable {
        var name: String
        var other: [String]
        var trainable: Bool
        /// The Keras variable is the sum of several PyTorch parameters (each trained on its own).
        var summed: Bool
    }

    struct Layer {
        var pairing: WeightPairing
        var convention: WeightConvention
        var names: [KerasVariableNames.Entry]
    }

    var entries: [Entry]
    /// Cross-framework: the Keras side's layers with their conventions; empty when both sides share names.
    var layers: [Layer]

    /// Pairs by name (one framework): the variables both sides have.
    init(sameFramework a: [TrainingVariableInfo], _ b: [TrainingVariableInfo]) {
        let names = Set(b.map(\.name))
        entries = a.filter { names.contains($0.name) }.map { Entry(name: $0.name, other: [$0.name], trainable: $0.trainable, summed: false) }
        layers = []
    }

    /// Pairs the Keras side's variables with the PyTorch side's parameters through the forward comparison's pairings.
    init(keras: [TrainingVariableInfo], pairings: [WeightPairing]) throws {
        var layers: [Layer] = []
        var entries: [Entry] = []
        let known = Dictionary(keras.map { ($0.name, $0.trainable) }, uniquingKeysWith: { first, _ in first })
        for pairing in pairings {
            guard let convention = try WeightConvention.of(pairing.layer) else { continue }
            let names = pairing.kerasNames
            guard names.count == pairing.layer.weights.count else { continue }
            layers.append(Layer(pairing: pairing, convention: convention, names: names))
            // Which PyTorch parameters each Keras variable comes from (a GRU bias from two, an LSTM bias from a sum).
            for (index, entry) in names.enumerated() where known[entry.name] != nil {
                let variable = pairing.layer.weights.indices.contains(index) ? Self.kerasVariableName(convention, index) : nil
                let sources = convention.parameters.filter { $0.keras == variable || $0.keras.hasPrefix((variable ?? "?") + "[") }
                let other = sources.flatMap { $0.names.map { pairing.torch[$0] ?? $0 } }
                entries.append(Entry(name: entry.name, other: other, trainable: known[entry.name] ?? false,
                                     summed: sources.contains { $0.names.count > 1 }))
            }
        }
        self.entries = entries
        self.layers = layers
    }

    /// The Keras variable (as ``WeightConvention/Parameter/keras`` names it) at position `index` of the layer.
    static func kerasVariableName(_ convention: WeightConvention, _ index: Int) -> String? {
        var seen: [String] = []
        for p in convention.parameters {
            let base = p.keras.split(separator: "[").first.map(String.init) ?? p.keras
            if !seen.contains(base) { seen.append(base) }
        }
        return index < seen.count ? seen[index] : nil
    }

    /// The PyTorch side's tensors (by state_dict key) brought to the Keras variables (by Keras name). With
    /// `gradients`, a Keras variable that is a sum of PyTorch parameters gets the first one's gradient (each
    /// summand has the same gradient as the sum), and variables without a gradient are left out.
    func kerasSpace(_ torch: [String: Tensor], values: [String: Tensor], gradients: Bool) throws -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        for layer in layers {
            var relative: [String: Tensor] = [:]
            for (name, fqn) in layer.pairing.torch {
                if let t = torch[fqn] { relative[name] = t } else if let v = values[fqn] { relative[name] = Tensor(repeating: 0, shape: v.shape, dtype: v.dtype) }
            }
            if gradients {
                for p in layer.convention.parameters where p.names.count > 1 {
                    for extra in p.names.dropFirst() { if let t = relative[extra] { relative[extra] = Tensor(repeating: 0, shape: t.shape, dtype: t.dtype) } }
                }
            }
            let mapped = try layer.convention.kerasWeights(relative)
            for (entry, tensor) in zip(layer.names, mapped) where !gradients || entry.trainable { result[entry.name] = tensor }
        }
        return result
    }
}

/// A variable's name and whether it is trained (from a ``TrainingSession``'s model).
struct TrainingVariableInfo: Sendable {
    var name: String
    var trainable: Bool
}
