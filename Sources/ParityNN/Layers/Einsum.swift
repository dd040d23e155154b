import Foundation

/// `einsum(subscripts, operands…)` as a composition of the engine's ops, the way TensorFlow's einsum
/// kernel computes it: each operand's indices that appear nowhere else are summed out first; operands
/// are then multiplied pairwise, left to right, each pair as one batched matrix product (batch =
/// indices in both and still needed, contracted = indices in both and needed nowhere after); the result
/// is permuted to the output. Explicit (`->`) or NumPy's implicit output; `...` broadcast axes; size-1
/// axes broadcast against their partner. Repeated indices within one operand (diagonals) are refused.
extension Builder {
    /// `einsum(subscripts, operands…)`, computed as described above.
    public func einsum(_ subscripts: String, _ operands: [Value]) throws -> Value {
        let (inputs, output) = try EinsumSubscripts.parse(subscripts, ranks: operands.map { shape(of: $0).count })
        guard inputs.count == operands.count else {
            throw TensorError.invalidArgument(op: "einsum", message: "\(subscripts) names \(inputs.count) operands; received \(operands.count)")
        }
        var sizes: [Character: Int] = [:]
        for (labels, v) in zip(inputs, operands) {
            for (label, size) in zip(labels, shape(of: v)) {
                if let known = sizes[label], known != size, known != 1, size != 1 {
                    throw TensorError.shapeMismatch(op: "einsum", expected: "index \(label) of one size in \(subscripts)", received: operands.map { shape(of: $0) })
                }
                sizes[label] = max(sizes[label] ?? 1, size)
            }
        }
        let current = try zip(operands, inputs).map { try broadcast($0, to: $1.map { sizes[$0]! }) }
        var (acc, accLabels) = try einsumSumOut(current[0], inputs[0], keep: Set(inputs.dropFirst().joined()).union(output))
        for index in current.indices.dropFirst() {
            let later = Set(inputs[(index + 1)...].joined()).union(output)
            (acc, accLabels) = try einsumProduct(acc, accLabels, current[index], inputs[index], keep: later, sizes: sizes)
        }
        (acc, accLabels) = try einsumSumOut(acc, accLabels, keep: Set(output))
        let order = try output.map { label -> Int in
            guard let i = accLabels.firstIndex(of: label) else {
                throw TensorError.invalidArgument(op: "einsum", message: "\(subscripts): output index \(label) is not an input index")
            }
            return i
        }
        return output.isEmpty ? try reshape(acc, []) : try permute(acc, order)
    }

    /// Sums the axes whose index is not in `keep`.
    func einsumSumOut(_ v: Value, _ labels: [Character], keep: Set<Character>) throws -> (Value, [Character]) {
        let gone = labels.indices.filter { !keep.contains(labels[$0]) }
        guard !gone.isEmpty else { return (v, labels) }
        return (try reduce(.sum, v, axes: gone), labels.enumerated().filter { !gone.contains($0.offset) }.map(\.element))
    }

    /// `a ⊗ c` over their shared indices as one batched matmul `[batch, freeA, contracted] × [batch, contracted, freeC]`.
    func einsumProduct(_ a: Value, _ aLabels: [Character], _ c: Value, _ cLabels: [Character], keep: Set<Character>,
                       sizes: [Character: Int]) throws -> (Value, [Character]) {
        let (a, aL) = try einsumSumOut(a, aLabels, keep: keep.union(cLabels))
        let (c, cL) = try einsumSumOut(c, cLabels, keep: keep.union(aL))
        let shared = aL.filter { cL.contains($0) }
        let batch = shared.filter { keep.contains($0) }, contracted = shared.filter { !keep.contains($0) }
        let aFree = aL.filter { !shared.contains($0) }, cFree = cL.filter { !shared.contains($0) }
        func size(_ labels: [Character]) -> Int { Shape.count(labels.map { sizes[$0]! }) }
        let left = try reshape(permute(a, (batch + aFree + contracted).map { aL.firstIndex(of: $0)! }), [size(batch), size(aFree), size(contracted)])
        let right = try reshape(permute(c, (batch + contracted + cFree).map { cL.firstIndex(of: $0)! }), [size(batch), size(contracted), size(cFree)])
        let labels = batch + aFree + cFree
        return (try reshape(matmul(left, right), labels.map { sizes[$0]! }), labels)
    }
}

/// An einsum equation's operand and output indices, `...` expanded to fresh indices.
enum EinsumSubscripts {
    static func parse(_ subscripts: String, ranks: [Int]) throws -> ([[Character]], [Character]) {
        let text = subscripts.replacingOccurrences(of: " ", with: "")
        let parts = text.components(separatedBy: "->")
        let inputTexts = parts[0].components(separatedBy: ",")
        let used = Set(text.filter { $0.isLetter })
        let fresh = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".filter { !used.contains($0) })
        func named(_ part: String) -> Int { part.replacingOccurrences(of: "...", with: "").count }
        var ellipsisRank = 0
        for (i, part) in inputTexts.enumerated() where part.contains("...") && i < ranks.count {
            ellipsisRank = max(ellipsisRank, ranks[i] - named(part))
        }
        let ellipsis = Array(fresh.prefix(ellipsisRank))
        var inputs: [[Character]] = []
        for (i, part) in inputTexts.enumerated() {
            var labels = Array(part)
            if let range = part.range(of: "...") {
                let rank = i < ranks.count ? ranks[i] : 0
                labels = Array(part[..<range.lowerBound]) + Array(ellipsis.suffix(max(rank - named(part), 0))) + Array(part[range.upperBound...])
            }
            guard Set(labels).count == labels.count else {
                throw TensorError.unsupported(op: "einsum", message: "repeated index in \(part) (a diagonal)")
            }
            inputs.append(labels)
        }
        if parts.count > 1 {
            return (inputs, Array(parts[1].replacingOccurrences(of: "...", with: String(ellipsis))))
        }
        let counts = inputs.joined().reduce(into: [Character: Int]()) { $0[$1, default: 0] += 1 }
        return (inputs, ellipsis + counts.filter { $0.value == 1 && !ellipsis.contains($0.key) }.map(\.key).sorted())
    }
}

/// Keras's `EinsumDense` (`keras/src/layers/core/einsum_dense.py`): `einsum(equation, x, kernel)`, plus
/// `bias` (shaped like the output's `bias_axes`, broadcast against the trailing output axes), then the
/// activation.
public struct EinsumDense: Model {
    /// The einsum equation, input first then kernel (`ab,bc->ac`).
    public var equation: String
    /// The kernel.
    public var kernel: Tensor
    /// Added after the product, or `nil` for none.
    public var bias: Tensor?
    /// Applied last, or `nil` for none.
    public var activation: Activation?

    /// A layer; the parameters are the properties of the same names.
    public init(equation: String, kernel: Tensor, bias: Tensor? = nil, activation: Activation? = nil) {
        self.equation = equation
        self.kernel = kernel
        self.bias = bias
        self.activation = activation
    }

    public func callAsFunction<B: Builder>(_ inputs: [B.Value], in b: B) throws -> B.Value {
        let x = inputs[0]
        var y = try b.einsum(equation, [x, b.weight(kernel, like: x)])
        if let bias { y = try b.add(y, b.weight(bias, like: x)) }
        if let activation { y = try activation.apply(y, in: b) }
        return y
    }
}
