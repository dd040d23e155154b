import ParityNN

/// Runs an ``ExportedGraph`` on a ``Builder``: each node is lowered by its op family
/// (``ATenTable``) to engine ops, so eager execution, graph tracing and gradients share one mapping.
struct Interpreter<B: Builder> {
    let b: B
    /// The dtype floating values compute in (the run's dtype; PyTorch's float32 when exported).
    let floatType: DType
    /// Sees every top-level node's results as they are computed (``TorchProgram/outputs(_:in:floatType:observe:)``).
    var observe: ((_ node: TorchNode, _ results: [B.Value]) -> Void)? = nil
    /// Meters the values the run holds after every node (and stops it past the meter's limit).
    var workingSet: WorkingSet? = nil

    /// `known`: graph inputs whose tensor is fixed (weights, buffers). A node whose tensor arguments are
    /// all known (or that has none: `arange`, `full`) is computed once, eagerly, while the program is
    /// lowered, and its results become constants that are known in turn: index tensors and masks built
    /// from buffers and `arange` are constants by the time a `gather` or `index` reads them.
    /// In-place operators run functionally and write through views (``Aliasing``).
    ///
    /// In a training step (``Builder/trainingStep``) only nodes that read no tensor are folded, since
    /// the weights they would fold are the step's variables; an in-place write to a graph input (a
    /// BatchNorm's `num_batches_tracked += 1`) is assigned to its buffer as PyTorch's update is.
    func run(_ graph: ExportedGraph, inputs: [B.Value], known: [String: Tensor]) throws -> [B.Value] {
        guard inputs.count == graph.inputs.count else {
            throw TorchError.inputMismatch(expected: "\(graph.inputs.count) graph inputs", received: "\(inputs.count)")
        }
        var env: [String: B.Value] = [:]
        let state = known
        var known = known
        let training = b.trainingStep
        var views: [String: ViewChain] = [:]
        // Symbolic sizes (``SymbolicOps`` results) by name, as the literals they stand for.
        var symbols: [String: TorchArgument] = [:]
        for (name, value) in zip(graph.inputs, inputs) { env[name] = value }
        let releases = Self.releases(graph)
        let graphInputs = Set(graph.inputs)
        for (index, graphNode) in graph.nodes.enumerated() {
            guard let family = ATenTable.family(for: graphNode.target) else {
                throw TorchError.unsupportedOperator(target: graphNode.target, node: graphNode.name, modulePath: graphNode.modulePath,
                                                     moduleClass: graphNode.moduleClass)
            }
            // A node reads a symbolic size as the number it is (`arange(end=sym_size_int_9)`, `view(x, [s0, -1])`);
            // a cond passes it to its branches as a value.
            let node = ObjectIdentifier(family) == ObjectIdentifier(ControlFlowOps.self) ? graphNode : Self.substituting(symbols, in: graphNode)
            let reads = node.arguments.flatMap { $0.value.tensorNames }
            let results: [B.Value]
            let foldable = training == nil ? reads.allSatisfy({ known[$0] != nil }) : reads.isEmpty
            if ObjectIdentifier(family) == ObjectIdentifier(SymbolicOps.self) {
                // Sizes of a dynamic-shape export: numbers from the shapes at hand, known to later nodes.
                let current = env
                let values = try SymbolicOps.evaluate(ATenCall(b: b, node: node, env: env, known: known, floatType: floatType)) { name in
                    guard let v = current[name] else {
                        throw TorchError.badArgument(target: node.target, node: node.name, argument: "self", message: "no earlier node produced '\(name)'")
                    }
                    return b.shape(of: v)
                }
                for (name, value) in zip(node.outputs, values) {
                    guard let name else { continue }
                    known[name] = value
                    symbols[name] = value.dtype == .bool ? .bool(value.doubles[0] != 0)
                        : value.dtype.isFloatingPoint ? .float(value.doubles[0]) : .int(Int(value.doubles[0]))
                }
                results = values.map(b.constant)
            } else if ObjectIdentifier(family) != ObjectIdentifier(ControlFlowOps.self), foldable {
                let context = EagerContext()
                var constants: [String: EagerTensor] = [:]
                for name in reads { constants[name] = context.constant(known[name]!) }
                let folded = try Self.lower(node, family: family, graph: graph,
                                            call: ATenCall(b: context, node: node, env: constants, known: known, floatType: floatType))
                for (name, value) in zip(node.outputs, folded) { if let name { known[name] = value.tensor } }
                results = folded.map { b.constant($0.tensor) }
            } else {
                results = try Self.lower(node, family: family, graph: graph, call: ATenCall(b: b, node: node, env: env, known: known, floatType: floatType))
            }
            for (slot, name) in node.outputs.enumerated() {
                if let name { env[name] = results[slot] }
            }
            let functional = ATenTable.functional(node.target)
            if Aliasing.isView(functional), let source = Aliasing.source(of: node) {
                let chain = views[source] ?? ViewChain(base: source, steps: [])
                for (slot, name) in node.outputs.enumerated() {
                    if let name { views[name] = ViewChain(base: chain.base, steps: chain.steps + [(node, slot)]) }
                }
            }
            if functional == "aten.resize.default", let mutated = Aliasing.source(of: node), let first = results.first {
                // `resize_` gives its tensor a new shape: the result replaces it (views of the old shape are
                // not rewritten; PyTorch's keep the old storage).
                env[mutated] = first
                known[mutated] = node.outputs.first.flatMap { $0 }.flatMap { known[$0] }
            } else if functional != node.target, let mutated = Aliasing.source(of: node), let first = results.first {
                let knownValue = node.outputs.first.flatMap { $0 }.flatMap { known[$0] }
                try write(first, knownValue: knownValue, into: mutated, env: &env, known: &known, views: views)
                let base = views[mutated]?.base ?? mutated
                if let training, let buffer = state[base], let value = env[base] { try training.assign(buffer, value) }
                // The in-place node's own output is the mutated tensor.
                if let output = node.outputs.first.flatMap({ $0 }) {
                    views[output] = views[mutated] ?? ViewChain(base: mutated, steps: [])
                    env[output] = env[mutated]
                    known[output] = known[mutated]
                }
            }
            observe?(node, results)
            if let workingSet {
                var bytes = 0, count = 0
                for (name, value) in env where !graphInputs.contains(name) {
                    bytes += WorkingSet.bytes(of: b.type(of: value))
                    count += 1
                }
                try workingSet.sample(bytes: bytes, values: count, at: "\(node.name) (\(node.target))")
            }
            for name in releases[index] {
                env[name] = nil
                known[name] = nil
            }
        }
        return try graph.outputs.map { name in
            guard let value = env[name] else {
                throw TorchError.execution(target: "output", node: name, modulePath: "", message: "no node produces '\(name)'")
            }
            return value
        }
    }

    /// The values to drop after each node (by index): those no later node reads, so that a run holds
    /// the values still to be read, not every intermediate (MobileNetV5-300M at 768×768 held 13 GB). A
    /// value is read by the nodes naming it as an argument and, while an in-place write may still
    /// re-derive it, by every in-place node on its base: such a node rewrites the base and every view of
    /// it, replaying the view nodes (and their other tensor arguments) as ``write(_:knownValue:into:env:known:views:)``
    /// does. Graph inputs (weights, the caller's tensors) and outputs are never dropped.
    static func releases(_ graph: ExportedGraph) -> [[String]] {
        var lastRead: [String: Int] = [:]
        var views: [String: ViewChain] = [:]
        for (index, node) in graph.nodes.enumerated() {
            var reads = node.arguments.flatMap { $0.value.tensorNames }
            let functional = ATenTable.functional(node.target)
            let mutated = functional != node.target ? Aliasing.source(of: node) : nil
            if let mutated {
                let base = views[mutated]?.base ?? mutated
                reads.append(base)
                for (name, view) in views where view.base == base {
                    reads.append(name)
                    reads += view.steps.flatMap { $0.node.arguments.flatMap { $0.value.tensorNames } }
                }
            }
            for name in reads { lastRead[name] = index }
            for name in node.outputs.compactMap({ $0 }) where lastRead[name] == nil { lastRead[name] = index }
            if Aliasing.isView(functional), let source = Aliasing.source(of: node) {
                let chain = views[source] ?? ViewChain(base: source, steps: [])
                for (slot, name) in node.outputs.enumerated() {
                    if let name { views[name] = ViewChain(base: chain.base, steps: chain.steps + [(node, slot)]) }
                }
            }
            if functional != "aten.resize.default", let mutated, let output = node.outputs.first.flatMap({ $0 }) {
                views[output] = views[mutated] ?? ViewChain(base: mutated, steps: [])
            }
        }
        let kept = Set(graph.inputs).union(graph.outputs)
        var releases = [[String]](repeating: [], count: graph.nodes.count)
        for (name, index) in lastRead where !kept.contains(name) { releases[index].append(name) }
        return releases
    }

    /// `node` with its symbolic-size arguments replaced by their numbers (a size list by a list of ints).
    static func substituting(_ symbols: [String: TorchArgument], in node: TorchNode) -> TorchNode {
        guard !symbols.isEmpty else { return node }
        var copy = node
        copy.arguments = node.arguments.map { name, value in
            switch value {
            case .tensor(let n): return (name, symbols[n] ?? value)
            case .symInts(let list):
                let ints = list.compactMap { element -> Int? in
                    switch element {
                    case .int(let i): return i
                    case .name(let n): if case .int(let i)? = symbols[n] { return i } else { return nil }
                    }
                }
                return (name, ints.count == list.count ? .ints(ints) : value)
            default: return (name, value)
            }
        }
        return copy
    }

    /// Makes `value` the new contents of `mutated`: through its base when it is a view, then every view
    /// of that base is derived again (see ``Aliasing``). When the base and the value are known, so are
    /// the results.
    func write(_ value: B.Value, knownValue: Tensor?, into mutated: String, env: inout [String: B.Value], known: inout [String: Tensor],
               views: [String: ViewChain]) throws {
        let chain = views[mutated] ?? ViewChain(base: mutated, steps: [])
        guard let base = env[chain.base] else { throw TorchError.execution(target: "in-place write", node: mutated, modulePath: "", message: "no base") }
        let positions = chain.steps.isEmpty ? nil
            : try Aliasing.positions(chain.steps, baseShape: b.shape(of: base), floatType: floatType, known: known)
        func contents<C: Builder>(_ base: C.Value, _ value: C.Value, on c: C) throws -> C.Value {
            guard let positions else { return try c.cast(c.broadcast(value, to: c.shape(of: base)), to: c.type(of: base).dtype) }
            return try Aliasing.overwrite(base, at: positions, with: value, on: c)
        }
        let derived = views.filter { $0.value.base == chain.base }
        if let knownValue, let baseTensor = known[chain.base] {
            let context = EagerContext()
            let newBase = try contents(context.constant(baseTensor), context.constant(knownValue), on: context)
            known[chain.base] = newBase.tensor
            env[chain.base] = b.constant(newBase.tensor)
            for (name, view) in derived {
                let tensor = try Aliasing.replay(view.steps, from: newBase, on: context, floatType: floatType) { other in
                    guard let t = known[other] else { throw TorchError.execution(target: "view", node: other, modulePath: "", message: "unknown value") }
                    return context.constant(t)
                }.tensor
                known[name] = tensor
                env[name] = b.constant(tensor)
            }
        } else {
            let newBase = try contents(base, value, on: b)
            known[chain.base] = nil
            env[chain.base] = newBase
            for (name, view) in derived {
                let current = env
                env[name] = try Aliasing.replay(view.steps, from: newBase, on: b, floatType: floatType) { other in
                    guard let v = current[other] else { throw TorchError.execution(target: "view", node: other, modulePath: "", message: "unknown value") }
                    return v
                }
                known[name] = nil
            }
        }
    }

    /// Lowers one node and brings each result to the dtype torch recorded for it (``ATenCall/conformed(_:to:)``).
    static func lower<C: Builder>(_ node: TorchNode, family: any ATenFamily.Type, graph: ExportedGraph, call: ATenCall<C>) throws -> [C.Value] {
        let results: [C.Value]
        var family = family
        if let complex = try ATenTable.complexInput(of: node, call: call) {
            let target = ATenTable.functional(node.target)
            if ComplexOps.elementwise.contains(target) {
                family = ComplexOps.self
            } else if !ComplexOps.targets.contains(target) && !ComplexOps.layout.contains(target) {
                throw TorchError.unsupportedArgument(target: node.target, node: node.name, modulePath: node.modulePath,
                                                     message: "argument '\(complex.argument)' is \(complex.dtype): Parity runs this operator on real tensors only, and refuses a complex one rather than read its (real, imaginary) pairs as numbers")
            }
        }
        do {
            results = try family.lower(call)
        } catch let error as TorchError {
            throw error
        } catch {
            throw TorchError.execution(target: node.target, node: node.name, modulePath: node.modulePath, message: "\(error)")
        }
        for (slot, name) in node.outputs.enumerated() where name != nil && slot >= results.count {
            throw TorchError.execution(target: node.target, node: node.name, modulePath: node.modulePath,
                                       message: "output \(slot) ('\(name!)') is not produced")
        }
        return try results.enumerated().map { slot, value in
            guard slot < node.outputs.count, let name = node.outputs[slot], let meta = graph.tensorMeta[name] else { return value }
            return try call.conformed(value, to: meta.scalarType)
        }
    }
}

/// A family of ATen operators mapped to engine ops (one file per family).
protocol ATenFamily {
    /// The overloads handled, without `torch.ops.` (`aten.linear.default`).
    static var targets: Set<String> { get }
    /// The node's outputs, in the order torch lists them.
    static func lower<B: Builder>(_ c: ATenCall<B>) throws -> [B.Value]
}

/// The table of supported operators: every family, looked up by target; and which targets are
/// in-place overloads (``functional(_:)``, ``isInPlace(_:)``, public: the converter to Keras reads them).
public enum ATenTable {
    /// Looked up in order: ``TrainingOps`` comes first, taking the targets it runs in a training step and
    /// handing them to their inference family otherwise.
    nonisolated(unsafe) static let families: [any ATenFamily.Type] = [
        TrainingOps.self, LinearAlgebraOps.self, ConvolutionOps.self, PoolingOps.self, ActivationOps.self, NormalizationOps.self,
        ComplexOps.self, ShapeOps.self, ArithmeticOps.self, ReductionOps.self, EmbeddingOps.self, PaddingOps.self, UpsamplingOps.self,
        RecurrentOps.self, AttentionOps.self, ControlFlowOps.self, ConversionOps.self, MathOps.self, FactoryOps.self,
        IndexingOps.self, SymbolicOps.self, GridSamplingOps.self, BackwardOps.self, RandomOps.self,
    ]

    static func family(for target: String) -> (any ATenFamily.Type)? {
        let target = functional(target)
        for family in families where family.targets.contains(target) { return family }
        return nil
    }

    /// The functional form of an in-place overload: `aten.relu_.default` → `aten.relu.default`,
    /// `aten.__iand__.Tensor` → `aten.__and__.Tensor`, an `out=` overload → its `default`; other targets unchanged.
    public static func functional(_ target: String) -> String {
        let parts = target.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "aten" else { return target }
        let name = parts[1]
        // `atan2.out(self, other, *, out)` computes `atan2.default` into `out` (``Aliasing/source(of:)``).
        if parts[2] == "out" { return "aten.\(name).default" }
        if name.hasPrefix("__i"), name.hasSuffix("__"), name.count > 5 {
            return "aten.__\(name.dropFirst(3)).\(parts[2])"
        }
        guard name.hasSuffix("_"), !name.hasSuffix("__"), name.count > 1 else { return target }
        return "aten.\(name.dropLast()).\(parts[2])"
    }

    /// Whether `target` mutates its first argument (an in-place overload with a functional form).
    public static func isInPlace(_ target: String) -> Bool { functional(target) != target }

    /// Why an operator Parity does not map is not mapped, where there is a reason beyond "not yet"
    /// (printed in the error that names it).
    static let refusals: [String: String] = [
        "aten.stft.default": "short-time Fourier transforms are not implemented (torch.fft's _fft_r2c, _fft_c2r and _fft_c2c are)",
        "aten.istft.default": "short-time Fourier transforms are not implemented (torch.fft's _fft_r2c, _fft_c2r and _fft_c2c are)",
    ].merging(["hfft", "ihfft", "hfft2", "ihfft2", "hfftn", "ihfftn"].map {
        ("aten.fft_\($0).default", "Hermitian FFTs are not implemented (fft, ifft, rfft, irfft and their 2-D and n-D forms are)")
    }) { a, _ in a }

    /// The first complex tensor argument of `node`, when it has one (``ComplexOps`` lowers the operators
    /// that take one; every other operator refuses it).
    static func complexInput<C: Builder>(of node: TorchNode, call: ATenCall<C>) throws -> (argument: String, dtype: DType)? {
        for (name, argument) in node.arguments {
            for tensorName in argument.tensorNames {
                if let v = call.env[tensorName], call.b.type(of: v).dtype.isComplex { return (name, call.b.type(of: v).dtype) }
            }
        }
        return nil
    }

    /// Every supported target, sorted (for docs and error messages).
    static var allTargets: [String] {
        var all: Set<String> = []
        for family in families { all.formUnion(family.targets) }
        return all.sorted()
    }
}
