import Foundation
import ParityFormats
import ParityTensor
import ParityTestSupport
import Testing

@Suite("safetensors")
struct SafeTensorsTests {
    @Test func readsReferenceFiles() throws {
        let expected = try FormatFixtures.expected("safetensors")
        for (name, want) in FormatFixtures.members(expected["files"]) {
            let (tensors, metadata) = try SafeTensors.read(contentsOf: FormatFixtures.url("safetensors/\(name)"))
            let records = try #require(want["tensors"]?.array)
            #expect(tensors.map(\.name) == records.compactMap { $0["name"]?.string }, "\(name): order")
            for (tensor, record) in zip(tensors, records) { try FormatFixtures.check(tensor.record, record, "\(name):\(tensor.name)") }
            var wantMetadata: [String: String] = [:]
            for (key, value) in FormatFixtures.members(want["metadata"]) { wantMetadata[key] = value.string }
            #expect(metadata == wantMetadata, "\(name): metadata")
        }
    }

    /// Read → write gives the reference writer's exact bytes (sort order, header JSON, padding).
    @Test func writerMatchesTheReferenceByteForByte() throws {
        for name in ["model.safetensors", "unsigned.safetensors"] {
            let original = try FormatFixtures.data("safetensors/\(name)")
            let (tensors, metadata) = try SafeTensors.read(original, source: name)
            let written = try SafeTensors.encode(tensors.reversed(), metadata: metadata)
            #expect(written == original, "\(name)")
            let again = try SafeTensors.read(written)
            #expect(again.metadata == metadata)
            #expect(again.tensors.map(\.name) == tensors.map(\.name) && zip(again.tensors, tensors).allSatisfy { $0.record == $1.record })
        }
    }

    /// Files written by PyTorch 2.15 and safetensors (`scripts/make_in_place_fixtures.py`): a float32 or
    /// float64 tensor of at least a page, aligned in the mapped file, is read in place by `toTensor()`;
    /// a small one and a float16 one (widened) are copied; all give the stored values. (The `.pt`
    /// is here, beside the safetensors file, because one test covers both readers' shared path.)
    @Test func largeTensorsAreReadInPlace() throws {
        let w = Tensor(shape: [32, 40], values: (0..<1280).map { Float($0) / 7 })
        let d = Tensor(shape: [1024], values: (0..<1024).map { Double($0) / 7 })
        let h = try ArrayRecord(Tensor(shape: [1280], values: (0..<1280).map { Float($0) / 7 }), as: .float16).toTensor()
        let folder = FormatFixtures.url("in_place")
        for (file, read) in [("safetensors", try SafeTensors.read(contentsOf: folder.appendingPathComponent("model.safetensors")).tensors),
                             (".pt", try TorchStateDict.read(contentsOf: folder.appendingPathComponent("state_dict.pt")))] {
            let tensors = try Dictionary(uniqueKeysWithValues: read.map { ($0.name, try $0.record.toTensor()) })
            #expect(tensors["w"]?.isMapped == true && tensors["d"]?.isMapped == true, "\(file)")
            #expect(tensors["s"]?.isMapped == false && tensors["h"]?.isMapped == false, "\(file)")
            #expect(tensors["w"] == w && tensors["d"] == d && tensors["h"] == h, "\(file)")
            #expect(tensors["s"] == Tensor(shape: [3], values: [Float(1), 2, 3]), "\(file)")
            // Written back (a converted model's state_dict) from the mapping, which stays uncopied.
            let records = Dictionary(uniqueKeysWithValues: read.map { ($0.name, $0.record) })
            #expect(try ["w", "d"].allSatisfy { ArrayRecord(try #require(tensors[$0])) == records[$0] }, "\(file)")
            #expect(try ArrayRecord(try #require(tensors["w"]), as: .float16) == ArrayRecord(w, as: .float16), "\(file)")
            #expect(try ArrayRecord(try #require(tensors["d"]), as: .float32) == ArrayRecord(d, as: .float32), "\(file)")
            #expect(tensors["w"]?.isMapped == true && tensors["d"]?.isMapped == true, "\(file): copied by a write")
        }
    }

    @Test func writerRefusesDuplicateAndReservedNames() throws {
        let record = ArrayRecord(Tensor(shape: [1], values: [Float(1)]))
        #expect(throws: FormatError.self) { try SafeTensors.encode([("a", record), ("a", record)]) }
        #expect(throws: FormatError.self) { try SafeTensors.encode([("__metadata__", record)]) }
        let empty = try SafeTensors.encode([])
        #expect(empty == Data([8, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20]))  // the reference's test_empty
    }

    /// Each hostile header gives the expected case; none allocates what it claims.
    @Test func hostileFilesAreRefused() throws {
        let expected = try FormatFixtures.expected("safetensors")
        let hostile = FormatFixtures.members(expected["hostile"])
        #expect(hostile.count == 20)
        for (name, want) in hostile {
            let error = FormatFixtures.formatError(name) { _ = try SafeTensors.read(contentsOf: FormatFixtures.url("safetensors/\(name)")) }
            guard let error else { continue }
            #expect(FormatFixtures.caseName(error) == want["error"]?.string, "\(name): \(error)")
        }
    }

    @Test func errorMessagesNameTheTensor() throws {
        func message(_ name: String) -> String {
            FormatFixtures.formatError(name) { _ = try SafeTensors.read(contentsOf: FormatFixtures.url("safetensors/\(name)")) }
                .map { "\($0)" } ?? ""
        }
        #expect(message("overlapping.safetensors").contains("tensor 'b': invalid data_offsets [8, 24]: expected to begin at 16; overlaps"))
        #expect(message("gap.safetensors").contains("leaves a gap"))
        #expect(message("header_terabytes.safetensors").contains("1099511627776 bytes exceeds the limit 100000000 bytes"))
        #expect(message("size_mismatch.safetensors").contains("shape [3] of float32 needs 12 bytes"))
        #expect(message("duplicate_key.safetensors").contains("duplicate key 'a'"))
        #expect(message("fp8_dtype.safetensors").contains("unsupported dtype F8_E4M3"))
    }

    @Test func jsonHeaderEscapesAndOrder() throws {
        let record = ArrayRecord(Tensor(shape: [], values: [Float(2)]))
        let names = ["b\"q", "a\\b", "z\n", "é"]
        let written = try SafeTensors.encode(names.map { ($0, record) }, metadata: ["k\u{1}": "v\t"])
        let (tensors, metadata) = try SafeTensors.read(written)
        #expect(Set(tensors.map(\.name)) == Set(names))
        #expect(metadata == ["k\u{1}": "v\t"])
        let header = String(decoding: written.dropFirst(8).prefix(60), as: UTF8.self)
        #expect(header.hasPrefix(#"{"__metadata__":{"k\u0001":"v\t"},"a\\b":"#))
    }
}
