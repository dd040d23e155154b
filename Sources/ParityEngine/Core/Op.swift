@_exported import ParityTensor

/// The static type of a value in either execution mode: its dtype and shape.
public struct TensorType: Sendable, Hashable, CustomStringConvertible {
    /// The element type.
    public var dtype: DType
    /// The shape.
    public var shape: [Int]

    /// The type of `dtype` elements in `shape`.
    public init(_ dtype: DType, _ shape: [Int]) {
        self.dtype = dtype
        self.shape = shape
    }

    /// The type of `tensor`.
    public init(of tensor: Tensor) { self.init(tensor.dtype, tensor.shape) }

    public var description: String { "\(dtype)\(shape)" }
}

/// A primitive operation, defined once and used by both execution modes (the mlx / tinygrad shape):
///
/// - ``outputType(_:)``: shape and dtype inference, separate from the math, so a graph can be
///   checked before it runs and both modes reject bad input with the same error;
/// - ``forward(_:)``: the computation on concrete tensors;
/// - ``vjp(_:inputs:output:cotangent:)``: the vector-Jacobian product, written as more ops on a
///   ``Builder``, so that the same rule records onto an eager tape or adds nodes to a gradient graph.
public protocol Op: Sendable, CustomStringConvertible {
    /// A short stable name (`matmul`, `reduce sum`), used in errors, traces and reports.
    var name: String { get }
    /// Whether the op takes complex inputs (`false` unless it says so). Both builders refuse a complex
    /// input to any other op before its shape inference runs (``checkedOutputType(_:)``), so no kernel
    /// ever reads a complex tensor's (real, imaginary) pairs as two real numbers.
    var acceptsComplex: Bool { get }
    /// The output's dtype and shape for inputs of these types; throws `TensorError` for inputs the op
    /// cannot take (graph mode checks a model with it before running).
    func outputType(_ inputs: [TensorType]) throws -> TensorType
    /// Computes the output from the inputs (both execution modes run this).
    func forward(_ inputs: [Tensor]) throws -> Tensor
    /// One cotangent per input (`nil` where the input gets no gradient, e.g. indices or masks).
    func vjp<B: Builder>(_ b: B, inputs: [B.Value], output: B.Value, cotangent: B.Value) throws -> [B.Value?]
}

extension Op {
    public var description: String { name }

    public var acceptsComplex: Bool { false }

    /// ``outputType(_:)`` after refusing a complex input when the op does not take one (what both
    /// builders call): the error names the op and the dtype.
    public func checkedOutputType(_ inputs: [TensorType]) throws -> TensorType {
        if !acceptsComplex, let complex = inputs.first(where: { $0.dtype.isComplex }) {
            throw TensorError.unsupportedDType(op: name, dtype: complex.dtype)
        }
        return try outputType(inputs)
    }

    /// Checks the number of inputs an op takes and that floating inputs share one dtype.
    func expect(_ inputs: [TensorType], count: Int) throws {
        guard inputs.count == count else {
            throw TensorError.invalidArgument(op: name, message: "takes \(count) inputs; received \(inputs.count)")
        }
    }

    func expectSameFloat(_ inputs: [TensorType]) throws -> DType {
        let dtypes = Set(inputs.map(\.dtype))
        guard dtypes.count == 1, let dtype = dtypes.first else {
            throw TensorError.dtypeMismatch(op: name, received: inputs.map(\.dtype))
        }
        guard dtype.isFloatingPoint else { throw TensorError.unsupportedDType(op: name, dtype: dtype) }
        return dtype
    }
}
