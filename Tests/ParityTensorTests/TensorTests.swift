import Foundation
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

/// Tensors read in place from a mapped file (``FileMapping``, ``Tensor/init(shape:dtype:mappedAt:in:)``):
/// the same elements, shapes, products and copies as a tensor holding an array, nothing copied until
/// a use needs an array, and refusals where reading in place would be wrong.
@Suite("Tensors read in place from a file")
struct MappedTensorTests {
    /// A temporary file of `prefix` bytes then `values` (little-endian), mapped.
    static func mapped(_ values: [Float], prefix: Int) throws -> FileMapping {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("parity-mapped-\(UUID().uuidString)").path
        var bytes = [UInt8](repeating: 0xAB, count: prefix)
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes += $0 } }
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        defer { try? FileManager.default.removeItem(atPath: path) }  // the mapping outlives the name
        return try #require(FileMapping(path: path))
    }

    static let values: [Float] = (0..<48).map { Float($0) * 0.37 - 5 }

    @Test("reads the elements in place; storage copies them once; ops give an array tensor's bits")
    func inPlace() throws {
        let mapping = try Self.mapped(Self.values, prefix: 64)
        let t = try #require(Tensor(shape: [6, 8], dtype: .float32, mappedAt: 64, in: mapping))
        let resident = Tensor(shape: [6, 8], values: Self.values)
        #expect(t.isMapped && t.dtype == .float32 && t.count == 48)
        let w = Tensor(shape: [8, 5], values: (0..<40).map { Float($0).squareRoot() })
        #expect(try t.matmul(w) == (try resident.matmul(w)))
        #expect(try w.transposedMatrix().matmul(t.transposedMatrix()) == (try w.transposedMatrix().matmul(resident.transposedMatrix())))
        #expect(try t.permuted([1, 0]) == (try resident.permuted([1, 0])))
        #expect(try t.sliced([SliceAxis(start: 1, end: 5, step: 2)]) == (try resident.sliced([SliceAxis(start: 1, end: 5, step: 2)])))
        let rows = Tensor(shape: [3], int64: [5, 0, 5])
        #expect(try t.gathering(rows, axis: 0) == (try resident.gathering(rows, axis: 0)))
        #expect(t.cast(to: .float64) == resident.cast(to: .float64))
        let reshaped = try t.reshaped([48])
        let again = try t.reshaped([48]), residentFlat = try resident.reshaped([48])
        #expect(reshaped.isMapped && reshaped.sharesStorage(with: again) && !reshaped.sharesStorage(with: residentFlat))
        #expect(t.isMapped, "the ops above read the mapping")
        #expect(t.values(Float.self) == Self.values)  // an array: copied, once
        #expect(!t.isMapped && t == resident)
    }

    /// Each kernel run on a mapped operand and on the same values in an array: the same bits, and the
    /// mapped tensors still uncopied afterwards (a bias, a norm's scale and shift, an elementwise
    /// constant, a convolution epilogue's shift are read in place; comparing and widening too).
    @Test("operands, biases and norm parameters are read in place, with an array's bits")
    func operandsInPlace() throws {
        let mapping = try Self.mapped(Self.values, prefix: 64)
        let m = try #require(Tensor(shape: [48], dtype: .float32, mappedAt: 64, in: mapping))
        let r = Tensor(shape: [48], values: Self.values)
        let x = Tensor(shape: [2, 48], values: (0..<96).map { Float($0).squareRoot() - 4 })
        let w = Tensor(shape: [3, 48], values: (0..<144).map { Float($0 % 7) - 2.5 })
        func bits(_ t: Tensor) -> [UInt64] { t.doubles.map(\.bitPattern) }
        func same(_ op: (Tensor) throws -> Tensor, _ what: Comment) throws {
            #expect(bits(try op(m)) == bits(try op(r)), what)
        }
        try same({ try w.transposedMatrix().matmul(w, bias: $0) }, "matmul bias")
        try same({ try x.combining($0, .add) }, "add, broadcast")
        try same({ try $0.combining(r, .multiply) }, "multiply, same shape")
        try same({ try x.combining($0, .maximum) }, "maximum, broadcast (a closure per element)")
        try same({ try Tensor.multiplyAdd(x, $0, $0, fused: true) }, "fused multiply-add")
        try same({ try Tensor.multiplyAdd($0, x, r, fused: false) }, "multiply-add")
        try same({ try Tensor.select(x, $0, x) }, "where")
        try same({ try Tensor.layerNormRows(x, rowLength: 48, leaf: 8, epsilon: 1e-5, scale: $0, shift: $0, fusedShift: true) }, "layer norm")
        let geometry = ConvolutionShape(input: [3], output: [3], kernel: [1], strides: [1], dilations: [1], padBefore: [0])
        let image = Tensor(shape: [1, 3, 2], values: [Float(1), -2, 0.5, 3, -1, 2])
        let kernel = Tensor(shape: [1, 2, 48], values: (0..<96).map { Float($0 % 5) - 2 })
        try same({ try image.convolved(with: kernel, shape: geometry, groups: 1, channelsThenWindow: false, fused: true,
                                       epilogue: ConvolutionEpilogue(scale: $0, shift: $0, activation: .relu)) }, "convolution epilogue")
        #expect(m.doubles == r.doubles && m == r && !(m == x))
        // Asking for a dtype it does not have answers nil without copying.
        #expect(m.values(Double.self) == nil && m.int64s == nil && m.integers == nil && m.bools == nil && m.complexValues(Float.self) == nil)
        #expect(m.isMapped, "a kernel or accessor above copied the mapped operand into an array")
    }

    @Test("the tensor keeps its file mapped after the last other reference goes")
    func lifetime() throws {
        var mapping: FileMapping? = try Self.mapped(Self.values, prefix: 8)
        let region = UnsafeRawBufferPointer(rebasing: mapping!.bytes[8..<24])
        #expect(FileMapping.containing(region) === mapping)
        let t = try #require(Tensor(shape: [48], dtype: .float32, mappedAt: 8, in: mapping!))
        mapping = nil
        #expect(t.withUnsafeElements(as: Float.self) { Array($0) } == Self.values)
        #expect(t.withUnsafeElements(as: Double.self) { _ in true } == nil)
    }

    /// What the threads below share, under a lock: each worker's current mapped region, and results.
    final class Board: @unchecked Sendable {
        private let lock = NSLock()
        private var regions: [Int: UnsafeRawPointer] = [:]
        private var failures: [String] = []
        private var bases: Set<UInt> = []
        func publish(_ worker: Int, _ base: UnsafeRawPointer?) { lock.withLock { regions[worker] = base } }
        func region(_ worker: Int) -> UnsafeRawPointer? { lock.withLock { regions[worker] } }
        func fail(_ message: String) { lock.withLock { failures.append(message) } }
        func saw(_ base: UInt) { lock.withLock { _ = bases.insert(base) } }
        var results: (failures: [String], bases: Set<UInt>) { lock.withLock { (failures, bases) } }
    }

    /// Mappings made, looked up (``FileMapping/containing(_:)``, including other threads' regions while
    /// those threads drop them) and released on eight threads at once, so that last references go
    /// on every thread and at any moment: each lookup finds its own mapping, and nothing deadlocks
    /// (a release of a last reference under the registry's lock re-entered it from `deinit`, a hang).
    /// Then one mapped tensor turned into an array on eight threads at once: copied once, shared.
    @Test("mappings made, found and dropped on many threads at once; a shared tensor copied once", .timeLimit(.minutes(1)))
    func concurrent() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("parity-mapped-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var bytes = [UInt8](repeating: 0xAB, count: 64)
        for v in Self.values { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes += $0 } }
        let paths = try (0..<3).map { i -> String in
            let path = folder.appendingPathComponent("\(i)").path
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            return path
        }
        let board = Board(), workers = 8
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            for round in 0..<20000 {
                guard let mapping = FileMapping(path: paths[(worker + round) % paths.count]),
                      let t = Tensor(shape: [48], dtype: .float32, mappedAt: 64, in: mapping) else {
                    return board.fail("worker \(worker) round \(round): not mapped")
                }
                let region = UnsafeRawBufferPointer(rebasing: mapping.bytes[64..<256])
                board.publish(worker, region.baseAddress)
                for other in 0..<workers where other != worker {
                    if let base = board.region(other) { _ = FileMapping.containing(UnsafeRawBufferPointer(start: base, count: 16)) }
                }
                if FileMapping.containing(region) !== mapping { board.fail("worker \(worker) round \(round): lookup missed its mapping") }
                if t.withUnsafeElements(as: Float.self, { Array($0) }) != Self.values { board.fail("worker \(worker) round \(round): values") }
                board.publish(worker, nil)
            }
        }
        let mapping = try Self.mapped(Self.values, prefix: 64)
        let shared = try #require(Tensor(shape: [6, 8], dtype: .float32, mappedAt: 64, in: mapping))
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            _ = shared.isMapped
            guard let values = shared.values(Float.self), values == Self.values else { return board.fail("shared: values") }
            values.withUnsafeBufferPointer { board.saw(UInt(bitPattern: $0.baseAddress)) }
        }
        let (failures, bases) = board.results
        #expect(failures == [])
        #expect(bases.count == 1 && !shared.isMapped, "\(bases.count) copies")
    }

    @Test("refused where reading in place would be wrong: misaligned, past the end, not a float")
    func refusals() throws {
        let mapping = try Self.mapped(Self.values, prefix: 2)
        #expect(Tensor(shape: [48], dtype: .float32, mappedAt: 2, in: mapping) == nil)  // not 4-aligned
        #expect(Tensor(shape: [49], dtype: .float32, mappedAt: 4, in: mapping) == nil)  // 2 bytes short
        #expect(Tensor(shape: [24], dtype: .float64, mappedAt: 2, in: mapping) == nil)
        #expect(Tensor(shape: [2], dtype: .int64, mappedAt: 8, in: mapping) == nil)
        #expect(Tensor(shape: [0], dtype: .float32, mappedAt: 4, in: mapping) == nil)
        #expect(Tensor(shape: [Int.max / 2, 4], dtype: .float32, mappedAt: 4, in: mapping) == nil)
        #expect(Tensor(shape: [1], dtype: .float32, mappedAt: -4, in: mapping) == nil)
        #expect(FileMapping(path: "/nonexistent/parity") == nil)
        #expect(FileMapping(path: FileManager.default.temporaryDirectory.path) == nil)  // a directory
    }
}
