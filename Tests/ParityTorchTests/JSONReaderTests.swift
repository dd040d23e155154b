import Foundation
import Testing
@testable import ParityTorch

/// The byte-level JSON reader that parses `models/*.json` and the payload configs.
@Suite("JSON reader")
struct JSONReaderTests {
    @Test("every fixture's JSON records parse as JSONDecoder parses them", arguments: runnableFixtures + ["unsupported"])
    func sameAsDecoder(name: String) throws {
        let archive = try PT2Archive(url: TorchFixture(name).archive)
        for record in ["models/model.json", "data/weights/model_weights_config.json", "data/constants/model_constants_config.json"] {
            guard let data = archive.record(record) else { continue }
            let decoded = try JSONDecoder().decode(SerializedJSON.self, from: data)
            // JSONDecoder reads `1.0` as the integer 1 (its Int decode accepts an exact float); the
            // reader keeps it a float. Accessors (`int`, `double`) treat both alike.
            #expect(Self.sameValue(try SerializedJSON.parse(data), decoded), "\(name) \(record)")
        }
    }

    static func sameValue(_ a: SerializedJSON, _ b: SerializedJSON) -> Bool {
        switch (a, b) {
        case let (.double(x), .int(y)), let (.int(y), .double(x)): return x == Double(y)
        case let (.array(x), .array(y)): return x.count == y.count && zip(x, y).allSatisfy(sameValue)
        case let (.object(x), .object(y)): return x.keys == y.keys && x.allSatisfy { sameValue($0.value, y[$0.key]!) }
        default: return a == b
        }
    }

    @Test("numbers, escapes and literals")
    func values() throws {
        let json = try SerializedJSON.parse(Data(#"{"a": [9223372036854775807, -3, 1.5e3, 1E-2, 0, -0.0, 99999999999999999999], "s": "q\"\\\/\u00e9\ud83d\ude00\n", "t": true, "f": false, "n": null, "inf": "Infinity"}"#.utf8))
        #expect(json["a"]?.array?.map(\.int) == [Int.max, -3, 1500, nil, 0, 0, nil])
        #expect(json["a"]?.array?[3].double == 0.01)
        #expect(json["a"]?.array?[6].double == 1e20)
        #expect(json["s"]?.string == "q\"\\/é😀\n")
        #expect(json["t"]?.bool == true && json["f"]?.bool == false && json["n"]?.isNull == true)
        #expect(json["inf"]?.double == .infinity)
    }

    @Test("malformed text and deep nesting throw", arguments: ["", "{", "[1,]", "{\"a\" 1}", "01", "1.", "-", "\"\\x\"", "\"a", "[1] x", "tru", "\"\\ud800\\u0041\"",
                                                              String(repeating: "[", count: 100_000)])
    func malformed(text: String) {
        #expect(throws: JSONSyntaxError.self) { try SerializedJSON.parse(Data(text.utf8)) }
    }
}
