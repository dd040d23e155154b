import ParityFormats
import ParityNN
import ParityTorch

/// A PyTorch `nn.Module` described as data: the submodules of `__init__`, the state_dict, and
/// `forward` as steps that each carry both their Python lines and the ATen calls they perform.
///
/// The two views of `forward` are written side by side by one converter function per layer family, so
/// `model.py` (``python``) and the program Parity runs (``program(source:)``, with ParityTorch's ATen op
/// table: `aten.linear` with weight `(out, in)`, `aten.conv2d` on NCHW, `aten.lstm` with gates
/// `[i, f, g, o]`, ...) describe the same computation on the same converted tensors.
public struct TorchModuleSource: Sendable {
    /// `self.<name> = <constructor>` in `__init__`.
    public struct Submodule: Sendable {
        /// The attribute name.
        public var name: String
        /// The constructor call (`nn.Conv2d(3, 8, kernel_size=(3, 3))`).
        public var constructor: String
        /// A comment written after it, when there is one.
        public var comment: String?
    }

    /// One state_dict entry, with the Keras weight it came from and how.
    public struct Parameter: Sendable {
        /// The state_dict key (`dense.weight`).
        public var key: String
        /// The converted tensor, in PyTorch's layout.
        public var tensor: Tensor
        /// Whether it is a buffer (running statistics) rather than a parameter.
        public var isBuffer: Bool
        /// The Keras weight (`dense/kernel`), or nil for an entry PyTorch needs and Keras lacks (an LSTM's
        /// second bias, BatchNorm's `num_batches_tracked`).
        public var kerasWeight: String?
        /// The Keras weight's shape, when there is one.
        public var kerasShape: [Int]?
        /// What was done to it: `transpose`, `permute (3, 2, 0, 1)`, `gate reorder [z, r, h] → [r, z, n], transpose`, ...
        public var transform: String
    }

    /// One Keras layer call: its Python lines (already indented for `forward`) and ATen nodes.
    public struct Step: Sendable {
        /// The Keras layer's name.
        public var layer: String
        /// Its lines of `forward`.
        public var python: [String]
        /// Its ATen calls.
        public var nodes: [TorchNode]
    }

    /// A forward argument or result: its Python name, its name in the ATen graph, and a note for the
    /// docstring (the Keras shape and layout).
    public struct Value: Sendable {
        /// The name in `model.py`.
        public var python: String
        /// The name in the ATen graph.
        public var graph: String
        /// The docstring note.
        public var note: String
    }

    /// The `# ...` lines at the top of model.py.
    public var header: [String]
    /// `"""..."""` of `class Model`.
    public var docstring: [String]
    /// Helper modules (Python source), each written once before `Model`.
    public var helpers: [String]
    /// The submodules, in `__init__` order.
    public var submodules: [Submodule]
    /// The state_dict entries, in registration order.
    public var parameters: [Parameter]
    /// The graph name each parameter or buffer has in ``program(source:)``, by state_dict key.
    public var graphNames: [String: String]
    /// The arguments of `forward`.
    public var inputs: [Value]
    /// The results of `forward`.
    public var outputs: [Value]
    /// `forward`, one step per Keras layer call.
    public var steps: [Step]

    /// The state_dict, in registration order (what `Model().state_dict()` lists).
    public var stateDict: [NamedArray] { parameters.map { (name: $0.key, record: ArrayRecord($0.tensor)) } }

    /// `forward` as a ParityTorch program over the converted tensors: it runs with PyTorch's semantics,
    /// so a wrong transpose or gate order in the conversion shows in its output.
    public func program(source: String = "converted model") throws -> TorchProgram {
        let nodes = steps.flatMap(\.nodes)
        let read = Set(nodes.flatMap { node in node.arguments.flatMap { argument -> [String] in
            switch argument.value {
            case .tensor(let n): return [n]
            case .tensors(let ns): return ns
            default: return []
            }
        } })
        var programInputs = inputs.map { TorchProgram.Input(name: $0.graph, kind: .userInput) }
        var weights: [String: Tensor] = [:]
        for parameter in parameters {
            guard let name = graphNames[parameter.key], read.contains(name) else { continue }
            programInputs.append(TorchProgram.Input(name: name, kind: parameter.isBuffer ? .buffer(fqn: parameter.key, persistent: true) : .parameter(fqn: parameter.key)))
            weights[parameter.key] = parameter.tensor
        }
        let graph = ExportedGraph(inputs: programInputs.map(\.name), nodes: nodes, outputs: outputs.map(\.graph))
        return try TorchProgram(source: source, graph: graph, inputs: programInputs, outputs: outputs.map(\.graph), weights: weights)
    }

    /// Each Keras weight and the PyTorch entry it became, with the transform; then the entries PyTorch
    /// needs that Keras does not have.
    public var mapping: [String] {
        let width = parameters.map { ($0.kerasWeight ?? "").count + shapeText($0.kerasShape ?? []).count }.max() ?? 0
        return parameters.map { p in
            let left = p.kerasWeight.map { "\($0) \(shapeText(p.kerasShape ?? []))" } ?? "(not in Keras)"
            let pad = String(repeating: " ", count: max(0, width + 1 - left.count))
            return "\(left)\(pad) → \(p.key) \(shapeText(p.tensor.shape)): \(p.transform)"
        }
    }

    func shapeText(_ shape: [Int]) -> String { "(" + shape.map(String.init).joined(separator: ", ") + ")" }
}
