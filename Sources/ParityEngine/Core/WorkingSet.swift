/// What a run holds between ops: the bytes of the computed values an interpreter keeps because a later
/// op reads them (or they are outputs), sampled after every op, and the most it ever held. Weights and
/// the caller's inputs are not counted (the model and the caller own them).
///
/// The interpreters (`ParityTorch` programs, `ParityKeras` networks) drop each value after its last
/// reader, so a chain of layers holds about two activations at a time, not all of them. With a `limit`,
/// a run whose values would exceed it stops with ``WorkingSetExceeded``, naming where, instead of
/// growing until the system kills the process.
public final class WorkingSet: @unchecked Sendable {
    /// The most bytes a run may hold, or nil for no limit.
    public let limit: Int?
    /// The most bytes held at once.
    public private(set) var peakBytes = 0
    /// The most values held at once.
    public private(set) var peakValues = 0
    /// Bytes held by enclosing runs while a nested one runs (a Keras model used as a layer).
    private var enclosing = 0

    /// A meter; `limit` in bytes.
    public init(limit: Int? = nil) { self.limit = limit }

    /// Records that `values` values of `bytes` bytes in all are held after the op `at`.
    public func sample(bytes: Int, values: Int, at: String) throws(WorkingSetExceeded) {
        let held = enclosing + bytes
        peakBytes = Swift.max(peakBytes, held)
        peakValues = Swift.max(peakValues, values)
        if let limit, held > limit { throw WorkingSetExceeded(limit: limit, reached: held, at: at) }
    }

    /// Runs `body` (a nested run) with `bytes` held by the run that encloses it.
    public func nested<T>(holding bytes: Int, _ body: () throws -> T) rethrows -> T {
        enclosing += bytes
        defer { enclosing -= bytes }
        return try body()
    }

    /// The bytes of a value of type `type`.
    public static func bytes(of type: TensorType) -> Int { Shape.count(type.shape) * type.dtype.byteCount }
}

/// A run stopped because the values it must hold would pass its ``WorkingSet/limit``.
public struct WorkingSetExceeded: Error, Sendable, Equatable, CustomStringConvertible {
    /// The limit, in bytes.
    public var limit: Int
    /// The bytes the run would hold.
    public var reached: Int
    /// The op (node or layer) after which it would hold them.
    public var at: String

    /// A stop at `at`; the parameters are the properties of the same names.
    public init(limit: Int, reached: Int, at: String) {
        self.limit = limit
        self.reached = reached
        self.at = at
    }

    public var description: String {
        "the run would hold \(Self.size(reached)) of intermediate values after '\(at)', over its limit of \(Self.size(limit))"
    }

    /// `bytes` in B, KB, MB (one decimal) or GB (two decimals), decimal units.
    public static func size(_ bytes: Int) -> String {
        func decimals(_ unit: Int, _ places: Int, _ name: String) -> String {
            let scale = places == 1 ? 10 : 100
            let scaled = (bytes * scale + unit / 2) / unit
            let fraction = String(scaled % scale)
            return "\(scaled / scale).\(String(repeating: "0", count: places - fraction.count) + fraction) \(name)"
        }
        if bytes < 1_000 { return "\(bytes) B" }
        if bytes < 1_000_000 { return decimals(1_000, 1, "KB") }
        if bytes < 1_000_000_000 { return decimals(1_000_000, 1, "MB") }
        return decimals(1_000_000_000, 2, "GB")
    }
}
