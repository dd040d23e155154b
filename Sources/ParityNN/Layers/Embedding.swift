/// A lookup table: int64 indices `[batch, …]` → rows of `embeddings` `[vocabulary, dim]`,
/// `[batch, …, dim]` (Keras `Embedding`, `keras/src/layers/core/embedding.py`: `ops.take(embeddings,
/// inputs, axis=0)`; PyTorch `nn.Embedding`, same layout). Keras's `mask_zero` only produces a mask
/// for later layers; PyTorch's `padding_idx` only affects initialisation and gradients (docs/conventions.md,
/// E.18). The output has the embeddings' dtype, or `dtype` when given (indices carry none).
public struct Embedding: Model {
    /// The table, `[vocabulary, dim]`.
    public var embeddings: Tensor
    /// The output's dtype, when it differs from the table's.
    public var dtype: DType?

    /// A layer; the parameters are the properties of the same names.
    public init(embeddings: Tensor, dtype: DType? = nil) {
        self.embeddings = embeddings
        self.dtype = dtype
    }

    public func callAsFunction<B: Builder>(_ inputs: [B.Value], in b: B) throws -> B.Value {
        let indices = inputs[0]
        let type = b.type(of: indices)
        guard type.dtype == .int64 else { throw TensorError.unsupportedDType(op: "Embedding indices", dtype: type.dtype) }
        let table = b.constant(embeddings.cast(to: dtype ?? embeddings.dtype))
        return try b.apply(Gather(axis: 0), [table, indices])
    }
}
