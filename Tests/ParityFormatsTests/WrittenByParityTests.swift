import Foundation
@testable import ParityFormats
import ParityTestSupport
import Testing

/// Files Parity writes, checked by the real libraries: with `PARITY_RECORD_FORMATS=1` this suite
/// writes them to `Tests/Fixtures/formats/written_by_parity/`, then
/// `scripts/make_format_fixtures.py --verify` loads them with `torch.load(weights_only=True)`,
/// safetensors and numpy and records the outcome in `written_by_parity.verified.json`. Normally the
/// suite checks that the writer still produces what was verified, and that the record says so.
@Suite("Files written by Parity, verified by torch / safetensors / numpy")
struct WrittenByParityTests {
    static let folder = FormatFixtures.url("written_by_parity")
    static var recording: Bool { ProcessInfo.processInfo.environment["PARITY_RECORD_FORMATS"] == "1" }

    static func outputs() throws -> [(name: String, data: Data)] {
        var out: [(String, Data)] = []
        for name in ["dtypes.pt", "views.pt", "state_dict.pt"] {
            let tensors = try TorchStateDict.read(contentsOf: FormatFixtures.url("torch/\(name)"))
            out.append((name, try TorchStateDict.encode(tensors, archiveName: String(name.dropLast(3)))))
        }
        let (tensors, metadata) = try SafeTensors.read(contentsOf: FormatFixtures.url("safetensors/model.safetensors"))
        out.append(("model.safetensors", try SafeTensors.encode(tensors, metadata: metadata)))
        for (name, compressed) in [("arrays.npz", false), ("compressed.npz", true)] {
            let arrays = try NumpyArchive.read(contentsOf: FormatFixtures.url("npz/\(name)"))
            out.append((name, try NumpyArchive.encode(arrays, compressed: compressed)))
        }
        return out
    }

    /// Zip members and their contents (the DOS timestamps depend on the time zone, so not the bytes).
    static func members(_ data: Data) throws -> [String] {
        let zip = try ZipContainer(data: data, file: "zip")
        return try zip.members.map { "\($0.name) method \($0.method) " + FormatFixtures.hex(try zip.contents(of: $0)) }
    }

    @Test func writerStillProducesTheVerifiedFiles() throws {
        for (name, data) in try Self.outputs() {
            let url = Self.folder.appendingPathComponent(name)
            if Self.recording {
                try FileManager.default.createDirectory(at: Self.folder, withIntermediateDirectories: true)
                try data.write(to: url)
                continue
            }
            let committed = try Data(contentsOf: url)
            if name.hasSuffix(".safetensors") {
                #expect(data == committed, "\(name)")
            } else {
                #expect(try Self.members(data) == Self.members(committed), "\(name)")
            }
        }
    }

    @Test func torchSafetensorsAndNumpyLoadedThem() throws {
        let report = try Fixtures.json("formats/written_by_parity.verified.json")
        #expect(report["torch"]?.string?.hasPrefix("2.15") == true)
        let files = FormatFixtures.members(report["files"])
        #expect(files.map(\.0) == ["arrays.npz", "compressed.npz", "dtypes.pt", "model.safetensors", "state_dict.pt", "views.pt"])
        for (name, entry) in files {
            #expect(entry["error"] == nil, "\(name): \(entry["error"]?.string ?? "")")
            #expect(entry["bit_exact"]?.bool == true, "\(name) is bit-exact")
            if name.hasSuffix(".pt") {
                #expect(entry["weights_only_load"]?.string == "ok" && entry["weights_only_load_mmap"]?.string == "ok", "\(name)")
                #expect(entry["keys_in_order"]?.bool == true)
            }
        }
        #expect(report["files"]?["state_dict.pt"]?["load_state_dict_strict"]?.string == "missing=[] unexpected=[]")
        #expect(report["files"]?["model.safetensors"]?["byte_identical_to_reference_writer"]?.bool == true)
        #expect(report["files"]?["compressed.npz"]?["compression"]?.ints == [8])
    }
}
