import ParityConvert
import Foundation
import ParityFormats
import ParityNN
import ParityTrain

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
    /// The cause `parity compare --train-steps` reports, for a training convention.
    public var trainingCause: TrainingCause?
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
        o["cause"] = (cause?.rawValue ?? trainingCause?.rawValue).map(JSONValue.string) ?? .null
        o["fix"] = fix.map(JSONValue.string) ?? .null
        o["parity"] = .array(parity.map(JSONValue.string))
        return .object(o)
    }
}

/// Every convention Parity knows, with Keras's and PyTorch's presets side by side (`parity conventions`;
/// `docs/conventions.md` is ``markdown``, checked by a test). Activation rows come from `ActivationTable`.
public enum Conventions {
    static func c(_ id: String, _ title: String, keras: (String, String), pytorch: (String, String), cause: Cause? = nil,
                  training: TrainingCause? = nil, fix: String? = nil, parity: [String]) -> Convention {
        Convention(id: id, title: title, keras: .init(value: keras.0, source: keras.1), pytorch: .init(value: pytorch.0, source: pytorch.1),
                   cause: cause, trainingCause: training, fix: fix, parity: parity)
    }

    static let layout = "Sources/ParityConvert/ParameterTable.swift"

    /// A recurrent class's gate names in each framework's order, from ``ParameterTable/gates``.
    static func gates(_ className: String) -> (keras: String, torch: String) {
        guard case let .gates(keras, torch, _)? = ParameterTable.gates[className] else { return ("?", "?") }
        return ("[\(keras.joined(separator: ", "))]", "[\(torch.joined(separator: ", "))]")
    }

    /// The transform of a recurrent class's kernel row, in ``ParameterTable``'s words.
    static func kernelRow(_ className: String) -> String { ParameterTable.rows(className)?.first?.transform ?? "?" }
    static let window = "Sources/ParityEngine/Functional/WindowGeometry.swift"

    /// The sections, by the letter of their ids.
    public static let sections: [(letter: String, title: String)] = [
        ("A", "Weight layouts and data format"), ("B", "Pooling"), ("C", "Normalization"), ("D", "Recurrent layers"),
        ("E", "Attention, embedding, softmax"), ("F", "Activations"), ("G", "Resizing"), ("H", "Padding, cropping, dropout"),
        ("T", "Training: optimizers, losses, running statistics"),
    ]

    public static let all: [Convention] = fixed + activations + training

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
        c("C.11", "BatchNorm epsilon", keras: ("\(NormalizationDefaults.kerasEpsilon)", "keras/src/layers/normalization/batch_normalization.py"),
          pytorch: ("\(NormalizationDefaults.pyTorchEpsilon)", "torch/nn/modules/batchnorm.py"), cause: .batchNormEpsilon,
          fix: "nn.BatchNorm2d(C, eps=\(NormalizationDefaults.kerasEpsilon))",
          parity: ["Sources/ParityNN/Layers/Normalization.swift", "Sources/ParityTorch/ATen/NormalizationOps.swift"]),
        c("C.11.2", "BatchNorm mode", keras: ("inference unless called with training=True", "keras/src/layers/normalization/batch_normalization.py"),
          pytorch: ("modules start in training mode (batch statistics)", "torch/nn/modules/module.py"), cause: .trainingMode,
          fix: "model.eval() before exporting or comparing", parity: ["Sources/ParityTorch/ATen/NormalizationOps.swift"]),
        c("C.12", "LayerNorm epsilon", keras: ("\(NormalizationDefaults.kerasEpsilon)", "keras/src/layers/normalization/layer_normalization.py"),
          pytorch: ("\(NormalizationDefaults.pyTorchEpsilon)", "torch/nn/modules/normalization.py"), cause: .layerNormEpsilon,
          fix: "nn.LayerNorm(shape, eps=\(NormalizationDefaults.kerasEpsilon))",
          parity: ["Sources/ParityNN/Layers/Normalization.swift", "Sources/ParityTorch/ATen/NormalizationOps.swift"]),
        c("D.13", "LSTM gate order", keras: (gates("LSTM").keras, "keras/src/layers/rnn/lstm.py"), pytorch: (gates("LSTM").torch, "torch/nn/modules/rnn.py"),
          cause: .lstmGateOrder, fix: "weight_ih_l0 from kernel: \(kernelRow("LSTM")); weight_hh_l0 the same from recurrent_kernel",
          parity: ["Sources/ParityNN/Layers/LSTM.swift", layout, "Sources/ParityEngine/Ops/RecurrentOps.swift"]),
        c("D.13.1", "LSTM bias", keras: ("one bias (4u)", "keras/src/layers/rnn/lstm.py"), pytorch: ("bias_ih_l0 + bias_hh_l0", "torch/nn/modules/rnn.py"),
          cause: .lstmBiasDoubled, fix: "bias_ih_l0 = bias, bias_hh_l0 = 0", parity: [layout]),
        c("D.14", "GRU gate order", keras: (gates("GRU").keras, "keras/src/layers/rnn/gru.py"), pytorch: (gates("GRU").torch, "torch/nn/modules/rnn.py"),
          cause: .gruGateOrder, fix: "weight_ih_l0 from kernel: \(kernelRow("GRU")); weight_hh_l0 the same from recurrent_kernel",
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
        c("F.LeakyReLU", "LeakyReLU layer slope", keras: ("\(ActivationTable.kerasLeakyReLULayerSlope) (LeakyReLU layer; the function: \(ActivationTable.kerasLeakyReLUSlope))", "keras/src/layers/activations/leaky_relu.py"),
          pytorch: ("\(ActivationTable.pyTorchLeakyReLUSlope)", "torch/nn/modules/activation.py"), cause: .activationVariant,
          fix: "nn.LeakyReLU(negative_slope=\(ActivationTable.kerasLeakyReLULayerSlope))",
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

    static let rules = "Sources/ParityTrain/Optimizers/UpdateRules.swift"
    static let specs = "Sources/ParityTrain/Spec/OptimizerSpecs.swift"
    static let kerasLosses = "Sources/ParityTrain/Losses/KerasLosses.swift"
    static let torchLosses = "Sources/ParityTrain/Losses/TorchLosses.swift"

    /// A default as each framework's signature writes it (``Optimizer/defaultArgument(_:of:framework:)``).
    static func kerasDefault(_ className: String, _ parameter: String) -> String {
        "\(parameter)=\(Optimizer.defaultArgument(parameter, of: className, framework: .keras) ?? "?")"
    }
    static func torchDefault(_ className: String, _ parameter: String) -> String {
        "\(parameter)=\(Optimizer.defaultArgument(parameter, of: className, framework: .pyTorch) ?? "?")"
    }

    /// The training conventions (docs/training.md has the formulas and the fixtures that confirm them).
    static let training: [Convention] = [
        c("T.1", "Adam ε placement", keras: ("ε added to √v, the bias correction of v folded into the step size: w −= lr·√(1−β₂ᵗ)/(1−β₁ᵗ)·m/(√v + ε)", "keras/src/optimizers/adam.py"),
          pytorch: ("ε added to √v/√(1−β₂ᵗ): on Keras's scale it acts as ε·√(1−β₂ᵗ), changing with t; no constant reproduces Keras", "torch/optim/adam.py"),
          training: .adamEpsilon, fix: "eps=1e-7 comes closest; the remaining difference is the cause's size", parity: [rules]),
        c("T.2", "Adam defaults", keras: ("\(kerasDefault("Adam", "epsilon")), \(kerasDefault("Adam", "learning_rate"))", "keras/src/optimizers/adam.py"),
          pytorch: ("\(torchDefault("Adam", "eps")), \(torchDefault("Adam", "lr"))", "torch/optim/adam.py"),
          training: .optimizerHyperparameter, fix: "torch.optim.Adam(params, lr=1e-3, eps=1e-7)", parity: [specs]),
        c("T.3", "RMSprop form", keras: ("lr·g/√(v + ε), lr inside the momentum buffer; \(kerasDefault("RMSprop", "rho")), \(kerasDefault("RMSprop", "learning_rate"))", "keras/src/optimizers/rmsprop.py"),
          pytorch: ("g/(√v + ε), buffer without lr, w −= lr·b; \(torchDefault("RMSprop", "alpha")), \(torchDefault("RMSprop", "lr"))", "torch/optim/rmsprop.py"),
          training: .rmspropEpsilon, fix: "alpha=0.9, lr=1e-3 (ε's place still differs)", parity: [rules, specs]),
        c("T.4", "Adagrad accumulator", keras: ("starts at \(kerasDefault("Adagrad", "initial_accumulator_value")), g/√(acc + ε)", "keras/src/optimizers/adagrad.py"),
          pytorch: ("starts at \(torchDefault("Adagrad", "initial_accumulator_value")), g/(√acc + ε), lr_decay", "torch/optim/adagrad.py"),
          training: .optimizerFormula, fix: "initial_accumulator_value=0.1", parity: [rules, specs]),
        c("T.5", "Adamax ε", keras: ("u = max(β₂u, |g|), ε added after", "keras/src/optimizers/adamax.py"),
          pytorch: ("ε inside the max (kept in u)", "torch/optim/adamax.py"), training: .optimizerFormula, parity: [rules]),
        c("T.6", "Nadam momentum schedule", keras: ("μₜ = β₁(1 − 0.5·0.96ᵗ)", "keras/src/optimizers/nadam.py"),
          pytorch: ("μₜ = β₁(1 − 0.5·0.96^(t·momentum_decay)), \(torchDefault("NAdam", "momentum_decay"))", "torch/optim/nadam.py"),
          training: .optimizerFormula, fix: "momentum_decay=1", parity: [rules]),
        c("T.7", "SGD momentum buffer and Nesterov", keras: ("velocity holds lr·g, each gradient times its own step's rate; Nesterov w += μv − lr·g", "keras/src/optimizers/sgd.py"),
          pytorch: ("buffer holds g, times the current lr at the update; Nesterov g + μb (equal while lr is constant; they part under a schedule)", "torch/optim/sgd.py"),
          training: .nesterovForm, parity: [rules]),
        c("T.8", "Weight decay", keras: ("decoupled on every optimizer: w −= w·λ·lr before the update", "keras/src/optimizers/base_optimizer.py"),
          pytorch: ("coupled L2 (g += λw) except AdamW and decoupled_weight_decay=True", "torch/optim/adam.py"),
          training: .weightDecayCoupling, fix: "torch.optim.AdamW(weight_decay=λ), or decoupled_weight_decay=True", parity: [rules]),
        c("T.9", "Gradient clipping", keras: ("clipnorm per variable, global_clipnorm over all (no ε), clipvalue", "keras/src/optimizers/base_optimizer.py"),
          pytorch: ("clip_grad_norm_ global, c/(‖g‖ + 1e-6); clip_grad_value_", "torch/nn/utils/clip_grad.py"),
          training: .gradientClipping, fix: "global_clipnorm ↔ clip_grad_norm_(max_norm)", parity: [rules, specs]),
        c("T.10", "BatchNorm momentum", keras: ("share of the running value kept (\(NormalizationDefaults.kerasMomentum))", "keras/src/layers/normalization/batch_normalization.py"),
          pytorch: ("share of the batch statistic taken (\(NormalizationDefaults.pyTorchMomentum))", "torch/nn/modules/batchnorm.py"),
          training: .bnMomentum, fix: "momentum = 1 − Keras momentum", parity: ["Sources/ParityNN/Layers/Normalization.swift"]),
        c("T.11", "BatchNorm running variance", keras: ("biased batch variance", "keras/src/layers/normalization/batch_normalization.py"),
          pytorch: ("unbiased (n/(n−1)); no setting changes it", "torch/nn/modules/batchnorm.py"),
          training: .bnRunningVariance, parity: ["Sources/ParityNN/Layers/Normalization.swift"]),
        c("T.12", "RNN biases in training", keras: ("one bias", "keras/src/layers/rnn/lstm.py"),
          pytorch: ("b_ih + b_hh, both trained: the sum moves twice per step", "torch/nn/modules/rnn.py"),
          training: .rnnBiasTrainedTwice, fix: "freeze bias_hh (requires_grad=False) at zero", parity: ["Sources/ParityTrain/Model/TorchTrainable.swift"]),
        c("T.13", "Loss reduction", keras: ("mean over the last axis, then the weighted sum over the number of values", "keras/src/losses/loss.py"),
          pytorch: ("mean over all elements, or over the targets' class weights", "torch/nn/modules/loss.py"),
          training: .lossReduction, parity: [kerasLosses, torchLosses]),
        c("T.14", "Cross-entropy on probabilities", keras: ("logits recovered from a final sigmoid/softmax; else probabilities clipped to [1e-7, 1 − 1e-7]", "keras/src/backend/tensorflow/nn.py"),
          pytorch: ("inputs as given; log clamped at −100", "aten/src/ATen/native/Loss.cpp"),
          training: .crossentropyClipping, fix: "from_logits=True on the Keras side and a logits loss on PyTorch's", parity: [kerasLosses, torchLosses]),
        c("T.15", "Cross-entropy input", keras: ("from_logits=False: the losses read probabilities", "keras/src/losses/losses.py"),
          pytorch: ("CrossEntropyLoss and BCEWithLogitsLoss read logits; BCELoss and NLLLoss probabilities or log-probabilities", "torch/nn/modules/loss.py"),
          training: .fromLogits, fix: "from_logits=True with a linear last layer, or the matching PyTorch loss", parity: [kerasLosses, torchLosses]),
        c("T.16", "Derivatives at ties and kinks", keras: ("maximum/minimum with a == b: all to the first argument; clip passes the gradient at a bound", "tensorflow/python/ops/math_grad.py"),
          pytorch: ("maximum/minimum ties: half to each; clamp with number bounds: 0 at a bound", "tools/autograd/derivatives.yaml"),
          training: .gradientConvention, parity: ["Sources/ParityTrain/Step/GradientConvention.swift"]),
        c("T.17", "Layer mode while training", keras: ("fit calls the model with training=True: BatchNormalization on batch statistics (inference when the layer is frozen), Dropout active", "keras/src/trainers/trainer.py"),
          pytorch: ("the mode the module was in: a .pt2 keeps the mode it was exported in (model.eval() before export trains BatchNorm on running statistics)", "torch/export/exported_program.py"),
          training: .trainingMode, fix: "export the training graph after model.train(), or freeze the Keras layer", parity: ["Sources/ParityTrain/Model/TorchTrainable.swift"]),
        c("T.18", "Learning-rate schedule", keras: ("a LearningRateSchedule as learning_rate, evaluated at optimizer.iterations (steps taken) in float32", "keras/src/optimizers/schedules/learning_rate_schedule.py"),
          pytorch: ("an lr_scheduler stepped after optimizer.step(), multiplying the previous rate (doubles)", "torch/optim/lr_scheduler.py"),
          training: .optimizerHyperparameter, fix: "ExponentialDecay(lr, 1, γ) ↔ ExponentialLR(γ); staircase ExponentialDecay(lr, k, γ) ↔ StepLR(k, γ); "
            + "CosineDecayRestarts(lr, T, t_mul=m, alpha=a) with m_mul=1 and a whole m ↔ CosineAnnealingWarmRestarts(T_0=T, T_mult=m, eta_min=a·lr)",
          parity: ["Sources/ParityTrain/Optimizers/LearningRateSchedule.swift"]),
        c("T.19", "Weight regularizers", keras: ("a layer's kernel_regularizer etc.: fit adds the penalty to the loss (L2(λ): λ·Σw², so 2λ·w in the variable's gradient)", "keras/src/regularizers/regularizers.py"),
          pytorch: ("no loss-side regularizer; weight_decay=wd adds wd·w to the gradient of every parameter of the group", "torch/optim/sgd.py"),
          training: .weightRegularizer, fix: "weight_decay=2λ on exactly the L2(λ)-regularized parameters (a parameter group), or the penalty added to the loss",
          parity: ["Sources/ParityTrain/Model/KerasRegularizers.swift"]),
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
                     + "\((r.cause?.rawValue ?? r.trainingCause?.rawValue).map { "`\($0)`" } ?? "") | \(r.fix.map { "`\(cell($0))`" } ?? "") | \(r.parity.map { "`\($0)`" }.joined(separator: ", ")) |")
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
