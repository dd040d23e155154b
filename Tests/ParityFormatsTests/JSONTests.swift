import Foundation
@testable import ParityFormats
import ParityTensor
import ParityTestSupport
import Testing

/// The one JSON reader and writer (ParityFormats/JSON), against texts Python's `json` module wrote
/// (scripts/make_json_fixtures.py) and the JSON inside real fixture files.
@Suite("JSON reader and writer", .timeLimit(.minutes(2)))
struct JSONTests {
    static func lines(_ name: String) throws -> [String] {
        String(decoding: try Data(contentsOf: Fixtures.root.appendingPathComponent("formats/json/\(name)")), as: UTF8.self)
            .split(separator: "\n").map(String.init)
    }

    @Test("Python's json.dumps text reads and is written back byte for byte (float repr, escapes, member order)")
    func pythonStyle() throws {
        let lines = try Self.lines("python.json")
        #expect(lines.count > 400)
        for line in lines { #expect(try JSONValue.parse(line).pythonText == line, "\(line)") }
    }

    @Test("compact text (serde_json's to_string, the safetensors header) is written back byte for byte")
    func compactStyle() throws {
        for line in try Self.lines("compact.json") { #expect(try JSONValue.parse(line).compactText == line, "\(line)") }
    }

    @Test("integers and floats stay apart")
    func numbers() throws {
        let v = try JSONValue.parse(#"[9223372036854775807, -9223372036854775808, 9223372036854775808, -0, 1.0, 1e2, 99999999999999999999, 0.5, NaN, -Infinity]"#)
        let items = try #require(v.array)
        #expect(items[0] == .int(.max) && items[1] == .int(.min) && items[2] == .double(9223372036854775808))
        #expect(items[3] == .int(0) && items[4] == .double(1) && items[5] == .double(100) && items[6] == .double(1e20))
        #expect(items[4].int == 1 && items[7].int == nil && items[0].double == 9.223372036854776e18)
        #expect(items[8].double?.isNaN == true && items[9].double == -.infinity)
        #expect(JSONValue.array([.int(3), .double(3), .double(1e-5)]).pythonText == "[3, 3.0, 1e-05]")
        #expect(try JSONValue.parse(#""Infinity""#).double == nil, "a string is not a number (torch's spelling is read by its schema reader)")
    }

    @Test("members keep file order; a key set again keeps its place; equality ignores order")
    func memberOrder() throws {
        var object = try #require(try JSONValue.parse(#"{"z": 1, "a": 2, "m": 3}"#).object)
        #expect(object.keys == ["z", "a", "m"] && object.first?.key == "z")
        object["a"] = .string("x")
        object["b"] = .null
        object["z"] = nil
        #expect(object.keys == ["a", "m", "b"] && object.values == [.string("x"), .int(3), .null])
        #expect(JSONValue.object(object).compactText == #"{"a":"x","m":3,"b":null}"#)
        #expect(JSONObject(["b": .int(1), "a": .int(2)]).keys == ["a", "b"], "a Swift dictionary's keys are sorted")
        #expect(JSONValue.object(["a": .int(1), "b": .int(2)]) == .object(["b": .int(2), "a": .int(1)]))
    }

    /// Parity refuses every text Python's `json.loads` refuses, and three more it reads (the stricter rules
    /// in ``JSONReader``): a lone surrogate, a duplicate key, nesting deeper than 256.
    @Test("hostile texts: refused where json.loads refuses them, and the three stricter rules")
    func loadsTable() throws {
        let table = try #require(try Fixtures.json("formats/json/loads.json")["cases"]?.array)
        var stricter: [String] = []
        for case_ in table {
            let text = try #require(case_["text"]?.string), python = try #require(case_["python"]?.string)
            do {
                _ = try JSONValue.parse(text)
                #expect(python == "ok", "Parity read \(text.debugDescription), which json.loads refuses (\(python))")
            } catch {
                if python == "ok" { stricter.append(error.reason) }
            }
        }
        #expect(stricter.count == 4)
        #expect(stricter.filter { $0.hasPrefix("a lone surrogate") }.count == 2)
        #expect(stricter.contains("duplicate key \"a\"") && stricter.contains("arrays and objects nested deeper than 256"))
    }

    @Test("errors give the byte offset; nesting is bounded at 256")
    func errors() throws {
        #expect(throws: JSONError.duplicateKey(offset: 9, key: "a")) { try JSONValue.parse(#"{"a": 1, "a": 2}"#) }
        #expect(throws: JSONError.syntax(offset: 3, reason: #"unexpected character "]""#)) { try JSONValue.parse("[1,]") }
        #expect(throws: JSONError.syntax(offset: 1, reason: "a string that is not valid UTF-8")) { try JSONValue.parse([0x22, 0xC3, 0x28, 0x22]) }
        _ = try JSONValue.parse(String(repeating: "[", count: 256) + String(repeating: "]", count: 256))
        #expect(throws: JSONError.tooDeep(offset: 256, limit: 256)) {
            try JSONValue.parse(String(repeating: "[", count: 257) + String(repeating: "]", count: 257))
        }
        #expect(throws: JSONError.self) { try JSONValue.parse(String(repeating: "{\"a\":", count: 100_000)) }
    }

    /// JSON texts from files written elsewhere: torch.export programs and payload configs inside the .pt2
    /// fixtures, Keras `config.json` inside the .keras fixtures, fixture files written by Python.
    static func realTexts() throws -> [(String, Data)] {
        var texts: [(String, Data)] = []
        var taken = (pt2: 0, keras: 0, json: 0)
        let files = FileManager.default.enumerator(at: Fixtures.root, includingPropertiesForKeys: nil)!.compactMap { $0 as? URL }
        for url in files.sorted(by: { $0.path < $1.path }) {
            let name = url.path.dropFirst(Fixtures.root.path.count + 1)
            switch url.pathExtension {
            case "pt2" where taken.pt2 < 12, "keras" where taken.keras < 12:
                if url.pathExtension == "pt2" { taken.pt2 += 1 } else { taken.keras += 1 }
                let zip = try ZipContainer(data: Data(contentsOf: url), file: String(name))
                for member in zip.members where member.name.hasSuffix("models/model.json") || member.name.hasSuffix("_config.json")
                    || member.name == "config.json" {
                    texts.append(("\(name):\(member.name)", try zip.contents(of: member)))
                }
            // formats/json/ holds one text per line (read line by line above).
            case "json" where taken.json < 20 && !name.hasPrefix("formats/json/"):
                let data = try Data(contentsOf: url)
                if data.count < 400_000 { texts.append((String(name), data)); taken.json += 1 }
            default: continue
            }
        }
        return texts
    }

    @Test("real files: read, written in both styles and read back equal; numbers as Foundation reads them")
    func realFiles() throws {
        let texts = try Self.realTexts()
        #expect(texts.count(where: { $0.0.hasSuffix("models/model.json") }) >= 5 && texts.count(where: { $0.0.hasSuffix(":config.json") }) >= 5)
        for (name, data) in texts {
            let value = try JSONValue.parse(data)
            #expect(try JSONValue.parse(value.pythonText) == value, "\(name)")
            #expect(try JSONValue.parse(value.compactText) == value, "\(name)")
            let foundation = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
            let difference = Self.disagreement(value, foundation)
            #expect(difference == nil, "\(name): \(difference ?? "")")
        }
    }

    /// Where `value` and Foundation's reading of the same text differ (`nil`: the same structure). Numbers
    /// within 1e-15 relative: Foundation on Linux does not round every double correctly (measured: up to
    /// 5 ulps, `-0.41760809676864447` = bfdaba174f8aa1e5 read as bfdaba174f8aa1ea, where Python reads
    /// bfdaba174f8aa1e5 as Parity does); Parity's own
    /// rounding is checked exactly by ``pythonStyle()`` (every Python repr reads and writes back unchanged).
    static func disagreement(_ value: JSONValue, _ other: Any, at path: String = "") -> String? {
        let same: Bool
        switch value {
        case .null: same = other is NSNull
        case .string(let s): same = other as? String == s
        case .bool(let b): same = (other as? NSNumber)?.boolValue == b
        case .int(let i): same = (other as? NSNumber)?.int64Value == Int64(i) || (other as? Int) == i
        case .double(let d):
            guard let o = (other as? Double) ?? (other as? NSNumber)?.doubleValue else { return "\(path): \(d) vs \(other)" }
            if !(o == d || (o.isNaN && d.isNaN) || abs(o - d) <= 1e-15 * abs(d)) {
                return "\(path): \(d) (\(String(d.bitPattern, radix: 16))) vs Foundation's \(o) (\(String(o.bitPattern, radix: 16)))"
            }
            return nil
        case .array(let items):
            guard let a = other as? [Any], a.count == items.count else { return "\(path): array vs \(type(of: other))" }
            for (index, (item, x)) in zip(items, a).enumerated() {
                if let d = disagreement(item, x, at: "\(path)[\(index)]") { return d }
            }
            return nil
        case .object(let o):
            guard let d = other as? [String: Any], d.count == o.count else { return "\(path): object vs \(type(of: other))" }
            for (key, item) in o {
                guard let x = d[key] else { return "\(path).\(key) missing" }
                if let d = disagreement(item, x, at: "\(path).\(key)") { return d }
            }
            return nil
        }
        return same ? nil : "\(path): \(value) vs \(other)"
    }

    /// Real JSON texts damaged a few hundred ways (FuzzTests' mutations): each reads or throws a
    /// JSONError, never crashes or hangs, and whatever reads survives both writers unchanged.
    @Test("mutated real texts read or throw JSONError; what reads round-trips")
    func fuzz() throws {
        var generator = SeededGenerator(seed: 0x150)
        var outcomes = (read: 0, refused: 0)
        for (name, original) in try Self.realTexts().filter({ $0.1.count < 60_000 }) {
            for round in 0..<120 {
                let mutated = FuzzTests.mutate(original, &generator)
                do {
                    let value = try JSONValue.parse(mutated)
                    outcomes.read += 1
                    if !(try JSONValue.parse(value.pythonText) == value && JSONValue.parse(value.compactText) == value) {
                        Issue.record("\(name) mutation \(round) does not round-trip")
                    }
                } catch {
                    outcomes.refused += 1
                }
            }
        }
        #expect(outcomes.read > 0 && outcomes.refused > 0)
    }
}
