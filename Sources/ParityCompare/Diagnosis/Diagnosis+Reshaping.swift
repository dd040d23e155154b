import ParityKeras
import ParityNN

extension Diagnosis {
    /// `flatten-order`: a Keras Flatten (channels-last) rerun in PyTorch's order: A's input permuted to
    /// channels-first, then flattened (conventions.md A.5).
    static func flattenOrder(_ c: Context) throws -> [Hypothesis] {
        let input = c.inputs[0]
        guard let flatten = c.layer.model as? Flatten, input.rank >= 3, flatten.dataFormat != .channelsFirst else { return [] }
        let order = Layout.channelsFirst(rank: input.rank)
        let names = input.rank == 4 ? ("(H, W, C)", "(C, H, W)") : ("channels-last", "channels-first")
        let toLast = Layout.channelsLast(rank: input.rank).map(String.init).joined(separator: ", ")
        return [Hypothesis(
            cause: .flattenOrder, a: "flattens in \(names.0) order", b: "flattens in \(names.1) order",
            fix: "x.permute(\(toLast)).flatten(1) instead of nn.Flatten() (or reorder the next Linear's weight columns)",
            kerasFix: "keras.layers.Permute((\(input.rank - 1), \((1..<(input.rank - 1)).map(String.init).joined(separator: ", ")))) before Flatten() (PyTorch flattens channels-first)",
            rerun: { inputs, dtype in
                let x = try inputs[0].cast(to: dtype).permuted(order)
                return try x.reshaped([x.shape[0], x.shape.dropFirst().reduce(1, *)])
            })]
    }
}
