/// Layers applied one after another (Keras `Sequential`, PyTorch `nn.Sequential`).
public struct Sequential: Model {
    /// The layers, in the order they apply.
    public var layers: [any Model]
    /// Layers applied in this order.
    public init(_ layers: [any Model]) { self.layers = layers }

    public func callAsFunction<B: Builder>(_ inputs: [B.Value], in b: B) throws -> B.Value {
        var x = inputs[0]
        for layer in layers { x = try layer([x], in: b) }
        return x
    }
}
