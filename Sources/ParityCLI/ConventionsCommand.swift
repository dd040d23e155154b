import ArgumentParser
import Foundation
import ParityCompare

/// `parity conventions`: the catalog of Keras/PyTorch conventions (``Conventions``); `--markdown` is
/// docs/conventions.md.
struct ConventionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conventions",
        abstract: "Print every Keras/PyTorch convention Parity knows: both presets, their source files, the cause id and the fix.",
        discussion: "Plain text by default, one line per convention; --markdown writes docs/conventions.md; --json one object per convention."
    )

    @Flag(name: .long, help: "As JSON.") var json = false
    @Flag(name: .long, help: "As Markdown (docs/conventions.md).") var markdown = false

    func validate() throws {
        if json && markdown { throw ValidationError("--json and --markdown exclude each other") }
    }

    func run() throws {
        let text = json ? Conventions.json : markdown ? Conventions.markdown : Conventions.text
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}
