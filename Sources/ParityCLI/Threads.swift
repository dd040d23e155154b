import ArgumentParser
import ParityNN

/// `--threads N`, on the commands that run models: how many threads the kernels split work across
/// (default: `PARITY_NUM_THREADS`, else the number of CPUs). Results are the same bits at any count.
struct ThreadOption: ParsableArguments {
    @Option(name: .long, help: "Threads for the kernels (default: PARITY_NUM_THREADS, else the CPU count); results do not depend on it.")
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1; received \(threads)") }
    }

    func apply() {
        if let threads { KernelThreads.count = threads }
    }
}
