import Foundation
import ParityKeras
import ParityNN
import ParityTorch

/// The memory a conversion proof may use, and the runs that keep to it.
///
/// Each side runs alone, in float32: the caller loads one model, runs it (``ConversionProof/run(_:inputs:within:)``),
/// keeps its outputs and drops the model before loading the other, so the proof holds one model's weights
/// plus the intermediate values of one run, which the interpreters drop after their last reader
/// (`ParityEngine/WorkingSet`). Before a PyTorch run its working set is planned from the shapes torch.export
/// recorded (`TorchProgram.plannedWorkingSet`); a run that cannot fit is refused before it starts, and one that
/// outgrows the bound while running stops, both with ``ConvertError/proofMemory(side:weights:intermediates:limit:at:)``
/// instead of being killed by the system.
public enum ProofMemory: Sendable, Equatable {
    /// What the system reports available when a side starts (Linux `MemAvailable`, within the cgroup's
    /// `memory.max`), less a tenth for the rest of the process; no bound where the system says nothing.
    case available
    /// At most this many bytes for one side's weights and intermediate values.
    case bytes(Int)

    /// The bytes of intermediate values a side with `weights` bytes of weights (already loaded) may hold.
    func intermediateLimit(weights: Int) -> Int? {
        switch self {
        case .available: return Self.systemAvailable().map { $0 / 10 * 9 }
        case .bytes(let total): return total - weights
        }
    }

    /// Gives the heap pages freed by a finished phase back to the system (glibc's `malloc_trim`, looked
    /// up at run time; nothing elsewhere). glibc keeps freed blocks below its mmap threshold (which grows
    /// to 32 MB as large blocks are freed) in the heap: after a converter's 1.2 GB of weights are freed,
    /// the process still held them through the proof's PyTorch run (2.4 GB resident instead of 1.4).
    public static func returnFreedPages() {
        #if os(Linux)
        typealias Trim = @convention(c) (Int) -> Int32
        if let trim = dlsym(nil, "malloc_trim") { _ = unsafeBitCast(trim, to: Trim.self)(0) }
        #endif
    }

    /// Bytes the system can still give this process: `MemAvailable` from /proc/meminfo, and no more than
    /// the cgroup v2 limit less its current use. Nil where neither is readable (not Linux).
    static func systemAvailable() -> Int? {
        func read(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }
        var bounds: [Int] = []
        if let meminfo = read("/proc/meminfo"),
           let line = meminfo.split(separator: "\n").first(where: { $0.hasPrefix("MemAvailable:") }),
           let kilobytes = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) {
            bounds.append(kilobytes * 1024)
        }
        if let max = read("/sys/fs/cgroup/memory.max").flatMap({ Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }),
           let current = read("/sys/fs/cgroup/memory.current").flatMap({ Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) {
            bounds.append(Swift.max(0, max - current))
        }
        return bounds.min()
    }
}

extension ConversionProof {
    /// One side of a proof: its float32 outputs and what the run held.
    public struct Run: Sendable {
        /// The outputs, in order.
        public var outputs: [Tensor]
        /// The bytes of the model's weights.
        public var weightBytes: Int
        /// The most bytes of intermediate values the run held at once.
        public var peakIntermediateBytes: Int
    }

    /// Runs `program` in float32 on `inputs` within `memory`: refused before it starts when its planned
    /// working set does not fit, stopped when it outgrows the bound.
    public static func run(_ program: TorchProgram, inputs: [Tensor], within memory: ProofMemory) throws -> Run {
        let weights = program.weightBytes
        let limit = memory.intermediateLimit(weights: weights)
        let planned = program.plannedWorkingSet(floatType: .float32)
        if let limit, planned > limit {
            throw ConvertError.proofMemory(side: "PyTorch", weights: weights, intermediates: planned, limit: limit, at: nil)
        }
        let meter = WorkingSet(limit: limit)
        return try metered(side: "PyTorch", weights: weights, meter: meter) {
            try program.run(float32(inputs), mode: .eager, dtype: .float32, workingSet: meter)
        }
    }

    /// Runs the Keras `model` in float32 on `inputs` within `memory`, stopped when it outgrows the bound.
    public static func run(_ model: KerasModel, inputs: [Tensor], within memory: ProofMemory) throws -> Run {
        let weights = model.network.layers.reduce(0) { $0 + $1.weights.reduce(0) { $0 + $1.count * $1.dtype.byteCount } }
        let meter = WorkingSet(limit: memory.intermediateLimit(weights: weights))
        return try metered(side: "Keras", weights: weights, meter: meter) {
            try model.run(float32(inputs), mode: .eager, dtype: .float32, workingSet: meter)
        }
    }

    static func float32(_ inputs: [Tensor]) -> [Tensor] { inputs.map { $0.dtype.isFloatingPoint ? $0.cast(to: .float32) : $0 } }

    static func metered(side: String, weights: Int, meter: WorkingSet, _ body: () throws -> [Tensor]) throws -> Run {
        do {
            let outputs = try body()
            return Run(outputs: outputs, weightBytes: weights, peakIntermediateBytes: meter.peakBytes)
        } catch let stop as WorkingSetExceeded {
            throw ConvertError.proofMemory(side: side, weights: weights, intermediates: stop.reached, limit: stop.limit, at: stop.at)
        }
    }
}
