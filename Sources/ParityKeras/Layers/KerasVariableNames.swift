/// The names Keras 3 gives a layer's variables, in `layer.weights` order, and whether each is trainable:
/// what `variable.path` says after `keras.models.load_model` (`<layer name>/<variable>`, recurrent cells
/// one level deeper: `lstm/lstm_cell/kernel`; a Bidirectional's halves as `forward_<name>/…` and
/// `backward_<name>/…`; a TimeDistributed's as its layer's). The `.weights.h5` file keys variables by position only (`vars/0`), so this
/// table is where the names come from (checked against Keras 3.15.1).
public enum KerasVariableNames {
    /// A variable's name in its layer and whether the optimizer trains it.
    public struct Entry: Sendable, Hashable {
        public var name: String
        public var trainable: Bool
    }

    /// The variables of a layer of class `className` with config `config`, `count` of them in the file,
    /// named with `layer` (the layer's name); `nil` for a class this table does not know.
    public static func entries(className: String, layer: String, config: KerasJSON, count: Int) -> [Entry]? {
        func flag(_ key: String, default value: Bool) -> Bool { config[key]?.bool ?? value }
        func trainable(_ names: [String]) -> [Entry] { names.map { Entry(name: "\(layer)/\($0)", trainable: true) } }
        let useBias = flag("use_bias", default: true)
        switch className {
        case "Dense", "EinsumDense", "Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose",
             "DepthwiseConv1D", "DepthwiseConv2D":
            return trainable(["kernel"] + (count > 1 ? ["bias"] : []))
        case "SeparableConv1D", "SeparableConv2D":
            return trainable(["depthwise_kernel", "pointwise_kernel"] + (count > 2 ? ["bias"] : []))
        case "BatchNormalization":
            let affine = (flag("scale", default: true) ? ["gamma"] : []) + (flag("center", default: true) ? ["beta"] : [])
            return trainable(affine) + ["moving_mean", "moving_variance"].map { Entry(name: "\(layer)/\($0)", trainable: false) }
        case "LayerNormalization", "GroupNormalization":
            let rms = flag("rms_scaling", default: false)
            return trainable((flag("scale", default: true) || rms ? ["gamma"] : []) + (flag("center", default: true) && !rms ? ["beta"] : []))
        case "Embedding":
            return trainable(["embeddings"])
        case "PReLU":
            return trainable(["alpha"])
        case "Normalization":
            return ["mean", "variance", "count"].prefix(count).map { Entry(name: "\(layer)/\($0)", trainable: false) }
        case "SimpleRNN", "LSTM", "GRU":
            let cell = ["SimpleRNN": "simple_rnn_cell", "LSTM": "lstm_cell", "GRU": "gru_cell"][className]!
            return ["kernel", "recurrent_kernel"].map { Entry(name: "\(layer)/\(cell)/\($0)", trainable: true) }
                + (useBias ? [Entry(name: "\(layer)/\(cell)/bias", trainable: true)] : [])
        case "MultiHeadAttention":
            let parts = ["query", "key", "value", "attention_output"]
            return parts.flatMap { part in
                [Entry(name: "\(layer)/\(part)/kernel", trainable: true)] + (useBias ? [Entry(name: "\(layer)/\(part)/bias", trainable: true)] : [])
            }
        case "Bidirectional":
            guard let inner = config["layer"], let innerClass = inner["class_name"]?.string, let innerConfig = inner["config"] else { return nil }
            // `Bidirectional.__init__` (`keras/src/layers/rnn/bidirectional.py`) names the halves
            // `forward_` + the layer's name without a `forward_` prefix, and `backward_` + it without a `backward_`
            // prefix: a saved config's layer is already `forward_lstm`, which stays `forward_lstm`.
            let innerName = innerConfig["name"]?.string ?? innerClass.lowercased()
            func prefixed(_ prefix: String) -> String { prefix + (innerName.hasPrefix(prefix) ? String(innerName.dropFirst(prefix.count)) : innerName) }
            let backwardName = config["backward_layer"]?["config"]?["name"]?.string ?? prefixed("backward_")
            let backwardConfig = config["backward_layer"]?["config"] ?? innerConfig
            guard let forward = entries(className: innerClass, layer: prefixed("forward_"), config: innerConfig, count: count / 2),
                  let backward = entries(className: config["backward_layer"]?["class_name"]?.string ?? innerClass, layer: backwardName,
                                         config: backwardConfig, count: count - count / 2) else { return nil }
            return forward + backward
        case "TimeDistributed":
            // `TimeDistributed` holds the layer itself (`keras/src/layers/rnn/time_distributed.py`): its variables keep
            // the wrapped layer's names (`dense/kernel`).
            guard let inner = config["layer"], let innerClass = inner["class_name"]?.string, let innerConfig = inner["config"] else { return nil }
            return entries(className: innerClass, layer: innerConfig["name"]?.string ?? innerClass.lowercased(), config: innerConfig, count: count)
        default:
            return nil
        }
    }
}
