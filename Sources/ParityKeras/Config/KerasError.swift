/// What went wrong reading, running or writing a Keras model. Each case names the file, layer or key involved
/// and the value it found, so the message can be acted on.
public enum KerasError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A layer class Parity does not implement: the layer's name, its class, and what is supported.
    case unsupportedLayer(name: String, className: String, supported: [String])
    /// A class whose behaviour is Python code that only Python can run: a `Lambda` layer's function, a
    /// custom (user-registered) layer or model class. Names the layer, its class, module and why.
    case pythonCode(name: String, className: String, module: String, reason: String)
    /// A Keras operation node (`keras.src.ops.*`) Parity does not implement.
    case unsupportedOperation(name: String, className: String, module: String, reason: String)
    /// A config key is missing or has the wrong kind of value.
    case badConfig(layer: String, key: String, found: String)
    /// A config value Parity does not support (e.g. a `data_format` or activation it lacks).
    case unsupportedSetting(layer: String, key: String, value: String)
    /// The weights in the file do not match what the layer needs.
    case weightMismatch(layer: String, message: String)
    /// The file is not a Keras model file or is damaged.
    case badFile(path: String, message: String)
    /// A Keras file cannot be written (a bad destination, an invalid config, libhdf5 or zip failing).
    case cannotWrite(path: String, message: String)

    public var description: String {
        switch self {
        case let .unsupportedLayer(name, className, supported):
            return "layer '\(name)' has class \(className), which Parity does not support; supported classes: \(supported.joined(separator: ", "))"
        case let .pythonCode(name, className, module, reason):
            return "layer '\(name)' has class \(className) (module \(module)), which Parity cannot run: \(reason)"
        case let .unsupportedOperation(name, className, module, reason):
            return "operation '\(name)' (\(module).\(className)) is not supported: \(reason)"
        case let .badConfig(layer, key, found):
            return "layer '\(layer)': config key '\(key)' is missing or invalid (found \(found))"
        case let .unsupportedSetting(layer, key, value):
            return "layer '\(layer)': \(key) = \(value) is not supported"
        case let .weightMismatch(layer, message):
            return "layer '\(layer)': \(message)"
        case let .badFile(path, message):
            return "\(path): \(message)"
        case let .cannotWrite(path, message):
            return "cannot write \(path): \(message)"
        }
    }
}
