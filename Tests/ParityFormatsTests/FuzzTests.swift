import Foundation
@testable import ParityFormats
import ParityTensor
import ParityTestSupport
import Testing

/// Deterministic mutation fuzzing: every real fixture file, damaged a few hundred ways (bytes
/// flipped, overwritten with 0x00 / 0xff / random values, truncated, spliced), must read or throw a
/// FormatError: never crash, hang or throw anything else.
@Suite("Fuzzing the readers", .timeLimit(.minutes(2)))
struct FuzzTests {
    enum Reader: String, CaseIterable {
        case npy, npz, safetensors, torch, pickle
    }

    static func inputs(_ reader: Reader) throws -> [(String, Data)] {
        func files(_ folder: String, _ suffix: String, _ section: String) throws -> [(String, Data)] {
            try FormatFixtures.members(try FormatFixtures.expected(folder)[section]).map(\.0).filter { $0.hasSuffix(suffix) }
                .map { ("\(folder)/\($0)", try FormatFixtures.data("\(folder)/\($0)")) }
        }
        switch reader {
        case .npy: return try files("npy", ".npy", "files")
        case .npz: return try files("npz", ".npz", "files")
        case .safetensors: return try files("safetensors", ".safetensors", "files")
        case .torch: return try files("torch", ".pt", "files").filter { !$0.0.hasSuffix("legacy.pt") }
        case .pickle:
            return try ["state_dict.pt", "dtypes.pt", "views.pt", "params.pt", "checkpoint.pt", "proto4.pt"]
                .map { ("torch/\($0):data.pkl", try PickleTests.pickle($0)) }
        }
    }

    static func read(_ reader: Reader, _ data: Data) throws {
        switch reader {
        case .npy: _ = try NumpyArray.read(data, source: "fuzz")
        case .npz: _ = try NumpyArchive.read(data, source: "fuzz")
        case .safetensors: _ = try SafeTensors.read(data, source: "fuzz")
        case .torch:
            // Materialise every tensor anywhere in the saved object (a checkpoint nests its state_dict).
            var archive = try TorchArchive(data, source: "fuzz")
            var pending = [archive.root]
            while let value = pending.popLast() {
                switch value {
                case .tensor(let t): _ = try archive.materialize(t, key: "fuzz")
                case .dict(let d): pending += d.entries.map(\.value)
                case .list(let items), .tuple(let items), .set(let items): pending += items
                default: break
                }
            }
        case .pickle: _ = try RestrictedPickle.load(data, source: "fuzz")
        }
    }

    static func mutate(_ original: Data, _ generator: inout SeededGenerator) -> Data {
        var bytes = [UInt8](original)
        guard !bytes.isEmpty else { return original }
        func position() -> Int { Int(generator.next() % UInt64(bytes.count)) }
        switch generator.next() % 6 {
        case 0:  // flip a few bits
            for _ in 0..<(1 + generator.next() % 4) { bytes[position()] ^= UInt8(1 << (generator.next() % 8)) }
        case 1:  // overwrite a run with 0x00 or 0xff (lengths and offsets become 0 or huge)
            let start = position(), value: UInt8 = generator.next() % 2 == 0 ? 0 : 0xff
            for i in start..<min(bytes.count, start + 1 + Int(generator.next() % 8)) { bytes[i] = value }
        case 2:  // random bytes
            for _ in 0..<(1 + generator.next() % 8) { bytes[position()] = UInt8(truncatingIfNeeded: generator.next()) }
        case 3:  // truncate
            bytes.removeLast(bytes.count - position())
        case 4:  // delete a run
            let start = position()
            bytes.removeSubrange(start..<min(bytes.count, start + 1 + Int(generator.next() % 16)))
        default:  // duplicate a run elsewhere
            let start = position(), end = min(bytes.count, start + 1 + Int(generator.next() % 32))
            bytes.insert(contentsOf: bytes[start..<end], at: position())
        }
        return Data(bytes)
    }

    @Test(arguments: Reader.allCases)
    func mutatedFilesReadOrThrowFormatError(_ reader: Reader) throws {
        let inputs = try Self.inputs(reader)
        #expect(!inputs.isEmpty)
        let perFile = 300
        var generator = SeededGenerator(seed: 0x5eed_0000 + UInt64(reader.rawValue.utf8.count))
        var outcomes = (read: 0, refused: 0)
        for (name, original) in inputs {
            try Self.read(reader, original)  // the unmutated file reads
            for round in 0..<perFile {
                let mutated = Self.mutate(original, &generator)
                do {
                    try Self.read(reader, mutated)
                    outcomes.read += 1
                } catch is FormatError {
                    outcomes.refused += 1
                } catch {
                    Issue.record("\(name) mutation \(round): \(type(of: error)) \(error) is not a FormatError")
                }
            }
        }
        #expect(outcomes.refused > 0)
        print("fuzz \(reader): \(inputs.count) files × \(perFile) mutations: \(outcomes.read) read, \(outcomes.refused) refused")
    }

    /// Random bytes after a valid prefix, at every length up to 64: the header parsers see every cut.
    @Test func everyPrefixOfAHeader() throws {
        let cases: [(Reader, String)] = [(.npy, "npy/f4_c.npy"), (.safetensors, "safetensors/unsigned.safetensors"),
                                         (.torch, "torch/params.pt")]
        for (reader, path) in cases {
            let data = try FormatFixtures.data(path)
            for length in 0..<min(data.count, 400) {
                do { try Self.read(reader, data.prefix(length)) } catch is FormatError {} catch {
                    Issue.record("\(path) cut at \(length): \(type(of: error))")
                }
            }
        }
    }

    /// The in-place path (``FileMapping``, ``ArrayRecord/toTensor()``): the `.safetensors` and `.pt`
    /// of `in_place/` (float32/float64 tensors of a page or more), damaged as above, written to a file
    /// and read from it mapped, every record made a tensor and every element read. Each reads or throws
    /// a FormatError, and some of the damaged files that read keep tensors in place.
    @Test func mutatedFilesReadInPlaceOrThrowFormatError() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("parity-fuzz-in-place-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var generator = SeededGenerator(seed: 0x5eed_1000)
        var outcomes = (read: 0, inPlace: 0, refused: 0)
        for name in ["model.safetensors", "state_dict.pt"] {
            let original = try FormatFixtures.data("in_place/\(name)")
            for round in 0..<200 {
                let url = folder.appendingPathComponent("\(round)-\(name)")
                try Self.mutate(original, &generator).write(to: url)
                do {
                    let named = name.hasSuffix(".pt") ? try TorchStateDict.read(contentsOf: url) : try SafeTensors.read(contentsOf: url).tensors
                    let tensors = try named.map { try $0.record.toTensor() }
                    _ = tensors.reduce(0.0) { $0 + $1.doubles.reduce(0, +) }  // every element read
                    outcomes.read += 1
                    if tensors.contains(where: \.isMapped) { outcomes.inPlace += 1 }
                } catch is FormatError {
                    outcomes.refused += 1
                } catch {
                    Issue.record("\(name) mutation \(round): \(type(of: error)) \(error) is not a FormatError")
                }
            }
        }
        #expect(outcomes.refused > 0 && outcomes.inPlace > 0)
        print("fuzz in place: 2 files × 200 mutations: \(outcomes.read) read (\(outcomes.inPlace) with tensors in place), \(outcomes.refused) refused")
    }
}
