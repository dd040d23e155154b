import ParityKeras
import ParityTorch

/// Two activations of one shape: `add` → Add, `sub` → Subtract, `mul` → Multiply (the second input
/// brought to the first's layout); `cat(dim)` → Concatenate at the dim's Keras position (the
/// `concatenate` operation along Keras's batch axis or for integer tensors). A tensor and a
/// number: `Rescaling(scale, offset)`, which computes `x·scale + offset` — exact when one of the two is
/// the identity (`x·1 + c` is `x + c`, `x·s + 0` is `x·s`, `x·(−1) + c` is `c − x`): `add`/`sub` of a
/// number, `rsub`, `mul`, `neg`, and `div` by a power of two (whose reciprocal is exact).
/// Everything else — broadcasting, a stored tensor as operand (ConvNeXt's layer scale), division,
/// integer arithmetic — is a Keras operation node (`Add`, `Subtract`, `Multiply`, `Divide`,
/// `Negative`) on the operands in PyTorch's axis order; `alpha ≠ 1` scales `other` by a `Multiply`
/// node first, as ATen does. `div` with `rounding_mode` is refused.
enum ArithmeticOps: TorchToKerasFamily {
    static let targets: Set<String> = [
        "aten.add.Tensor", "aten.sub.Tensor", "aten.mul.Tensor", "aten.div.Tensor", "aten.rsub.Scalar", "aten.neg.default", "aten.cat.default",
        "aten.add.Scalar", "aten.sub.Scalar", "aten.mul.Scalar", "aten.div.Scalar",
    ]

    /// The Keras operation class of each arithmetic target.
    static let operations: [String: String] = [
        "aten.add.Tensor": "Add", "aten.sub.Tensor": "Subtract", "aten.mul.Tensor": "Multiply", "aten.div.Tensor": "Divide",
        "aten.rsub.Scalar": "Subtract", "aten.add.Scalar": "Add", "aten.sub.Scalar": "Subtract", "aten.mul.Scalar": "Multiply",
        "aten.div.Scalar": "Divide",
    ]

    static func convert(_ c: NodeConversion) throws -> [TorchOperand] {
        if c.target == "aten.cat.default" { return [.value(try concatenate(c))] }
        if case .string(let mode)? = c.node.argument("rounding_mode") { throw c.refuse("rounding_mode='\(mode)'") }
        guard case .value(let x)? = try? c.operationArgument("self") else { return [.value(try operation(c))] }
        guard x.dtype == "float32" else { return [.value(try operation(c))] }
        if c.target == "aten.neg.default" { return [.value(try rescaling(c, x, scale: -1, offset: 0))] }
        if try c.double("alpha", default: 1) != 1 { return [.value(try operation(c))] }
        switch c.node.argument("other") {
        case .tensor(let n)?:
            guard case .value(let other)? = c.operand(named: n), other.torchShape == x.torchShape, other.dtype == x.dtype,
                  let className = ["aten.add.Tensor": "Add", "aten.sub.Tensor": "Subtract", "aten.mul.Tensor": "Multiply"][c.target] else {
                return [.value(try operation(c))]
            }
            let y = c.arrange(other, as: x.perm)
            return [.value(try c.layer(className, [:], inputs: [x, y], perm: x.perm, takesList: true)[0])]
        case .float(let v)?: return [.value(try scalar(c, x, v))]
        case .int(let v)?: return [.value(try scalar(c, x, Double(v)))]
        default: throw c.refuse("'other' is neither an activation nor a number")
        }
    }

    /// The node as a Keras operation on its operands in PyTorch's axis order (a one-operand `neg` as
    /// `Negative`; `rsub` as `other − self`; `alpha` as a `Multiply` of `other` first).
    static func operation(_ c: NodeConversion) throws -> KerasValue {
        let dtype = try c.outputDType()
        let x = try c.operationArgument("self").inTorchOrder(c)
        if c.target == "aten.neg.default" { return try c.operation("Negative", arguments: [x], dtype: dtype) }
        guard let className = operations[c.target] else { throw c.refuse("no Keras operation for \(c.target)") }
        var y = try c.operationArgument("other").inTorchOrder(c)
        let alpha = try c.double("alpha", default: 1)
        if alpha != 1 {
            guard case .value(let v) = y else { throw c.refuse("alpha=\(alpha) with a constant 'other'") }
            y = .value(try c.operation("Multiply", arguments: [.value(v), .constant(.double(alpha))], shape: v.torchShape, dtype: v.dtype))
        }
        return try c.operation(className, arguments: c.target == "aten.rsub.Scalar" ? [y, x] : [x, y], dtype: dtype)
    }

    static func scalar(_ c: NodeConversion, _ x: KerasValue, _ v: Double) throws -> KerasValue {
        switch operations[c.target] {
        case "Add": return try rescaling(c, x, scale: 1, offset: v)
        case "Subtract" where c.target == "aten.rsub.Scalar": return try rescaling(c, x, scale: -1, offset: v)
        case "Subtract": return try rescaling(c, x, scale: 1, offset: -v)
        case "Multiply": return try rescaling(c, x, scale: v, offset: 0)
        default:
            let reciprocal = 1 / v
            guard v != 0, reciprocal.significandBitPattern == 0, v.significandBitPattern == 0 else { return try operation(c) }
            return try rescaling(c, x, scale: reciprocal, offset: 0)
        }
    }

    static func rescaling(_ c: NodeConversion, _ x: KerasValue, scale: Double, offset: Double) throws -> KerasValue {
        guard x.dtype == "float32" else { throw c.refuse("arithmetic on an integer tensor") }
        return try c.layer("Rescaling", ["scale": .double(scale), "offset": .double(offset)], inputs: [x], perm: x.perm)[0]
    }

    static func concatenate(_ c: NodeConversion) throws -> KerasValue {
        guard case .tensors(let names)? = c.node.argument("tensors") else { throw c.refuse("argument 'tensors' is not a list of tensors") }
        let activations = names.compactMap { n -> KerasValue? in if case .value(let v)? = c.operand(named: n) { return v } else { return nil } }
        if activations.count < names.count, let first = activations.first {
            // Stored or folded tensors among activations (a class token): the `concatenate` operation
            // with the constants written in the activations' layout.
            let dim = try c.dim(c.int("dim", default: 0), rank: first.rank)
            let arguments = try names.map { n -> OperationArgument in
                if case .value(let v)? = c.operand(named: n) { return .value(c.arrange(v, as: first.perm)) }
                return try c.constantArgument(c.weight(named: n, argument: "tensors").tensor, perm: first.perm)
            }
            return try c.operation("Concatenate", ["axis": .int(first.position(of: dim))], arguments: [.list(arguments)],
                                   perm: first.perm, shape: try c.outputShape(), dtype: first.dtype)
        }
        let xs = try c.values("tensors")
        guard let first = xs.first else { throw c.refuse("concatenation of no tensors") }
        if xs.count == 1 { return first }
        let dim = try c.dim(c.int("dim", default: 0), rank: first.rank)
        let inputs = xs.map { c.arrange($0, as: first.perm) }
        if dim == first.perm[0] || first.dtype != "float32" {
            // The Concatenate layer never joins along its batch axis: the `concatenate` operation does.
            return try c.operation("Concatenate", ["axis": .int(first.position(of: dim))], arguments: [.list(inputs.map { .value($0) })],
                                   perm: first.perm, shape: try c.outputShape(), dtype: first.dtype)
        }
        return try c.layer("Concatenate", ["axis": .int(first.position(of: dim))], inputs: inputs, perm: first.perm, takesList: true)[0]
    }
}
