import Foundation

/// Why a torch.export program could not be read or run. Every case says where: the file, the graph
/// node (with its module path from `nn_module_stack`), or the weight key, and echoes the bad value.
public enum TorchError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The archive could not be opened or is not a `.pt2` zip.
    case unreadableArchive(file: String, reason: String)
    /// A record the archive must contain is missing.
    case missingRecord(file: String, record: String)
    /// `models/*.json` or a weights config does not have the structure torch writes.
    case malformedProgram(file: String, path: String, reason: String)
    /// The serialized schema's major version is not one this reader understands.
    case unsupportedSchema(file: String, major: Int, minor: Int, supported: [Int])
    /// An ATen (or higher-order) operator Parity does not map. `modulePath` names the module that
    /// called it (`""` for the top-level module).
    case unsupportedOperator(target: String, node: String, modulePath: String, moduleClass: String)
    /// A mapped operator with arguments outside what Parity implements (training mode, LSTM projections...).
    case unsupportedArgument(target: String, node: String, modulePath: String, message: String)
    /// A node's argument is missing or has the wrong kind.
    case badArgument(target: String, node: String, argument: String, message: String)
    /// A weight cannot be materialised (dtype, byte count, strides).
    case invalidWeight(file: String, key: String, reason: String)
    /// Replacement weights do not match the program's state_dict.
    case weightMismatch(file: String, missing: [String], unexpected: [String], shapeMismatches: [String])
    /// The inputs given to ``TorchProgram/run(_:mode:dtype:)`` do not match the exported signature.
    case inputMismatch(expected: String, received: String)
    /// A failure while computing a node, with the node and its module path.
    case execution(target: String, node: String, modulePath: String, message: String)

    public var description: String {
        switch self {
        case let .unreadableArchive(file, reason):
            return "\(file): not a readable torch.export archive: \(reason)"
        case let .missingRecord(file, record):
            return "\(file): missing record '\(record)'"
        case let .malformedProgram(file, path, reason):
            return "\(file): malformed exported program at \(path): \(reason)"
        case let .unsupportedSchema(file, major, minor, supported):
            return "\(file): torch.export schema version \(major).\(minor) is not supported (supported major versions: \(supported.map(String.init).joined(separator: ", ")))"
        case let .unsupportedOperator(target, node, modulePath, moduleClass):
            let why = ATenTable.refusals[target].map { ": \($0)" } ?? ""
            return "operator \(target) (node '\(node)') in module '\(modulePath.isEmpty ? "<root>" : modulePath)' (\(moduleClass)) is not supported by Parity\(why)"
        case let .unsupportedArgument(target, node, modulePath, message):
            return "operator \(target) (node '\(node)') in module '\(modulePath.isEmpty ? "<root>" : modulePath)': \(message)"
        case let .badArgument(target, node, argument, message):
            return "operator \(target) (node '\(node)'): argument '\(argument)': \(message)"
        case let .invalidWeight(file, key, reason):
            return "\(file): weight '\(key)': \(reason)"
        case let .weightMismatch(file, missing, unexpected, shapes):
            var parts: [String] = []
            if !missing.isEmpty { parts.append("missing keys: \(missing.joined(separator: ", "))") }
            if !unexpected.isEmpty { parts.append("unexpected keys: \(unexpected.joined(separator: ", "))") }
            if !shapes.isEmpty { parts.append("shape mismatches: \(shapes.joined(separator: "; "))") }
            return "\(file): weights do not match the program's state_dict: \(parts.joined(separator: "; "))"
        case let .inputMismatch(expected, received):
            return "inputs do not match the exported signature: expected \(expected), received \(received)"
        case let .execution(target, node, modulePath, message):
            return "operator \(target) (node '\(node)') in module '\(modulePath.isEmpty ? "<root>" : modulePath)': \(message)"
        }
    }
}
