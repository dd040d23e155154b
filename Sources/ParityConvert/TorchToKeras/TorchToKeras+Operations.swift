import ParityKeras
import ParityNN
import ParityTorch

/// ATen nodes no Keras layer computes, written as Keras 3 *operation nodes*: a `keras.ops` function
/// called in a functional model, which Keras saves with its module (`keras.src.ops.numpy`,
/// `keras.src.ops.core`), class and constructor arguments and rebuilds on load.
///
/// - `mean.dim`, `sum.dim_IntList`, `amax`, `amin` → `Mean` / `Sum` / `Max` / `Min` (axes at their
///   Keras positions, `keepdims`);
/// - `matmul`, `bmm`, `mm` between activations (or with a stored tensor) → `Matmul` in PyTorch's order;
/// - `select` of one entry of a longer axis → `Take(axis)`; `slice` → `GetItem` with a slice at the
///   axis's Keras position; `split` / `split_with_sizes` / `chunk` / `unbind` → one slice per part;
/// - `constant_pad_nd` (any value, `-inf` included) → `Pad(pad_width, mode="constant")` with
///   `constant_values`;
/// - `_to_copy` / `to.dtype` / `to.device` / `type_as` → `Cast(dtype)` (nothing when the dtype does not
///   change; the device is the CPU Keras runs on); `cumsum` → `Cumsum(axis)` (with PyTorch's result
///   dtype: int64 for integer and bool inputs);
/// - comparisons → `Greater`, `Less`, `Equal`, … (bool results); `where.self` → `Where`; `&`, `|`, `^`
///   (`__and__`, `bitwise_*`, `logical_*`) → `LogicalAnd` / `Or` / `Xor` on bools, `BitwiseAnd` / … on
///   integers; `logical_not` (and `bitwise_not` of bools) → `LogicalNot`;
/// - `scaled_dot_product_attention` → `Matmul(q, kᵀ)`, `Multiply` by the scale, the mask added (a
///   float mask, `-inf` above the diagonal for `is_causal`) or applied by `Where` (a bool mask),
///   `Softmax` on the last axis, `Matmul` with v: PyTorch's math formulation (its CPU kernel
///   accumulates the same products in another order, within float32 rounding);
/// - `index_select` → `Take`, `gather` → `TakeAlongAxis`; `celu` → `Celu`; `prelu` → `Where(x > 0, x,
///   weight·x)`;
/// - `einsum` → `Einsum` (subscripts renamed to lowercase, spaces dropped), `linalg_vector_norm` / `norm`
///   → `Norm` or PyTorch's formula (``norm(_:)``), `repeat_interleave(n, dim)` → `Repeat`, `unfold` → `Take`
///   of the windows (``unfold(_:)``), `addcmul` → `Add(self, Multiply(value·t1, t2))`, `im2col` → `Take`s of the
///   patches (``im2col(_:)``), `col2im` → placement `Matmul`s added up (``col2im(_:)``), `max.dim` → `Max` and `Argmax`, `clamp_min` / `clamp_max` → `Clip`, `pow(x, number)` → `Power`, `sum` of everything → `Sum`, `addmm` (α = β = 1)
///   → `Add(Matmul)`;
/// - `index.Tensor` (`x[i]`, NumPy's advanced indexing) with one index tensor → `Take` along its axis;
///   with constant index tensors on the leading axes that each count along their own axis of the
///   broadcast shape, in order (`mask[arange(b)[:, None, None, None], arange(k)[None, None, None, :]]`,
///   how transformers expand attention masks) → the Reshape that inserts the unit axes;
/// - elementwise functions (`rsqrt`, `erf`, `sqrt`, `exp`, `log`, `sin`, `cos`, `abs`, `reciprocal`,
///   `log1p`, `expm1`, `square`, `floor`, `ceil`, `sign`) → the `keras.ops` function of that name
///   (TensorFlow's float32 kernels, a few ULP from PyTorch's);
/// - `var` / `std` with a correction (`unbiased`) → `Var` (the population variance) times
///   `N/(N − correction)` in float32, then `Sqrt` for `std`;
/// - `expand` / `expand_as` → `BroadcastTo`, `repeat` → `Tile`, `roll` → `Roll`, `stack` → `Stack`, `clamp` → `Clip`.
///
/// A stored tensor (parameter, buffer, lifted constant) read by such a node is written into the config
/// as a `__numpy__` constant, as Keras saves a NumPy array passed to an op: exact, not trainable.
/// Operands that broadcast are put in PyTorch's axis order first (NumPy's broadcasting is PyTorch's).
enum OperationNodes: TorchToKerasFamily {
    static let reductions: [String: String] = [
        "aten.mean.dim": "Mean", "aten.sum.dim_IntList": "Sum", "aten.amax.default": "Max", "aten.amin.default": "Min",
    ]
    static let comparisons: [String: String] = [
        "gt": "Greater", "ge": "GreaterEqual", "lt": "Less", "le": "LessEqual", "eq": "Equal", "ne": "NotEqual",
    ]
    /// Elementwise functions of one tensor: the Keras operation class and its module.
    static let unary: [String: (className: String, module: String)] = [
        "aten.rsqrt.default": ("Rsqrt", "math"), "aten.erf.default": ("Erf", "math"), "aten.sqrt.default": ("Sqrt", "numpy"),
        "aten.exp.default": ("Exp", "numpy"), "aten.log.default": ("Log", "numpy"), "aten.sin.default": ("Sin", "numpy"),
        "aten.cos.default": ("Cos", "numpy"), "aten.abs.default": ("Absolute", "numpy"), "aten.reciprocal.default": ("Reciprocal", "numpy"),
        "aten.log1p.default": ("Log1p", "numpy"), "aten.expm1.default": ("Expm1", "numpy"), "aten.square.default": ("Square", "numpy"),
        "aten.floor.default": ("Floor", "numpy"), "aten.ceil.default": ("Ceil", "numpy"), "aten.sign.default": ("Sign", "numpy"),
    ]
    /// Boolean operators: the Keras operation for bool operands, and for integer ones.
    static let logical: [String: (bool: String, integer: String)] = [
        "__and__": ("LogicalAnd", "BitwiseAnd"), "bitwise_and": ("LogicalAnd", "BitwiseAnd"), "logical_and": ("LogicalAnd", "LogicalAnd"),
        "__or__": ("LogicalOr", "BitwiseOr"), "bitwise_or": ("LogicalOr", "BitwiseOr"), "logical_or": ("LogicalOr", "LogicalOr"),
        "__xor__": ("LogicalXor", "BitwiseXor"), "bitwise_xor": ("LogicalXor", "BitwiseXor"), "logical_xor": ("LogicalXor", "LogicalXor"),
    ]
    static let targets: Set<String> = Set(reductions.keys).union(comparisons.keys.flatMap { ["aten.\($0).Tensor", "aten.\($0).Scalar"] })
        .union(unary.keys).union(logical.keys.map { $0.hasPrefix("logical") ? "aten.\($0).default" : "aten.\($0).Tensor" }).union([
        "aten.matmul.default", "aten.bmm.default", "aten.mm.default", "aten.slice.Tensor", "aten.constant_pad_nd.default",
        "aten._to_copy.default", "aten.to.dtype", "aten.to.dtype_layout", "aten.to.device", "aten.type_as.default", "aten.where.self",
        "aten.where.ScalarOther", "aten.where.ScalarSelf", "aten.where.Scalar",
        "aten.cumsum.default", "aten.index.Tensor", "aten.logical_not.default", "aten.bitwise_not.default",
        "aten.expand.default", "aten.expand_as.default", "aten.repeat.default", "aten.roll.default", "aten.stack.default", "aten.clamp.default",
        "aten.split.Tensor", "aten.split_with_sizes.default", "aten.chunk.default", "aten.unbind.int",
        "aten.scaled_dot_product_attention.default", "aten.celu.default", "aten.prelu.default", "aten.index_select.default",
        "aten.gather.default", "aten.einsum.default", "aten.var.correction", "aten.var.dim", "aten.std.correction", "aten.std.dim", "aten.linalg_vector_norm.default", "aten.norm.ScalarOpt_dim", "aten.clamp_min.default", "aten.clamp_max.default", "aten.pow.Tensor_Scalar", "aten.sum.default", "aten.addmm.default",
        "aten.repeat_interleave.self_int", "aten.unfold.default", "aten.addcmul.default", "aten.im2col.default", "aten.col2im.default", "aten.max.dim",
    ])

    static func convert(_ c: NodeConversion) throws -> [TorchOperand] {
        if let className = reductions[c.target] { return [.value(try reduction(c, className))] }
        let name = c.target.split(separator: ".").dropFirst().first.map(String.init) ?? ""
        if let className = comparisons[name] { return [.value(try comparison(c, className))] }
        if let function = unary[c.target] {
            let x = try c.value("self")
            return [.value(try c.operation(function.className, module: function.module, arguments: [.value(x)], perm: x.perm, dtype: try c.outputDType()))]
        }
        if let pair = logical[name] {
            let a = try c.operationArgument("self").inTorchOrder(c), b = try c.operationArgument("other").inTorchOrder(c)
            let dtype = try c.outputDType()
            return [.value(try c.operation(dtype == "bool" ? pair.bool : pair.integer, arguments: [a, b], dtype: dtype))]
        }
        switch c.target {
        case "aten.matmul.default", "aten.bmm.default", "aten.mm.default":
            let a = try c.operationArgument("self")
            let b = try c.operationArgument(c.target == "aten.matmul.default" ? "other" : "mat2")
            return [.value(try c.operation("Matmul", arguments: [a.inTorchOrder(c), b.inTorchOrder(c)]))]
        case "aten.slice.Tensor": return [.value(try slice(c))]
        case "aten.var.correction", "aten.var.dim", "aten.std.correction", "aten.std.dim": return [.value(try variance(c))]
        case "aten.scaled_dot_product_attention.default": return [.value(try attention(c))]
        case "aten.einsum.default":
            guard case .string(let equation)? = c.node.argument("equation"), case .tensors(let names)? = c.node.argument("tensors") else {
                throw c.refuse("expects an equation and a list of tensors")
            }
            let operands = try names.map { n -> OperationArgument in
                if case .value(let v)? = c.operand(named: n) { return .value(c.inTorchOrder(v)) }
                return .tensor(try c.weight(named: n, argument: "tensors").tensor)
            }
            return [.value(try c.operation("Einsum", ["subscripts": .string(try subscripts(c, equation))], arguments: operands))]
        case "aten.linalg_vector_norm.default", "aten.norm.ScalarOpt_dim": return [.value(try norm(c))]
        case "aten.repeat_interleave.self_int":
            let x = try c.value("self")
            guard case .int(let d)? = c.node.argument("dim") else { throw c.refuse("repeat_interleave without dim (of the flattened tensor)") }
            let dim = try c.dim(d, rank: x.rank)
            return [.value(try c.operation("Repeat", ["repeats": .int(try c.int("repeats")), "axis": .int(x.position(of: dim))],
                                           arguments: [.value(x)], perm: x.perm, dtype: x.dtype))]
        case "aten.unfold.default": return [.value(try unfold(c))]
        case "aten.im2col.default": return [.value(try im2col(c))]
        case "aten.col2im.default": return [.value(try col2im(c))]
        case "aten.max.dim":
            // (values, indices) along one dim: `Max` and `Argmax` (the first largest, as PyTorch's CPU kernel).
            let x = try c.value("self")
            let dim = try c.dim(c.int("dim"), rank: x.rank), keep = try c.bool("keepdim", default: false)
            let perm = keep ? x.perm : x.perm.filter { $0 != dim }.map { $0 > dim ? $0 - 1 : $0 }
            let axis = KerasJSON.int(x.position(of: dim))
            let values = try c.operation("Max", ["axis": axis, "keepdims": .bool(keep)], arguments: [.value(x)], perm: perm, shape: try c.outputShape(0), dtype: x.dtype)
            let indices = try c.operation("Argmax", ["axis": axis, "keepdims": .bool(keep)], arguments: [.value(x)], perm: perm, shape: try c.outputShape(1), dtype: "int32")  // keras.ops.argmax returns int32
            return [.value(values), .value(indices)]
        case "aten.addcmul.default":
            // PyTorch's CPU kernel: self + (value·t1)·t2, each step rounded (no fused multiply-add).
            let t1 = try c.operationArgument("tensor1").inTorchOrder(c), t2 = try c.operationArgument("tensor2").inTorchOrder(c)
            let value = try c.double("value", default: 1)
            func shape(_ argument: String) -> [Int] {
                guard case .tensor(let n)? = c.node.argument(argument) else { return [] }
                return c.program.graph.tensorMeta[n]?.shape ?? []
            }
            let scaled = value == 1 ? t1 : .value(try c.operation("Multiply", arguments: [t1, .constant(.double(value))], shape: shape("tensor1")))
            let product = try c.operation("Multiply", arguments: [scaled, t2], shape: try Shape.broadcast(shape("tensor1"), shape("tensor2")))
            return [.value(try c.operation("Add", arguments: [try c.operationArgument("self").inTorchOrder(c), .value(product)], dtype: try c.outputDType()))]
        case "aten.clamp_min.default", "aten.clamp_max.default":
            let x = try c.value("self")
            let bound = try c.double(c.target == "aten.clamp_min.default" ? "min" : "max")
            return [.value(try c.operation("Clip", ["x_min": .double(c.target == "aten.clamp_min.default" ? bound : -.infinity),
                                                    "x_max": .double(c.target == "aten.clamp_max.default" ? bound : .infinity)],
                                           arguments: [.value(x)], perm: x.perm))]
        case "aten.pow.Tensor_Scalar":
            let x = try c.value("self")
            return [.value(try c.operation("Power", arguments: [.value(x), try c.operationArgument("exponent")], perm: x.perm, dtype: try c.outputDType()))]
        case "aten.sum.default":
            let x = try c.value("self")
            return [.value(try c.operation("Sum", ["axis": .null, "keepdims": .bool(false)], arguments: [.value(x)], perm: [], dtype: try c.outputDType()))]
        case "aten.addmm.default":
            guard try c.double("beta", default: 1) == 1, try c.double("alpha", default: 1) == 1 else { throw c.refuse("addmm with beta or alpha ≠ 1") }
            let a = try c.operationArgument("mat1").inTorchOrder(c), b = try c.operationArgument("mat2").inTorchOrder(c)
            let product = try c.operation("Matmul", arguments: [a, b])
            return [.value(try c.operation("Add", arguments: [.value(product), try c.operationArgument("self").inTorchOrder(c)]))]
        case "aten.celu.default":
            let x = try c.value("self")
            return [.value(try c.operation("Celu", module: "nn", ["alpha": .double(try c.double("alpha", default: 1))], arguments: [.value(x)], perm: x.perm))]
        case "aten.prelu.default":
            // PyTorch: x where x > 0, else weight·x, the weight along axis 1 (or one shared value).
            let x = c.inTorchOrder(try c.value("self"))
            let weight = try c.weight("weight").tensor
            let shape = weight.count == 1 || x.rank < 2 ? [weight.count] : [weight.count] + Array(repeating: 1, count: x.rank - 2)
            let scaled = try c.operation("Multiply", arguments: [.value(x), .tensor(try weight.reshaped(shape))], shape: x.torchShape)
            let positive = try c.operation("Greater", arguments: [.value(x), .constant(.double(0))], shape: x.torchShape, dtype: "bool")
            return [.value(try c.operation("Where", arguments: [.value(positive), .value(x), .value(scaled)]))]
        case "aten.index_select.default", "aten.gather.default":
            // `self` may be a constant (roberta's position ids, an `expand` of a buffer folded while converting).
            let x = try c.operationArgument("self").inTorchOrder(c)
            let dim = try c.dim(c.int("dim"), rank: try c.outputShape().count)
            let index = try c.operationArgument("index").inTorchOrder(c)
            return [.value(try c.operation(c.target == "aten.gather.default" ? "TakeAlongAxis" : "Take", ["axis": .int(dim)],
                                           arguments: [x, index], dtype: try c.outputDType()))]
        case "aten.constant_pad_nd.default": return [.value(try pad(c, value: c.double("value", default: 0)))]
        case "aten._to_copy.default", "aten.to.dtype", "aten.to.dtype_layout", "aten.to.device", "aten.type_as.default": return [.value(try cast(c))]
        case "aten.index.Tensor": return [.value(try index(c))]
        case "aten.logical_not.default", "aten.bitwise_not.default":
            let x = try c.value("self")
            guard try c.outputDType() == "bool" else { throw c.refuse("bitwise_not of an integer tensor") }
            return [.value(try c.operation("LogicalNot", arguments: [.value(x)], perm: x.perm, dtype: "bool"))]
        case "aten.cumsum.default":
            let x = try c.value("self")
            let dim = try c.dim(c.int("dim"), rank: x.rank), dtype = try c.outputDType()
            return [.value(try c.operation("Cumsum", ["axis": .int(x.position(of: dim)), "dtype": dtype == x.dtype ? .null : .string(dtype)],
                                           arguments: [.value(x)], perm: x.perm, dtype: dtype))]
        case "aten.where.self", "aten.where.ScalarOther", "aten.where.ScalarSelf", "aten.where.Scalar":
            let arguments = try ["condition", "self", "other"].map { try c.operationArgument($0).inTorchOrder(c) }
            return [.value(try c.operation("Where", arguments: arguments, dtype: try c.outputDType()))]
        case "aten.expand.default", "aten.expand_as.default":
            let x = try c.operationArgument("self").inTorchOrder(c)
            let shape = try c.outputShape()
            return [.value(try c.operation("BroadcastTo", ["shape": .ints(shape)], arguments: [x], dtype: try c.outputDType()))]
        case "aten.repeat.default":
            let x = try c.value("self")
            let repeats = try c.ints("repeats")
            guard repeats.count == x.rank else { throw c.refuse("repeats \(repeats) for rank \(x.rank): only one count per axis converts") }
            return [.value(try c.operation("Tile", ["repeats": .ints(x.perm.map { repeats[$0] })], arguments: [.value(x)], perm: x.perm, dtype: x.dtype))]
        case "aten.roll.default":
            let x = try c.value("self")
            let shifts = try c.ints("shifts"), dims = try c.ints("dims", default: [])
            guard !dims.isEmpty, dims.count == shifts.count else { throw c.refuse("roll without dims (of the flattened tensor)") }
            let axes = try dims.map { x.position(of: try c.dim($0, rank: x.rank)) }
            return [.value(try c.operation("Roll", ["shift": .ints(shifts), "axis": .ints(axes)], arguments: [.value(x)], perm: x.perm, dtype: x.dtype))]
        case "aten.stack.default":
            let xs = try c.values("tensors")
            guard let first = xs.first else { throw c.refuse("stack of no tensors") }
            let dim = try c.dim(c.int("dim", default: 0), rank: first.rank + 1)
            let inputs = xs.map { OperationArgument.value(c.inTorchOrder($0)) }
            return [.value(try c.operation("Stack", ["axis": .int(dim)], arguments: [.list(inputs)], dtype: first.dtype))]
        case "aten.clamp.default":
            let x = try c.value("self")
            let low = try c.optionalDouble("min"), high = try c.optionalDouble("max")
            guard x.dtype == "float32" else { throw c.refuse("clamp of an integer tensor") }
            return [.value(try c.operation("Clip", ["x_min": .double(low ?? -.infinity), "x_max": .double(high ?? .infinity)],
                                           arguments: [.value(x)], perm: x.perm))]
        default:
            return try split(c).map { .value($0) }
        }
    }

    /// `linalg_vector_norm(x, ord, dim)` (and `norm(x, p, dim)`): the 2-norm over one dim → `Norm`;
    /// otherwise PyTorch's definition as operations on the value's own axes: `Sqrt(Sum(Square(x)))` for
    /// 2 (over several dims: Keras's `norm` of two axes is a matrix norm), `Sum(Absolute(x))` for 1,
    /// `Max` / `Min` of `Absolute(x)` for ±∞, `Power(Sum(Power(Absolute(x), p)), 1/p)` for other p, and
    /// the count of non-zeros for 0.
    static func norm(_ c: NodeConversion) throws -> KerasValue {
        let x = try c.value("self")
        let listed = try c.ints("dim", default: [])
        let dims = listed.isEmpty ? Array(0..<x.rank) : try listed.map { try c.dim($0, rank: x.rank) }
        let p = try c.double(c.target == "aten.norm.ScalarOpt_dim" ? "p" : "ord", default: 2)
        if case .scalarType? = c.node.argument("dtype") { throw c.refuse("a norm with a dtype argument") }
        guard x.dtype == "float32" else { throw c.refuse("the norm of a \(x.dtype) tensor") }
        let keep = try c.bool("keepdim", default: false)
        let perm = keep ? x.perm : x.perm.filter { !dims.contains($0) }.map { a in a - dims.filter { $0 < a }.count }
        let axes = JSONValue.ints(dims.map { x.position(of: $0) }.sorted())
        if dims.count == 1 && p == 2 {
            return try c.operation("Norm", module: "linalg", ["ord": .int(2), "axis": .int(x.position(of: dims[0])), "keepdims": .bool(keep)],
                                   arguments: [.value(x)], perm: perm)
        }
        func elementwise(_ className: String, _ v: KerasValue, _ arguments: [OperationArgument] = []) throws -> KerasValue {
            try c.operation(className, arguments: [.value(v)] + arguments, perm: v.perm, shape: v.torchShape)
        }
        func reduce(_ className: String, _ v: KerasValue) throws -> KerasValue {
            try c.operation(className, ["axis": axes, "keepdims": .bool(keep)], arguments: [.value(v)], perm: perm)
        }
        switch p {
        case 2: return try c.operation("Sqrt", arguments: [.value(try reduce("Sum", try elementwise("Square", x)))], perm: perm)
        case 1: return try reduce("Sum", try elementwise("Absolute", x))
        case .infinity: return try reduce("Max", try elementwise("Absolute", x))
        case -.infinity: return try reduce("Min", try elementwise("Absolute", x))
        case 0:
            let nonzero = try c.operation("NotEqual", arguments: [.value(x), .constant(.double(0))], perm: x.perm, shape: x.torchShape, dtype: "bool")
            return try reduce("Sum", try c.operation("Cast", module: "core", ["dtype": .string("float32")], arguments: [.value(nonzero)],
                                                     perm: x.perm, shape: x.torchShape))
        default:
            guard p.isFinite else { throw c.refuse("ord \(p)") }
            let powers = try elementwise("Power", try elementwise("Absolute", x), [.constant(.double(p))])
            return try c.operation("Power", arguments: [.value(try reduce("Sum", powers)), .constant(.double(1 / p))], perm: perm)
        }
    }

    /// `unfold(dimension, size, step)`: the windows `x[i·step ..< i·step + size]` along `dimension`,
    /// as a `Take` with the window index table `(count, size)` (a gather: exact) then a `Transpose`
    /// moving the window axis last, where PyTorch puts it.
    static func unfold(_ c: NodeConversion) throws -> KerasValue {
        let x = c.inTorchOrder(try c.value("self"))
        let dim = try c.dim(c.int("dimension"), rank: Swift.max(x.rank, 1))
        let size = try c.int("size"), step = try c.int("step")
        let length = x.rank == 0 ? 1 : x.torchShape[dim]
        guard size >= 0, step > 0, size <= length else { throw c.refuse("size \(size), step \(step) on an axis of \(length)") }
        let count = (length - size) / step + 1
        let table = Tensor(shape: [count, size], int64: (0..<(count * size)).map { Int64(($0 / size) * step + $0 % size) })
        var gathered = x.torchShape
        gathered.replaceSubrange(dim...dim, with: [count, size])
        let taken = try c.operation("Take", ["axis": .int(dim)], arguments: [.value(x), .tensor(table)], shape: gathered, dtype: x.dtype)
        if dim + 1 == gathered.count - 1 { return taken }
        var order = Array(0..<gathered.count)
        order.remove(at: dim + 1)
        order.append(dim + 1)
        return try c.operation("Transpose", ["axes": .ints(order)], arguments: [.value(taken)], dtype: x.dtype)
    }

    /// `im2col` (`F.unfold`, TNT's pixel patches) of an (N, C, H, W) value: zero `Pad`, one `Take` per
    /// spatial axis with the index table `(count, k)` of `i·stride + j·dilation` (gathers: exact),
    /// `Transpose` to (N, C, kh, kw, oh, ow) and `Reshape` to PyTorch's (N, C·kh·kw, oh·ow).
    static func im2col(_ c: NodeConversion) throws -> KerasValue {
        var x = c.inTorchOrder(try c.value("self"))
        guard x.rank == 4 else { throw c.refuse("expects a batched (N, C, H, W) input; received \(x.torchShape)") }
        let kernel = try c.ints("kernel_size", count: 2), dilation = try c.ints("dilation", count: 2)
        let padding = try c.ints("padding", count: 2), stride = try c.ints("stride", count: 2)
        if padding.contains(where: { $0 != 0 }) {
            x = try padded(c, x, widths: [(0, 0), (0, 0), (padding[0], padding[0]), (padding[1], padding[1])], value: 0)
        }
        var shape = x.torchShape
        for i in 0..<2 {
            let size = shape[2 + 2 * i], span = dilation[i] * (kernel[i] - 1) + 1
            guard size >= span, stride[i] > 0 else { throw c.refuse("kernel \(kernel), dilation \(dilation) on \(x.torchShape)") }
            let count = (size - span) / stride[i] + 1
            let table = Tensor(shape: [count, kernel[i]], int64: (0..<(count * kernel[i])).map { Int64(($0 / kernel[i]) * stride[i] + ($0 % kernel[i]) * dilation[i]) })
            shape.replaceSubrange((2 + 2 * i)...(2 + 2 * i), with: [count, kernel[i]])
            x = try c.operation("Take", ["axis": .int(2 + 2 * i)], arguments: [.value(x), .tensor(table)], shape: shape, dtype: x.dtype)
        }
        // (N, C, oh, kh, ow, kw) → (N, C, kh, kw, oh, ow)
        let order = [0, 1, 3, 5, 2, 4]
        let moved = try c.operation("Transpose", ["axes": .ints(order)], arguments: [.value(x)], shape: order.map { shape[$0] }, dtype: x.dtype)
        return try c.operation("Reshape", ["newshape": .ints(try c.outputShape())], arguments: [.value(moved)], dtype: x.dtype)
    }

    /// `col2im` (`F.fold`, VOLO's outlook attention) of (N, C·kh·kw, oh·ow) into (N, C, H, W): each
    /// kernel offset's (N, C, oh, ow) block placed on the padded canvas by two `Matmul`s with 0/1
    /// placement matrices (row `j·dilation + i·stride` ← `i`: each output one product by 1, exact),
    /// the kh·kw canvases added in PyTorch's order of offsets, then the padding cut off (`GetItem`).
    static func col2im(_ c: NodeConversion) throws -> KerasValue {
        let x = c.inTorchOrder(try c.value("self"))
        let size = try c.ints("output_size", count: 2), kernel = try c.ints("kernel_size", count: 2)
        let dilation = try c.ints("dilation", count: 2), padding = try c.ints("padding", count: 2), stride = try c.ints("stride", count: 2)
        guard x.rank == 3 else { throw c.refuse("expects a batched (N, C·kh·kw, L) input; received \(x.torchShape)") }
        var padded: [Int] = [], counts: [Int] = []
        for axis in 0..<2 {
            let length: Int = size[axis] + 2 * padding[axis]
            let span: Int = dilation[axis] * (kernel[axis] - 1) + 1
            padded.append(length)
            counts.append((length - span) / stride[axis] + 1)
        }
        let channels = x.torchShape[1] / (kernel[0] * kernel[1]), n = x.torchShape[0]
        guard counts.allSatisfy({ $0 > 0 }), channels * kernel[0] * kernel[1] == x.torchShape[1], counts[0] * counts[1] == x.torchShape[2] else {
            throw c.refuse("input \(x.torchShape) for output_size \(size), kernel \(kernel), padding \(padding), stride \(stride)")
        }
        let blocks = try c.operation("Reshape", ["newshape": .ints([n, channels, kernel[0], kernel[1], counts[0], counts[1]])], arguments: [.value(x)],
                                     shape: [n, channels, kernel[0], kernel[1], counts[0], counts[1]], dtype: x.dtype)
        func placement(_ axis: Int, _ offset: Int) -> Tensor {
            var values = Array(repeating: 0.0, count: padded[axis] * counts[axis])
            for i in 0..<counts[axis] {
                let row: Int = offset * dilation[axis] + i * stride[axis]
                values[row * counts[axis] + i] = 1
            }
            return Tensor(shape: [padded[axis], counts[axis]], values: values).cast(to: .float32)
        }
        let all = KerasJSON.kerasSlice()
        let canvasShape = [n, channels, padded[0], padded[1]]
        var canvas: KerasValue?
        for kh in 0..<kernel[0] {
            for kw in 0..<kernel[1] {
                let key: [KerasJSON] = [all, all, .int(kh), .int(kw)]
                let block = try c.operation("GetItem", arguments: [.value(blocks), .constant(.array(key))], shape: [n, channels, counts[0], counts[1]], dtype: x.dtype)
                let rows = try c.operation("Matmul", arguments: [.tensor(placement(0, kh)), .value(block)], shape: [n, channels, padded[0], counts[1]])
                let placed = try c.operation("Matmul", arguments: [.value(rows), .tensor(try placement(1, kw).transposedMatrix())],
                                             shape: canvasShape)
                if let sum = canvas {
                    canvas = try c.operation("Add", arguments: [.value(sum), .value(placed)], shape: canvasShape)
                } else {
                    canvas = placed
                }
            }
        }
        var y = canvas!
        for axis in 0..<2 where padding[axis] > 0 {
            y = try take(c, y, dim: 2 + axis, start: padding[axis], end: padding[axis] + size[axis], step: 1)
        }
        return y
    }

    static func attention(_ c: NodeConversion) throws -> KerasValue {
        // The query may be a constant (a learned latent query, timm's attention pooling).
        let q = try c.operationArgument("query").inTorchOrder(c), k = c.inTorchOrder(try c.value("key")), v = c.inTorchOrder(try c.value("value"))
        if try c.double("dropout_p", default: 0) != 0 { throw c.refuse("dropout_p > 0 is random: export the model after .eval()") }
        if try c.bool("enable_gqa", default: false) { throw c.refuse("enable_gqa=True") }
        guard case .tensor(let queryName)? = c.node.argument("query"), let queryShape = c.program.graph.tensorMeta[queryName]?.shape else {
            throw c.refuse("the query has no static shape")
        }
        guard queryShape.count >= 2, k.rank == queryShape.count, v.rank == queryShape.count else { throw c.refuse("query, key and value of different ranks") }
        let length = queryShape[queryShape.count - 2], source = k.torchShape[k.rank - 2], width = queryShape[queryShape.count - 1]
        let scale = try c.optionalDouble("scale") ?? 1 / Double(width).squareRoot()
        var swap = Array(0..<k.rank)
        swap.swapAt(k.rank - 1, k.rank - 2)
        let kt = try c.operation("Transpose", ["axes": .ints(swap)], arguments: [.value(k)], shape: swap.map { k.torchShape[$0] })
        var scoreShape = try c.outputShape()
        scoreShape[scoreShape.count - 1] = source
        let products = try c.operation("Matmul", arguments: [q, .value(kt)], shape: scoreShape)
        var scores = try c.operation("Multiply", arguments: [.value(products), .constant(.double(Double(Float(scale))))], shape: scoreShape)
        if try c.bool("is_causal", default: false) {
            let mask = Tensor(shape: [length, source], values: (0..<(length * source)).map { i in i % source > i / source ? -Double.infinity : 0 })
            scores = try c.operation("Add", arguments: [.value(scores), .tensor(mask)], shape: scoreShape)
        }
        if case .tensor? = c.node.argument("attn_mask") {
            let mask = try c.operationArgument("attn_mask").inTorchOrder(c)
            let isBool: Bool
            switch mask {
            case .value(let m): isBool = m.dtype == "bool"
            case .tensor(let t): isBool = t.dtype == .bool
            default: isBool = false
            }
            scores = isBool ? try c.operation("Where", arguments: [mask, .value(scores), .constant(.double(-.infinity))], shape: scoreShape)
                : try c.operation("Add", arguments: [.value(scores), mask], shape: scoreShape)
        }
        let weights = try c.operation("Softmax", module: "nn", ["axis": .int(-1)], arguments: [.value(scores)], shape: scoreShape)
        return try c.operation("Matmul", arguments: [.value(weights), .value(v)])
    }

    /// PyTorch's einsum equation as Keras 3.15.1 runs it on TensorFlow: no spaces (PyTorch allows
    /// `"b h i d, b h j d -> b h i j"`) and lowercase letters only (Keras's TensorFlow einsum fails on
    /// uppercase subscripts), each letter renamed consistently in order of first use.
    static func subscripts(_ c: NodeConversion, _ equation: String) throws -> String {
        var names: [Character: Character] = [:]
        let letters = Array("abcdefghijklmnopqrstuvwxyz")
        var result = ""
        for ch in equation where !ch.isWhitespace {
            guard ch.isLetter else { result.append(ch); continue }
            if names[ch] == nil {
                guard names.count < letters.count else { throw c.refuse("an einsum with more than 26 subscripts") }
                names[ch] = letters[names.count]
            }
            result.append(names[ch]!)
        }
        return result
    }

    static func reduction(_ c: NodeConversion, _ className: String) throws -> KerasValue {
        let x = try c.value("self")
        if case .scalarType? = c.node.argument("dtype") { throw c.refuse("a reduction with a dtype argument") }
        let listed = try c.ints("dim", default: [])
        let dims = listed.isEmpty ? Array(0..<x.rank) : try listed.map { try c.dim($0, rank: x.rank) }
        let keep = try c.bool("keepdim", default: false)
        let perm = keep ? x.perm : x.perm.filter { !dims.contains($0) }.map { a in a - dims.filter { $0 < a }.count }
        return try c.operation(className, ["axis": .ints(dims.map { x.position(of: $0) }.sorted()), "keepdims": .bool(keep)],
                               arguments: [.value(x)], perm: perm, dtype: x.dtype)
    }

    static func index(_ c: NodeConversion) throws -> KerasValue {
        let x = try c.value("self")
        let names: [String?]
        switch c.node.argument("indices") {
        case .optionalTensors(let list)?: names = list
        case .tensors(let list)?: names = list
        default: throw c.refuse("expects a list of index tensors")
        }
        let given = names.enumerated().compactMap { i, n in n.map { (dim: i, name: $0) } }
        func constant(_ name: String) throws -> Tensor? {
            if case .value? = c.operand(named: name) { return nil }
            let t = try c.weight(named: name, argument: "indices").tensor
            guard t.dtype != .bool else { throw c.refuse("a boolean mask index selects a data-dependent number of elements") }
            return t
        }
        if given.count == 1 {
            let (dim, name) = given[0]
            let index: OperationArgument
            if let t = try constant(name) {
                let size = Double(x.torchShape[dim])
                index = .tensor(Tensor(shape: t.shape, int64: t.doubles.map { Int64($0 < 0 ? $0 + size : $0) }))
            } else {
                guard case .value(let v)? = c.operand(named: name), v.dtype != "bool" else {
                    throw c.refuse("a boolean mask index selects a data-dependent number of elements")
                }
                index = .value(c.inTorchOrder(v))
            }
            return try c.operation("Take", ["axis": .int(dim)], arguments: [.value(c.inTorchOrder(x)), index], dtype: x.dtype)
        }
        // Several: only the form that is a reshape (each leading axis j indexed by the coordinate along
        // axis a_j of the broadcast shape, a_0 < a_1 < …).
        let output = try c.outputShape()
        let k = given.count
        let broadcast = Array(output.prefix(output.count - (x.rank - k)))
        var axes: [Int] = []
        for (j, entry) in given.enumerated() {
            guard entry.dim == j, let t = try constant(entry.name), t.rank <= broadcast.count else {
                throw c.refuse("several index tensors, not constants on the leading axes in order: only the indexing that inserts unit axes converts")
            }
            let shape = Array(repeating: 1, count: broadcast.count - t.rank) + t.shape
            let varying = shape.indices.filter { shape[$0] != 1 }
            let values = t.doubles
            guard varying.count <= 1, let axis = varying.first ?? broadcast.indices.first(where: { broadcast[$0] == 1 && x.torchShape[j] == 1 }),
                  broadcast[axis] == x.torchShape[j], values == (0..<values.count).map(Double.init), axes.last.map({ $0 < axis }) ?? true else {
                throw c.refuse("index tensor \(j) is not a count along one axis of the broadcast shape \(broadcast): only the indexing that inserts unit axes converts")
            }
            axes.append(axis)
        }
        guard broadcast.indices.allSatisfy({ axes.contains($0) || broadcast[$0] == 1 }) else {
            throw c.refuse("the broadcast shape \(broadcast) repeats elements: only the indexing that inserts unit axes converts")
        }
        return try ReshapingOps.reshape(c, x)
    }

    /// `var` / `std`: Keras's `var` has no correction (NumPy's `ddof = 0`), so the population variance
    /// is scaled by `N/(N − correction)`, one float32 rounding more than PyTorch's `m2/(N − correction)`.
    static func variance(_ c: NodeConversion) throws -> KerasValue {
        let x = try c.value("self")
        let correction = c.target.hasSuffix(".dim") ? (try c.bool("unbiased", default: true) ? 1 : 0) : try c.optionalDouble("correction") ?? 1
        let listed = try c.ints("dim", default: [])
        let count = (listed.isEmpty ? Array(0..<x.rank) : try listed.map { try c.dim($0, rank: x.rank) }).reduce(1) { $0 * x.torchShape[$1] }
        guard Double(count) > correction else {
            throw c.refuse("correction \(correction) over \(count) elements: PyTorch divides by \(Double(count) - correction) (inf or nan)")
        }
        var y = try reduction(c, "Var")
        if correction != 0 {
            let factor = Double(Float(Double(count) / (Double(count) - correction)))
            y = try c.operation("Multiply", arguments: [.value(y), .constant(.double(factor))], perm: y.perm, shape: y.torchShape)
        }
        if c.target.hasPrefix("aten.std") { y = try c.operation("Sqrt", arguments: [.value(y)], perm: y.perm, shape: y.torchShape) }
        return y
    }

    static func comparison(_ c: NodeConversion, _ className: String) throws -> KerasValue {
        let a = try c.operationArgument("self").inTorchOrder(c), b = try c.operationArgument("other").inTorchOrder(c)
        return try c.operation(className, arguments: [a, b], dtype: "bool")
    }

    /// `x[..., start:end:step, ...]` on one axis (PyTorch's bounds clamped to the axis, as slicing does).
    static func slice(_ c: NodeConversion) throws -> KerasValue {
        let x = try c.value("self")
        let dim = try c.dim(c.int("dim", default: 0), rank: x.rank)
        let size = x.torchShape[dim]
        func bound(_ key: String, _ fallback: Int) throws -> Int {
            guard case .int(let v)? = c.node.argument(key) else { return fallback }
            return min(max(v < 0 ? v + size : v, 0), size)
        }
        let start = try bound("start", 0), end = try bound("end", size), step = try c.int("step", default: 1)
        if start == 0 && end == size && step == 1 { return x }
        return try take(c, x, dim: dim, start: start, end: end, step: step)
    }

    /// `GetItem` with `start:end:step` at `dim`'s Keras position and full slices before it.
    static func take(_ c: NodeConversion, _ x: KerasValue, dim: Int, start: Int, end: Int, step: Int, shape: [Int]? = nil) throws -> KerasValue {
        let position = x.position(of: dim)
        let key = Array(repeating: KerasJSON.kerasSlice(), count: position) + [KerasJSON.kerasSlice(start, end, step)]
        var outShape = x.torchShape
        outShape[dim] = Swift.max(0, (end - start + step - 1) / step)
        return try c.operation("GetItem", arguments: [.value(x), .constant(.array(key))], perm: x.perm, shape: shape ?? outShape, dtype: x.dtype)
    }

    /// `split(size)`, `split_with_sizes(sizes)`, `chunk(n)`, `unbind`: one slice (or `Take`) per part.
    static func split(_ c: NodeConversion) throws -> [KerasValue] {
        let x = try c.value("self")
        let dim = try c.dim(c.int("dim", default: 0), rank: x.rank)
        let size = x.torchShape[dim]
        var sizes: [Int]
        switch c.target {
        case "aten.split_with_sizes.default": sizes = try c.ints("split_sizes")
        case "aten.split.Tensor":
            let part = try c.int("split_size")
            guard part > 0 else { throw c.refuse("split_size \(part)") }
            sizes = stride(from: 0, to: size, by: part).map { Swift.min(part, size - $0) }
        case "aten.chunk.default":
            let chunks = try c.int("chunks")
            let part = (size + chunks - 1) / Swift.max(chunks, 1)
            sizes = part == 0 ? [] : stride(from: 0, to: size, by: part).map { Swift.min(part, size - $0) }
        default:
            var parts: [KerasValue] = []
            for index in 0..<size {
                parts.append(try c.operation("Take", ["axis": .int(x.position(of: dim))], arguments: [.value(x), .constant(.int(index))],
                                             perm: x.perm.filter { $0 != dim }.map { $0 > dim ? $0 - 1 : $0 }, shape: try c.outputShape(index), dtype: x.dtype))
            }
            return parts
        }
        guard sizes.reduce(0, +) == size else { throw c.refuse("sizes \(sizes) do not add up to \(size)") }
        var parts: [KerasValue] = [], start = 0
        for (index, part) in sizes.enumerated() {
            parts.append(try take(c, x, dim: dim, start: start, end: start + part, step: 1, shape: try c.outputShape(index)))
            start += part
        }
        return parts
    }

    /// `constant_pad_nd(pad, value)`: `pad` lists (before, after) from the last axis backwards;
    /// negative amounts (cropping) are refused.
    static func pad(_ c: NodeConversion, value: Double) throws -> KerasValue {
        var x = try c.value("self")
        var pad = try c.ints("pad")
        if pad.contains(where: { $0 < 0 }) { (x, pad) = try cropped(c, x, pad: pad) }
        guard pad.count % 2 == 0, pad.count / 2 <= x.rank, pad.allSatisfy({ $0 >= 0 }) else {
            throw c.refuse("pad \(pad) on \(x.torchShape): one non-negative (before, after) pair per trailing axis")
        }
        return try padded(c, x, widths: widths(pad, rank: x.rank), value: value)
    }

    /// The negative amounts of a PyTorch `pad` list (last axis first) cut from `x` with `GetItem`
    /// slices; returns the cropped value and the list with those amounts made 0.
    static func cropped(_ c: NodeConversion, _ x: KerasValue, pad: [Int]) throws -> (KerasValue, [Int]) {
        guard pad.count % 2 == 0, pad.count / 2 <= x.rank else { throw c.refuse("pad \(pad) on \(x.torchShape)") }
        var x = x
        for pair in 0..<(pad.count / 2) where pad[2 * pair] < 0 || pad[2 * pair + 1] < 0 {
            let axis = x.rank - 1 - pair, size = x.torchShape[axis]
            let start = Swift.max(0, -pad[2 * pair]), end = size - Swift.max(0, -pad[2 * pair + 1])
            guard start < end else { throw c.refuse("pad \(pad) crops all of axis \(axis) (size \(size))") }
            x = try take(c, x, dim: axis, start: start, end: end, step: 1)
        }
        return (x, pad.map { Swift.max($0, 0) })
    }

    /// PyTorch's `pad` list (last axis first) as one (before, after) pair per PyTorch axis.
    static func widths(_ pad: [Int], rank: Int) -> [(Int, Int)] {
        var pairs = Array(repeating: (0, 0), count: rank)
        for pair in 0..<(pad.count / 2) { pairs[rank - 1 - pair] = (pad[2 * pair], pad[2 * pair + 1]) }
        return pairs
    }

    /// `Pad` with `widths` (per PyTorch axis) at their Keras positions, filling with `value`.
    static func padded(_ c: NodeConversion, _ x: KerasValue, widths: [(Int, Int)], value: Double, mode: String = "constant") throws -> KerasValue {
        let keras = x.perm.map { widths[$0] }
        var shape = x.torchShape
        for (axis, pair) in widths.enumerated() { shape[axis] += pair.0 + pair.1 }
        return try c.operation("Pad", ["pad_width": .array(keras.map { .ints([$0.0, $0.1]) }), "mode": .string(mode)],
                               arguments: [.value(x)], keywords: mode == "constant" ? ["constant_values": .double(value)] : [:],
                               perm: x.perm, shape: shape, dtype: x.dtype)
    }

    static func cast(_ c: NodeConversion) throws -> KerasValue {
        let x = try c.value("self")
        let dtype = try c.outputDType()
        if dtype == x.dtype { return x }
        return try c.operation("Cast", module: "core", ["dtype": .string(dtype)], arguments: [.value(x)], perm: x.perm, dtype: dtype)
    }
}

extension OperationArgument {
    /// An activation put in PyTorch's axis order (constants are written in it already).
    func inTorchOrder(_ c: NodeConversion) -> OperationArgument {
        if case .value(let v) = self { return .value(c.inTorchOrder(v)) }
        return self
    }
}

extension NodeConversion {
    /// A tensor or number argument of an operation node: an activation, a stored tensor written as a
    /// `__numpy__` constant in PyTorch's layout, or a Python number.
    func operationArgument(_ argument: String) throws -> OperationArgument {
        switch node.argument(argument) {
        case .tensor(let n)?:
            if case .value(let v)? = env[n] { return .value(v) }
            return .tensor(try weight(named: n, argument: argument).tensor)
        case .float(let d)?: return .constant(.double(d))
        case .int(let i)?: return .constant(.int(i))
        case .bool(let b)?: return .constant(.bool(b))
        default: throw refuse("argument '\(argument)' is neither a tensor nor a number")
        }
    }

    /// A stored or folded tensor read where activations are held as `perm` (broadcast against a
    /// value of that rank: leading axes added, then permuted into the Keras layout).
    func constantArgument(_ tensor: Tensor, perm: [Int]) throws -> OperationArgument {
        guard tensor.rank <= perm.count else { throw refuse("a constant of rank \(tensor.rank) against a value of rank \(perm.count)") }
        let full = try tensor.reshaped(Array(repeating: 1, count: perm.count - tensor.rank) + tensor.shape)
        return .tensor(perm == Array(0..<perm.count) ? full : try full.permuted(perm))
    }

    /// A tensor as Keras saves a NumPy array argument: `{"class_name": "__numpy__", "config": {"value", "dtype"}}`.
    static func numpy(_ tensor: Tensor) -> KerasJSON {
        let dtype = KerasDTypes.name(tensor.dtype)
        let values: [KerasJSON] = tensor.dtype.isFloatingPoint ? tensor.doubles.map { .double($0) }
            : tensor.doubles.map { dtype == "bool" ? .bool($0 != 0) : .int(Int($0)) }
        func nest(_ shape: ArraySlice<Int>, _ flat: ArraySlice<KerasJSON>) -> KerasJSON {
            guard let first = shape.first else { return flat.first ?? .null }
            let inner = flat.count / Swift.max(first, 1)
            return .array((0..<first).map { i in nest(shape.dropFirst(), flat.dropFirst(i * inner).prefix(inner)) })
        }
        return .object(["class_name": .string("__numpy__"), "config": .object(["value": nest(tensor.shape[...], values[...]), "dtype": .string(dtype)])])
    }

    /// The Keras dtype of output `index` (from the program's tensor metadata).
    func outputDType(_ index: Int = 0) throws -> String {
        guard index < node.outputs.count, let n = node.outputs[index], let meta = program.graph.tensorMeta[n] else {
            throw refuse("output \(index) has no dtype in the program")
        }
        return try KerasDTypes.name(scalarType: meta.scalarType) ?? { throw refuse("output dtype code \(meta.scalarType) has no Keras dtype") }()
    }
}

/// PyTorch dtypes as Keras names them (floats are computed in float32, as the converted model runs).
enum KerasDTypes {
    /// The integer and bool dtypes Keras shares with PyTorch, by the same name.
    static let sharedNames: Set<String> = ["uint8", "int8", "int16", "int32", "int64", "bool"]

    /// The Keras dtype of a torch.export `ScalarType` code (ParityTorch's ``ScalarTypes``): float32 for
    /// every floating type, the same name for ``sharedNames``, nil otherwise (complex, unsigned 16–64-bit).
    static func name(scalarType: Int) -> String? {
        if ScalarTypes.isFloatingPoint(scalarType) { return "float32" }
        let name = ScalarTypes.name(scalarType)
        return sharedNames.contains(name) ? name : nil
    }

    static func name(_ dtype: DType) -> String {
        if dtype.isFloatingPoint { return "float32" }
        if dtype == .bool { return "bool" }
        return dtype == .int32 ? "int32" : "int64"
    }
}
