import Foundation
import ParityKeras
import ParityNN
import ParityTorch
import ParityTrain

/// The training conventions `parity compare --train-steps` names (their table in docs/conventions.md is
/// generated from ``summary`` and ``test``).
public enum TrainingCause: String, Sendable, Codable, DocumentedCause {
    case floatNoise = "float-noise"
    case optimizerHyperparameter = "optimizer-hyperparameter"
    case optimizerAlgorithm = "optimizer-algorithm"
    case adamEpsilon = "adam-epsilon"
    case rmspropEpsilon = "rmsprop-epsilon"
    case nesterovForm = "nesterov-form"
    case optimizerFormula = "optimizer-formula"
    case weightDecayCoupling = "weight-decay-coupling"
    case gradientClipping = "gradient-clipping"
    case bnMomentum = "bn-momentum"
    case bnRunningVariance = "bn-running-variance"
    case rnnBiasTrainedTwice = "rnn-bias-trained-twice"
    case fromLogits = "from-logits"
    case labelSmoothing = "label-smoothing"
    case lossReduction = "loss-reduction"
    case crossentropyClipping = "crossentropy-clipping"
    case gradientConvention = "gradient-convention"
    case trainingMode = "training-mode"
    case weightRegularizer = "weight-regularizer"

    public var summary: String {
        switch self {
        case .floatNoise: return "nothing but rounding: every step within its measured float noise"
        case .optimizerHyperparameter: return "the optimizers' constants differ (learning rate, β, ε, ρ/α, momentum, decay)"
        case .optimizerAlgorithm: return "different optimizer algorithms"
        case .adamEpsilon: return "Adam's ε added before (Keras) or after (PyTorch) the bias correction of √v"
        case .rmspropEpsilon: return "RMSprop's ε inside the square root (Keras) or outside (PyTorch)"
        case .nesterovForm: return "Nesterov momentum in Keras's and PyTorch's forms"
        case .optimizerFormula: return "the same optimizer written with each framework's formula"
        case .weightDecayCoupling: return "weight decay decoupled (Keras, AdamW) against coupled L2 in the gradient"
        case .gradientClipping: return "gradient clipping differs (per variable, global, by value, or none)"
        case .bnMomentum: return "BatchNorm momentum: Keras keeps `momentum` of the running statistic, PyTorch replaces `momentum` of it"
        case .bnRunningVariance: return "PyTorch's running variance takes the unbiased batch variance, Keras's the biased one"
        case .rnnBiasTrainedTwice: return "PyTorch trains b_ih and b_hh, so the sum one Keras bias stands for moves twice per step"
        case .fromLogits: return "the loss reads the output as probabilities on one side and as logits on the other"
        case .labelSmoothing: return "different label smoothing"
        case .lossReduction: return "the loss is reduced differently (mean, sum, sum over batch size)"
        case .crossentropyClipping: return "Keras recovers a final sigmoid's logits or clips probabilities to [1e-7, 1 − 1e-7]; PyTorch's BCELoss clamps log at −100"
        case .gradientConvention: return "the frameworks' derivatives at ties and kinks (max/min ties, clip bounds)"
        case .trainingMode: return "a layer runs in training mode on one side and in inference mode on the other (BatchNorm statistics, Dropout)"
        case .weightRegularizer: return "Keras adds its layers' regularizer penalties to the loss (L2(λ): 2λ·w in the gradient); PyTorch has none, or writes them as the optimizer's weight_decay (wd·w on every parameter)"
        }
    }

    public var test: String {
        switch self {
        case .floatNoise: return "no step parts beyond its measured rounding"
        case .optimizerHyperparameter: return "the other side's constants, own formula; both values listed"
        case .optimizerAlgorithm: return "the other side's optimizer"
        case .adamEpsilon: return "Adam with the other framework's formula; the report gives PyTorch's ε on Keras's scale at the diverging step"
        case .rmspropEpsilon: return "RMSprop with the other formula (ε inside or outside the square root, lr inside or outside the momentum buffer)"
        case .nesterovForm: return "SGD with the other formula"
        case .optimizerFormula: return "the other formula (Adagrad, Adadelta, Adamax, Nadam, Lion)"
        case .weightDecayCoupling: return "the other side's decay"
        case .gradientClipping: return "the other side's clipping"
        case .bnMomentum: return "Keras BatchNorm with momentum `1 − m'` (read from the `.pt2`'s `batch_norm` nodes)"
        case .bnRunningVariance: return "Keras BatchNorm with the unbiased update"
        case .rnnBiasTrainedTwice: return "the Keras bias's update doubled (exact while both summands share their optimizer state, i.e. without weight decay)"
        case .fromLogits: return "the other side's input form"
        case .labelSmoothing: return "the other side's smoothing"
        case .lossReduction: return "the other side's reduction"
        case .crossentropyClipping: return "the PyTorch loss on the Keras side"
        case .gradientConvention: return "the other framework's derivative rules"
        case .trainingMode: return "the Keras BatchNormalization in the PyTorch node's mode: inference, or batch statistics with the node's momentum and unbiased variance; the Keras Dropout as the identity where the PyTorch dropout node (same position) has train=False; a Keras recurrent layer without its dropout and recurrent_dropout (no PyTorch recurrent module has them)"
        case .weightRegularizer: return "the Keras model without its weight and activity regularizers (a PyTorch weight_decay is swapped in by optimizer-hyperparameter)"
        }
    }
}

/// A training convention as a hypothesis: the changed side with the other side's convention swapped in.
struct TrainingHypothesis {
    var cause: TrainingCause
    var message: String
    var fix: String?
    var apply: (TrainingSide) throws -> TrainingSide

    /// The hypotheses that apply to the pair: the changed side (`changed`) takes the other's convention.
    /// `step`: the step where the runs part (for sizes in the messages); `steps`: the run's length.
    static func applicable(changed: TrainingSide, other: TrainingSide, pairing: VariablePairing, pairings: [WeightPairing],
                           program: TorchProgram?, step: Int, steps: Int) -> [TrainingHypothesis] {
        var result: [TrainingHypothesis] = []
        let (x, y) = (changed.optimizer, other.optimizer)
        let (fx, fy) = (changed.framework, other.framework)
        let sameAlgorithm = caseName(x.algorithm) == caseName(y.algorithm)
        if sameAlgorithm {
            var differences = zip(values(x.algorithm), values(y.algorithm)).filter { $0.0.value != $0.1.value }
                .map { "\($0.0.label) \(number($0.0.value)) (\(fx)) vs \(number($0.1.value)) (\(fy))" }
            if x.schedule == nil, y.schedule == nil {
                if x.learningRate != y.learningRate { differences.insert("learning rate \(number(x.learningRate)) (\(fx)) vs \(number(y.learningRate)) (\(fy))", at: 0) }
            } else if let t = firstDifferentRate(x, y, steps: steps) {
                differences.insert("learning rate \(x.schedule.map { "\($0)" } ?? number(x.learningRate)) (\(fx)) vs \(y.schedule.map { "\($0)" } ?? number(y.learningRate)) (\(fy)), "
                                   + "\(number(rate(x, t))) vs \(number(rate(y, t))) at step \(t)", at: 0)
            }
            let decayX = decay(x.weightDecay), decayY = decay(y.weightDecay)
            let sameDecayKind = decayX.kind == decayY.kind || decayX.kind == nil || decayY.kind == nil
            if sameDecayKind, decayX.lambda != decayY.lambda {
                differences.append("weight decay \(number(decayX.lambda)) (\(fx)) vs \(number(decayY.lambda)) (\(fy))")
            }
            if !differences.isEmpty {
                result.append(TrainingHypothesis(cause: .optimizerHyperparameter, message: differences.joined(separator: "; "),
                                                 fix: "give both optimizers the same values (the defaults differ between the frameworks)") { side in
                    var s = side
                    s.optimizer.algorithm = y.algorithm
                    s.optimizer.learningRate = y.learningRate
                    s.optimizer.schedule = y.schedule
                    if sameDecayKind { s.optimizer.weightDecay = y.weightDecay }
                    return s
                })
            }
            if fx != fy {
                result.append(formHypothesis(x, y, step: step))
            }
        } else {
            // The other side's optimizer as it runs (its algorithm, constants, schedule, decay and formula); clipping stays
            // a hypothesis of its own.
            result.append(TrainingHypothesis(cause: .optimizerAlgorithm, message: "\(x) (\(fx)) against \(y) (\(fy))",
                                             fix: "one algorithm on both sides: \(x.className) in \(fy) too, or \(y.className) in \(fx) (where the framework has the class)") { side in
                var s = side
                s.optimizer = Optimizer(framework: y.framework, algorithm: y.algorithm, learningRate: y.learningRate, weightDecay: y.weightDecay,
                                        clipping: side.optimizer.clipping, className: y.className, arguments: y.arguments)
                s.optimizer.schedule = y.schedule
                return s
            })
        }
        let decayX = decay(x.weightDecay), decayY = decay(y.weightDecay)
        if let kx = decayX.kind, let ky = decayY.kind, kx != ky {
            result.append(TrainingHypothesis(cause: .weightDecayCoupling,
                                             message: "weight decay \(number(decayX.lambda)) \(kx) (\(fx)) against \(number(decayY.lambda)) \(ky) (\(fy))",
                                             fix: "decoupled on both: torch.optim.AdamW(weight_decay=λ) (or decoupled_weight_decay=True) matches Keras's weight_decay=λ") { side in
                var s = side
                s.optimizer.weightDecay = y.weightDecay
                return s
            })
        }
        if x.clipping != y.clipping {
            var message = "clipping \(clipText(x.clipping)) (\(fx)) against \(clipText(y.clipping)) (\(fy))"
            if case let .globalNorm(cx, _)? = x.clipping, case let .globalNorm(cy, _)? = y.clipping, cx == cy {
                message = "global norm \(number(cx)) on both, in two formulas: Keras's clip_by_global_norm scales by c·min(1/‖g‖, 1/c), PyTorch's clip_grad_norm_ by "
                    + "min(c/(‖g‖ + 1e-6), 1): a relative difference of 1e-6/‖g‖ at every step that clips"
            }
            result.append(TrainingHypothesis(cause: .gradientClipping, message: message,
                                             fix: "Keras global_clipnorm=c ↔ clip_grad_norm_(max_norm=c); clipvalue=c ↔ clip_grad_value_(c); Keras clipnorm is per variable") { side in
                var s = side
                s.optimizer.clipping = y.clipping
                return s
            })
        }
        result += lossHypotheses(changed.loss, other.loss)
        if fx == .keras, fy == .pyTorch, case .keras(let model) = changed.body {
            result += batchNormHypotheses(model, pairings: pairings, program: program)
            result += dropoutModeHypotheses(model, program: program)
            let recurrent = model.recurrentDropoutLayers
            if !recurrent.isEmpty {
                let text = recurrent.map { "\($0.name) (dropout \(number($0.dropout)), recurrent_dropout \(number($0.recurrentDropout)))" }.joined(separator: ", ")
                let names = recurrent.map(\.name)
                result.append(TrainingHypothesis(cause: .trainingMode,
                                                 message: "\(text): Keras's fit drops the recurrent layer's inputs and state with a mask per sequence; PyTorch's recurrent modules have no such dropout (nn.LSTM's dropout= acts between stacked layers), so the port never drops there",
                                                 fix: "no nn.LSTM/nn.GRU setting matches: apply one mask per sequence to the input before the PyTorch module (input dropout only), or train the Keras layer with dropout=0 and recurrent_dropout=0") { side in
                    side.inKerasInference(names)
                })
            }
            if let h = regularizerHypothesis(model, other: y) { result.append(h) }
            let summed = pairing.entries.filter { $0.summed && $0.trainable }
            if !summed.isEmpty {
                result.append(TrainingHypothesis(cause: .rnnBiasTrainedTwice,
                                                 message: "\(summed.map { "\($0.name) = \($0.other.joined(separator: " + "))" }.joined(separator: ", ")): both PyTorch biases get the bias's gradient and each takes an optimizer step, so their sum moves twice as far as Keras's bias",
                                                 fix: "train one of the two: bias_hh_l0.requires_grad_(False) with bias_hh_l0 = 0 and bias_ih_l0 = Keras's bias") { side in
                    var s = side
                    for entry in summed { s.updateScales[entry.name] = 2 }
                    return s
                })
            }
        }
        if fx != fy {
            let target = GradientConvention.of(fy)
            result.append(TrainingHypothesis(cause: .gradientConvention, message: "the \(fx) side's gradients with \(target)'s rules at ties and kinks",
                                             fix: "none needed: only values exactly at a tie or kink are affected") { side in
                var s = side
                s.convention = target
                return s
            })
        }
        return result
    }

    /// The Keras model's regularizers (``KerasTrainable/regularizers``, ``KerasTrainable/activityRegularizers``) against
    /// a PyTorch side, which has no loss-side regularizer: `fit` adds `λ·Σw²` of an L2(λ) to the loss, so `2λ·w` to
    /// the variable's gradient, where `weight_decay=wd` adds `wd·w` to every parameter of the group.
    static func regularizerHypothesis(_ model: KerasTrainable, other: Optimizer) -> TrainingHypothesis? {
        let weights = model.regularizers.map { "\(model.variables[$0.index].name) \($0.regularizer)" }
        let activity = model.activityRegularizers.sorted { $0.key < $1.key }.map { "\($0.key) activity \($0.value)" }
        guard !weights.isEmpty || !activity.isEmpty else { return nil }
        var message = (weights + activity).joined(separator: ", ")
            + ": Keras's fit adds each penalty to the loss (L2(λ) is λ·Σw², so 2λ·w in the variable's gradient; the reported loss includes it)"
        let (kind, lambda) = decay(other.weightDecay)
        if let kind {
            message += "; PyTorch's weight_decay \(number(lambda)) \(kind) adds \(number(lambda))·w to every parameter of the group instead"
        } else {
            message += "; the PyTorch side has no such term"
        }
        return TrainingHypothesis(cause: .weightRegularizer, message: message,
                                  fix: "PyTorch: weight_decay=2λ for exactly the L2(λ)-regularized parameters (a parameter group; the losses then still differ by the penalty), or add the penalties to the loss") { side in
            side.editingKeras {
                $0.regularizers = []
                $0.activityRegularizers = [:]
            }
        }
    }

    /// The same optimizer with the other framework's formula (constants kept).
    static func formHypothesis(_ x: Optimizer, _ y: Optimizer, step t: Int) -> TrainingHypothesis {
        let cause: TrainingCause, message: String, fix: String
        switch x.algorithm {
        case let .adam(_, beta2, epsilon, _):
            cause = .adamEpsilon
            let (keras, torch) = x.framework == .keras ? (x, y) : (y, x)
            var epsilonTorch = epsilon
            if case let .adam(_, _, e, _) = torch.algorithm { epsilonTorch = e }
            var epsilonKeras = epsilon
            if case let .adam(_, _, e, _) = keras.algorithm { epsilonKeras = e }
            let correction = (1 - Foundation.pow(beta2, Double(t))).squareRoot()
            message = "Keras adds ε̂ = \(number(epsilonKeras)) to √v and folds the bias correction into the step size; PyTorch adds ε = \(number(epsilonTorch)) to √v/√(1 − β₂ᵗ). "
                + "On Keras's scale PyTorch's ε is ε·√(1 − β₂ᵗ) = \(number(epsilonTorch * correction)) at step \(t) (β₂ = \(number(beta2))): the two agree only where √v ≫ ε"
            fix = "none exact: PyTorch would need ε = ε̂/√(1 − β₂ᵗ) (\(number(epsilonKeras / correction)) at step \(t)), which changes every step"
        case .rmsprop:
            cause = .rmspropEpsilon
            message = "Keras divides by √(v + ε) and keeps the learning rate inside its momentum buffer; PyTorch divides by √v + ε, learning rate outside"
            fix = "none exact; with ε ≪ v the two agree to rounding"
        case let .sgd(_, nesterov, _) where nesterov:
            cause = .nesterovForm
            message = "Keras's Nesterov step w += μ·v − lr·g with v = μv − lr·g (each gradient scaled by its own step's rate) against PyTorch's "
                + "w −= lr·(g + μ·b) with b = μb + g (the current rate scales the whole buffer)"
            fix = "equal while the learning rate is constant; none exact under a schedule"
        case let .sgd(momentum, _, _) where momentum > 0:
            cause = .optimizerFormula
            message = "Keras's SGD velocity v = μv − lr·g holds each gradient times its own step's rate; PyTorch's buffer b = μb + g is scaled by the current rate (w −= lr·b)"
            fix = "equal while the learning rate is constant; none exact under a schedule"
        default:
            cause = .optimizerFormula
            message = "\(x.className) written as \(x.framework) writes it against \(y.className) as \(y.framework) writes it"
            fix = "see docs/training.md for the formula of each framework"
        }
        return TrainingHypothesis(cause: cause, message: message, fix: fix) { side in
            var s = side
            s.optimizer.framework = y.framework
            return s
        }
    }

    static func lossHypotheses(_ x: Loss, _ y: Loss) -> [TrainingHypothesis] {
        var result: [TrainingHypothesis] = []
        switch (x.function, y.function) {
        case let (.crossentropy(fx), .crossentropy(fy)):
            if fx.input != fy.input {
                result.append(TrainingHypothesis(cause: .fromLogits, message: "\(x) reads \(fx.input); \(y) reads \(fy.input)",
                                                 fix: "Keras: from_logits=True for a model that outputs logits (PyTorch's CrossEntropyLoss takes logits)") { side in
                    var s = side
                    guard case .crossentropy(var form) = s.loss.function else { return s }
                    form.input = fy.input
                    s.loss.function = .crossentropy(form)
                    return s
                })
            }
            if fx.labelSmoothing != fy.labelSmoothing {
                result.append(smoothing(x, y, fx.labelSmoothing, fy.labelSmoothing) { function in
                    guard case .crossentropy(var form) = function else { return function }
                    form.labelSmoothing = fy.labelSmoothing
                    return .crossentropy(form)
                })
            }
        case let (.binaryCrossentropy(lx, sx, _, _), .binaryCrossentropy(ly, sy, _, _)):
            if lx != ly {
                result.append(TrainingHypothesis(cause: .fromLogits, message: "\(x) from_logits=\(lx); \(y) from_logits=\(ly)",
                                                 fix: "Keras from_logits=True ↔ BCEWithLogitsLoss; from_logits=False ↔ BCELoss after a sigmoid") { side in
                    var s = side
                    guard case let .binaryCrossentropy(_, smoothing, positive, weight) = s.loss.function else { return s }
                    s.loss.function = .binaryCrossentropy(fromLogits: ly, labelSmoothing: smoothing, positiveWeight: positive, weight: weight)
                    return s
                })
            }
            if sx != sy {
                result.append(smoothing(x, y, sx, sy) { function in
                    guard case let .binaryCrossentropy(l, _, p, w) = function else { return function }
                    return .binaryCrossentropy(fromLogits: l, labelSmoothing: sy, positiveWeight: p, weight: w)
                })
            }
            if x.framework == .keras, y.framework == .pyTorch, !lx, !ly {
                result.append(TrainingHypothesis(cause: .crossentropyClipping,
                                                 message: "Keras recovers a final sigmoid's logits (other probabilities it clips to [1e-7, 1 − 1e-7]); BCELoss reads the probabilities and clamps log(p) at −100, so a saturated output (p exactly 0 or 1) costs at most 100 and passes no gradient",
                                                 fix: "output logits and use from_logits=True / BCEWithLogitsLoss on both sides") { side in
                    var s = side
                    s.loss = Loss(framework: .pyTorch, function: side.loss.function, reduction: mappedReduction(side.loss.reduction, to: .pyTorch),
                                  className: y.className, arguments: y.arguments)
                    return s
                })
            }
        default:
            break
        }
        let reduction = mappedReduction(y.reduction, to: x.framework)
        if reduction != x.reduction {
            // Across frameworks with one per-element function, the other side's loss as it runs: Keras reduces each
            // sample first (MeanSquaredError's mean over the last axis), so its `sum` adds per-sample means where
            // PyTorch's adds every element.
            let whole = x.framework != y.framework && x.function == y.function
            let note = whole && y.reduction == .sum ? " (PyTorch's sum adds every element, Keras's the per-sample losses)" : ""
            result.append(TrainingHypothesis(cause: .lossReduction, message: "\(x) reduces by \(x.reduction.rawValue); \(y) by \(y.reduction.rawValue)\(note)",
                                             fix: "the same reduction on both sides (Keras sum_over_batch_size ↔ PyTorch mean)") { side in
                var s = side
                if whole {
                    s.loss = Loss(framework: y.framework, function: y.function, reduction: y.reduction, className: y.className, arguments: y.arguments)
                } else {
                    s.loss.reduction = reduction
                }
                return s
            })
        }
        return result
    }

    static func smoothing(_ x: Loss, _ y: Loss, _ sx: Double, _ sy: Double, _ change: @escaping (Loss.Function) -> Loss.Function) -> TrainingHypothesis {
        TrainingHypothesis(cause: .labelSmoothing, message: "label smoothing \(number(sx)) (\(x.className)) against \(number(sy)) (\(y.className))",
                           fix: "the same label_smoothing on both sides") { side in
            var s = side
            s.loss.function = change(s.loss.function)
            return s
        }
    }

    /// The reduction `r` means in the other framework (Keras sum_over_batch_size ↔ PyTorch mean).
    static func mappedReduction(_ r: Loss.Reduction, to framework: ParityTrain.Framework) -> Loss.Reduction {
        switch (r, framework) {
        case (.mean, .keras): return .sumOverBatchSize
        case (.sumOverBatchSize, .pyTorch): return .mean
        default: return r
        }
    }

    /// bn-momentum and bn-running-variance for the Keras side's BatchNormalization layers, against the momentum the
    /// PyTorch program's `batch_norm` nodes were exported with.
    static func batchNormHypotheses(_ model: KerasTrainable, pairings: [WeightPairing], program: TorchProgram?) -> [TrainingHypothesis] {
        guard let program else { return [] }
        let nodes = batchNormNodes(pairings: pairings, program: program)
        var result = trainingModeHypotheses(model, nodes: nodes)
        let layers = model.batchNormLayers
        guard !layers.isEmpty else { return result }
        var torchMomentum: [String: Double] = [:]
        for (layer, node) in nodes {
            guard case .bool(true)? = node.argument("training"), case .float(let m)? = node.argument("momentum") else { continue }
            torchMomentum[layer] = m
        }
        let momenta = torchMomentum
        let differing = layers.filter { layer in torchMomentum[layer.name].map { Swift.abs(layer.rule.keptShare - (1 - $0)) > 1e-12 } ?? false }
        if !differing.isEmpty {
            let text = differing.map { "\($0.name): Keras momentum \(number($0.rule.momentum)) keeps \(number($0.rule.keptShare)) of the running statistic; PyTorch momentum \(number(torchMomentum[$0.name]!)) keeps \(number(1 - torchMomentum[$0.name]!))" }
            result.append(TrainingHypothesis(cause: .bnMomentum, message: text.joined(separator: "; "),
                                             fix: differing.map { "nn.BatchNorm(momentum=\(number(1 - $0.rule.keptShare))) for Keras momentum=\(number($0.rule.keptShare))" }.joined(separator: "; ")) { side in
                side.editingKeras { m in
                    for layer in m.batchNormLayers {
                        guard let t = momenta[layer.name] else { continue }
                        m.batchNormRules[layer.name] = BatchNormTraining(momentum: 1 - t, form: .keepsRunning, unbiasedRunningVariance: layer.rule.unbiasedRunningVariance)
                    }
                }
            })
        }
        let biased = layers.filter { !$0.rule.unbiasedRunningVariance && torchMomentum[$0.name] != nil }
        if !biased.isEmpty {
            result.append(TrainingHypothesis(cause: .bnRunningVariance,
                                             message: "\(biased.map(\.name).joined(separator: ", ")): PyTorch moves running_var toward the unbiased batch variance (× n/(n − 1)); Keras toward the biased one",
                                             fix: "none in nn.BatchNorm; the difference is (1 − kept share)·var/(n − 1) per step and matters most for small batches") { side in
                side.editingKeras { m in
                    for layer in m.batchNormLayers where momenta[layer.name] != nil {
                        var rule = layer.rule
                        rule.unbiasedRunningVariance = true
                        m.batchNormRules[layer.name] = rule
                    }
                }
            })
        }
        return result
    }

    /// Each Keras BatchNormalization layer's `batch_norm` node in the PyTorch program (the node reading the
    /// running mean its port pairs with it), by layer name.
    static func batchNormNodes(pairings: [WeightPairing], program: TorchProgram) -> [String: TorchNode] {
        let inputOf = Dictionary(program.inputs.compactMap { input -> (String, String)? in
            if case .buffer(let fqn, _) = input.kind { return (fqn, input.name) }
            return nil
        }, uniquingKeysWith: { first, _ in first })
        var nodes: [String: TorchNode] = [:]
        for pairing in pairings where pairing.layer.className == "BatchNormalization" {
            guard let fqn = pairing.torch["running_mean"], let name = inputOf[fqn],
                  let node = program.graph.allNodes.first(where: { $0.target == "aten.batch_norm.default" && $0.argument("running_mean")?.tensorNames == [name] })
            else { continue }
            nodes[pairing.layer.name] = node
        }
        return nodes
    }

    /// training-mode: a BatchNormalization that one side trains with batch statistics (moving its running
    /// statistics) and the other runs in inference mode. The Keras side takes the PyTorch node's mode: inference,
    /// or training with the node's own update rule (momentum, unbiased variance).
    static func trainingModeHypotheses(_ model: KerasTrainable, nodes: [String: TorchNode]) -> [TrainingHypothesis] {
        var toInference: [String] = [], toTraining: [(String, BatchNormTraining)] = []
        for (name, kerasTrains) in model.batchNormModes {
            guard let node = nodes[name], case .bool(let torchTrains)? = node.argument("training"), torchTrains != kerasTrains else { continue }
            if torchTrains {
                guard case .float(let m)? = node.argument("momentum") else { continue }
                toTraining.append((name, .pyTorch(momentum: m)))
            } else {
                toInference.append(name)
            }
        }
        var result: [TrainingHypothesis] = []
        if !toInference.isEmpty {
            let names = toInference.joined(separator: ", ")
            result.append(TrainingHypothesis(cause: .trainingMode,
                                             message: "\(names): Keras's fit trains BatchNormalization with batch statistics and moves its moving mean and variance; the PyTorch module was left in eval mode (its batch_norm node has training=False: running statistics, never updated)",
                                             fix: "in PyTorch, keep the BatchNorm in train mode (no .eval() on it before training); or in Keras, set trainable = False on the layer (inference mode, γ and β frozen too)") { side in
                side.inKerasInference(toInference)
            })
        }
        if !toTraining.isEmpty {
            let names = toTraining.map(\.0).joined(separator: ", ")
            let rules = Dictionary(uniqueKeysWithValues: toTraining)
            result.append(TrainingHypothesis(cause: .trainingMode,
                                             message: "\(names): Keras runs a BatchNormalization with trainable=False in inference mode (moving statistics, never updated); the PyTorch module trains in train mode (batch statistics; running statistics move with momentum \(toTraining.map { number($0.1.momentum) }.joined(separator: ", "))) — requires_grad_(False) freezes its parameters, not its mode",
                                             fix: "in PyTorch, call .eval() on the frozen BatchNorm after model.train() (and before export), as Keras's trainable=False puts it in inference mode") { side in
                side.editingKeras { m in
                    for (name, rule) in rules { m.batchNormRules[name] = rule }
                }
            })
        }
        return result
    }

    /// training-mode for Dropout: a Keras Dropout (which `fit` always trains) against a PyTorch `dropout` node exported
    /// in eval mode (`train=False`: the identity). Dropouts have no weights to pair them by, so the i-th Keras Dropout
    /// layer stands for the i-th `dropout` node of the program; the hypothesis applies only when the counts agree.
    static func dropoutModeHypotheses(_ model: KerasTrainable, program: TorchProgram?) -> [TrainingHypothesis] {
        guard let program else { return [] }
        let layers = model.dropoutLayers
        let nodes = program.graph.allNodes.filter { $0.target == "aten.dropout.default" }
        guard !layers.isEmpty, layers.count == nodes.count else { return [] }
        let evalMode = zip(layers, nodes).filter { _, node in
            if case .bool(false)? = node.argument("train") { return true }
            return false
        }
        guard !evalMode.isEmpty else { return [] }
        let names = evalMode.map(\.0.name)
        let text = evalMode.map { layer, node in
            "\(layer.name) (rate \(number(layer.rate))) ↔ \(node.modulePath.isEmpty ? node.name : node.modulePath)"
        }.joined(separator: ", ")
        return [TrainingHypothesis(cause: .trainingMode,
                                   message: "\(text): Keras's fit drops with the step's mask; the PyTorch Dropout was left in eval mode (its dropout node has train=False: the identity, never dropping)",
                                   fix: "in PyTorch, keep the Dropout in train mode (no .eval() on it, or F.dropout(x, p, training=self.training)) before training and export") { side in
            side.inKerasInference(names)
        }]
    }

    /// The learning rate of step `t` in Float64.
    static func rate(_ o: Optimizer, _ t: Int) -> Double { o.schedule?.rate(step: t, base: o.learningRate, dtype: .float64) ?? o.learningRate }

    /// The first step (of the run's) where two optimizers' learning rates differ beyond Float64 rounding.
    static func firstDifferentRate(_ x: Optimizer, _ y: Optimizer, steps: Int) -> Int? {
        (1...Swift.max(steps, 1)).first { t in
            let (a, b) = (rate(x, t), rate(y, t))
            return Swift.abs(a - b) > 1e-12 * Swift.max(Swift.abs(a), Swift.abs(b))
        }
    }

    // MARK: Helpers

    static func caseName(_ a: Optimizer.Algorithm) -> String { String("\(a)".prefix { $0 != "(" }) }

    /// The algorithm's constants with their labels.
    static func values(_ a: Optimizer.Algorithm) -> [(label: String, value: Double)] {
        guard let payload = Mirror(reflecting: a).children.first?.value else { return [] }
        return Mirror(reflecting: payload).children.compactMap { child in
            if let d = child.value as? Double { return (label: child.label ?? "?", value: d) }
            if let b = child.value as? Bool { return (label: child.label ?? "?", value: b ? 1 : 0) }
            return nil
        }
    }

    static func decay(_ d: Optimizer.WeightDecay?) -> (kind: String?, lambda: Double) {
        switch d {
        case .decoupled(let l)?: return ("decoupled", l)
        case .coupled(let l)?: return ("coupled (L2 in the gradient)", l)
        case nil: return (nil, 0)
        }
    }

    static func clipText(_ c: Optimizer.Clipping?) -> String {
        switch c {
        case .perVariableNorm(let v)?: return "per-variable norm \(number(v))"
        case .globalNorm(let v, _)?: return "global norm \(number(v))"
        case .value(let v)?: return "value \(number(v))"
        case nil: return "none"
        }
    }

    static func number(_ x: Double) -> String { String(format: "%g", x) }
}

extension TrainingSide {
    /// The side with its Keras model edited by `edit` (a PyTorch side unchanged: the hypotheses that take
    /// the PyTorch side's convention change the Keras model only).
    func editingKeras(_ edit: (inout KerasTrainable) -> Void) -> TrainingSide {
        guard case .keras(var m) = body else { return self }
        edit(&m)
        var s = self
        s.body = .keras(m)
        return s
    }

    /// The side with the Keras layers `names` run in inference mode (``KerasTrainable/inferenceLayers``).
    func inKerasInference(_ names: [String]) -> TrainingSide { editingKeras { $0.inferenceLayers.formUnion(names) } }
}
