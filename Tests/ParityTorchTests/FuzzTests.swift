import Foundation
import Testing
import ParityTestSupport
import ParityTorch
import ParityNN

/// Deterministic mutations of every committed `.pt2` fixture: `TorchProgram.load` followed by an
/// eager run on the fixture's inputs must either succeed or throw, never crash (a crash ends the
/// test process) or hang (each mutation must finish within ``slowLimit``; the time limit is a
/// backstop, generous because parallel tests share two cores).
///
/// Two kinds: raw byte mutations and truncations of the archive (the ZIP layer; each stored record
/// is CRC-checked, so most end there), and mutations of one record's contents (numbers replaced by
/// extreme values, strings swapped, spans deleted, weights truncated) re-zipped with valid CRCs, which
/// reach the JSON, graph, payload and operator code. `PARITY_FUZZ_MUTATIONS=400` runs more per file
/// (the reader was checked with 400: no crash).
@Suite("Fuzzed .pt2 archives")
struct FuzzTests {
    static let fixtures = runnableFixtures + ["unsupported"]
    /// Seconds one load-and-run may take (the slowest fixture takes ~0.05 s in a debug build).
    static let slowLimit = 5.0
    static let mutationsPerFile = Int(ProcessInfo.processInfo.environment["PARITY_FUZZ_MUTATIONS"] ?? "") ?? 60

    @Test("byte mutations and truncations of the archive load and run, or throw", .timeLimit(.minutes(5)), arguments: fixtures)
    func archiveBytes(name: String) throws {
        let fixture = try TorchFixture(name)
        let original = try Data(contentsOf: fixture.archive)
        let inputs = (try? fixture.tensors("inputs", as: .float32)) ?? []
        var rng = SplitMix64(seed: fnv1a("bytes/" + name))
        let headers = ZipLayout.headerOffsets(original)
        var outcomes = Outcomes()
        for i in 0..<Self.mutationsPerFile {
            let mutated = ByteMutator.mutate(original, headers: headers, step: i, rng: &rng)
            outcomes.record(try Self.loadAndRun(mutated, inputs: inputs, label: "\(name)-\(i)"))
        }
        print("[torch fuzz] \(name) bytes: \(outcomes)")
        #expect(outcomes.total == Self.mutationsPerFile)
    }

    @Test("mutated records re-zipped with valid CRCs load and run, or throw", .timeLimit(.minutes(5)), arguments: fixtures)
    func recordContents(name: String) throws {
        let fixture = try TorchFixture(name)
        let original = try Data(contentsOf: fixture.archive)
        let inputs = (try? fixture.tensors("inputs", as: .float32)) ?? []
        let entries = try #require(ZipLayout.storedEntries(original), "\(name).pt2 is not a stored zip this test can rewrite")
        // The rewriter itself is faithful: the unmutated re-zip loads and runs.
        let baseline = try Self.loadAndRun(ZipLayout.write(entries), inputs: inputs, label: "\(name)-rezip")
        #expect(name == "unsupported" ? baseline == .threw : baseline == .ran, "\(name): re-zipped archive \(baseline)")
        var rng = SplitMix64(seed: fnv1a("records/" + name))
        var outcomes = Outcomes()
        for i in 0..<Self.mutationsPerFile {
            var copy = entries
            let target = RecordMutator.pickRecord(copy, rng: &rng)
            copy[target].data = RecordMutator.mutate(copy[target].data, isJSON: copy[target].path.hasSuffix(".json"), rng: &rng)
            outcomes.record(try Self.loadAndRun(ZipLayout.write(copy), inputs: inputs, label: "\(name)-r\(i)"))
        }
        print("[torch fuzz] \(name) records: \(outcomes)")
        #expect(outcomes.total == Self.mutationsPerFile)
    }

    enum Outcome: Equatable { case ran, threw }

    struct Outcomes: CustomStringConvertible {
        var ran = 0, threw = 0
        var total: Int { ran + threw }
        mutating func record(_ o: Outcome) { if o == .ran { ran += 1 } else { threw += 1 } }
        var description: String { "\(ran) ran, \(threw) threw" }
    }

    static func loadAndRun(_ data: Data, inputs: [Tensor], label: String) throws -> Outcome {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("parity-torch-fuzz-\(label)-\(UUID().uuidString).pt2")
        try data.write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let start = Date()
        defer {
            let elapsed = Date().timeIntervalSince(start)
            #expect(elapsed < slowLimit, "\(label) took \(elapsed) s")
        }
        do {
            let program = try TorchProgram.load(url)
            _ = try program.run(inputs, mode: .eager)
            return .ran
        } catch {
            return .threw
        }
    }
}

// MARK: - mutations

/// `splitmix64`: a small deterministic generator (the same mutations on every run and platform).
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { n <= 0 ? 0 : Int(next() % UInt64(n)) }
}

func fnv1a(_ s: String) -> UInt64 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in s.utf8 { h = (h ^ UInt64(byte)) &* 0x100_0000_01B3 }
    return h
}

enum ByteMutator {
    /// 32-bit values that stress size and offset fields.
    static let interesting: [UInt32] = [0, 1, 0x7F, 0xFF, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0xFFFF_FFFE]

    /// One mutation, chosen by `step` (so every kind is used) and `rng`: a bit flip, a random byte,
    /// an interesting 16/32-bit value (half of them aimed at ZIP header fields, which no CRC covers),
    /// a truncation, a duplicated or deleted span.
    static func mutate(_ original: Data, headers: [Int], step: Int, rng: inout SplitMix64) -> Data {
        var data = [UInt8](original)
        func position() -> Int {
            if !headers.isEmpty, rng.below(2) == 0 {
                // A field within the first 46 bytes of a local or central header, or the end record.
                return Swift.min(headers[rng.below(headers.count)] + rng.below(46), data.count - 1)
            }
            return rng.below(data.count)
        }
        switch step % 6 {
        case 0:
            let at = position()
            data[at] ^= UInt8(1) << UInt8(rng.below(8))
        case 1:
            for _ in 0...rng.below(4) { data[position()] = UInt8(truncatingIfNeeded: rng.next()) }
        case 2:
            let value = interesting[rng.below(interesting.count)]
            let at = Swift.min(position(), data.count - 4)
            let width = rng.below(2) == 0 ? 2 : 4
            for k in 0..<width { data[at + k] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(k))) }
        case 3:
            data = Array(data.prefix(rng.below(data.count)))
        case 4:
            let start = rng.below(data.count), length = rng.below(64) + 1
            let span = data[start..<Swift.min(start + length, data.count)]
            data.insert(contentsOf: span, at: rng.below(data.count))
        default:
            let start = rng.below(data.count)
            data.removeSubrange(start..<Swift.min(start + rng.below(64) + 1, data.count))
        }
        return Data(data)
    }
}

enum RecordMutator {
    /// Mostly the program and the payload configs (where sizes, strides, offsets and arguments are),
    /// sometimes a weight's bytes.
    static func pickRecord(_ entries: [ZipLayout.Entry], rng: inout SplitMix64) -> Int {
        let json = entries.indices.filter { entries[$0].path.hasSuffix(".json") }
        let weights = entries.indices.filter { entries[$0].path.contains("/data/weights/weight_") || entries[$0].path.contains("/data/constants/tensor_") }
        if !weights.isEmpty, rng.below(5) == 0 { return weights[rng.below(weights.count)] }
        return json.isEmpty ? rng.below(entries.count) : json[rng.below(json.count)]
    }

    static let numbers = ["0", "-1", "1", "2", "3", "7", "65", "-9", "1000000", "2147483648", "4611686018427387904",
                          "9223372036854775807", "-9223372036854775808", "99999999999999999999", "1e308", "-0.0", "0.5", "null", "true"]

    /// Replaces a number with an extreme one, a quoted string with another of the file's strings,
    /// deletes a span, or (for binary records) truncates or extends.
    static func mutate(_ data: Data, isJSON: Bool, rng: inout SplitMix64) -> Data {
        var bytes = [UInt8](data)
        guard isJSON, !bytes.isEmpty else {
            if rng.below(2) == 0 { return Data(bytes.prefix(rng.below(bytes.count + 1))) }
            return Data(bytes + [UInt8](repeating: 0x3F, count: rng.below(16) + 1))
        }
        let text = bytes
        func tokens(_ isStart: (UInt8) -> Bool, _ continues: (UInt8) -> Bool) -> [Range<Int>] {
            var out: [Range<Int>] = [], i = 0
            var inString = false
            while i < text.count {
                if text[i] == UInt8(ascii: "\"") { inString.toggle() }
                if !inString, isStart(text[i]), i > 0, !continues(text[i - 1]) {
                    var j = i
                    while j < text.count, continues(text[j]) { j += 1 }
                    out.append(i..<j)
                    i = j
                    continue
                }
                i += 1
            }
            return out
        }
        switch rng.below(4) {
        case 0, 1:
            let isDigit = { (c: UInt8) in (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: "-") }
            let found = tokens(isDigit) { isDigit($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") }
            guard !found.isEmpty else { return data }
            let range = found[rng.below(found.count)]
            bytes.replaceSubrange(range, with: Array(numbers[rng.below(numbers.count)].utf8))
        case 2:
            var strings: [Range<Int>] = [], start: Int?
            for (i, c) in text.enumerated() where c == UInt8(ascii: "\"") && (i == 0 || text[i - 1] != UInt8(ascii: "\\")) {
                if let s = start { strings.append(s..<(i + 1)); start = nil } else { start = i }
            }
            guard strings.count >= 2 else { return data }
            let target = strings[rng.below(strings.count)], source = strings[rng.below(strings.count)]
            bytes.replaceSubrange(target, with: Array(text[source]))
        default:
            let start = rng.below(bytes.count)
            bytes.removeSubrange(start..<Swift.min(start + rng.below(24) + 1, bytes.count))
        }
        return Data(bytes)
    }
}

// MARK: - a minimal stored-ZIP reader and writer (the fixtures are stored, not deflated)

enum ZipLayout {
    struct Entry {
        var path: String
        var data: Data { didSet { crc = nil } }
        /// Cached, so a re-zip recomputes only the mutated record's CRC.
        var crc: UInt32?

        init(path: String, data: Data) {
            self.path = path
            self.data = data
            crc = ZipLayout.crc32(data)
        }
    }

    static func u16(_ b: [UInt8], _ at: Int) -> Int { Int(b[at]) | Int(b[at + 1]) << 8 }
    static func u32(_ b: [UInt8], _ at: Int) -> Int { u16(b, at) | u16(b, at + 2) << 16 }

    /// Offsets of every local header, central header and the end record (signatures `PK\3\4`,
    /// `PK\1\2`, `PK\5\6`).
    static func headerOffsets(_ data: Data) -> [Int] {
        let b = [UInt8](data)
        guard b.count >= 4 else { return [] }
        return (0..<(b.count - 3)).filter { i in
            b[i] == 0x50 && b[i + 1] == 0x4B && [(3, 4), (1, 2), (5, 6)].contains { b[i + 2] == $0.0 && b[i + 3] == $0.1 }
        }
    }

    /// The entries of a zip whose members are all stored (method 0), from its central directory.
    static func storedEntries(_ data: Data) -> [Entry]? {
        let b = [UInt8](data)
        guard b.count >= 22, let end = (0...(b.count - 22)).reversed().first(where: { u32(b, $0) == 0x0605_4B50 }) else { return nil }
        let count = u16(b, end + 10)
        var at = u32(b, end + 16)
        var entries: [Entry] = []
        for _ in 0..<count {
            guard at + 46 <= b.count, u32(b, at) == 0x0201_4B50, u16(b, at + 10) == 0 else { return nil }
            let size = u32(b, at + 20), nameLength = u16(b, at + 28), extra = u16(b, at + 30), comment = u16(b, at + 32)
            let local = u32(b, at + 42)
            guard at + 46 + nameLength <= b.count, local + 30 <= b.count else { return nil }
            let name = String(decoding: b[(at + 46)..<(at + 46 + nameLength)], as: UTF8.self)
            let start = local + 30 + u16(b, local + 26) + u16(b, local + 28)
            guard start + size <= b.count else { return nil }
            entries.append(Entry(path: name, data: Data(b[start..<(start + size)])))
            at += 46 + nameLength + extra + comment
        }
        return entries
    }

    static let crcTable: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = (c >> 1) ^ (0xEDB8_8320 & (0 &- (c & 1))) }
        return c
    }

    static func crc32(_ data: Data) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        data.withUnsafeBytes { raw in
            for byte in raw { crc = (crc >> 8) ^ crcTable[Int((crc ^ UInt32(byte)) & 0xFF)] }
        }
        return ~crc
    }

    /// A stored zip of `entries` with correct sizes and CRCs.
    static func write(_ entries: [Entry]) -> Data {
        var out = [UInt8](), central = [UInt8]()
        func le16(_ v: Int, _ into: inout [UInt8]) { into += [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }
        func le32(_ v: Int, _ into: inout [UInt8]) { le16(v & 0xFFFF, &into); le16((v >> 16) & 0xFFFF, &into) }
        for entry in entries {
            let name = Array(entry.path.utf8), crc = Int(entry.crc ?? crc32(entry.data)), size = entry.data.count, offset = out.count
            le32(0x0403_4B50, &out); le16(20, &out); le16(0, &out); le16(0, &out); le16(0, &out); le16(0x21, &out)
            le32(crc, &out); le32(size, &out); le32(size, &out); le16(name.count, &out); le16(0, &out)
            out += name
            out += entry.data
            le32(0x0201_4B50, &central); le16(20, &central); le16(20, &central); le16(0, &central); le16(0, &central)
            le16(0, &central); le16(0x21, &central); le32(crc, &central); le32(size, &central); le32(size, &central)
            le16(name.count, &central); le16(0, &central); le16(0, &central); le16(0, &central); le16(0, &central)
            le32(0, &central); le32(offset, &central)
            central += name
        }
        let centralOffset = out.count
        out += central
        le32(0x0605_4B50, &out); le16(0, &out); le16(0, &out); le16(entries.count, &out); le16(entries.count, &out)
        le32(central.count, &out); le32(centralOffset, &out); le16(0, &out)
        return Data(out)
    }
}
