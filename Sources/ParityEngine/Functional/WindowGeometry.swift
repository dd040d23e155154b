/// How a convolution or pooling window pads its input, as the frameworks spell it.
public enum Padding: Sendable, Hashable, CustomStringConvertible {
    /// No padding (Keras `valid`, PyTorch `padding=0`).
    case valid
    /// TensorFlow's `same`: output `ceil(in / stride)`, total padding
    /// `max((out − 1)·stride + (k − 1)·dilation + 1 − in, 0)`, the smaller half before and the extra cell
    /// after (bottom/right). With stride 1 this equals PyTorch's `padding='same'`.
    case same
    /// Keras `causal` (1-D): `dilation·(k − 1)` cells before, none after.
    case causal
    /// Explicit amounts per spatial axis (PyTorch `padding=(p…)` is `before == after`).
    case explicit(before: [Int], after: [Int])

    public var description: String {
        switch self {
        case .valid: return "valid"
        case .same: return "same"
        case .causal: return "causal"
        case let .explicit(before, after): return "explicit(before: \(before), after: \(after))"
        }
    }

    /// The amounts before and after each spatial axis.
    public func amounts(input: [Int], kernel: [Int], strides: [Int], dilations: [Int]) -> (before: [Int], after: [Int]) {
        let rank = input.count
        switch self {
        case .valid: return (Array(repeating: 0, count: rank), Array(repeating: 0, count: rank))
        case .causal:
            return ((0..<rank).map { dilations[$0] * (kernel[$0] - 1) }, Array(repeating: 0, count: rank))
        case let .explicit(before, after): return (before, after)
        case .same:
            var before = [Int](), after = [Int]()
            for i in 0..<rank {
                let out = (input[i] + strides[i] - 1) / strides[i]
                let total = max((out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - input[i], 0)
                before.append(total / 2)
                after.append(total - total / 2)
            }
            return (before, after)
        }
    }
}

/// The order of the terms a convolution's dot product adds: over the window then the channels
/// (TensorFlow's NHWC im2col / Eigen spatial convolution contracts `(kh, kw, c)`), or over the
/// channels then the window (PyTorch's NCHW `(c, kh, kw)`). Same math, different rounding.
public enum PatchOrder: String, Sendable, Hashable {
    /// `(kh, kw, c)`: TensorFlow's.
    case windowThenChannels
    /// `(c, kh, kw)`: PyTorch's.
    case channelsThenWindow
}

/// The index geometry of a sliding window over channels-last input `[spatial…, channels]`: output
/// size, and the index map that lays every window out as a row (im2col).
public struct WindowGeometry: Sendable, Hashable {
    /// The input's spatial size.
    public var input: [Int]
    /// The number of channels.
    public var channels: Int
    /// The window's size per spatial axis.
    public var kernel: [Int]
    /// The stride per spatial axis.
    public var strides: [Int]
    /// The dilation per spatial axis.
    public var dilations: [Int]
    /// The padding before each spatial axis.
    public var padBefore: [Int]
    /// The padding after each spatial axis.
    public var padAfter: [Int]

    /// The geometry, with `padding` resolved to amounts before and after each axis.
    public init(input: [Int], channels: Int, kernel: [Int], strides: [Int], dilations: [Int], padding: Padding) throws {
        let rank = input.count
        guard kernel.count == rank, strides.count == rank, dilations.count == rank,
              (kernel + strides + dilations).allSatisfy({ $0 >= 1 }) else {
            throw TensorError.invalidArgument(
                op: "window", message: "kernel \(kernel), strides \(strides), dilations \(dilations) must be positive, one per spatial axis of \(input)")
        }
        self.input = input
        self.channels = channels
        self.kernel = kernel
        self.strides = strides
        self.dilations = dilations
        (padBefore, padAfter) = padding.amounts(input: input, kernel: kernel, strides: strides, dilations: dilations)
        guard padBefore.count == rank, padAfter.count == rank, (padBefore + padAfter).allSatisfy({ $0 >= 0 }) else {
            throw TensorError.invalidArgument(op: "window", message: "padding \(padding) does not fit \(rank) spatial axes")
        }
        if let axis = output.firstIndex(where: { $0 < 1 }) {
            throw TensorError.invalidArgument(
                op: "window", message: "a window of \(kernel[axis]) (dilation \(dilations[axis])) does not fit spatial axis \(axis) of size \(input[axis]) with padding \(padBefore[axis])+\(padAfter[axis])")
        }
    }

    /// The output's spatial size.
    public var output: [Int] {
        (0..<input.count).map { i in
            (input[i] + padBefore[i] + padAfter[i] - dilations[i] * (kernel[i] - 1) - 1) / strides[i] + 1
        }
    }

    /// The number of positions in one window.
    public var windowSize: Int { Shape.count(kernel) }

    /// For each output position and each window cell: the flat index into `[spatial…, channels]`, or −1
    /// where the cell falls in the padding. Layout `[output…, window, channels]` or
    /// `[output…, channels, window]` as `order` says.
    public func patchIndices(order: PatchOrder) -> [Int] {
        let rank = input.count
        let inStrides = Shape.strides(input + [channels])
        let outPositions = Shape.count(output), window = windowSize
        var indices = [Int](repeating: -1, count: outPositions * window * channels)
        var position = [Int](repeating: 0, count: rank)
        var cell = [Int](repeating: 0, count: rank)
        var slot = 0
        for _ in 0..<outPositions {
            var windowBase = [Int](repeating: -1, count: window)
            for w in 0..<window {
                var rest = w, offset = 0, inside = true
                for axis in stride(from: rank - 1, through: 0, by: -1) {
                    cell[axis] = rest % kernel[axis]
                    rest /= kernel[axis]
                }
                for axis in 0..<rank {
                    let coordinate = position[axis] * strides[axis] + cell[axis] * dilations[axis] - padBefore[axis]
                    if coordinate < 0 || coordinate >= input[axis] { inside = false; break }
                    offset += coordinate * inStrides[axis]
                }
                windowBase[w] = inside ? offset : -1
            }
            switch order {
            case .windowThenChannels:
                for w in 0..<window {
                    for c in 0..<channels { indices[slot] = windowBase[w] < 0 ? -1 : windowBase[w] + c; slot += 1 }
                }
            case .channelsThenWindow:
                for c in 0..<channels {
                    for w in 0..<window { indices[slot] = windowBase[w] < 0 ? -1 : windowBase[w] + c; slot += 1 }
                }
            }
            Shape.advance(&position, within: output)
        }
        return indices
    }
}
