/// A rewrite of a graph before it runs.
public enum GraphPass: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Evaluates ops whose inputs are all constants (weights included) once, at optimisation time.
    /// Same kernels, same bits: it never changes a result.
    case constantFolding
    /// Removes nodes no output depends on.
    case deadCodeElimination
    /// Merges MatMul → bias Add → activation into ``FusedLinear`` and `a·b + c` into a fused
    /// ``MultiplyAdd``, as XLA, Grappler's remapper and oneDNN do. Changes rounding: the bias
    /// starts the accumulation and products are contracted into FMAs. Also folds a convolution's
    /// per-channel multiply-add or add, residual add and ReLU/clip into ``FusedConvolution``, which
    /// keeps the bits of those ops.
    case fusion
    /// Moves permutes below elementwise ops, where consecutive permutes compose and cancel (a
    /// PyTorch graph's NCHW ↔ NHWC copies around each convolution). Never changes a value.
    case permuteSinking
    /// Lets attention read q, k and v through the reshapes, permutes and slices that split heads, and
    /// write its output in the layout of the permute that merges them (``ViewedAttention``), instead of
    /// copying at each step. Never changes a value.
    case attentionViews
    /// Keeps each convolution's constant kernel and each fused linear layer's constant weight packed in
    /// the GEMM's layout with the graph, so every run reads the pack instead of packing it again
    /// (``KeptConvolutionKernel``, ``KeptWeightMatrix``). Never changes a value.
    case kernelPacking
    /// Computes each layer-norm chain (PyTorch's `layer_norm` as Parity lowers it, after ``fusion``
    /// where that ran) as one ``LayerNormRows`` kernel pass per row group, with the chain's bits. Never
    /// changes a value.
    case layerNorm
    /// Lets an LSTM project its input step by step inside its loop (``RecurrentSequence/projection``)
    /// instead of reading the projection of every step from one matmul before it. Never changes a value.
    case recurrentProjection

    public var description: String { rawValue }
}

/// Runs graph passes in order, recursing into `cond` branches.
public struct GraphOptimizer: Sendable {
    /// The passes, in the order they run.
    public var passes: [GraphPass]

    /// An optimizer running `passes` in order.
    public init(passes: [GraphPass]) { self.passes = passes }

    /// Keras-on-TensorFlow style: fold, prune, sink permutes, fuse, run layer norms as one op, view
    /// attention operands, project recurrent inputs in their loops, prune, keep constant kernels packed.
    public static let standard = GraphOptimizer(passes: [.constantFolding, .deadCodeElimination, .permuteSinking, .fusion, .layerNorm,
                                                         .attentionViews, .recurrentProjection, .deadCodeElimination, .kernelPacking])
    /// Every pass that cannot change a result: graph mode then matches eager mode bit for bit.
    public static let withoutFusion = GraphOptimizer(passes: [.constantFolding, .deadCodeElimination, .permuteSinking, .layerNorm,
                                                              .attentionViews, .recurrentProjection, .deadCodeElimination, .kernelPacking])

    /// `graph` after every pass.
    public func optimize(_ graph: Graph) throws -> Graph {
        var graph = graph
        for pass in passes {
            switch pass {
            case .constantFolding: graph = try graph.foldingConstants()
            case .deadCodeElimination: graph = graph.eliminatingDeadCode()
            case .fusion: graph = graph.fusingOps()
            case .permuteSinking: graph = try graph.sinkingPermutes()
            case .kernelPacking: graph = graph.keepingKernelsPacked()
            case .attentionViews: graph = graph.viewingAttentionOperands()
            case .layerNorm: graph = graph.fusingLayerNorms()
            case .recurrentProjection: graph = graph.projectingRecurrences()
            }
        }
        for index in graph.nodes.indices {
            if case .cond(let a, let b) = graph.nodes[index].operation {
                graph.nodes[index].operation = .cond(then: try optimize(a), else: try optimize(b))
            }
        }
        return graph
    }
}

/// What the rewriting passes ask of a graph's wiring.
extension Graph {
    /// Whether each node is one the outputs depend on.
    var reachedFromOutputs: [Bool] {
        var live = [Bool](repeating: false, count: nodes.count)
        for output in outputs { live[output] = true }
        for index in nodes.indices.reversed() where live[index] {
            for input in nodes[index].inputs { live[input] = true }
        }
        return live
    }

    /// How often each node is read: by the outputs and by the nodes `among` marks (every node when nil).
    /// A pass absorbs a producer only when its rewritten reader is the one read.
    func readCounts(among live: [Bool]? = nil) -> [Int] {
        var uses = [Int](repeating: 0, count: nodes.count)
        for (index, node) in nodes.enumerated() where live?[index] ?? true { for input in node.inputs { uses[input] += 1 } }
        for output in outputs { uses[output] += 1 }
        return uses
    }

    /// The op node `index` runs; nil for an input or a constant.
    func op(at index: Int) -> (any Op)? {
        if case .op(let op) = nodes[index].operation { return op }
        return nil
    }
}
