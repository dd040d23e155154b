import ParityKeras
import ParityNN
import ParityTorch

/// MultiHeadAttention → the `KerasMultiHeadAttention` helper module, which keeps Keras's EinsumDense
/// kernels as stored (query/key/value `(dim, heads, key_dim or value_dim)`, biases `(heads, dim)`,
/// output `(heads, value_dim, out)`) and Keras 3's order of operations: the logits `Q·Kᵀ` per head are
/// multiplied by `1/√key_dim` after the product (in float32, as Keras casts the constant), softmax runs
/// over the keys, then the output projection. `nn.MultiheadAttention` cannot hold this: it packs one
/// in-projection of equal widths and scales the query. Dropout is identity at inference.
enum AttentionLayers: KerasToTorchFamily {
    static let classes: Set<String> = ["MultiHeadAttention"]

    static let helper = """
    class KerasMultiHeadAttention(nn.Module):
        \"\"\"Keras MultiHeadAttention over axis 1 (no mask): EinsumDense projections with Keras's kernels
        (dim, heads, key_dim) and biases (heads, key_dim); logits Q·Kᵀ per head, then times scale
        (1 / sqrt(key_dim), after the product as Keras does); softmax over the keys; the output
        projection with kernel (heads, value_dim, out). Called as Keras calls it: (query, value[, key]).\"\"\"

        def __init__(self, query_dim, key_dim_in, value_dim_in, num_heads, key_dim, value_dim, output_dim, use_bias, scale):
            super().__init__()
            self.scale = scale
            shapes = {"query": (query_dim, num_heads, key_dim), "key": (key_dim_in, num_heads, key_dim),
                      "value": (value_dim_in, num_heads, value_dim), "output": (num_heads, value_dim, output_dim)}
            for name, shape in shapes.items():
                self.register_parameter(name + "_kernel", nn.Parameter(torch.zeros(shape)))
                bias = shape[1:] if name != "output" else shape[2:]
                self.register_parameter(name + "_bias", nn.Parameter(torch.zeros(bias)) if use_bias else None)

        @staticmethod
        def _add(x, bias):
            return x if bias is None else x + bias

        def forward(self, query, value, key=None):
            key = value if key is None else key
            q = self._add(torch.einsum("btd,dnh->btnh", query, self.query_kernel), self.query_bias)
            k = self._add(torch.einsum("bsd,dnh->bsnh", key, self.key_kernel), self.key_bias)
            v = self._add(torch.einsum("bsd,dnh->bsnh", value, self.value_kernel), self.value_bias)
            logits = torch.einsum("btnh,bsnh->bnts", q, k) * self.scale
            attended = torch.einsum("bnts,bsnh->btnh", torch.softmax(logits, dim=-1), v)
            return self._add(torch.einsum("btnh,nho->bto", attended, self.output_kernel), self.output_bias)
    """

    static func convert(_ c: LayerConversion) throws -> [TorchValue] {
        guard c.inputs.count == 2 || c.inputs.count == 3 else {
            throw c.refuse("inputs", "\(c.inputs.count) tensors", "only query, value and an optional key are converted (no attention mask)")
        }
        let attention = try c.typed(MultiHeadAttention.self)
        let kernels = [attention.queryKernel, attention.keyKernel, attention.valueKernel, attention.outputKernel]
        let biases = [attention.queryBias, attention.keyBias, attention.valueBias, attention.outputBias]
        // The loader checked the kernels' shapes ((dim, heads, key_dim), …, (heads, value_dim, out)): a
        // multi-axis output_shape has none of rank 3.
        let heads = kernels[0].shape[1], keyDim = kernels[0].shape[2]
        let useBias = biases[0] != nil
        let shapes = c.inputShapes
        guard shapes.allSatisfy({ $0.count == 3 }) else { throw c.refuse("inputs", "\(shapes)", "only (batch, length, features) inputs are converted") }
        let valueDim = kernels[2].shape[2], outputDim = kernels[3].shape[2]
        let (query, value) = (c.kerasInput(0), c.kerasInput(1))
        let key = c.inputs.count == 3 ? c.kerasInput(2) : value
        let keyShape = shapes.count == 3 ? shapes[2] : shapes[1]
        let scale = 1 / Double(keyDim).squareRoot()
        let w = c.writer
        w.helper("KerasMultiHeadAttention", helper)
        let module = c.submodule("KerasMultiHeadAttention(\(shapes[0][2]), \(keyShape[2]), \(shapes[1][2]), num_heads=\(heads), key_dim=\(keyDim), "
            + "value_dim=\(valueDim), output_dim=\(outputDim), use_bias=\(useBias ? "True" : "False"), scale=\(Py.float(scale)))",
            comment: "scale = 1 / sqrt(key_dim \(keyDim)), on the logits")
        let arguments = [query, value] + (c.inputs.count == 3 ? [key] : [])
        w.line("\(c.output) = \(module)(\(arguments.map(\.python).joined(separator: ", ")))")
        // Keras names the four EinsumDense sublayers query, key, value, attention_output.
        let names = ["query", "key", "value", "output"], kerasNames = ["query", "key", "value", "attention_output"]
        var graphs: [String: (kernel: String, bias: String?)] = [:]
        for (i, name) in names.enumerated() {
            let kernel = kernels[i]
            let kernelGraph = c.parameter("\(name)_kernel", kernel, from: "\(kerasNames[i])/kernel", kerasShape: kernel.shape, transform: "as is")
            let biasGraph = biases[i].map { c.parameter("\(name)_bias", $0, from: "\(kerasNames[i])/bias", kerasShape: $0.shape, transform: "as is") }
            graphs[name] = (kernelGraph, biasGraph)
        }
        func node(_ target: String, _ arguments: [(String, TorchArgument)]) -> String { w.node(target, arguments, module: c.module)[0] }
        /// `x (B, L, d) · kernel (d, …)` as a 2-D product reshaped to `(B, L, …)`, plus the bias.
        func project(_ x: String, _ shape: [Int], _ name: String, _ kernelShape: [Int]) -> String {
            let (kernel, bias) = graphs[name]!
            let rows = node("aten.reshape.default", [("self", .tensor(x)), ("shape", .ints([shape[0] * shape[1], shape[2]]))])
            let matrix = node("aten.reshape.default", [("self", .tensor(kernel)), ("shape", .ints([kernelShape[0], kernelShape.dropFirst().reduce(1, *)]))])
            let product = node("aten.mm.default", [("self", .tensor(rows)), ("mat2", .tensor(matrix))])
            let y = node("aten.reshape.default", [("self", .tensor(product)), ("shape", .ints([shape[0], shape[1]] + kernelShape.dropFirst()))])
            return bias.map { node("aten.add.Tensor", [("self", .tensor(y)), ("other", .tensor($0))]) } ?? y
        }
        let q = project(query.graph, shapes[0], "query", kernels[0].shape)
        let kp = project(key.graph, keyShape, "key", kernels[1].shape)
        let v = project(value.graph, shapes[1], "value", kernels[2].shape)
        let qHeads = node("aten.permute.default", [("self", .tensor(q)), ("dims", .ints([0, 2, 1, 3]))])
        let kHeads = node("aten.permute.default", [("self", .tensor(kp)), ("dims", .ints([0, 2, 3, 1]))])
        let products = node("aten.matmul.default", [("self", .tensor(qHeads)), ("other", .tensor(kHeads))])
        let logits = node("aten.mul.Tensor", [("self", .tensor(products)), ("other", .float(scale))])
        let probabilities = node("aten.softmax.int", [("self", .tensor(logits)), ("dim", .int(-1))])
        let vHeads = node("aten.permute.default", [("self", .tensor(v)), ("dims", .ints([0, 2, 1, 3]))])
        let attended = node("aten.permute.default", [("self", .tensor(node("aten.matmul.default", [("self", .tensor(probabilities)), ("other", .tensor(vHeads))]))),
                                                     ("dims", .ints([0, 2, 1, 3]))])
        let y = project(attended, [shapes[0][0], shapes[0][1], heads * valueDim], "output", [heads * valueDim, outputDim])
        return [TorchValue(graph: y, python: c.output, perm: [0, 1, 2])]
    }
}
