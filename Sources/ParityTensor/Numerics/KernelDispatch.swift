import CParityKernels

/// The instruction set the numeric kernels run on, chosen at run time from what the CPU and OS
/// support (no compiler flags: one build carries every level, `Sources/CParityKernels`).
///
/// The level never changes a result's bits: vectors only run across independent outputs, and each
/// output adds its terms in the order and with the contraction its ``Numerics`` states (a fused
/// multiply-add is the hardware instruction on AVX2 and AVX-512, libm's correctly rounded `fma`
/// in portable code). Tests run every kernel on every level and compare the bits.
public enum InstructionSet: Int, Sendable, Hashable, CaseIterable, Comparable, CustomStringConvertible {
    /// Plain C, any CPU (16-byte vectors).
    case portable = 0
    /// x86-64 AVX2 with FMA3 (256-bit vectors).
    case avx2 = 1
    /// x86-64 AVX-512F (512-bit vectors).
    case avx512 = 2

    /// The best level this machine supports.
    public static var detected: InstructionSet { InstructionSet(rawValue: Int(parity_isa_detected().rawValue)) ?? .portable }

    /// The level kernels called from this thread use: ``detected``, or the one ``forcing(_:_:)`` sets.
    public static var active: InstructionSet { InstructionSet(rawValue: Int(parity_isa_active().rawValue)) ?? .portable }

    /// The levels this machine can run, from portable up.
    public static var available: [InstructionSet] { allCases.filter { $0 <= detected } }

    /// Runs `body` with this thread's kernels on `level` (at most ``detected``), then restores
    /// detection. The items of parallel loops started from this thread run on `level` on every kernel
    /// thread. For tests and benchmarks that compare the levels; other callers are unaffected.
    public static func forcing<R>(_ level: InstructionSet, _ body: () throws -> R) rethrows -> R {
        parity_isa_force(Int32(level.rawValue))
        defer { parity_isa_force(-1) }
        return try body()
    }

    public static func < (a: InstructionSet, b: InstructionSet) -> Bool { a.rawValue < b.rawValue }

    public var description: String {
        switch self {
        case .portable: return "portable"
        case .avx2: return "AVX2+FMA"
        case .avx512: return "AVX-512"
        }
    }
}

/// The process's C heap (glibc's malloc), for applications: settings that change the whole process, so
/// the library never applies them on its own.
public enum ProcessHeap {
    /// Keeps freed blocks up to 32 MB in the heap (glibc's own dynamic ceilings for its mmap and trim
    /// thresholds, from the start) unless the user set them through `GLIBC_TUNABLES` or
    /// `MALLOC_MMAP_THRESHOLD_`/`MALLOC_TRIM_THRESHOLD_`. Every op's output is a fresh array; with glibc's
    /// defaults a repeated forward faults in fresh pages on every call (12 % of a transformer encoder
    /// layer's time). The `parity` command calls it at start. Nothing on other C libraries.
    public static func keepFreedBlocks() { parity_heap_keep_freed_blocks() }

    /// Gives the heap's free pages back to the system (glibc's `malloc_trim`): between phases that free
    /// a model's weights, so the next phase does not run beside them. Nothing on other C libraries.
    public static func returnFreedPages() { parity_heap_return_freed_pages() }
}

/// How many threads the kernels split work across: `PARITY_NUM_THREADS` when set, else the number of
/// CPUs the process may use. Work is only ever split between independent outputs (GEMM tiles, rows,
/// chunks of an elementwise op), never inside one output's sum, so the count never changes a bit.
public enum KernelThreads {
    /// The number of threads the kernels use.
    public static var count: Int {
        get { Int(parity_num_threads()) }
        set { parity_set_num_threads(Int32(clamping: newValue)) }
    }

    /// Runs `body(i)` for `i` in `0..<count` on the kernel threads (for fused kernels outside this
    /// module). Items must be independent, each writing its own outputs.
    public static func forEach(_ count: Int, _ body: (Int) -> Void) { parallelFor(count, body) }

    /// Asks the CPU to bring `bytes` bytes at `pointer` into its caches (`parity_prefetch`: a hint that
    /// changes no value), for fused loops that know their next rows before the hardware can guess them.
    public static func prefetch(_ pointer: UnsafeRawPointer, bytes: Int) { parity_prefetch(pointer, bytes) }

    /// Restores the default (`PARITY_NUM_THREADS`, else the CPU count).
    public static func reset() { parity_set_num_threads(0) }

    /// Runs `body` with kernels started from this thread split across `threads` threads, then
    /// restores the process-wide count. For tests comparing thread counts; other threads are unaffected.
    public static func forcing<R>(_ threads: Int, _ body: () throws -> R) rethrows -> R {
        parity_force_threads(Int32(clamping: max(threads, 1)))
        defer { parity_force_threads(0) }
        return try body()
    }
}

/// Runs `body(i)` for `i` in `0..<count` on the kernel threads. Items must be independent (each writes
/// its own outputs); nested calls and calls while the pool is busy run serially.
func parallelFor(_ count: Int, _ body: (Int) -> Void) {
    if count <= 0 { return }
    if count == 1 { body(0); return }
    withoutActuallyEscaping(body) { body in
        var closure = body
        withUnsafeMutablePointer(to: &closure) { pointer in
            parity_parallel_for(count, { context, index in
                context!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(index)
            }, pointer)
        }
    }
}

/// Runs `body(range)` over `0..<count` in chunks of `chunk` elements, the chunks on the kernel threads.
/// The chunking is fixed by `count` and `chunk` alone, never by the thread count.
func parallelChunks(_ count: Int, chunk: Int = 1 << 14, _ body: (Range<Int>) -> Void) {
    let chunk = max(chunk, 1)
    let chunks = (count + chunk - 1) / chunk
    if chunks <= 1 {
        if count > 0 { body(0..<count) }
        return
    }
    parallelFor(chunks) { c in body((c * chunk)..<min(count, (c + 1) * chunk)) }
}
