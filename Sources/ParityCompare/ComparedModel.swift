import Foundation
import ParityKeras
import ParityTorch

/// One side of a comparison: a Keras model or a torch.export program, run with its own framework's
/// semantics, that can report each layer's (Keras) or top-level module's (PyTorch) output.
public struct ComparedModel: Sendable {
    public enum Framework: String, Sendable { case keras, pytorch }

    enum Body: Sendable {
        case keras(KerasModel)
        case torch(TorchProgram)
    }

    let body: Body
    /// Where the model came from (a file path), for reports.
    public var label: String

    public init(keras: KerasModel, label: String) { body = .keras(keras); self.label = label }
    public init(torch: TorchProgram, label: String) { body = .torch(torch); self.label = label }

    /// Opens a `.pt2` program or a Keras `.keras` / `.h5` file by extension, optionally with other weights
    /// (a state_dict `.pt` / `.safetensors`, or a `.weights.h5` on a Keras architecture). Keras files are
    /// read in-process (the CLI checks them in a child process first).
    public static func load(_ path: String, weights: String? = nil) throws -> ComparedModel {
        let url = URL(fileURLWithPath: path)
        if url.pathExtension.lowercased() == "pt2" {
            var program = try TorchProgram.load(url)
            if let weights { program = try program.replacingWeights(from: URL(fileURLWithPath: weights)) }
            return ComparedModel(torch: program, label: path)
        }
        let model = try weights.map { try KerasModel.load(architecture: url, weights: URL(fileURLWithPath: $0)) } ?? KerasModel.load(url)
        return ComparedModel(keras: model, label: path)
    }

    public var framework: Framework {
        switch body {
        case .keras: return .keras
        case .torch: return .pytorch
        }
    }

    /// The shape the (single) input must have; `nil` where the model leaves an axis free (Keras's batch).
    public var expectedInputShape: [Int?]? {
        switch body {
        case .keras(let model):
            guard model.network.inputShapes.count == 1 else { return nil }
            return [nil] + model.network.inputShapes[0]
        case .torch(let program):
            guard program.userInputs.count == 1, let meta = program.userInputs[0].meta else { return nil }
            return meta.shape.map { Optional($0) }
        }
    }

    /// The number of inputs the model takes (comparison supports one).
    public var inputCount: Int {
        switch body {
        case .keras(let model): return model.network.inputs.count
        case .torch(let program): return program.userInputs.count
        }
    }

    /// Runs the model eagerly in `dtype` on `input` and returns its first output and every layer's output in
    /// execution order.
    ///
    /// Keras: every layer call's first result (``KerasNetwork/outputs(_:in:observe:)``), named by layer,
    /// input layers excluded. PyTorch: for every top-level submodule (the first named frame of a node's
    /// `nn_module_stack`), the first result of the last node it ran, named by the module's path; nodes the
    /// root module runs itself belong to no layer.
    public func trace(_ input: Tensor, dtype: DType) throws -> Trace {
        let context = EagerContext()
        let x = context.constant(input.cast(to: dtype))
        var layers: [Trace.Layer] = []
        let output: Tensor
        switch body {
        case .keras(let model):
            // Float64 is the referee of the Float32 model: constants as written, not TensorFlow's Float32 casts.
            var network = dtype == .float64 ? try model.network.with(constants: .exact) : model.network
            network.computeDType = dtype
            // Every computed tensor of the top-level network, to hand each layer call its own inputs.
            // (TensorRef's initializer is internal to ParityKeras: keyed by its parts.)
            func key(_ layer: String, _ node: Int, _ tensor: Int) -> String { "\(layer)\u{0}\(node)\u{0}\(tensor)" }
            var values: [String: Tensor] = [:]
            for ref in network.inputs { values[key(ref.layer, ref.node, ref.tensor)] = x.tensor }
            output = try network.outputs([x], in: context) { layer, call, results in
                let refs = call < layer.calls.count ? layer.calls[call] : []
                let inputs = refs.compactMap { values[key($0.layer, $0.node, $0.tensor)] }
                for (index, result) in results.enumerated() {
                    values[key(layer.name, call, index)] = result.tensor
                }
                guard layer.className != "InputLayer", let first = results.first else { return }
                let name = call == 0 ? layer.name : "\(layer.name)#\(call)"
                layers.append(Trace.Layer(name: name, kind: layer.className, tensor: first.tensor,
                                          inputs: inputs.count == refs.count ? inputs : [], keras: layer))
            }[0].tensor
        case .torch(let program):
            var last: [String: Int] = [:]
            output = try program.outputs([x], in: context, floatType: dtype) { node, results in
                guard let frame = node.moduleStack.first(where: { !$0.path.isEmpty }), let first = results.first else { return }
                let kind = String(frame.className.split(separator: ".").last ?? Substring(frame.className))
                let layer = Trace.Layer(name: frame.path, kind: kind, tensor: first.tensor)
                if let index = last[frame.path], index == layers.count - 1 {
                    layers[index] = layer
                } else {
                    last[frame.path] = layers.count
                    layers.append(layer)
                }
            }[0].tensor
        }
        return Trace(output: output, layers: layers)
    }
}

/// A model's output and its layers' outputs from one run.
public struct Trace: Sendable {
    public struct Layer: Sendable {
        /// The Keras layer name (`conv`, or `conv#1` for a second call) or PyTorch module path (`block.conv`).
        public var name: String
        /// The Keras class (`Conv2D`) or PyTorch module class (`Conv2d`).
        public var kind: String
        public var tensor: Tensor
        /// The layer call's input tensors (Keras; empty when they could not be recorded, e.g. inside a
        /// nested model, and for PyTorch modules).
        public var inputs: [Tensor] = []
        /// The Keras layer (config and Parity model), for rebuilding it under another convention.
        public var keras: KerasNetwork.Layer? = nil
    }

    public var output: Tensor
    public var layers: [Layer]
}
