import Testing
import ParityTensor

@Suite("Tensor")
struct TensorTests {
    @Test func construction() throws {
        let t = Tensor(shape: [2, 2], values: [Float(1), 2, 3, 4])
        #expect(t.dtype == .float32 && t.rank == 2 && t.count == 4)
        #expect(Tensor(scalar: 2.5).shape == [])
        #expect(Tensor.zeros([3], dtype: .int64).int64s == [0, 0, 0])
        #expect(try t.reshaped([4]).shape == [4])
        #expect(t.cast(to: .float64).values(Double.self) == [1, 2, 3, 4])
        #expect(Tensor(shape: [2], values: [1.9, -1.9]).cast(to: .int64).int64s == [1, -1])
        #expect("\(t)".hasPrefix("Tensor<float32>[2, 2]"))
    }

    @Test func seededWeightsAreReproducible() {
        var a = SeededGenerator(seed: 42), b = SeededGenerator(seed: 42)
        #expect(Tensor.uniform([5], generator: &a) == Tensor.uniform([5], generator: &b))
    }

    @Test func broadcastingShapes() throws {
        #expect(try Shape.broadcast([2, 1, 3], [4, 1]) == [2, 4, 3])
        #expect(throws: TensorError.self) { try Shape.broadcast([2, 3], [4]) }
        #expect(Shape.strides([2, 3, 4]) == [12, 4, 1])
    }
}
