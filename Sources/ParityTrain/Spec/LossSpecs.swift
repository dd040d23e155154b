import ParityNN

/// The loss classes of both frameworks with their arguments and defaults (Keras 3.15
/// `keras/src/losses/losses.py`, PyTorch 2.15 `torch/nn/modules/loss.py`; checked with
/// `inspect.signature`), and how a call of one becomes a ``Loss``.
extension Loss {
    /// Parses `"CrossEntropyLoss(label_smoothing=0.1)"`, `"keras.losses.Huber(delta=0.5)"` or a Keras string
    /// alias (`"mse"`, `"sparse_categorical_crossentropy"`). A `torch.nn.` / `nn.` / `keras.losses.` prefix picks
    /// the framework; the class names of the two frameworks do not overlap.
    public static func parse(_ spec: String) throws -> Loss {
        let calls = try SpecCall.parse(spec)
        guard calls.count == 1 else { throw TrainError.refusedSpec(spec: spec, reason: "one loss expected") }
        return try make(calls[0])
    }

    static func make(_ call: SpecCall) throws -> Loss {
        switch call.module {
        case "", "torch.nn", "nn", "keras.losses", "tf.keras.losses", "losses": break
        default: throw TrainError.unknownClass(name: call.qualifiedName, kind: "loss", known: ["torch.nn.<name>", "keras.losses.<name>"])
        }
        let name = kerasAliases[call.name] ?? call.name
        if let table = kerasTables[name], !call.module.hasPrefix("torch"), call.module != "nn" {
            return try keras(name, try table.bind(call))
        }
        if let table = torchTables[name], !call.module.contains("keras"), call.module != "losses" {
            return try torch(name, try table.bind(call))
        }
        throw TrainError.unknownClass(name: call.qualifiedName, kind: "loss",
                                      known: (kerasTables.keys.map { "keras.losses.\($0)" } + torchTables.keys.map { "torch.nn.\($0)" }).sorted())
    }

    /// Keras's string names for its losses (`keras/src/losses/__init__.py`, `ALL_OBJECTS_DICT`).
    static let kerasAliases: [String: String] = [
        "mse": "MeanSquaredError", "MSE": "MeanSquaredError", "mean_squared_error": "MeanSquaredError",
        "mae": "MeanAbsoluteError", "MAE": "MeanAbsoluteError", "mean_absolute_error": "MeanAbsoluteError",
        "huber": "Huber", "huber_loss": "Huber", "log_cosh": "LogCosh", "logcosh": "LogCosh", "poisson": "Poisson",
        "binary_crossentropy": "BinaryCrossentropy", "categorical_crossentropy": "CategoricalCrossentropy",
        "sparse_categorical_crossentropy": "SparseCategoricalCrossentropy", "kl_divergence": "KLDivergence", "kld": "KLDivergence",
        "KLD": "KLDivergence", "kullback_leibler_divergence": "KLDivergence", "cosine_similarity": "CosineSimilarity",
        "hinge": "Hinge", "squared_hinge": "SquaredHinge", "categorical_hinge": "CategoricalHinge",
    ]

    static let kerasTables: [String: ArgumentTable] = {
        let common: [(String, SpecCall.Value)] = [("reduction", .string("sum_over_batch_size")), ("name", .none), ("dtype", .none)]
        func table(_ name: String, _ own: [(String, SpecCall.Value)] = []) -> (String, ArgumentTable) {
            (name, ArgumentTable(className: name, parameters: own.map { ($0.0, $0.1) } + common.map { ($0.0, $0.1) }))
        }
        let crossentropy: [(String, SpecCall.Value)] = [("from_logits", .bool(false)), ("label_smoothing", .number(0)), ("axis", .number(-1))]
        return Dictionary(uniqueKeysWithValues: [
            table("MeanSquaredError"), table("MeanAbsoluteError"), table("Huber", [("delta", .number(1))]), table("LogCosh"), table("Poisson"),
            table("BinaryCrossentropy", crossentropy), table("CategoricalCrossentropy", crossentropy),
            // SparseCategoricalCrossentropy(from_logits, ignore_class, reduction, axis, ...): no label smoothing.
            ("SparseCategoricalCrossentropy", ArgumentTable(className: "SparseCategoricalCrossentropy", parameters: [
                ("from_logits", .bool(false)), ("ignore_class", .none), ("reduction", .string("sum_over_batch_size")), ("axis", .number(-1)),
                ("name", .none), ("dtype", .none)])),
            table("KLDivergence"), table("CosineSimilarity", [("axis", .number(-1))]), table("Hinge"), table("SquaredHinge"), table("CategoricalHinge"),
        ])
    }()

    static func keras(_ name: String, _ a: Arguments) throws -> Loss {
        let reductionName = try a.string("reduction")
        guard let reduction = Reduction(rawValue: reductionName), [.sumOverBatchSize, .mean, .sum, .meanWithSampleWeight].contains(reduction) else {
            throw a.fail("reduction", "Keras reductions are sum_over_batch_size, mean, sum, mean_with_sample_weight (none gives no scalar to train)")
        }
        func lastAxis() throws {
            if let axis = try a.optionalInt("axis"), axis != -1 { throw a.fail("axis", "only the last axis (-1) is mapped") }
        }
        let function: Function
        switch name {
        case "MeanSquaredError": function = .squaredError
        case "MeanAbsoluteError": function = .absoluteError
        case "Huber": function = .huber(delta: try a.nonNegative("delta"))
        case "LogCosh": function = .logCosh
        case "Poisson": function = .poisson(logInput: false, epsilon: NormalizationDefaults.kerasBackendEpsilon, full: false)
        case "BinaryCrossentropy":
            try lastAxis()
            function = .binaryCrossentropy(fromLogits: try a.bool("from_logits"), labelSmoothing: try a.nonNegative("label_smoothing"), positiveWeight: nil,
                                           weight: nil)
        case "CategoricalCrossentropy":
            try lastAxis()
            function = .crossentropy(CrossentropyForm(input: try a.bool("from_logits") ? .logits : .probabilities, target: .distribution,
                                                      labelSmoothing: try a.nonNegative("label_smoothing")))
        case "SparseCategoricalCrossentropy":
            try lastAxis()
            function = .crossentropy(CrossentropyForm(input: try a.bool("from_logits") ? .logits : .probabilities, target: .classIndices,
                                                      ignoredClass: try a.optionalInt("ignore_class")))
        case "KLDivergence": function = .klDivergence(logInput: false, logTarget: false)
        case "CosineSimilarity": function = .cosineSimilarity(axis: try a.optionalInt("axis") ?? -1)
        case "Hinge": function = .hinge(squared: false)
        case "SquaredHinge": function = .hinge(squared: true)
        case "CategoricalHinge": function = .categoricalHinge
        default: throw TrainError.unknownClass(name: name, kind: "Keras loss", known: kerasTables.keys.sorted())
        }
        return Loss(framework: .keras, function: function, reduction: reduction == .mean ? .sumOverBatchSize : reduction, className: name,
                    arguments: a.written.filter { !$0.hasPrefix("name=") })
    }

    static let torchTables: [String: ArgumentTable] = {
        let legacy: [(String, SpecCall.Value)] = [("size_average", .none), ("reduce", .none)]
        func table(_ name: String, _ own: [(String, SpecCall.Value)]) -> (String, ArgumentTable) {
            (name, ArgumentTable(className: name, parameters: own.map { ($0.0, $0.1) }))
        }
        let mean: SpecCall.Value = .string("mean")
        return Dictionary(uniqueKeysWithValues: [
            table("MSELoss", legacy + [("reduction", mean)]),
            table("L1Loss", legacy + [("reduction", mean)]),
            table("HuberLoss", [("reduction", mean), ("delta", .number(1))]),
            table("SmoothL1Loss", legacy + [("reduction", mean), ("beta", .number(1))]),
            table("BCELoss", [("weight", .none)] + legacy + [("reduction", mean)]),
            table("BCEWithLogitsLoss", [("weight", .none)] + legacy + [("reduction", mean), ("pos_weight", .none)]),
            table("CrossEntropyLoss", [("weight", .none), ("size_average", .none), ("ignore_index", .number(-100)), ("reduce", .none),
                                       ("reduction", mean), ("label_smoothing", .number(0))]),
            table("NLLLoss", [("weight", .none), ("size_average", .none), ("ignore_index", .number(-100)), ("reduce", .none), ("reduction", mean)]),
            table("KLDivLoss", legacy + [("reduction", mean), ("log_target", .bool(false))]),
            table("PoissonNLLLoss", [("log_input", .bool(true)), ("full", .bool(false)), ("size_average", .none), ("eps", .number(1e-8)),
                                     ("reduce", .none), ("reduction", mean)]),
            table("HingeEmbeddingLoss", [("margin", .number(1))] + legacy + [("reduction", mean)]),
            table("CosineEmbeddingLoss", [("margin", .number(0))] + legacy + [("reduction", mean)]),
        ])
    }()

    static func torch(_ name: String, _ a: Arguments) throws -> Loss {
        for legacy in ["size_average", "reduce"] where a.values[legacy] != nil {
            try a.requireDefault(legacy, .none, because: "deprecated; use reduction=")
        }
        let reductionName = try a.string("reduction")
        guard let reduction = Reduction(rawValue: reductionName), [.mean, .sum, .batchMean].contains(reduction),
              reduction != .batchMean || name == "KLDivLoss" else {
            throw a.fail("reduction", "expected 'mean' or 'sum' ('batchmean' for KLDivLoss; 'none' gives no scalar to train)")
        }
        let function: Function
        switch name {
        case "MSELoss": function = .squaredError
        case "L1Loss": function = .absoluteError
        case "HuberLoss": function = .huber(delta: try a.nonNegative("delta"))
        case "SmoothL1Loss": function = .smoothL1(beta: try a.nonNegative("beta"))
        case "BCELoss":
            function = .binaryCrossentropy(fromLogits: false, labelSmoothing: 0, positiveWeight: nil, weight: try a.doubles("weight"))
        case "BCEWithLogitsLoss":
            function = .binaryCrossentropy(fromLogits: true, labelSmoothing: 0, positiveWeight: try a.doubles("pos_weight"), weight: try a.doubles("weight"))
        case "CosineEmbeddingLoss": function = .cosineEmbedding(margin: try a.double("margin"))
        case "CrossEntropyLoss", "NLLLoss":
            let smoothing = name == "CrossEntropyLoss" ? try a.nonNegative("label_smoothing") : 0
            guard smoothing <= 1 else { throw a.fail("label_smoothing", "must be in [0, 1]") }
            function = .crossentropy(CrossentropyForm(input: name == "NLLLoss" ? .logProbabilities : .logits, target: .classIndices,
                                                      labelSmoothing: smoothing, ignoredClass: try a.optionalInt("ignore_index"),
                                                      classWeights: try a.doubles("weight")))
        case "KLDivLoss": function = .klDivergence(logInput: true, logTarget: try a.bool("log_target"))
        case "PoissonNLLLoss": function = .poisson(logInput: try a.bool("log_input"), epsilon: try a.nonNegative("eps"), full: try a.bool("full"))
        case "HingeEmbeddingLoss": function = .hingeEmbedding(margin: try a.double("margin"))
        default: throw TrainError.unknownClass(name: name, kind: "PyTorch loss", known: torchTables.keys.sorted())
        }
        return Loss(framework: .pyTorch, function: function, reduction: reduction, className: name, arguments: a.written)
    }
}
