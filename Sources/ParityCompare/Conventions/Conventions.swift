import Foundation
import ParityFormats
import ParityNN

/// One convention the two frameworks disagree on (or spell differently): each framework's preset and the
/// source file that sets it, the Parity sources that implement both sides, and the ``Cause`` id
/// `parity compare` names when a port gets it wrong, with the fix it prints.
public struct Convention: Sendable, Equatable {
    /// The catalog's id (`C.11`); sources cite `docs/conventions.md, C.11`.
    public var id: String
    public var title: String
    public var keras: Preset
    public var pytorch: Preset
    /// The cause `parity compare` reports for this convention, when it diagnoses it.
    public var cause: Cause?
    /// The fix, as a change to the PyTorch port (`parity compare` prints it with the layer's values).
    public var fix: String?
    /// The Parity sources implementing both presets.
    public var parity: [String]

    /// One framework's value and the file that sets it.
    public struct Preset: Sendable, Equatable {
        public var value: String
        public var source: String
    }

    var json: JSONValue {
        var o: JSONObject = ["id": .string(id), "title": .string(title),
                             "keras": .object(["value": .string(keras.value), "source": .string(keras.source)]),
                             "pytorch": .object(["value": .string(pytorch.value), "source": .string(pytorch.source)])]
        o["cause"] = cause.map { JSONValue.string($0.rawValue) } ?? .null
        o["fix"] = fix.map(JSONValue.string) ?? .null
        o["parity"] = .array(parity.map(JSONValue.string))
        return .object(o)
    }
}

/// Every convention Parity knows, with Keras's and PyTorch's presets side by side (`parity conventions`;
/// `docs/conventions.md` is ``markdown``, checked by a test). Activation rows come from `ActivationTable`.
public enum Conventions {
    static func c(_ id: String, _ title: String, keras: (String, String), pytorch: (String, String), cause: Cause? = nil,
                  fix: String? = nil, parity: [String]) -> Convention {
        Convention(id: id, title: title, keras: .init(value: keras.0, source: keras.1), pytorch: .init(value: pytorch.0, source: pytorch.1),
                   cause: cause, fix: fix, parity: parity)
    }

    static let layout = "Sources/ParityConvert/WeightLayout.swift"
    static let window = "Sources/ParityEngine/Functional/WindowGeometry.swift"

    /// The sections, by the letter of their ids.
    public static let sections: [(letter: String, title: String)] = [
        ("A", "Weight layouts and data format"), ("B", "Pooling"), ("C", "Normalization"), ("D", "Recurrent layers"),
        ("E", "Attention, embedding, softmax"), ("F", "Activations"), ("G", "Resizing"), ("H", "Padding, cropping, dropout"),
    ]

    public static let all: [Convention] = fixed + activations

    static let fixed: [Convention] = [
        c("A.1", "Dense kernel layout", keras: ("kernel (in, out), y = xK + b", "keras/src/layers/core/dense.py"),
          pytorch: ("weight (out, in), y = xWᵀ + b", "torch/nn/modules/linear.py"), cause: .kernelLayout, fix: "weight = kernel.T",
          parity: ["Sources/ParityNN/Layers/Dense.swift", layout]),
        c("A.2", "Convolution kernel layout", keras: ("kernel (k…, in/groups, out)", "keras/src/layers/convolutional/base_conv.py"),
          pytorch: ("weight (out, in/groups, k…)", "torch/nn/modules/conv.py"), cause: .kernelLayout,
          fix: "weight = kernel.permute(3, 2, 0, 1) (2-D; 1-D permute(2, 1, 0))", parity: ["Sources/ParityNN/Layers/Convolution.swift", layout]),
        c("A.3", "Depthwise kernel layout", keras: ("kernel (kh, kw, C, M)", "keras/src/layers/convolutional/base_depthwise_conv.py"),
          pytorch: ("Conv2d(C, C·M, groups=C) weight (C·M, 1, kh, kw)", "torch/nn/modules/conv.py"), cause: .kernelLayout,
          fix: "weight = kernel.permute(2, 3, 0, 1).reshape(C·M, 1, kh, kw)", parity: ["Sources/ParityNN/Layers/Convolution.swift", layout]),
        c("A.4", "Transposed convolution kernel layout", keras: ("kernel (k…, out, in)", "keras/src/layers/convolutional/base_conv_transpose.py"),
          pytorch: ("weight (in, out/groups, k…)", "torch/nn/modules/conv.py"), cause: .kernelLayout, fix: "weight = kernel.permute(3, 2, 0, 1), no flip",
          parity: [layout]),
        c("A.5", "Flatten order after a convolution", keras: ("(H, W, C), channels last", "keras/src/layers/reshaping/flatten.py"),
          pytorch: ("(C, H, W), channels first", "torch/nn/modules/flatten.py"), cause: .flattenOrder,
          fix: "x.permute(0, 2, 3, 1).flatten(1) before the Linear, or permute the Linear's columns",
          parity: ["Sources/ParityNN/Layers/Reshaping.swift"]),
        c("A.6", "'same' padding", keras: ("TensorFlow: total = max((⌈in/s⌉−1)s + (k−1)d + 1 − in, 0), before = total // 2, the extra after",
                                           "tensorflow/core/framework/kernel_shape_util.cc"),
          pytorch: ("padding=p on both sides; padding='same' refuses stride > 1", "torch/nn/modules/conv.py"), cause: .paddingSame,
          fix: "F.pad(x, (left, right, top, bottom)) with TensorFlow's amounts, then padding=0", parity: [window]),
        c("A.7", "Transposed convolution 'same'", keras: ("output in·s, crop before = max(k − s, 0) // 2", "keras/src/backend/tensorflow/nn.py"),
          pytorch: ("padding crops symmetrically, output_padding adds at the end", "torch/nn/modules/conv.py"), cause: .paddingSame,
          fix: "padding=0, then slice", parity: [window]),
        c("B.8", "Max pooling 'same'", keras: ("TensorFlow's asymmetric split, padded cells −inf", "keras/src/layers/pooling/base_pooling.py"),
          pytorch: ("symmetric padding only", "torch/nn/modules/pooling.py"), cause: .paddingSame,
          fix: "F.pad(x, amounts, value=-inf), then padding=0", parity: ["Sources/ParityNN/Layers/Pooling.swift", window]),
        c("B.9", "Average pooling divisor", keras: ("padded cells excluded from the count", "keras/src/layers/pooling/base_pooling.py"),
          pytorch: ("count_include_pad=True", "torch/nn/modules/pooling.py"), cause: .poolCountIncludePad,
          fix: "count_include_pad=False (with padding inside the pooling, not an explicit zero pad)",
          parity: ["Sources/ParityNN/Layers/Pooling.swift", "Sources/ParityTorch/ATen/PoolingOps.swift"]),
        c("B.10", "Pooling output size rounding", keras: ("'valid': floor", "keras/src/layers/pooling/base_pooling.py"),
          pytorch: ("ceil_mode=False: floor", "torch/nn/modules/pooling.py"), cause: .poolCeilMode, fix: "ceil_mode=False",
          parity: [window, "Sources/ParityTorch/ATen/PoolingOps.swift"]),
        c("C.11", "BatchNorm epsilon", keras: ("\(BatchNorm.kerasEpsilon)", "keras/src/layers/normalization/batch_normalization.py"),
          pytorch: ("\(BatchNorm.pyTorchEpsilon)", "torch/nn/modules/batchnorm.py"), cause: .batchNormEpsilon,
          fix: "nn.BatchNorm2d(C, eps=\(BatchNorm.kerasEpsilon))",
          parity: ["Sources/ParityNN/Layers/Normalization.swift", "Sources/ParityTorch/ATen/NormalizationOps.swift"]),
        c("C.11.1", "BatchNorm momentum", keras: ("0.99 (weight of the old statistic)", "keras/src/layers/normalization/batch_normalization.py"),
          pytorch: ("0.1 (weight of the new statistic)", "torch/nn/modules/batchnorm.py"), fix: "momentum = 1 − Keras momentum",
          parity: ["Sources/ParityNN/Layers/Normalization.swift"]),
        c("C.11.2", "BatchNorm mode", keras: ("inference unless called with training=True", "keras/src/layers/normalization/batch_normalization.py"),
          pytorch: ("modules start in training mode (batch statistics)", "torch/nn/modules/module.py"), cause: .trainingMode,
          fix: "model.eval() before exporting or comparing", parity: ["Sources/ParityTorch/ATen/NormalizationOps.swift"]),
        c("C.12", "LayerNorm epsilon", keras: ("\(LayerNorm.kerasEpsilon)", "keras/src/layers/normalization/layer_normalization.py"),
          pytorch: ("\(LayerNorm.pyTorchEpsilon)", "torch/nn/modules/normalization.py"), cause: .layerNormEpsilon,
          fix: "nn.LayerNorm(shape, eps=\(LayerNorm.kerasEpsilon))",
          parity: ["Sources/ParityNN/Layers/Normalization.swift", "Sources/ParityTorch/ATen/NormalizationOps.swift"]),
        c("D.13", "LSTM gate order", keras: ("[i, f, c, o]", "keras/src/layers/rnn/lstm.py"), pytorch: ("[i, f, g, o]", "torch/nn/modules/rnn.py"),
          cause: .lstmGateOrder, fix: "weight_ih_l0 = kernel.T, weight_hh_l0 = recurrent_kernel.T (same block order)",
          parity: ["Sources/ParityNN/Layers/LSTM.swift", layout, "Sources/ParityEngine/Ops/RecurrentOps.swift"]),
        c("D.13.1", "LSTM bias", keras: ("one bias (4u)", "keras/src/layers/rnn/lstm.py"), pytorch: ("bias_ih_l0 + bias_hh_l0", "torch/nn/modules/rnn.py"),
          cause: .lstmBiasDoubled, fix: "bias_ih_l0 = bias, bias_hh_l0 = 0", parity: [layout]),
        c("D.14", "GRU gate order", keras: ("[z, r, h]", "keras/src/layers/rnn/gru.py"), pytorch: ("[r, z, n]", "torch/nn/modules/rnn.py"),
          cause: .gruGateOrder, fix: "reorder the blocks [z, r, h] → [r, z, n], then transpose",
          parity: ["Sources/ParityNN/Layers/Recurrent.swift", layout, "Sources/ParityEngine/Ops/RecurrentOps.swift"]),
        c("D.14.1", "GRU reset gate", keras: ("reset_after=True (Keras 3; Keras 2 standalone: False)", "keras/src/layers/rnn/gru.py"),
          pytorch: ("reset after the recurrent product, always", "torch/nn/modules/rnn.py"), cause: .gruResetAfter,
          fix: "reset_after=True in Keras; nn.GRU cannot express reset_after=False",
          parity: ["Sources/ParityNN/Layers/Recurrent.swift", "Sources/ParityEngine/Ops/RecurrentOps.swift"]),
        c("D.15", "SimpleRNN bias", keras: ("one bias", "keras/src/layers/rnn/simple_rnn.py"), pytorch: ("bias_ih_l0 + bias_hh_l0", "torch/nn/modules/rnn.py"),
          cause: .rnnBiasDoubled, fix: "bias_ih_l0 = bias, bias_hh_l0 = 0", parity: ["Sources/ParityNN/Layers/Recurrent.swift", layout]),
        c("D.16", "Bidirectional last output", keras: ("[forward final, backward final]", "keras/src/layers/rnn/bidirectional.py"),
          pytorch: ("out[:, -1] holds the backward pass's first step", "torch/nn/modules/rnn.py"), fix: "torch.cat([h_n[0], h_n[1]], -1)",
          parity: ["Sources/ParityNN/Layers/Recurrent.swift"]),
        c("E.17", "Attention scaling", keras: ("1/√key_dim on the logits (ops.dot_product_attention) when dropout is 0, on the query before the product otherwise", "keras/src/layers/attention/multi_head_attention.py"),
          pytorch: ("scores scaled by 1/√head_dim after the product", "torch/nn/functional.py"), cause: .attentionScaling,
          fix: "scale = 1/√key_dim with head_dim = key_dim", parity: ["Sources/ParityNN/Layers/Attention.swift"]),
        c("E.18", "Embedding padding", keras: ("mask_zero propagates a mask", "keras/src/layers/core/embedding.py"),
          pytorch: ("padding_idx affects initialisation and gradients only", "torch/nn/modules/sparse.py"),
          parity: ["Sources/ParityNN/Layers/Embedding.swift"]),
        c("E.19", "Softmax axis", keras: ("-1", "keras/src/layers/activations/softmax.py"),
          pytorch: ("nn.Softmax() without dim: 0 for 0-, 1- and 3-D inputs, else 1", "torch/nn/functional.py"), cause: .softmaxAxis,
          fix: "nn.Softmax(dim=-1)", parity: ["Sources/ParityTorch/ATen/ActivationOps.swift"]),
        c("F.LeakyReLU", "LeakyReLU layer slope", keras: ("0.3 (LeakyReLU layer; the function: 0.2)", "keras/src/layers/activations/leaky_relu.py"),
          pytorch: ("0.01", "torch/nn/modules/activation.py"), cause: .activationVariant, fix: "nn.LeakyReLU(negative_slope=0.3)",
          parity: ["Sources/ParityKeras/Layers/KerasLayers+Activations.swift"]),
        c("G.26", "Resampling", keras: ("bilinear: half-pixel centres; nearest: repeat", "keras/src/layers/preprocessing/image_preprocessing/resizing.py"),
          pytorch: ("align_corners=False (half-pixel); nearest floors, nearest-exact is half-pixel", "torch/nn/functional.py"),
          cause: .interpolationMode, fix: "F.interpolate(x, mode='bilinear', align_corners=False)",
          parity: ["Sources/ParityNN/Layers/Resizing.swift", "Sources/ParityTorch/ATen/UpsamplingOps.swift"]),
        c("H.27", "Padding amounts order", keras: ("((top, bottom), (left, right))", "keras/src/layers/reshaping/zero_padding2d.py"),
          pytorch: ("F.pad: (left, right, top, bottom), last axis first", "torch/nn/functional.py"), cause: .padOrder,
          fix: "F.pad(x, (left, right, top, bottom))", parity: ["Sources/ParityNN/Layers/Reshaping.swift", "Sources/ParityTorch/ATen/PaddingOps.swift"]),
        c("H.28", "Dropout at inference", keras: ("inactive unless training=True", "keras/src/layers/regularization/dropout.py"),
          pytorch: ("active until model.eval()", "torch/nn/modules/dropout.py"), cause: .trainingMode, fix: "model.eval()",
          parity: ["Sources/ParityNN/Layers/Activation.swift"]),
    ]

    /// One row per ``ActivationTable`` entry with a PyTorch counterpart: Keras's function (exact constants)
    /// against the ATen operator with the arguments that give Keras's constants.
    static var activations: [Convention] {
        ActivationTable.entries.compactMap { entry in
            guard let aten = entry.aten else { return nil }
            let arguments = entry.atenArguments.map { "\($0.name)=\(short($0.value))" }.joined(separator: ", ")
            let torch = (entry.module ?? entry.functional ?? aten) + (arguments.isEmpty ? "" : ", \(aten)(\(arguments))")
            let value = entry.difference.map { "\(torch); differs: \($0)" } ?? torch
            let cause: Cause = entry.keras == "gelu" ? .geluApproximation : .activationVariant
            return c("F.\(entry.keras)", "activation \(entry.keras)" + (entry.aliases.isEmpty ? "" : " (\(entry.aliases.joined(separator: ", ")))"),
                     keras: ("\(entry.exact)", "keras/src/activations/activations.py"), pytorch: (value, "torch/nn/functional.py"),
                     cause: cause, fix: entry.module ?? entry.functional, parity: ["Sources/ParityNN/Conventions/ActivationTable.swift"])
        }
    }

    static func short(_ x: Double) -> String { x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : "\(x)" }

    /// The catalog as `docs/conventions.md`.
    public static var markdown: String {
        var lines = [
            "# Conventions: Keras and PyTorch side by side",
            "",
            "Generated by `parity conventions --markdown` from `Sources/ParityCompare/Conventions/Conventions.swift` and",
            "`Sources/ParityNN/Conventions/ActivationTable.swift`, the cause tables from `Sources/ParityCompare/Cause.swift` and",
            "`Sources/ParityCompare/Training/TrainingHypothesis.swift`; do not edit (a test fails when this file and the code differ).",
            "Each row: Keras's preset and the file that sets it, PyTorch's, the cause id `parity compare` reports",
            "when a port gets it wrong, the fix, and the Parity sources implementing both sides. Sources cite rows as",
            "`docs/conventions.md, C.11`.",
        ]
        for section in sections {
            let rows = all.filter { $0.id.hasPrefix(section.letter + ".") }
            guard !rows.isEmpty else { continue }
            lines += ["", "## \(section.letter). \(section.title)", "",
                      "| id | convention | Keras | PyTorch | cause | fix | Parity |", "|---|---|---|---|---|---|---|"]
            for r in rows {
                func cell(_ s: String) -> String { s.replacingOccurrences(of: "|", with: "\\|") }
                lines.append("| \(r.id) | \(cell(r.title)) | \(cell(r.keras.value)) (`\(r.keras.source)`) | \(cell(r.pytorch.value)) (`\(r.pytorch.source)`) | "
                    + "\(r.cause.map { "`\($0.rawValue)`" } ?? "") | \(r.fix.map { "`\(cell($0))`" } ?? "") | \(r.parity.map { "`\($0)`" }.joined(separator: ", ")) |")
            }
        }
        lines += ["", "## Causes `parity compare` names", "",
                  "At each diverging pair the hypotheses that apply are rerun on the layer's own input (docs/compare.md, §5).", ""]
            + Cause.markdownTable
        lines += ["", "## Causes `parity compare --train-steps` names", "",
                  "Each is rerun from the diverging step with the other side's convention swapped in (docs/training.md).", ""]
            + TrainingCause.markdownTable
        return lines.joined(separator: "\n") + "\n"
    }

    /// The catalog as JSON (one object per convention).
    public static var json: String { JSONValue.array(all.map(\.json)).pythonText + "\n" }

    /// The catalog as plain text: one line per convention.
    public static var text: String {
        all.map { "\($0.id)\t\($0.title)\tKeras: \($0.keras.value)\tPyTorch: \($0.pytorch.value)" + ($0.cause.map { "\t[\($0.rawValue)]" } ?? "") }
            .joined(separator: "\n") + "\n"
    }
}
