/// Bitwise functions of integer and bool tensors (`torch.bitwise_and`, `&`, `|`, `^`, `~`, `<<`, `>>`):
/// on bools they are the logical functions; `not` of an integer is its two's complement `~x`.
public enum BitwiseFunction: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// `&`, `|`, `^`, `~` (bool: logical not), `<<`, `>>`.
    case and, or, xor, not, leftShift, rightShift

    public var description: String { rawValue }
    /// The number of operands: 1 for `not`, else 2.
    public var arity: Int { self == .not ? 1 : 2 }

    func apply(_ a: Int64, _ b: Int64) -> Int64 {
        switch self {
        case .and: return a & b
        case .or: return a | b
        case .xor: return a ^ b
        case .not: return ~a
        // As ATen's CPU kernels: a shift by a negative amount or by 64 bits and more gives 0 (−1 for a
        // negative value shifted right).
        case .leftShift: return b < 0 || b >= 64 ? 0 : a << b
        case .rightShift: return b < 0 || b >= 64 ? (a < 0 ? -1 : 0) : a >> b
        }
    }

    func apply(_ a: Bool, _ b: Bool) -> Bool {
        switch self {
        case .and: return a && b
        case .or: return a || b
        case .xor: return a != b
        case .not: return !a
        case .leftShift, .rightShift: return apply(a ? 1 : 0, b ? 1 : 0) != 0
        }
    }
}

/// `function(a, b)` (or `function(a)` for `not`) elementwise on two int64 or two bool tensors, with
/// broadcasting. Not differentiable: no cotangents.
public struct Bitwise: Op {
    /// The function.
    public var function: BitwiseFunction
    /// The op for `function`.
    public init(_ function: BitwiseFunction) { self.function = function }

    public var name: String { "bitwise \(function)" }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        try expect(inputs, count: function.arity)
        let dtypes = Set(inputs.map(\.dtype))
        guard dtypes.count == 1, let dtype = dtypes.first else { throw TensorError.dtypeMismatch(op: name, received: inputs.map(\.dtype)) }
        guard dtype == .int64 || dtype == .bool else { throw TensorError.unsupportedDType(op: name, dtype: dtype) }
        let shape = function.arity == 1 ? inputs[0].shape : try Shape.broadcast(inputs[0].shape, inputs[1].shape, op: name)
        return TensorType(dtype, shape)
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        let type = try outputType(inputs.map(TensorType.init(of:)))
        let a = try inputs[0].broadcast(to: type.shape)
        let b = function.arity == 1 ? a : try inputs[1].broadcast(to: type.shape)
        switch (a.storage, b.storage) {
        case let (.int64(x), .int64(y)): return Tensor(shape: type.shape, int64: zip(x, y).map(function.apply))
        case let (.bool(x), .bool(y)): return Tensor(shape: type.shape, bools: zip(x, y).map(function.apply))
        default: throw TensorError.dtypeMismatch(op: name, received: inputs.map(\.dtype))
        }
    }

    public func vjp<B: Builder>(_ b: B, inputs: [B.Value], output: B.Value, cotangent: B.Value) throws -> [B.Value?] {
        inputs.map { _ in nil }
    }
}
