/// Why a training run cannot start or go on. Each case echoes the bad value.
public enum TrainError: Error, Equatable, CustomStringConvertible {
    /// A spec (`"Adam(lr=1e-3)"`) that does not parse, at `position` (a character offset).
    case badSpec(spec: String, position: Int, reason: String)
    /// A spec that parses but asks for something Parity does not apply (a refused scheduler, a chain).
    case refusedSpec(spec: String, reason: String)
    /// A class no table knows.
    case unknownClass(name: String, kind: String, known: [String])
    /// An argument the class does not take.
    case unknownArgument(className: String, name: String, known: [String])
    /// An argument with a value of the wrong type or out of range.
    case badArgument(name: String, value: String, reason: String)
    /// Targets that do not fit the model's output or the loss.
    case badTarget(reason: String)
    /// Inputs that do not fit the model or the batching.
    case badInput(reason: String)
    /// A model with nothing to train.
    case noTrainableWeights(model: String)
    /// Something in the model that a training step cannot run (named).
    case unsupportedModel(String)
    /// Two variables that share one tensor.
    case sharedVariable(index: Int, shape: [Int])
    /// A trainable variable the forward pass never read as stored.
    case unreachedVariables([String])

    public var description: String {
        switch self {
        case let .badSpec(spec, position, reason):
            return "cannot parse '\(spec)' at character \(position): \(reason)"
        case let .refusedSpec(spec, reason):
            return "cannot apply '\(spec)': \(reason)"
        case let .unknownClass(name, kind, known):
            let close = known.first { $0.lowercased() == name.lowercased() || $0.lowercased().hasSuffix("." + name.lowercased()) }
            return "unknown \(kind) '\(name)'\(close.map { " (did you mean \($0)?)" } ?? ""); known: \(known.joined(separator: ", "))"
        case let .unknownArgument(className, name, known):
            let hint = Self.otherSpelling[name].map { " (\(name) is \($0))" } ?? ""
            return "\(className) takes no argument '\(name)'\(hint); it takes \(known.isEmpty ? "none" : known.joined(separator: ", "))"
        case let .badArgument(name, value, reason):
            return "bad value for \(name): \(value) (\(reason))"
        case let .badTarget(reason):
            return "bad target: \(reason)"
        case let .badInput(reason):
            return "bad input: \(reason)"
        case let .noTrainableWeights(model):
            return "\(model) has no trainable weights"
        case let .unsupportedModel(reason):
            return "cannot train this model: \(reason)"
        case let .sharedVariable(index, shape):
            return "variable \(index) (shape \(shape)) shares its storage with another variable"
        case let .unreachedVariables(names):
            return "the forward pass does not read these trainable variables as stored (a layer transforms them when it is built, "
                + "so their gradient cannot be taken): \(names.joined(separator: ", "))"
        }
    }
}

extension TrainError {
    /// Arguments one framework spells and the other does not, for hints.
    static let otherSpelling: [String: String] = [
        "lr": "PyTorch's spelling: Keras says learning_rate (or prefix the class with torch.optim.)",
        "betas": "PyTorch's spelling: Keras says beta_1, beta_2 (or prefix the class with torch.optim.)",
        "eps": "PyTorch's spelling: Keras says epsilon (or prefix the class with torch.optim.)",
        "alpha": "PyTorch's RMSprop decay: Keras says rho",
        "learning_rate": "Keras's spelling: PyTorch says lr (or prefix the class with keras.optimizers.)",
        "epsilon": "Keras's spelling: PyTorch says eps (or prefix the class with keras.optimizers.)",
        "beta_1": "Keras's spelling: PyTorch says betas=(b1, b2)",
        "beta_2": "Keras's spelling: PyTorch says betas=(b1, b2)",
        "from_logits": "Keras's: PyTorch's CrossEntropyLoss and BCEWithLogitsLoss take logits, NLLLoss and BCELoss (log-)probabilities",
        "clipnorm": "Keras's: with PyTorch write + clip_grad_norm_(max_norm=...)",
    ]
}

/// The framework whose conventions a model, loss or optimizer follows.
public enum Framework: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Keras 3 on TensorFlow.
    case keras
    /// PyTorch 2.
    case pyTorch = "pytorch"

    public var description: String { self == .keras ? "Keras" : "PyTorch" }
}
