import ParityNN

/// Keras 3 operation nodes: what a functional model saves when it calls a `keras.ops` function on a
/// symbolic tensor (`x + 3.0` in MobileNetV3, `x[:, 0, :]` in BERT, `ops.ones_like(ids)`). The config
/// entry has `module` `keras.src.ops.<numpy|nn|math|core|linalg|image>`, the operation's class and its
/// constructor arguments (`Mean(axis, keepdims)`, auto-config of `Operation.__init__`); the call's
/// tensors and constants are in `inbound_nodes` (``KerasCall``). Each operation follows Keras's
/// TensorFlow backend (`keras/src/backend/tensorflow/`), including its dtype rules (`dtypes.result_type`).
///
/// Dtypes: Keras's integer and bool tensors are Parity int64 (bool as 0/1); floats are the run's float
/// dtype. Integer arithmetic runs through Float64, exact for magnitudes below 2^53. A constant is a
/// Python int or float as `json.dumps` wrote it (`3` or `3.0`, `JSONValue/int(_:)` or
/// `JSONValue/double(_:)`), so `ids + 1.0` gives floats as in Keras.
///
/// One table: adding an operation is one entry in one family's table (`KerasOperations+<Family>.swift`).
public enum KerasOperations {
    /// Builds the operation from its node's config.
    public typealias Factory = @Sendable (KerasLayerConfig) throws -> any KerasCallable

    /// Whether a config entry's module is Keras's operations package.
    public static func isOperation(module: String?) -> Bool { module?.hasPrefix("keras.src.ops.") ?? false }

    /// Every supported operation class, by class name.
    public static let factories: [String: Factory] = [elementwise, binary, reductions, shapes, indexing, linearAlgebra, nn, core]
        .reduce(into: [:]) { table, family in table.merge(family) { first, _ in first } }

    /// Every Keras operation class Parity runs, sorted.
    public static var supportedClasses: [String] { factories.keys.sorted() }

    /// Operations refused on purpose, with the reason.
    static let refusals: [String: String] = {
        var table: [String: String] = [:]
        for name in ["Cond", "WhileLoop", "ForiLoop", "Scan", "AssociativeScan", "Map", "Switch", "VectorizedMap", "JVP"] {
            table[name] = "its arguments include Python functions, which only Python can run"
        }
        for name in ["FFT", "FFT2", "IFFT2", "RFFT", "IRFFT", "STFT", "ISTFT", "ViewAsComplex", "ViewAsReal", "Angle", "Imag", "Polar"] {
            table[name] = "Parity does not implement Keras's Fourier and complex operations (keras.ops.fft and its kin pass (real, imaginary) tensor pairs); PyTorch's torch.fft graphs run (docs/complex.md)"
        }
        for name in ["Unique", "Nonzero", "Histogram", "Bincount"] {
            table[name] = "its output shape depends on the data, which a static graph cannot hold"
        }
        for name in ["Cholesky", "CholeskyInverse", "Det", "Eig", "Eigh", "Inv", "LuFactor", "Qr", "Solve", "SolveTriangular", "SVD",
                     "Lstsq", "MatrixRank", "Pinv", "Logdet", "Slogdet"] {
            table[name] = "matrix decompositions and solvers are not implemented"
        }
        for name in ["CTCLoss", "CTCDecode", "BinaryCrossentropy", "CategoricalCrossentropy", "SparseCategoricalCrossentropy"] {
            table[name] = "losses are not run as part of a model"
        }
        // keras/src/ops/nn.py (3.15.1): ConvTranspose.call passes `output_padding` where the backend
        // expects `padding`, so Keras itself fails to run a saved one ('NoneType' has no attribute 'lower').
        table["ConvTranspose"] = "Keras 3.15.1 cannot run this operation once saved (ConvTranspose.call swaps padding and output_padding); use the Conv2DTranspose layer"
        return table
    }()

    /// Builds an operation node, or fails naming it, its class and module, and why.
    public static func make(className: String, module: String, name: String, config: KerasJSON,
                            constants: KerasConstants = .tensorFlow) throws -> any KerasCallable {
        guard let factory = factories[className] else {
            let reason = refusals[className] ?? "Parity implements \(supportedClasses.count) operations: \(supportedClasses.joined(separator: ", "))"
            throw KerasError.unsupportedOperation(name: name, className: className, module: module, reason: reason)
        }
        return try factory(KerasLayerConfig(className: className, name: name, config: config, weights: [], module: module, constants: constants))
    }
}

/// An operation's call seen from its implementation: typed access to the arguments, and Keras's dtype
/// promotion between tensors and Python numbers.
struct OperationCall<B: Builder> {
    let call: KerasCall<B.Value>
    let context: KerasCallContext
    let b: B
    let op: String

    init(_ call: KerasCall<B.Value>, _ context: KerasCallContext, _ b: B, op: String) {
        self.call = call
        self.context = context
        self.b = b
        self.op = op
    }

    var floatDType: DType { context.floatDType }

    func bad(_ key: String, _ found: String) -> KerasError { KerasError.badConfig(layer: context.layer, key: key, found: found) }

    func argument(_ index: Int, _ name: String) -> KerasArgument<B.Value>? { call.argument(index, name) }

    /// A required argument as a value: a tensor, or a constant (Python number, list, NumPy array)
    /// turned into a tensor in Keras's dtype for it.
    func value(_ index: Int, _ name: String) throws -> B.Value {
        guard let argument = argument(index, name) else { throw bad("\(op) argument \(name)", "nothing") }
        return try value(argument, name)
    }

    func value(_ argument: KerasArgument<B.Value>, _ name: String) throws -> B.Value {
        switch argument {
        case .tensor(let v): return v
        case .constant(let json):
            guard let constant = KerasConstant(json) else { throw bad("\(op) argument \(name)", "\(json)") }
            return b.constant(constant.tensor(floatDType: floatDType))
        case .list(let items) where items.allSatisfy({ $0.tensor != nil }):
            // A list of tensors (e.g. `ops.stack`'s input given where one tensor is expected).
            return try b.apply(Concat(axis: 0), try items.map { try b.reshape($0.tensor!, [1] + b.shape(of: $0.tensor!)) })
        default:
            guard let json = KerasConstant.json(of: argument), let constant = KerasConstant(json) else {
                throw bad("\(op) argument \(name)", "a structure Parity cannot read as a tensor")
            }
            return b.constant(constant.tensor(floatDType: floatDType))
        }
    }

    /// An optional constant argument (`None` and missing are `nil`).
    func constant(_ index: Int, _ name: String) -> KerasJSON? {
        guard let argument = argument(index, name) else { return nil }
        let json = KerasConstant.json(of: argument)
        return json?.isNull == true ? nil : json
    }

    func isFloat(_ v: B.Value) -> Bool { b.type(of: v).dtype.isFloatingPoint }

    /// `v` in the run's float dtype (integers and bools converted, as Keras casts them).
    func float(_ v: B.Value) throws -> B.Value { try b.cast(v, to: floatDType) }

    /// Operands brought to one dtype as `dtypes.result_type` does: floats when any operand is a float
    /// tensor or a fractional Python number (or `forceFloat`, for true division), else integers.
    /// Python numbers are weakly typed: they take the tensors' dtype.
    func promoted(_ arguments: [KerasArgument<B.Value>], names: [String], forceFloat: Bool = false) throws -> (values: [B.Value], float: Bool) {
        var anyFloat = forceFloat
        for argument in arguments {
            switch argument {
            case .tensor(let v): anyFloat = anyFloat || isFloat(v)
            default:
                if let json = KerasConstant.json(of: argument), let constant = KerasConstant(json) { anyFloat = anyFloat || constant.isFloat }
            }
        }
        let dtype: DType = anyFloat ? floatDType : .int64
        let values = try zip(arguments, names).map { argument, name -> B.Value in
            if case .tensor(let v) = argument { return try b.cast(v, to: dtype) }
            guard let json = KerasConstant.json(of: argument), let constant = KerasConstant(json) else {
                throw bad("\(op) argument \(name)", "a structure Parity cannot read as a tensor")
            }
            return b.constant(constant.tensor(floatDType: floatDType).cast(to: dtype))
        }
        return (values, anyFloat)
    }

    /// `function(a, b)` on promoted operands; integers through Float64 (exact below 2^53), the result
    /// back in int64 (or a 0/1 int64 for comparisons).
    func binary(_ function: BinaryFunction, _ a: B.Value, _ c: B.Value, isFloat: Bool) throws -> B.Value {
        if isFloat {
            let y = try b.binary(function, a, c)
            return function.isComparison ? try b.cast(y, to: .int64) : y
        }
        return try b.cast(b.binary(function, b.cast(a, to: .float64), b.cast(c, to: .float64)), to: .int64)
    }

    /// An op applied to an integer value through Float64 (exact for sums and selections below 2^53).
    func throughFloat64(_ v: B.Value, _ body: (B.Value) throws -> B.Value) throws -> B.Value {
        if isFloat(v) { return try body(v) }
        return try b.cast(body(b.cast(v, to: .float64)), to: .int64)
    }

    /// The rank of `v` and a normalised axis of it.
    func axis(_ axis: Int, of v: B.Value) throws -> Int { try Shape.axis(axis, rank: b.shape(of: v).count, op: op) }
}

/// A non-tensor argument of an operation as Keras serialised it: a Python number or bool, a (nested)
/// list of them, or a NumPy array / tensor (`__numpy__`, `__tensor__` with `value` and `dtype`).
struct KerasConstant {
    var shape: [Int]
    var values: [Double]
    var isFloat: Bool

    init?(_ json: KerasJSON) {
        switch json {
        case .int(let i):
            (shape, values, isFloat) = ([], [Double(i)], false)
        case .double(let d):
            (shape, values, isFloat) = ([], [d], true)
        case .bool(let flag):
            (shape, values, isFloat) = ([], [flag ? 1 : 0], false)
        case .array:
            guard let (shape, values) = KerasConstant.nested(json) else { return nil }
            self.shape = shape
            self.values = values
            isFloat = KerasConstant.holdsFloat(json)
        case .object:
            guard let className = json["class_name"]?.string, ["__numpy__", "__tensor__"].contains(className),
                  let inner = json["config"], let value = inner["value"], let dtype = inner["dtype"]?.string,
                  let (shape, values) = KerasConstant.nested(value) else { return nil }
            self.shape = shape
            self.values = values
            isFloat = dtype.contains("float")
        default: return nil
        }
    }

    /// Whether nested lists hold a Python float (NumPy makes the whole array float then).
    static func holdsFloat(_ json: KerasJSON) -> Bool {
        if case .double = json { return true }
        return json.array?.contains(where: holdsFloat) ?? false
    }

    /// The shape and row-major values of nested JSON lists of numbers.
    static func nested(_ json: KerasJSON) -> ([Int], [Double])? {
        if let d = json.double { return ([], [d]) }
        if let flag = json.bool { return ([], [flag ? 1 : 0]) }
        guard let items = json.array else { return nil }
        var inner: [Int]?
        var values: [Double] = []
        for item in items {
            guard let (shape, v) = nested(item), inner == nil || inner == shape else { return nil }
            inner = shape
            values += v
        }
        return ([items.count] + (inner ?? []), values)
    }

    func tensor(floatDType: DType) -> Tensor {
        let t = Tensor(shape: shape, values: values)
        return isFloat ? t.cast(to: floatDType) : Tensor(shape: shape, int64: values.map { Int64($0) })
    }

    /// An argument holding no tensor, as JSON (lists rebuilt from their items).
    static func json<V>(of argument: KerasArgument<V>) -> KerasJSON? {
        switch argument {
        case .constant(let json): return json
        case .list(let items):
            var result: [KerasJSON] = []
            for item in items {
                guard let json = json(of: item) else { return nil }
                result.append(json)
            }
            return .array(result)
        default: return nil
        }
    }
}

extension KerasLayerConfig {
    /// An `axis` argument that may be `None` (all axes: `nil`), one int, or a list of ints.
    func optionalAxes(_ key: String = "axis") throws -> [Int]? { has(key) ? try axes(key) : nil }
}
