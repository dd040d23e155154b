import ArgumentParser
import Foundation

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
        subcommands: [Demo.self, Run.self, Inspect.self, Compare.self, Convert.self, CheckKeras.self]
    )

    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            if exitCode(for: error) == .success { exit(withError: error) }
            // Parity's own errors (bad files, unsupported layers, shape errors) print as they describe
            // themselves; argument errors get ArgumentParser's usage message.
            let message = exitCode(for: error) == .failure ? "error: \(error)" : fullMessage(for: error)
            FileHandle.standardError.write(Data((message + "\n").utf8))
            Foundation.exit(2)
        }
    }
}
