import ArgumentParser
import Foundation
import ParityTensor

/// The `parity` command: explains why Keras and PyTorch give different results with the same weights.
///
/// Exit codes: 0 success, 1 a comparison found a mismatch, 2 an error (bad input, unsupported model),
/// with the message on stderr.
@main
struct ParityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parity",
        abstract: "Why do Keras and PyTorch give different results with the same weights?",
        discussion: """
        Parity runs models with each framework's exact semantics, eagerly (PyTorch style) or as an \
        optimised static graph (Keras on TensorFlow style), in Float32 and Float64, and explains every \
        difference: a convention mismatch or plain floating-point noise.

        Exit codes: 0 success, 1 a comparison found a mismatch, 2 an error (message on stderr).
        """,
        subcommands: [Demo.self, Run.self, Inspect.self, Compare.self, Convert.self, Train.self, Zoo.self, ConventionsCommand.self, CheckKeras.self]
    )

    static func main() {
        ProcessHeap.keepFreedBlocks()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            if exitCode(for: error) == .success { exit(withError: error) }
            // Parity's own errors (bad files, unsupported layers, shape errors) print as they describe
            // themselves; argument errors get ArgumentParser's usage message.
            let message = exitCode(for: error) == .failure ? "error: \(describe(error))" : fullMessage(for: error)
            FileHandle.standardError.write(Data((message + "\n").utf8))
            Foundation.exit(2)
        }
    }

    /// An error as one line: Foundation's file errors (an output path in a missing or read-only folder) as
    /// the path and the system's reason, everything else as it describes itself.
    static func describe(_ error: Error) -> String {
        let ns = error as NSError
        guard ns.domain == NSCocoaErrorDomain, let path = ns.userInfo[NSFilePathErrorKey] as? String ?? (ns.userInfo[NSURLErrorKey] as? URL)?.path else {
            return "\(error)"
        }
        let reason = (ns.userInfo[NSUnderlyingErrorKey] as? any Error).map { String(cString: strerror(Int32(($0 as NSError).code))) } ?? ns.localizedDescription
        return "cannot access \(path): \(reason)"
    }
}
