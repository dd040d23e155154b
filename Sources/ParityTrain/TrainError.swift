/// Why a training run cannot start or go on. Each case echoes the bad value.
public enum TrainError: Error, Equatable, CustomStringConvertible {
    /// A spec (`"Adam(lr=1e-3)"`) that does not parse, at `position` (a character offset).
    case badSpec(spec: String, position: Int, reason: String)
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
        case let .unknownClass(name, kind, known):
            return "unknown \(kind) '\(name)'; known: \(known.joined(separator: ", "))"
        case let .unknownArgument(className, name, known):
            return "\(className) takes no argument '\(name)'; it takes \(known.isEmpty ? "none" : known.joined(separator: ", "))"
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

/// The framework whose conventions a model, loss or optimizer follows.
public enum Framework: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Keras 3 on TensorFlow.
    case keras
    /// PyTorch 2.
    case pyTorch = "pytorch"

    public var description: String { self == .keras ? "Keras" : "PyTorch" }
}
