import Foundation
import ParityNN

/// Random sampling nodes: `rand(size, dtype)` (uniform in [0, 1)), `randn(size, dtype)` (standard normal,
/// Box–Muller) and `randperm(n, dtype)` (a uniformly random permutation of `0..<n`, Fisher–Yates).
///
/// PyTorch draws from its global generator (CPU: mt19937 with its own float transforms), whose state a
/// `.pt2` does not carry, so no run can reproduce its values. Parity draws from its own stream
/// (SplitMix64 seeded with the node's name: the same node gives the same values on every run, in eager
/// and graph modes alike): the values have the distribution, the shape and the dtype of PyTorch's, not
/// its bits. The operator table checks shape and dtype against PyTorch; `ATenOpTableTests` checks the
/// support and the first two moments. A float32 uniform takes 24 random bits (`[0, 1)` exactly, as
/// PyTorch's `uniform_real_distribution<float>`), a float64 one 53.
enum RandomOps: ATenFamily {
    static let targets: Set<String> = ["aten.rand.default", "aten.randn.default", "aten.randperm.default"]

    static func lower<B: Builder>(_ c: ATenCall<B>) throws -> [B.Value] {
        var generator = SplitMix64(seed: c.node.name.utf8.reduce(0xcbf2_9ce4_8422_2325 as UInt64) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 })
        switch c.target {
        case "aten.randperm.default":
            let n = try c.int("n")
            guard n >= 0, n <= ATenCall<B>.maxCreatedElements else { throw c.fail("n", "\(n) is not a permutation length") }
            var order = Array(0..<n)
            if n > 1 {
                for i in stride(from: n - 1, to: 0, by: -1) { order.swapAt(i, Int(generator.next() % UInt64(i + 1))) }
            }
            let dtype = try c.dtype("dtype") ?? .int64
            return [c.b.constant(Tensor(shape: [n], values: order.map(Double.init)).cast(to: dtype))]
        default:
            let size = try c.size("size")
            let count = size.reduce(1, *)
            let dtype = try c.dtype("dtype") ?? c.floatType
            guard dtype.isFloatingPoint else { throw c.fail("dtype", "\(c.target) samples floats; received \(dtype)") }
            let bits = dtype == .float64 ? 53 : 24
            func uniform() -> Double { Double(generator.next() >> UInt64(64 - bits)) / Double(UInt64(1) << UInt64(bits)) }
            var values: [Double] = []
            values.reserveCapacity(count)
            if c.target == "aten.rand.default" {
                for _ in 0..<count { values.append(uniform()) }
            } else {
                while values.count < count {
                    let u1 = 1 - uniform(), u2 = uniform()  // u1 in (0, 1]
                    let radius = (-2 * Foundation.log(u1)).squareRoot()
                    values.append(radius * Foundation.cos(2 * Double.pi * u2))
                    if values.count < count { values.append(radius * Foundation.sin(2 * Double.pi * u2)) }
                }
            }
            return [c.b.constant(Tensor(shape: size, values: values).cast(to: dtype))]
        }
    }

    /// Steele, Lea and Flood's SplitMix64.
    struct SplitMix64 {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9e37_79b9_7f4a_7c15
            var z = state
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return z ^ (z >> 31)
        }
    }
}
