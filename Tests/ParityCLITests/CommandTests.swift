import Foundation
import Testing
import ParityTestSupport

/// The `parity` executable, run as a user runs it: output, stderr and exit codes.
@Suite("parity command")
struct CommandTests {
    /// The built `parity` binary, next to the test bundle in the build folder.
    static let binary: URL = {
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        while url.pathComponents.count > 1 {
            url.deleteLastPathComponent()
            let candidate = url.appendingPathComponent("parity")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return URL(fileURLWithPath: ".build/debug/parity")
    }()

    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    static func run(_ arguments: [String]) throws -> Result {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        let (out, err) = (Pipe(), Pipe())
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                      stderr: String(decoding: stderr, as: UTF8.self))
    }

    @Test("parity demo prints the three seed examples with their verdicts")
    func demo() throws {
        let result = try Self.run(["demo"])
        #expect(result.status == 0, "\(result.stderr)")
        for label in ["(a) Feed-forward", "(b) LSTM(10)", "(c) Branching", "(c') Branching"] {
            #expect(result.stdout.contains(label))
        }
        #expect(result.stdout.components(separatedBy: "PyTorch-style eager").count == 5)
        #expect(result.stdout.components(separatedBy: "Float64 reference").count == 5)
        #expect(result.stdout.components(separatedBy: "cause: ").count == 5)
        #expect(result.stdout.contains("closer to float64: "))
        #expect(result.stdout.contains("fusion changed rounding"))
    }

    @Test("parity --help explains the tool and its exit codes")
    func help() throws {
        let result = try Self.run(["--help"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("Keras and PyTorch"))
        #expect(result.stdout.contains("Exit codes"))
        #expect(result.stdout.contains("demo"))
    }

    @Test("a bad command or option exits 2 with the message on stderr", arguments: [["nonsense"], ["demo", "--seed", "x"]])
    func badInput(_ arguments: [String]) throws {
        let result = try Self.run(arguments)
        #expect(result.status == 2)
        #expect(!result.stderr.isEmpty)
        #expect(result.stdout.isEmpty)
    }
}
