import Foundation
import ParityNN

/// Symbolic sizes: what an export with `dynamic_shapes` computes on sizes instead of tensors. Parity
/// runs such a program at the shapes of the inputs it is given (a graph is traced per call), so every
/// symbolic size is a number by the time a node reads it: each of these nodes is evaluated while the
/// program is lowered, to a 0-d tensor (int64 for a SymInt, float64 for a SymFloat, bool for a SymBool)
/// that is known to later nodes (a `view`'s size list `[sym_size_int_1, -1]`, ``ATenCall/ints(_:default:count:)``).
///
/// - `sym_size.int(self, dim)`, `sym_numel(self)`, `sym_stride.int(self, dim)` (the strides of a dense
///   row-major tensor, which every Parity value is), `sym_storage_offset(self)` (0),
///   `sym_is_contiguous(self, memory_format)` (true; a channels-last query is refused);
/// - Python arithmetic on those numbers, serialized as `_operator.add` … (`torch/fx/experimental/sym_node.py`):
///   `add`, `sub`, `mul`, `floordiv` (floor), `mod` (the divisor's sign, as Python), `truediv`, `pow`,
///   `neg`, the comparisons, `torch.sym_max`/`sym_min`, `sym_float`, `sym_not`.
///
/// A value that depends on tensor *data* (`_local_scalar_dense` of a computed tensor) is not known
/// when the program is lowered, and a node that needs it as a size is refused naming it.
enum SymbolicOps: ATenFamily {
    static let sizeQueries: Set<String> = [
        "aten.sym_size.int", "aten.sym_numel.default", "aten.sym_stride.int", "aten.sym_storage_offset.default",
        "aten.sym_is_contiguous.default",
    ]
    static let arithmetic: Set<String> = [
        "_operator.add", "_operator.sub", "_operator.mul", "_operator.floordiv", "_operator.mod", "_operator.truediv", "_operator.pow",
        "_operator.neg", "_operator.eq", "_operator.ne", "_operator.lt", "_operator.le", "_operator.gt", "_operator.ge",
        "torch.sym_max", "torch.sym_min", "torch.sym_float", "torch.sym_not",
    ]
    static let targets: Set<String> = sizeQueries.union(arithmetic)

    static func lower<B: Builder>(_ c: ATenCall<B>) throws -> [B.Value] {
        try evaluate(c) { name in c.shape(try c.value(named: name)) }.map(c.b.constant)
    }

    /// The node's results, from the shapes of the tensors it reads (`shape`) and the numbers already
    /// known (``ATenCall/known``).
    static func evaluate<B: Builder>(_ c: ATenCall<B>, shape: (String) throws -> [Int]) throws -> [Tensor] {
        if sizeQueries.contains(c.target) {
            guard case .tensor(let name)? = c.node.argument("self") else { throw c.fail("self", "expected a tensor") }
            let dims = try shape(name)
            switch c.target {
            case "aten.sym_size.int": return [integer(dims[try c.dim(c.int("dim"), rank: dims.count)])]
            case "aten.sym_numel.default": return [integer(dims.reduce(1, *))]
            case "aten.sym_stride.int":
                let d = try c.dim(c.int("dim"), rank: dims.count)
                return [integer(dims.dropFirst(d + 1).reduce(1, *))]
            case "aten.sym_storage_offset.default": return [integer(0)]
            default:
                // MemoryFormat codes (torch/_export/serde/schema.py): 0 Unknown, 1 ContiguousFormat, 2 ChannelsLast,
                // 3 ChannelsLast3d, 4 PreserveFormat.
                if case .memoryFormat(let format)? = c.node.argument("memory_format"), ![0, 1, 4].contains(format) {
                    throw c.unsupported("sym_is_contiguous for memory format \(format): Parity's tensors are dense row-major")
                }
                return [Tensor(repeating: 1, shape: [], dtype: .bool)]
            }
        }
        let a = try number(c, c.node.arguments.first?.name ?? "a", position: 0)
        if c.target == "_operator.neg" { return [a.isInteger ? integer(-Int(a.value)) : float(-a.value)] }
        if c.target == "torch.sym_float" { return [float(a.value)] }
        if c.target == "torch.sym_not" { return [boolean(a.value == 0)] }
        let b = try number(c, c.node.arguments.count > 1 ? c.node.arguments[1].name : "b", position: 1)
        let integers = a.isInteger && b.isInteger
        func result(_ v: Double) -> Tensor { integers ? integer(Int(v)) : float(v) }
        switch c.target {
        case "_operator.add": return [result(a.value + b.value)]
        case "_operator.sub": return [result(a.value - b.value)]
        case "_operator.mul": return [result(a.value * b.value)]
        case "_operator.truediv":
            guard b.value != 0 else { throw c.fail("b", "division by zero") }
            return [float(a.value / b.value)]
        case "_operator.floordiv", "_operator.mod":
            guard b.value != 0 else { throw c.fail("b", "division by zero") }
            let quotient = (a.value / b.value).rounded(.down)
            return [result(c.target == "_operator.floordiv" ? quotient : a.value - quotient * b.value)]
        case "_operator.pow": return [integers && b.value >= 0 ? integer(Int(Foundation.pow(a.value, b.value))) : float(Foundation.pow(a.value, b.value))]
        case "_operator.eq": return [boolean(a.value == b.value)]
        case "_operator.ne": return [boolean(a.value != b.value)]
        case "_operator.lt": return [boolean(a.value < b.value)]
        case "_operator.le": return [boolean(a.value <= b.value)]
        case "_operator.gt": return [boolean(a.value > b.value)]
        case "_operator.ge": return [boolean(a.value >= b.value)]
        case "torch.sym_max": return [result(Swift.max(a.value, b.value))]
        case "torch.sym_min": return [result(Swift.min(a.value, b.value))]
        default: throw c.unsupported("not in the symbolic-size table")
        }
    }

    /// A Python number argument: an int, float or bool literal, or a known symbolic value.
    static func number<B: Builder>(_ c: ATenCall<B>, _ name: String, position: Int) throws -> (value: Double, isInteger: Bool) {
        guard position < c.node.arguments.count else { throw c.fail(name, "missing") }
        switch c.node.arguments[position].value {
        case .int(let i): return (Double(i), true)
        case .float(let d): return (d, false)
        case .bool(let v): return (v ? 1 : 0, true)
        case .tensor(let n):
            let value = try c.symbolic(name, n)
            return (value, c.known[n]?.dtype.isFloatingPoint == false)
        case let other: throw c.fail(name, "expected a number; received \(other)")
        }
    }

    static func integer(_ v: Int) -> Tensor { Tensor(repeating: Double(v), shape: [], dtype: .int64) }
    static func float(_ v: Double) -> Tensor { Tensor(repeating: v, shape: [], dtype: .float64) }
    static func boolean(_ v: Bool) -> Tensor { Tensor(repeating: v ? 1 : 0, shape: [], dtype: .bool) }
}
