import Foundation
import ParityHDF5
import ParityTensor
import ParityTestSupport
import Testing

/// Files written by ``HDF5FileWriter``, read back by ParityHDF5's reader (h5py reads them too:
/// `scripts/verify_keras_writer.py` opens the Keras weights files this writer makes).
@Suite("HDF5FileWriter: groups, datasets, attributes, read back")
struct WriterTests {
    /// Writes with `body` into a fresh file, then opens it for reading.
    static func roundTrip(_ body: (HDF5FileWriter) throws -> Void) throws -> (HDF5File, URL) {
        let folder = try HDF5Fixture.temporaryDirectory()
        let url = folder.appendingPathComponent("written.h5")
        let writer = try HDF5FileWriter(creating: url)
        try body(writer)
        try writer.close()
        return (try HDF5File(url: url), folder)
    }

    static func bits(_ tensor: Tensor) -> [UInt64] {
        switch tensor.storage {
        case .float32(let values): return values.map { UInt64($0.bitPattern) }
        case .float64(let values): return values.map(\.bitPattern)
        case .int64(let values): return values.map { UInt64(bitPattern: $0) }
        case .int32, .bool, .float16, .bfloat16, .complex64, .complex128: return ArrayRecord(tensor).bytes.map(UInt64.init)
        }
    }

    @Test("datasets of every dtype and shape (scalar, empty, rank 4) read back bit for bit")
    func datasets() throws {
        let tensors: [(String, Tensor)] = [
            ("f32", Tensor(shape: [2, 3], values: [Float](arrayLiteral: 1.5, -0.0, .nan, .infinity, .leastNonzeroMagnitude, 3.4e38))),
            ("f64", Tensor(shape: [3], values: [Double](arrayLiteral: .pi, -.leastNormalMagnitude / 4, .greatestFiniteMagnitude))),
            ("i64", Tensor(shape: [2, 2], int64: [.min, -1, 0, .max])),
            ("scalar", Tensor(scalar: Float(7.25))),
            ("empty", Tensor(shape: [0], values: [Float]())),
            ("empty2d", Tensor(shape: [3, 0], values: [Double]())),
            ("rank4", Tensor(shape: [1, 2, 1, 2], values: [Float](arrayLiteral: 1, 2, 3, 4))),
        ]
        let (file, folder) = try Self.roundTrip { writer in
            for (name, tensor) in tensors { try writer.writeDataset("data/\(name)", tensor) }
            try writer.writeDataset("/int32", HDF5Array(shape: [3], elements: .int32([-2, 0, .max])))
        }
        defer { try? FileManager.default.removeItem(at: folder) }
        for (name, tensor) in tensors {
            let dataset = try file.dataset(at: "data/\(name)")
            let read = try dataset.readTensor()
            #expect(read.shape == tensor.shape && read.dtype == tensor.dtype, "\(name): \(read.shape) \(read.dtype)")
            #expect(Self.bits(read) == Self.bits(tensor), "\(name)")
            #expect(try dataset.storage == HDF5Storage(layout: .contiguous, filters: []), "\(name)")
        }
        #expect(try file.dataset(at: "data/f32").elementType == .float(bits: 32))
        #expect(try file.dataset(at: "data/scalar").shape == [])
        #expect(try file.dataset(at: "int32").elementType == .integer(bits: 32, signed: true))
        #expect(try file.dataset(at: "int32").readTensor() == Tensor(shape: [3], int64: [-2, 0, Int64(Int32.max)]))
    }

    @Test("float16 and bfloat16 are rounded to nearest even and read back as float32")
    func halfPrecision() throws {
        let values: [Float] = [1, -2.5, 65504, 65520, 1e-8, 6e-8, 0.1, .infinity, -0.0, 3.0e38, 1.00390625, 1.01171875]
        let input = Tensor(shape: [values.count], values: values)
        let (file, folder) = try Self.roundTrip { writer in
            try writer.writeDataset("half", HDF5Array.float16(input))
            try writer.writeDataset("brain", HDF5Array.bfloat16(input))
        }
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(try file.dataset(at: "half").elementType == .float(bits: 16))
        // numpy's float32 → float16 casts of the same values.
        let half: [Float] = [1, -2.5, 65504, .infinity, 0, 5.960464477539063e-08, 0.0999755859375, .infinity, -0.0,
                             .infinity, 1.00390625, 1.01171875]
        #expect(try file.dataset(at: "half").readTensor().values(Float.self)!.map(\.bitPattern) == half.map(\.bitPattern))
        // bfloat16: a 2-byte opaque type plus Keras's `dtype` attribute.
        let brain = try file.dataset(at: "brain")
        #expect(try brain.attribute("dtype") == .string("bfloat16"))
        // ml_dtypes' float32 → bfloat16 casts of the same values.
        let expected: [Float] = [1, -2.5, 65536, 65536, 1.0011717677116394e-08, 6.007030606269836e-08, 0.10009765625,
                                 .infinity, -0.0, 3.00405527047391e+38, 1, 1.015625]
        #expect(try brain.readTensor().values(Float.self)!.map(\.bitPattern) == expected.map(\.bitPattern))
    }

    @Test("float16 rounding matches Swift's Float16 on many values")
    func halfRoundingAgreesWithSwift() throws {
        #if !(os(macOS) && arch(x86_64))
        var generator = SystemRandomNumberGenerator()
        var patterns: [UInt32] = (0..<20_000).map { _ in UInt32.random(in: 0...UInt32.max, using: &generator) }
        patterns += [0x3380_0000, 0x3300_0000, 0x3300_0001, 0x477F_F000, 0x477F_EFFF, 0x3880_1000, 0x3880_3000]
        for pattern in patterns {
            let value = Float(bitPattern: pattern)
            let ours = HDF5Array.float16(Tensor(shape: [1], values: [value]))
            guard case .float16(let bits) = ours.elements else { Issue.record("not float16"); return }
            let swift = Float16(value)
            if value.isNaN {
                #expect(Float16(bitPattern: bits[0]).isNaN)
            } else {
                #expect(bits[0] == swift.bitPattern, "\(value) (0x\(String(pattern, radix: 16))): \(bits[0]) vs \(swift.bitPattern)")
            }
        }
        #endif
    }

    @Test("string and numeric attributes on the root, groups and datasets")
    func attributes() throws {
        let (file, folder) = try Self.roundTrip { writer in
            try writer.setAttribute("name", .string("dense"), on: "layers/dense/vars")
            try writer.setAttribute("unicode", .string("größe ✓ 層"))
            try writer.setAttribute("empty", .string(""))
            try writer.setAttribute("names", .strings(["a", "bé", ""]), on: "/layers")
            try writer.setAttribute("no_names", .strings([]), on: "/layers")
            try writer.setAttribute("count", .integer(-3))
            try writer.setAttribute("counts", .integers([1, 2, 3]))
            try writer.setAttribute("ratio", .float(0.1))
            try writer.setAttribute("ratios", .floats([]))
            try writer.setAttribute("matrix", HDF5Array(shape: [2, 2], elements: .float32([1, 2, 3, 4])))
            try writer.writeDataset("layers/dense/vars/0", Tensor(shape: [1], values: [Float(1)]))
            try writer.setAttribute("unit", .string("m/s"), on: "layers/dense/vars/0")
            try writer.setAttribute("count", .integer(4))  // replaces
        }
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(try file.group(at: "layers/dense/vars").attribute("name") == .string("dense"))
        // As h5py 3 writes a Python str: a scalar, variable-length UTF-8 string.
        #expect(try file.group(at: "layers/dense/vars").attributeType("name") == .string(length: nil, encoding: .utf8))
        #expect(try file.attribute("unicode") == .string("größe ✓ 層"))
        #expect(try file.attribute("empty") == .string(""))
        #expect(try file.group(at: "layers").attribute("names") == .strings(["a", "bé", ""]))
        #expect(try file.group(at: "layers").attribute("no_names") == .strings([]))
        #expect(try file.attribute("count") == .integer(4))
        #expect(try file.attribute("counts") == .integers([1, 2, 3]))
        #expect(try file.attribute("ratio") == .float(0.1))
        #expect(try file.attribute("ratios") == .floats([]))
        #expect(try file.attribute("matrix") == .floats([1, 2, 3, 4]))
        #expect(try file.dataset(at: "layers/dense/vars/0").attribute("unit") == .string("m/s"))
        #expect(try file.attributeNames == ["count", "counts", "empty", "matrix", "ratio", "ratios", "unicode"])
    }

    @Test("nested groups are created on the way; the same calls give the same bytes")
    func groupsAndDeterminism() throws {
        func write(_ writer: HDF5FileWriter) throws {
            try writer.createGroup("a/b/c")
            try writer.createGroup("/a/b")  // exists: left alone
            try writer.writeDataset("a/x/y", Tensor(shape: [2], values: [Float(1), 2]))
            try writer.setAttribute("name", .string("v"), on: "a/b")
        }
        let (file, folder) = try Self.roundTrip(write)
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(try file.root.children == ["a"])
        #expect(try file.group(at: "a").children == ["b", "x"])
        #expect(try file.group(at: "a/b").children == ["c"])
        #expect(try file.group(at: "a/x").children == ["y"])
        let (again, folder2) = try Self.roundTrip(write)
        defer { try? FileManager.default.removeItem(at: folder2) }
        #expect(try Data(contentsOf: file.url) == Data(contentsOf: again.url))
    }

    @Test("refusals name the file and the object: bad paths, shapes, existing objects, a closed writer")
    func errors() throws {
        let folder = try HDF5Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let missing = folder.appendingPathComponent("no/such/dir/file.h5")
        expectHDF5Error("cannot create", missing.path, "does not exist") { _ = try HDF5FileWriter(creating: missing) }
        expectHDF5Error("cannot create", folder.path, "directory") { _ = try HDF5FileWriter(creating: folder) }

        let url = folder.appendingPathComponent("f.h5")
        let writer = try HDF5FileWriter(creating: url)
        expectHDF5Error(url.path, "'/w'", "shape [2, 2] needs 4 elements", "float32 array has 3") {
            try writer.writeDataset("w", HDF5Array(shape: [2, 2], elements: .float32([1, 2, 3])))
        }
        expectHDF5Error("negative") { try writer.writeDataset("n", HDF5Array(shape: [-1], elements: .int64([]))) }
        try writer.writeDataset("d", Tensor(shape: [1], values: [Float(1)]))
        expectHDF5Error("'/d'", "already exists") { try writer.writeDataset("d", Tensor(shape: [1], values: [Float(2)])) }
        expectHDF5Error("'/d' is a dataset, not a group") { try writer.writeDataset("d/e", Tensor(shape: [1], values: [Float(2)])) }
        expectHDF5Error("empty, '.' or '..' component") { try writer.createGroup("a//b") }
        expectHDF5Error("a dataset needs a name") { try writer.writeDataset("/", Tensor(scalar: Float(1))) }
        expectHDF5Error("NUL") { try writer.setAttribute("bad", .string("a\u{0}b")) }
        expectHDF5Error("an attribute needs a name") { try writer.setAttribute("", .integer(1)) }
        try writer.close()
        try writer.close()  // closing twice is fine
        expectHDF5Error(url.path, "closed") { try writer.writeDataset("late", Tensor(scalar: Float(1))) }
        // What was written before the refusals is intact.
        #expect(try HDF5File(url: url).dataset(at: "d").readTensor() == Tensor(shape: [1], values: [Float(1)]))
    }
}
