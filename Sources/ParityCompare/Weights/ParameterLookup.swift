import ParityKeras
import ParityTorch

/// The PyTorch parameters and buffers a part of a program reads, found by the names a Keras layer's faithful
/// convention asks for (``WeightConvention``): `weight`, `running_var`, `weight_ih_l0`, `out_proj.weight`.
struct ParameterLookup {
    /// Fully qualified name → tensor, of everything the part's nodes read.
    var read: [String: Tensor]
    /// For a recurrent layer: which layer of a multi-layer `nn.LSTM`/`nn.GRU` it is (`_l0` asks for `_l<k>`).
    var recurrentIndex: Int

    /// `nodes`: the part's nodes; those computing the Keras layer's kind of operation (``KindAffinity``) are
    /// searched first, so that a part holding two modules still finds the layer's own parameters.
    init(program: TorchProgram, nodes: [TorchNode], recurrentIndex: Int, kerasClass: String? = nil) {
        let fqn = Dictionary(program.inputs.compactMap { input -> (String, String)? in
            switch input.kind {
            case .parameter(let f), .buffer(let f, _), .tensorConstant(let f): return (input.name, f)
            case .userInput: return nil
            }
        }, uniquingKeysWith: { first, _ in first })
        let own = kerasClass.map { c in nodes.filter { KindAffinity.keras(c, torch: $0.target) } } ?? []
        var read: [String: Tensor] = [:]
        for node in own.isEmpty ? nodes : own {
            for name in node.arguments.flatMap({ $0.value.tensorNames }) {
                guard let f = fqn[name], let t = program.weights[f] ?? program.constants[f] else { continue }
                read[f] = t
            }
        }
        self.read = read
        self.recurrentIndex = recurrentIndex
    }

    /// The parameter `name` relative to its module: the read name equal to it or ending in `.name`, when exactly
    /// one is.
    func find(_ name: String) -> (fqn: String, tensor: Tensor)? {
        let wanted = recurrentIndex == 0 ? name : name.replacingOccurrences(of: "_l0", with: "_l\(recurrentIndex)")
        let matches = read.filter { $0.key == wanted || $0.key.hasSuffix("." + wanted) }
        guard matches.count == 1, let (key, value) = matches.first else { return nil }
        return (key, value)
    }

    /// The parameters found for `names`, keyed by those names (for ``WeightConvention/kerasWeights``).
    func relative(_ names: [String]) -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        for n in names { if let found = find(n) { result[n] = found.tensor } }
        return result
    }
}
