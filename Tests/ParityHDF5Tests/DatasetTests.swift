import Foundation
import ParityHDF5
import ParityTensor
import ParityTestSupport
import Testing

@Suite("HDF5Dataset: shapes, element types, storage, reading into tensors, size checks")
struct DatasetTests {
    /// Every dataset `expected.json` lists reads back bit for bit as h5py wrote it (float16 widened
    /// to float32, integers and bools to int64).
    @Test func matchFixtureRecords() throws {
        let records = try #require(HDF5Fixture.expected?["datasets"]?.array)
        #expect(records.count > 30)
        var files: [String: HDF5File] = [:]
        for record in records {
            let fileName = try #require(record["file"]?.string)
            let path = try #require(record["path"]?.string)
            let file = try files[fileName] ?? HDF5Fixture.open(fileName)
            files[fileName] = file
            let dataset = try file.dataset(at: path)
            let tensor = try dataset.readTensor()
            let shape = try #require(record["shape"]?.ints)
            #expect(try dataset.shape == shape, "\(fileName) \(path)")
            #expect(tensor.shape == shape, "\(fileName) \(path)")
            #expect(tensor.dtype.rawValue == record["dtype"]?.string, "\(fileName) \(path)")
            #expect(try dataset.elementType.description == record["type"]?.string, "\(fileName) \(path)")
            let values = try #require(record["values"]?.array)
            if tensor.dtype == .int64 {
                // JSON numbers go through Double: exact for the fixtures' magnitudes except ±2^63-1.
                let expected = values.map { $0.double.map { $0 >= 9.2e18 ? Int64.max : Int64($0) } ?? 0 }
                #expect(tensor.int64s == expected, "\(fileName) \(path)")
            } else {
                // h5py's non-finite values are written as the strings "inf", "-inf", "nan".
                let expected = values.map { $0.double ?? $0.string.flatMap(Double.init) ?? 0 }
                let actual = tensor.doubles
                let same = actual.count == expected.count && zip(actual, expected).allSatisfy {
                    $0 == $1 || ($0.isNaN && $1.isNaN)
                }
                #expect(same, "\(fileName) \(path): \(actual.prefix(6)) vs \(expected.prefix(6))")
            }
        }
    }

    @Test func float16WidensExactly() throws {
        let tensor = try HDF5Fixture.open("types.h5").dataset(at: "dtypes/float16").readTensor()
        let values = try #require(tensor.values(Float.self))
        #expect(tensor.shape == [3, 4])
        #expect(values[4] == 65504)                             // largest half
        #expect(values[6] == Float(bitPattern: 0x3380_0000))  // 2^-24, the smallest subnormal half
        #expect(values[1].sign == .minus && values[1] == 0)
        #expect(values[8] == .infinity && values[9] == -.infinity && values[10].isNaN)
    }

    /// Keras 3's bfloat16: 2-byte opaque elements marked with the attribute dtype="bfloat16".
    @Test func bfloat16WidensExactly() throws {
        let file = try HDF5Fixture.open("types.h5")
        let dataset = try file.dataset(at: "dtypes/bfloat16")
        #expect(try dataset.elementType == .other("opaque type (2 bytes)"))
        let tensor = try dataset.readTensor()
        #expect(tensor.shape == [2, 3] && tensor.dtype == .float32)
        #expect(tensor.values(Float.self) == [1, -2.5, 3.140625, -0, .infinity, 0x1p100])
        expectHDF5Error("cannot read opaque type (2 bytes) as a tensor", "object '/dtypes/opaque_without_dtype'") {
            _ = try file.dataset(at: "dtypes/opaque_without_dtype").readTensor()
        }
    }

    @Test func integersWiden() throws {
        let file = try HDF5Fixture.open("types.h5")
        #expect(try file.dataset(at: "dtypes/int64").readTensor().int64s == [Int64.min, -1, Int64.max])
        #expect(try file.dataset(at: "dtypes/uint32").readTensor().int64s == [0, 4_294_967_295])
        #expect(try file.dataset(at: "dtypes/int32_big_endian").readTensor().int64s == [1, -2, 70000])
        #expect(try file.dataset(at: "dtypes/bool").readTensor() == Tensor(shape: [2, 3], int64: [1, 0, 1, 0, 0, 1]))
    }

    @Test(arguments: [
        ("dtypes/float16", HDF5ElementType.float(bits: 16)),
        ("dtypes/float64", .float(bits: 64)),
        ("dtypes/float32_big_endian", .float(bits: 32)),
        ("dtypes/int32", .integer(bits: 32, signed: true)),
        ("dtypes/uint8", .integer(bits: 8, signed: false)),
        ("dtypes/bool", .bool),
        ("refused/vlen_strings", .string(length: nil, encoding: .utf8)),
        ("refused/fixed_strings", .string(length: 3, encoding: .ascii)),
    ])
    func elementTypes(path: String, type: HDF5ElementType) throws {
        #expect(try HDF5Fixture.open("types.h5").dataset(at: path).elementType == type)
    }

    @Test func storageLayouts() throws {
        let file = try HDF5Fixture.open("types.h5")
        #expect(try file.dataset(at: "storage/chunked_gzip").storage
                == HDF5Storage(layout: .chunked(chunkShape: [8, 5]), filters: ["shuffle", "deflate"]))
        #expect(try file.dataset(at: "storage/compact").storage == HDF5Storage(layout: .compact, filters: []))
        #expect(try file.dataset(at: "dtypes/float32").storage == HDF5Storage(layout: .contiguous, filters: []))
        #expect(try file.dataset(at: "storage/chunked_gzip").storage.description == "chunked [8, 5], filters shuffle, deflate")
    }

    @Test func scalarAndEmpty() throws {
        let file = try HDF5Fixture.open("types.h5")
        #expect(try file.dataset(at: "storage/scalar_float64").readTensor() == Tensor(scalar: 3.25))
        #expect(try file.dataset(at: "storage/scalar_int32").shape == [])
        #expect(try file.dataset(at: "storage/scalar_float64").readValue() == .float(3.25))
        let empty = try file.dataset(at: "storage/empty").readTensor()
        #expect(empty.shape == [0, 3] && empty.count == 0 && empty.dtype == .float32)
        #expect(try file.dataset(at: "storage/empty_chunked").readTensor().shape == [2, 0])
    }

    @Test func stringDatasetsReadAsValuesNotTensors() throws {
        let file = try HDF5Fixture.open("types.h5")
        #expect(try file.dataset(at: "refused/vlen_strings").readValue() == .strings(["a", "bc"]))
        #expect(try file.dataset(at: "refused/fixed_strings").readValue() == .strings(["abc", "de"]))
        let error = expectHDF5Error("cannot read variable-length utf8 string as a tensor", "object '/refused/vlen_strings'",
                                    "types.h5") {
            _ = try file.dataset(at: "refused/vlen_strings").readTensor()
        }
        guard case .unsupportedType? = error else { Issue.record("got \(String(describing: error))"); return }
        expectHDF5Error("cannot read fixed-length ascii string (3 bytes) as a tensor") {
            _ = try file.dataset(at: "refused/fixed_strings").readTensor()
        }
    }

    @Test func refusedTypes() throws {
        let file = try HDF5Fixture.open("types.h5")
        expectHDF5Error("cannot read compound type (2 fields, 12 bytes) as a tensor", "object '/refused/compound'") {
            _ = try file.dataset(at: "refused/compound").readTensor()
        }
        expectHDF5Error("cannot read float128 as a tensor", "object '/refused/long_double'") {
            _ = try file.dataset(at: "refused/long_double").readTensor()
        }
        let error = expectHDF5Error("integer 9223372036854775808 does not fit in Int64", "object '/dtypes/uint64_too_big'") {
            _ = try file.dataset(at: "dtypes/uint64_too_big").readTensor()
        }
        #expect(error == .outOfRange(value: "9223372036854775808",
                                     at: HDF5Location(file: file.url.path, object: "/dtypes/uint64_too_big")))
    }

    @Test func readLimit() throws {
        let file = try HDF5Fixture.open("types.h5", maxReadBytes: 40)
        #expect(try file.dataset(at: "dtypes/float64").readTensor().count == 5)  // 5 × 8 bytes: at the limit
        let error = expectHDF5Error("shape [2, 3, 2] needs 48 bytes, over the limit of 40 bytes", "object '/dtypes/float32'") {
            _ = try file.dataset(at: "dtypes/float32").readTensor()
        }
        #expect(error == .tooLarge(shape: [2, 3, 2], bytes: "48", limit: 40,
                                   at: HDF5Location(file: file.url.path, object: "/dtypes/float32")))
    }

    /// A chunked dataset of 2^40 floats with no chunk written: valid HDF5 (all fill values), but
    /// 4 TiB. Refused before allocating, first by the limit, then (limit lifted) by the file size.
    @Test func hugeUnallocatedDataset() throws {
        let path = "storage/huge_unallocated"
        #expect(try HDF5Fixture.open("types.h5").dataset(at: path).shape == [1 << 40])
        expectHDF5Error("shape [1099511627776] needs 4398046511104 bytes, over the limit of 4294967296 bytes") {
            _ = try HDF5Fixture.open("types.h5").dataset(at: path).readTensor()
        }
        expectHDF5Error("claims 4398046511104 bytes of data but the file has", "object '/storage/huge_unallocated'") {
            _ = try HDF5Fixture.open("types.h5", maxReadBytes: .max).dataset(at: path).readTensor()
        }
    }

    /// Dataspaces patched after writing to claim more elements than stored (no checksums in
    /// h5py's default format).
    @Test func corruptShapes() throws {
        let file = try HDF5Fixture.open("corrupt_shape.h5", maxReadBytes: .max)
        // Contiguous: libhdf5 1.10.8 opens these (HDF5 1.14/2.0 refuse them on open with "invalid
        // dataset size, likely file corruption"); the reader's file-size check refuses the read.
        for (name, bytes) in [("contiguous_2e40", "4398046511104"), ("contiguous_2e24", "67108864")] {
            let error = expectHDF5Error("corrupt_shape.h5", "object '/\(name)'") {
                _ = try file.dataset(at: name).readTensor()
            }
            let message = error?.description ?? ""
            #expect(message.contains("claims \(bytes) bytes of data but the file has 14202 bytes (corrupt header?)")
                    || message.contains("invalid dataset size"), "\(message)")
        }
        // Chunked + gzip: only the reader's checks stand in the way.
        expectHDF5Error("claims 4398046511104 bytes", "too many even when compressed at 1100:1", "object '/chunked_2e40'") {
            _ = try file.dataset(at: "chunked_2e40").readTensor()
        }
        expectHDF5Error("over the limit of 4294967296 bytes", "object '/chunked_2e40'") {
            _ = try HDF5Fixture.open("corrupt_shape.h5").dataset(at: "chunked_2e40").readTensor()
        }
    }

    // MARK: Read in place

    /// The bit patterns of a float tensor's elements (float32 widened exactly when compared with float64).
    static func bits(_ tensor: Tensor) -> [UInt64] { tensor.doubles.map(\.bitPattern) }

    /// `mapped.h5` (scripts/make_mapped_weight_fixtures.py) holds one float32 array stored several ways.
    /// The contiguous little-endian float32 and float64 datasets are read in place, bit for bit as libhdf5
    /// reads the same values from the chunked gzip copy and converts them from the big-endian copy; the
    /// other layouts and types are read through libhdf5 as before. With a 512-byte user block,
    /// `H5Dget_offset` is still the absolute file offset (the script checks it with h5py, this test by the
    /// values read in place).
    @Test("contiguous little-endian floats are read in place, bit for bit; other layouts through libhdf5",
          arguments: ["mapped.h5", "mapped_userblock.h5"])
    func readInPlace(_ name: String) throws {
        let file = try HDF5Fixture.open(name)
        let chunked = try file.dataset(at: "chunked").readTensor()
        #expect(!chunked.isMapped && chunked.shape == [32, 48] && chunked.dtype == .float32)
        let contiguous = try file.dataset(at: "contiguous").readTensor()
        #expect(contiguous.isMapped && contiguous.shape == [32, 48] && contiguous.dtype == .float32)
        #expect(Self.bits(contiguous) == Self.bits(chunked))
        let wide = try file.dataset(at: "contiguous64").readTensor()
        #expect(wide.isMapped && wide.dtype == .float64)
        #expect(Self.bits(wide) == Self.bits(chunked))
        let bigEndian = try file.dataset(at: "big_endian").readTensor()
        #expect(!bigEndian.isMapped && Self.bits(bigEndian) == Self.bits(chunked))
        let small = try file.dataset(at: "small").readTensor()  // 384 bytes: below one page, copied
        #expect(!small.isMapped && Self.bits(small) == Array(Self.bits(chunked).prefix(2 * 48)))
        #expect(!(try file.dataset(at: "float16").readTensor().isMapped))
        #expect(try file.dataset(at: "int32").readTensor().int64s == (0..<(32 * 48)).map(Int64.init))
        // Reading in place (bits, widened) leaves the tensor mapped; using it as an array copies it once.
        #expect(contiguous.values(Float.self)?.count == 32 * 48 && !contiguous.isMapped)
        // Opened with `readsInPlace: false` (a temporary file), every dataset is copied through libhdf5.
        let copying = try HDF5File(url: HDF5Fixture.url(name), readsInPlace: false)
        let copy = try copying.dataset(at: "contiguous").readTensor()
        #expect(!copy.isMapped && Self.bits(copy) == Self.bits(chunked))
    }

    /// An image opened from bytes: in place when the bytes are a live file mapping (offsets relative to
    /// the image), copied otherwise; the same values either way.
    @Test("an HDF5 image in a file mapping is read in place; in plain memory it is copied")
    func imageInPlace() throws {
        let url = HDF5Fixture.url("mapped.h5")
        let expected = Self.bits(try HDF5Fixture.open("mapped.h5").dataset(at: "chunked").readTensor())
        let mapping = try #require(FileMapping(path: url.path))
        let base = try #require(mapping.bytes.baseAddress)
        let mapped = Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: base), count: mapping.bytes.count, deallocator: .none)
        let inPlace = try withExtendedLifetime(mapping) { try HDF5File(image: mapped, url: url) }
        let tensor = try inPlace.dataset(at: "contiguous").readTensor()
        #expect(tensor.isMapped && Self.bits(tensor) == expected)
        #expect(Self.bits(try inPlace.dataset(at: "chunked").readTensor()) == expected)
        let copied = try HDF5File(image: try Data(contentsOf: url), url: url)
        let copy = try copied.dataset(at: "contiguous").readTensor()
        #expect(!copy.isMapped && Self.bits(copy) == expected)
        #expect(try copied.attributeNames == [])
    }

    /// libhdf5 reads an image only within its bounds: the first half of a file, inside a mapping of the
    /// whole file (so a read past the half would find the real bytes), is refused as truncated.
    @Test("an image cut short is refused as truncated, though the bytes after it are mapped")
    func truncatedImage() throws {
        let url = HDF5Fixture.url("mapped.h5")
        let mapping = try #require(FileMapping(path: url.path))
        let base = try #require(mapping.bytes.baseAddress)
        let half = Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: base), count: mapping.bytes.count / 2, deallocator: .none)
        withExtendedLifetime(mapping) {
            expectHDF5Error("cannot open", "mapped.h5", "truncated") { _ = try HDF5File(image: half, url: url) }
            expectHDF5Error("is not an HDF5 file", "no HDF5 signature") {
                _ = try HDF5File(image: Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: base + 1), count: 4096, deallocator: .none), url: url)
            }
        }
    }
}
