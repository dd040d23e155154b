import Foundation
import ParityFormats
import ParityTensor
import ParityTestSupport
import Testing

@Suite("NumPy .npy and .npz")
struct NumpyTests {
    /// Every array numpy wrote (all dtypes, both byte orders, C and Fortran order, 0-d, empty,
    /// versions 1.0 to 3.0) reads back bit-exact, converted to little-endian row-major.
    @Test func readsEveryNumpyFile() throws {
        let expected = try FormatFixtures.expected("npy")
        let files = FormatFixtures.members(expected["files"])
        #expect(files.count == 20)
        for (name, want) in files {
            let record = try NumpyArray.read(contentsOf: FormatFixtures.url("npy/\(name)"))
            try FormatFixtures.check(record, want, name)
        }
    }

    /// The writer produces numpy's exact bytes (header, padding, growth space) for C-order
    /// little-endian arrays, and reads back bit-exact for every file.
    @Test func writerMatchesNumpyByteForByte() throws {
        let expected = try FormatFixtures.expected("npy")
        var identical = 0
        for (name, want) in FormatFixtures.members(expected["files"]) {
            let original = try FormatFixtures.data("npy/\(name)")
            let record = try NumpyArray.read(original, source: name)
            let written = try NumpyArray.encode(record)
            #expect(try NumpyArray.read(written) == record, "\(name): round trip")
            if want["fortran_order"]?.bool == false, want["big_endian"]?.bool == false, want["version"]?.string == "1.0" {
                #expect(written == original, "\(name): bytes differ from numpy's")
                identical += 1
            }
        }
        #expect(identical == 12)
    }

    @Test func headerParserAcceptsNumpyVariants() throws {
        func npy(_ header: String, _ data: [UInt8]) -> Data {
            let body = Array(header.utf8)
            return Data([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, UInt8(body.count & 0xff), UInt8(body.count >> 8)] + body + data)
        }
        // Double quotes, no trailing comma, keys in any order, no padding or newline.
        let record = try NumpyArray.read(npy(#"{"shape": (2,), "fortran_order": False, "descr": "<i2"}"#, [1, 0, 2, 0]))
        #expect(try record.toTensor() == Tensor(shape: [2], int64: [1, 2]))
        let empty = try NumpyArray.read(npy("{'descr': '|u1', 'fortran_order': True, 'shape': (0, 2), }\n", []))
        #expect(empty.shape == [0, 2] && empty.bytes.isEmpty)
        for bad in ["{'descr': '<f4', 'fortran_order': False, 'shape': (2), }", "{'descr': '<f4', 'fortran_order': 0, 'shape': (1,), }",
                    "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'shape': (1,)}", "{'descr': '<f4\\x', 'fortran_order': False, 'shape': (1,)}",
                    "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} x", "", "{'descr': '=f4', 'fortran_order': False, 'shape': (1,)}"] {
            #expect(throws: FormatError.self, "\(bad)") { try NumpyArray.read(npy(bad, [0, 0, 0, 0])) }
        }
    }

    /// Each corrupt file gives the expected FormatError case, without allocating what it claims.
    @Test func corruptFilesAreRefused() throws {
        let expected = try FormatFixtures.expected("npy")
        let corrupt = FormatFixtures.members(expected["corrupt"])
        #expect(corrupt.count == 13)
        for (name, want) in corrupt {
            let error = FormatFixtures.formatError(name) { _ = try NumpyArray.read(contentsOf: FormatFixtures.url("npy/\(name)")) }
            guard let error else { continue }
            #expect(FormatFixtures.caseName(error) == want["error"]?.string, "\(name): \(error)")
            #expect("\(error)".contains(FormatFixtures.url("npy/\(name)").path), "\(name): the message names the file")
        }
    }

    @Test func errorMessagesSayWhatAndWhere() throws {
        let huge = FormatFixtures.formatError("huge") { _ = try NumpyArray.read(contentsOf: FormatFixtures.url("npy/huge_shape.npy")) }
        #expect(huge.map { "\($0)" }?.contains("needs 4000000000000000000 bytes, 24 left") == true)
        let keys = FormatFixtures.formatError("keys") { _ = try NumpyArray.read(contentsOf: FormatFixtures.url("npy/wrong_keys.npy")) }
        #expect(keys.map { "\($0)" }?.contains("['descr', 'extra', 'fortran_order', 'shape']") == true)
        let object = FormatFixtures.formatError("object") { _ = try NumpyArray.read(contentsOf: FormatFixtures.url("npy/object_dtype.npy")) }
        #expect(object.map { "\($0)" }?.contains("'|O'") == true)
    }

    @Test func bfloat16IsNotWritten() throws {
        let record = try ArrayRecord(Tensor(shape: [1], values: [Float(1)]), as: .bfloat16)
        #expect(throws: FormatError.self) { try NumpyArray.encode(record) }
    }

    // MARK: npz

    @Test func readsSavezAndSavezCompressed() throws {
        let expected = try FormatFixtures.expected("npz")
        for (name, want) in FormatFixtures.members(expected["files"]) {
            let arrays = try NumpyArchive.read(contentsOf: FormatFixtures.url("npz/\(name)"))
            let members = try #require(want["members"]?.array)
            #expect(arrays.map(\.name) == members.compactMap { $0["name"]?.string }, "\(name): member order")
            for (array, member) in zip(arrays, members) { try FormatFixtures.check(array.record, member, "\(name):\(array.name)") }
        }
        let byName = try NumpyArchive.dictionary(contentsOf: FormatFixtures.url("npz/compressed.npz"))
        #expect(byName["arr_0"]?.shape == [2, 2])
    }

    @Test func npzRoundTripsStoredAndDeflated() throws {
        let arrays = try NumpyArchive.read(contentsOf: FormatFixtures.url("npz/arrays.npz"))
        for compressed in [false, true] {
            let written = try NumpyArchive.encode(arrays, compressed: compressed)
            let again = try NumpyArchive.read(written)
            #expect(again.map(\.name) == arrays.map(\.name))
            #expect(zip(again, arrays).allSatisfy { $0.record == $1.record })
        }
        #expect(throws: FormatError.self) { try NumpyArchive.encode([arrays[0], arrays[0]]) }
    }

    @Test func corruptArchivesAreRefused() throws {
        let expected = try FormatFixtures.expected("npz")
        for (name, want) in FormatFixtures.members(expected["corrupt"]) {
            let error = FormatFixtures.formatError(name) { _ = try NumpyArchive.read(contentsOf: FormatFixtures.url("npz/\(name)")) }
            guard let error else { continue }
            #expect(FormatFixtures.caseName(error) == want["error"]?.string, "\(name): \(error)")
        }
    }
}
