import Foundation
@testable import ParityFormats
import ParityTensor
import ParityTestSupport
import Testing

@Suite("PyTorch state_dict archives")
struct TorchStateDictTests {
    /// Every torch.save file (state_dict, all dtypes incl. v3 uint16/32/64, views, parameters, a
    /// checkpoint's inner dict, protocol 4, big-endian) reads bit-exact.
    @Test func readsEveryTorchFile() throws {
        let expected = try FormatFixtures.expected("torch")
        var checked = 0
        for (name, want) in FormatFixtures.members(expected["files"]) where want["tensors"] != nil {
            let tensors = try TorchStateDict.read(contentsOf: FormatFixtures.url("torch/\(name)"), key: want["key"]?.string)
            let records = try #require(want["tensors"]?.array)
            #expect(tensors.map(\.name) == records.compactMap { $0["name"]?.string }, "\(name): order")
            for (tensor, record) in zip(tensors, records) { try FormatFixtures.check(tensor.record, record, "\(name):\(tensor.name)") }
            checked += 1
        }
        #expect(checked == 8)
    }

    /// Views are materialised row-major from (storage, offset, size, stride); contiguous runs are
    /// not copied, and shared storages are read once.
    @Test func viewsShareTheirStorage() throws {
        var archive = try TorchArchive(contentsOf: FormatFixtures.url("torch/views.pt"))
        guard case .dict(let dict) = archive.root else { Issue.record("not a dict"); return }
        var byName: [String: TorchTensorReference] = [:]
        for (key, value) in dict.entries { if case .string(let k) = key, case .tensor(let t) = value { byName[k] = t } }
        let base = try #require(byName["base"]), sliced = try #require(byName["sliced"]), element = try #require(byName["element"])
        #expect(sliced.storage == base.storage && sliced.storageOffset == 6 && sliced.strides == [6, 2])
        #expect(element.shape == [] && element.storageOffset == 15)
        #expect(try #require(byName["expanded"]).strides == [0, 1])
        let record = try archive.materialize(sliced, key: "sliced")
        #expect(try record.toTensor() == Tensor(shape: [3, 3], values: [Float(3), 4, 5, 6, 7, 8, 9, 10, 11]))
        #expect(try archive.materialize(element, key: "element").toTensor() == Tensor(shape: [], values: [Float(7.5)]))
        #expect(archive.materializedBytes == 40)
    }

    /// Parity's writer emits torch.save's exact data.pkl for the same OrderedDict (v2 and v3 tensors,
    /// 0-d and empty ones), and its archive reads back bit-exact.
    @Test func writerMatchesTorchSavePickleByteForByte() throws {
        for name in ["plain_state_dict.pt", "dtypes.pt"] {
            let tensors = try TorchStateDict.read(contentsOf: FormatFixtures.url("torch/\(name)"))
            let written = try TorchStateDict.encode(tensors, archiveName: "parity")
            let archive = try ZipContainer(data: written, file: "written")
            #expect(archive.members.map(\.name) == ["parity/data.pkl", "parity/.format_version", "parity/.storage_alignment", "parity/byteorder"]
                + tensors.indices.map { "parity/data/\($0)" } + ["parity/version"])
            let ours = try archive.contents(of: try #require(archive.member(named: "parity/data.pkl")))
            #expect(ours == (try PickleTests.pickle(name)), "\(name): data.pkl differs from torch.save's")
            let again = try TorchStateDict.read(written)
            #expect(again.map(\.name) == tensors.map(\.name))
            #expect(zip(again, tensors).allSatisfy { $0.record == $1.record }, "\(name): round trip")
        }
    }

    @Test func roundTripsEveryFileBitExact() throws {
        let expected = try FormatFixtures.expected("torch")
        for (name, want) in FormatFixtures.members(expected["files"]) where want["tensors"] != nil {
            let tensors = try TorchStateDict.read(contentsOf: FormatFixtures.url("torch/\(name)"), key: want["key"]?.string)
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("parity-\(UUID().uuidString).pt")
            defer { try? FileManager.default.removeItem(at: url) }
            try TorchStateDict.write(tensors, to: url)
            let again = try TorchStateDict.read(contentsOf: url)
            #expect(again.map(\.name) == tensors.map(\.name) && zip(again, tensors).allSatisfy { $0.record == $1.record }, "\(name)")
        }
        let record = ArrayRecord(Tensor(shape: [1], values: [Float(1)]))
        #expect(throws: FormatError.self) { try TorchStateDict.encode([("a", record), ("a", record)]) }
    }

    @Test func bigEndianArchivesAreSwapped() throws {
        let big = try TorchStateDict.read(contentsOf: FormatFixtures.url("torch/big_endian.pt"))
        let little = try TorchStateDict.read(contentsOf: FormatFixtures.url("torch/dtypes.pt"))
        #expect(zip(big, little).allSatisfy { $0.name == $1.name && $0.record == $1.record })
        // torch 2.15 itself gets uint16 and uint64 wrong here (recorded by the generator).
        let expected = try FormatFixtures.expected("torch")
        #expect(expected["files"]?["big_endian.pt"]?["torch_load_differs_from_original_for"]?.array?.compactMap(\.string) == ["u16", "u64"])
    }

    @Test func readsAMemberOfACheckpoint() throws {
        let url = FormatFixtures.url("torch/checkpoint.pt")
        #expect(try TorchStateDict.read(contentsOf: url, key: "model").map(\.name) == ["w", "b"])
        let whole = FormatFixtures.formatError("whole checkpoint") { _ = try TorchStateDict.read(contentsOf: url) }
        #expect(whole.map { "\($0)" }?.contains("tensor 'model': value is of type OrderedDict, not a tensor") == true)
        #expect(throws: FormatError.self) { try TorchStateDict.read(contentsOf: url, key: "nope") }
    }

    /// A flipped bit in a storage record under its original CRC-32 loads, as torch.load loads it (it
    /// never checks storage CRCs; recorded by the generator), so storages stay unread until used.
    @Test func storageRecordsAreNotCRCCheckedAsInTorch() throws {
        let expected = try FormatFixtures.expected("torch")
        #expect(expected["files"]?["bad_crc.pt"]?["weights_only_load"]?.string == "ok")
        let bad = try TorchStateDict.read(contentsOf: FormatFixtures.url("torch/bad_crc.pt"))
        let good = try TorchStateDict.read(contentsOf: FormatFixtures.url("torch/state_dict.pt"))
        #expect(bad.map(\.name) == good.map(\.name))
        #expect(zip(bad, good).filter { $0.record != $1.record }.count == 1)
    }

    /// Every hostile archive gives the expected error; the forbidden globals are named.
    @Test func hostileArchivesAreRefused() throws {
        let expected = try FormatFixtures.expected("torch")
        let hostile = FormatFixtures.members(expected["hostile"])
        #expect(hostile.count == 25)
        for (name, want) in hostile {
            let error = FormatFixtures.formatError(name) { _ = try TorchStateDict.read(contentsOf: FormatFixtures.url("torch/\(name)")) }
            guard let error else { continue }
            #expect(FormatFixtures.caseName(error) == want["error"]?.string, "\(name): \(error)")
            if let global = want["global"]?.string {
                guard case .forbiddenGlobal(_, let named, _) = error else { continue }
                #expect(named == global)
                #expect("\(error)".contains("references the global \(global), which is not allowed"))
            }
        }
        let legacy = FormatFixtures.formatError("legacy") { _ = try TorchStateDict.read(contentsOf: FormatFixtures.url("torch/legacy.pt")) }
        #expect(legacy.map { "\($0)" }?.contains("legacy torch.save format") == true)
    }

    @Test func boundsOnMaterialisation() throws {
        // A 1,000,000 × 1,000,000 stride-0 view of 4 floats: refused before allocating.
        let huge = FormatFixtures.formatError("huge view") { _ = try TorchStateDict.read(contentsOf: FormatFixtures.url("torch/huge_view.pt")) }
        #expect(huge.map { "\($0)" }?.contains("materialised tensor bytes") == true)
        let outside = FormatFixtures.formatError("out of bounds") {
            _ = try TorchStateDict.read(contentsOf: FormatFixtures.url("torch/view_out_of_bounds.pt"))
        }
        #expect(outside.map { "\($0)" }?.contains("tensor 't': view (offset 2, size [4], stride [1]) reaches element 5 of a storage of 4 float32 elements") == true)
        var archive = try TorchArchive(contentsOf: FormatFixtures.url("torch/views.pt"), maxMaterializedBytes: 100)
        guard case .tensor(let base)? = archive.root["base"] else { Issue.record("no base"); return }
        _ = try archive.materialize(base, key: "base")
        #expect(throws: FormatError.self) { try archive.materialize(base, key: "again") }
    }
}
