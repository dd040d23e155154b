import ParityEngine

/// Why a conversion stopped. Each case names the Keras layer and its class, or the PyTorch node, its
/// operator and its module, so the message says what to change; nothing is ever approximated instead.
public enum ConvertError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A Keras class with no converter: the layer, its class, and the classes that are converted.
    case unsupportedLayer(name: String, className: String, supported: [String])
    /// A Keras operation node (`keras.src.ops.*`) with no torch expression: the node, its operation class,
    /// its module, and why.
    case unsupportedOperation(name: String, className: String, module: String, reason: String)
    /// A setting of a supported class that has no faithful PyTorch form (yet).
    case unsupportedSetting(layer: String, className: String, key: String, value: String, reason: String)
    /// A model shape the converter needs is unknown or inconsistent.
    case shape(layer: String, message: String)
    /// A node of a PyTorch program with no exact Keras equivalent: the node, its ATen operator, the
    /// module that called it (`nn_module_stack`: path and class), and why.
    case unsupportedNode(node: String, target: String, modulePath: String, moduleClass: String, reason: String)
    /// The proof's run of one side (`PyTorch` or `Keras`) does not fit in the memory it may use: its
    /// weights, the intermediate values it would hold (planned, or reached after the op `at`), the limit
    /// on those, in bytes.
    case proofMemory(side: String, weights: Int, intermediates: Int, limit: Int, at: String?)

    public var description: String {
        switch self {
        case let .unsupportedLayer(name, className, supported):
            return "layer '\(name)' (\(className)) cannot be converted to PyTorch: \(className) is not supported; converted classes: \(supported.joined(separator: ", "))"
        case let .unsupportedOperation(name, className, module, reason):
            return "operation node '\(name)' (\(className), \(module)) cannot be converted to PyTorch: \(reason)"
        case let .unsupportedSetting(layer, className, key, value, reason):
            return "layer '\(layer)' (\(className)): \(key) = \(value) cannot be converted to PyTorch: \(reason)"
        case let .shape(layer, message):
            return "layer '\(layer)': \(message)"
        case let .unsupportedNode(node, target, modulePath, moduleClass, reason):
            return "node '\(node)' (\(target)) in module '\(modulePath.isEmpty ? "<root>" : modulePath)' (\(moduleClass)) cannot be converted to Keras: \(reason)"
        case let .proofMemory(side, weights, intermediates, limit, at):
            let mb = WorkingSetExceeded.size
            let held = at.map { "reached \(mb(intermediates)) of intermediate values after \($0)" } ?? "would hold \(mb(intermediates)) of intermediate values (planned from the program's recorded shapes)"
            return "the proof cannot run the \(side) side within memory: with its weights (\(mb(weights))) loaded it \(held), over the \(mb(Swift.max(limit, 0))) left for them; "
                + "the converted files are written but not proven (free memory, or give the proof more with --proof-memory)"
        }
    }
}
