/// Why a conversion stopped. Each case names the Keras layer and its class, so the message says what
/// to change; nothing is ever approximated instead.
public enum ConvertError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A Keras class with no converter: the layer, its class, and the classes that are converted.
    case unsupportedLayer(name: String, className: String, supported: [String])
    /// A setting of a supported class that has no faithful PyTorch form (yet).
    case unsupportedSetting(layer: String, className: String, key: String, value: String, reason: String)
    /// A model shape the converter needs is unknown or inconsistent.
    case shape(layer: String, message: String)
    /// The target direction or file kind is not implemented.
    case notImplemented(String)

    public var description: String {
        switch self {
        case let .unsupportedLayer(name, className, supported):
            return "layer '\(name)' (\(className)) cannot be converted to PyTorch: \(className) is not supported; converted classes: \(supported.joined(separator: ", "))"
        case let .unsupportedSetting(layer, className, key, value, reason):
            return "layer '\(layer)' (\(className)): \(key) = \(value) cannot be converted to PyTorch: \(reason)"
        case let .shape(layer, message):
            return "layer '\(layer)': \(message)"
        case let .notImplemented(message):
            return message
        }
    }
}
