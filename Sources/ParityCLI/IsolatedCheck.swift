import ArgumentParser
import Foundation
import ParityKeras

/// libhdf5 can still crash on some corrupted files (in its own attribute decoding, below Parity's
/// checks). So the CLI first loads a Keras file in a child process: a crash there becomes a clear
/// error instead of taking the command down. The child is this same binary, `parity _check-keras`.
enum IsolatedCheck {
    static func keras(_ path: String, weights: String?) throws {
        try start(path, weights: weights).wait()
    }

    /// A check running in its child process; ``wait()`` gives its outcome.
    struct Running {
        let path: String
        let process: Process
        let errors: Pipe
        /// Signalled by the process's termination handler: `Process.waitUntilExit` polls every 50 ms on
        /// Linux, which added up to 50 ms to every command that opens a Keras file.
        let exited: DispatchSemaphore

        func wait() throws {
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            exited.wait()
            switch (process.terminationReason, process.terminationStatus) {
            case (.exit, 0): return
            case (.exit, _):
                throw CLIError.badInput(message.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "error: ", with: ""))
            case (_, let signal):
                throw CLIError.badInput("\(path): the HDF5 library crashed (signal \(signal)) reading this file: it is corrupt")
            }
        }
    }

    /// Starts the check of a Keras file in a child process (the caller may do other work meanwhile, but must
    /// ``Running/wait()`` before loading the file itself).
    static func start(_ path: String, weights: String?) throws -> Running {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        if !FileManager.default.isExecutableFile(atPath: process.executableURL!.path) {
            process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        }
        process.arguments = ["_check-keras", path] + (weights.map { ["--weights", $0] } ?? [])
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        try process.run()
        return Running(path: path, process: process, errors: errors, exited: exited)
    }
}

/// `parity _check-keras`: loads a Keras model and exits; used by ``IsolatedCheck``.
struct CheckKeras: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "_check-keras", shouldDisplay: false)

    @Argument var model: String
    @Option var weights: String?

    func run() throws {
        _ = try ModelFiles.keras(model, weights: weights, isolated: false)
    }
}
