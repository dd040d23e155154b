import ParityKeras
import ParityNN
import ParityTorch

/// Keras → PyTorch conversion of a ``ParityKeras/KerasNetwork``: one converter per layer family
/// (`KerasToTorch+<Family>.swift`), each writing the PyTorch module, its state_dict entries with the
/// transform applied to each Keras weight, and `forward` as Python lines and ATen calls together.
///
/// Layouts: every value remembers how its axes relate to the Keras tensor (``TorchValue/perm``);
/// channels-last inputs are permuted to channels-first where a PyTorch layer needs it and back where a
/// Keras-layout operation (Flatten, Dense, Reshape, the model's outputs) reads them, so `forward` takes
/// and returns the Keras model's own layout.
public enum KerasToTorch {
    /// A converted model and the Keras run it was converted against (the shapes come from that run).
    public struct Conversion: Sendable {
        public var module: TorchModuleSource
        /// The inputs the Keras model was run on (Float32, or int64 token ids).
        public var inputs: [Tensor]
        /// Keras-in-Parity's outputs for ``inputs``, Float32: the reference of ``ConversionProof``.
        public var kerasOutputs: [Tensor]
    }

    nonisolated(unsafe) static let families: [any KerasToTorchFamily.Type] = [
        CoreLayers.self, ActivationLayers.self, ReshapingLayers.self, ConvolutionLayers.self, PoolingLayers.self,
        NormalizationLayers.self, RecurrentLayers.self, MergingLayers.self, PreprocessingLayers.self,
    ]

    /// Every Keras class that converts, sorted.
    public static var supportedClasses: [String] {
        var all: [String] = []
        for family in families { all += family.classes }
        return all.sorted()
    }

    static func family(for className: String) -> (any KerasToTorchFamily.Type)? {
        for family in families where family.classes.contains(className) { return family }
        return nil
    }

    /// Converts `network`, running it once in Parity (Float32, eager) on `inputs` for the shapes each layer
    /// sees. `source` names the file in model.py's header. Throws ``ConvertError`` naming the first
    /// layer that cannot be converted faithfully.
    public static func convert(_ network: KerasNetwork, inputs: [Tensor], source: String, kerasVersion: String?) throws -> Conversion {
        for layer in network.layers where layer.className != "InputLayer" && family(for: layer.className) == nil {
            throw ConvertError.unsupportedLayer(name: layer.name, className: layer.className, supported: supportedClasses)
        }
        let inputs = inputs.map { $0.dtype.isFloatingPoint ? $0.cast(to: .float32) : $0 }
        var shapes: [KerasNetwork.TensorRef: [Int]] = [:]
        let context = EagerContext()
        var model = network
        model.computeDType = .float32
        let outputs = try model.outputs(inputs.map(context.constant), in: context) { layer, call, results in
            for (i, result) in results.enumerated() { shapes[KerasNetwork.TensorRef(layer: layer.name, node: call, tensor: i)] = result.tensor.shape }
        }
        let writer = TorchWriter(sequential: network.isSequential)
        var values: [KerasNetwork.TensorRef: TorchValue] = [:]
        var arguments: [TorchModuleSource.Value] = []
        for (index, (ref, tensor)) in zip(network.inputs, inputs).enumerated() {
            shapes[ref] = tensor.shape
            let python = network.isSequential ? "x" : writer.variable(for: ref.layer)
            let graph = "input_\(index)"
            values[ref] = TorchValue(graph: graph, python: python, perm: Array(0..<tensor.rank))
            let dims = ["N"] + tensor.shape.dropFirst().map(String.init)
            arguments.append(TorchModuleSource.Value(python: python, graph: graph,
                                                     note: "\(python): (\(dims.joined(separator: ", "))) \(tensor.dtype == .int64 ? "int64 token ids" : "float32"), as in Keras"))
        }
        for (layerIndex, callIndex) in network.schedule {
            let layer = network.layers[layerIndex]
            guard let family = family(for: layer.className) else { continue }
            let refs = layer.calls[callIndex]
            let conversion = LayerConversion(
                writer: writer, layer: layer, call: callIndex,
                inputs: try refs.map { ref in
                    guard let v = values[ref] else { throw ConvertError.shape(layer: layer.name, message: "reads \(ref), which is never computed") }
                    return v
                },
                inputShapes: refs.map { shapes[$0] ?? [] },
                outputShapes: (0...).prefix { shapes[KerasNetwork.TensorRef(layer: layer.name, node: callIndex, tensor: $0)] != nil }
                    .map { shapes[KerasNetwork.TensorRef(layer: layer.name, node: callIndex, tensor: $0)]! },
                module: writer.module(for: layer.name),
                output: network.isSequential ? "x" : writer.variable(for: layer.name + (callIndex > 0 ? "_\(callIndex)" : "")))
            writer.begin(layer.name)
            let results = try family.convert(conversion)
            writer.end()
            for (i, result) in results.enumerated() { values[KerasNetwork.TensorRef(layer: layer.name, node: callIndex, tensor: i)] = result }
        }
        writer.begin("outputs")
        var results: [TorchModuleSource.Value] = []
        for ref in network.outputs {
            guard var value = values[ref] else { throw ConvertError.shape(layer: ref.layer, message: "is an output that no layer computes") }
            if value.perm != Array(value.perm.indices) {
                value = writer.permute(value, to: Array(value.perm.indices), into: value.python)
            }
            let dims = ["N"] + (shapes[ref] ?? []).dropFirst().map(String.init)
            results.append(TorchModuleSource.Value(python: value.python, graph: value.graph, note: "\(value.python): (\(dims.joined(separator: ", "))), as in Keras"))
        }
        writer.end()
        let header = [
            "Generated by `parity convert` from \(source) (Keras \(kerasVersion ?? "version unknown")); regenerate rather than edit.",
            "Load: model = Model(); model.load_state_dict(torch.load(\"model.pt\", weights_only=True)); model.eval()",
        ]
        var docstring = ["Keras model '\(network.name)' in PyTorch, taking and returning Keras's layout.", ""]
        docstring += ["Inputs:"] + arguments.map { "    " + $0.note } + ["Outputs:"] + results.map { "    " + $0.note }
        if !writer.shapeNotes.isEmpty { docstring += [""] + writer.shapeNotes }
        let module = TorchModuleSource(header: header, docstring: docstring, helpers: writer.helpers.map { $0.source }, submodules: writer.submodules,
                                       parameters: writer.parameters, graphNames: writer.graphNames, inputs: arguments, outputs: results,
                                       steps: writer.steps)
        return Conversion(module: module, inputs: inputs, kerasOutputs: outputs.map(\.tensor))
    }
}

/// A family of Keras classes converted to PyTorch (one file per family, as in ParityKeras).
protocol KerasToTorchFamily {
    static var classes: Set<String> { get }
    /// The layer call's results in PyTorch, in Keras's output order.
    static func convert(_ c: LayerConversion) throws -> [TorchValue]
}

/// A value in the converted `forward`: its name in the ATen graph, its Python variable, and its layout
/// relative to the Keras tensor: stored axis `i` is Keras axis `perm[i]` (identity: Keras's layout;
/// `[0, 3, 1, 2]`: an NHWC Keras tensor held as NCHW).
struct TorchValue {
    var graph: String
    var python: String
    var perm: [Int]

    var rank: Int { perm.count }
    var isKerasLayout: Bool { perm == Array(perm.indices) }

    /// Where Keras axis `axis` is held.
    func position(of axis: Int) -> Int { perm.firstIndex(of: axis)! }
}

extension KerasNetwork {
    /// Each layer reads the previous one's only output (a Sequential model, or a Functional model
    /// written as a chain): `forward` can then use one variable, `x`.
    var isSequential: Bool {
        let called = layers.filter { !$0.calls.isEmpty }
        guard inputs.count == 1, outputs.count == 1, let first = called.first, first.calls == [inputs] else { return false }
        for (previous, layer) in zip(called, called.dropFirst()) where layer.calls != [[TensorRef(layer: previous.name, node: 0, tensor: 0)]] {
            return false
        }
        return outputs[0] == TensorRef(layer: called.last!.name, node: 0, tensor: 0)
    }
}
