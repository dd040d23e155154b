import Foundation
import ParityFormats
import ParityTensor
import ParityTestSupport
import Testing

/// Fixture access and comparisons shared by the format tests (files under Tests/Fixtures/formats,
/// made by scripts/make_format_fixtures.py).
enum FormatFixtures {
    static let root = Fixtures.root.appendingPathComponent("formats")

    static func url(_ path: String) -> URL { root.appendingPathComponent(path) }

    static func data(_ path: String) throws -> Data { try Data(contentsOf: url(path)) }

    static func expected(_ folder: String) throws -> JSONValue { try Fixtures.json("formats/\(folder)/expected.json") }

    static func members(_ value: JSONValue?) -> [(String, JSONValue)] {
        guard case .object(let object)? = value else { return [] }
        return object.sorted { $0.key < $1.key }
    }

    static func hex(_ data: Data) -> String { data.map { String(format: "%02x", $0) }.joined() }

    /// Checks `record` against `{"dtype", "shape", "hex", "values"}`: the raw bytes exactly, and the
    /// widened tensor value by value (NaN matching NaN, integers exactly).
    static func check(_ record: ArrayRecord, _ expected: JSONValue, _ context: String,
                      sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(record.elementType.rawValue == expected["dtype"]?.string, "\(context): dtype", sourceLocation: sourceLocation)
        #expect(record.shape == expected["shape"]?.ints, "\(context): shape", sourceLocation: sourceLocation)
        #expect(hex(record.bytes) == expected["hex"]?.string, "\(context): bytes", sourceLocation: sourceLocation)
        let strings = expected["values"]?.array?.compactMap { $0.string }
        let values = try #require(strings, sourceLocation: sourceLocation)
        let exceedsInt64 = values.contains { UInt64($0).map { $0 > UInt64(Int64.max) } ?? false }
        if exceedsInt64 {
            #expect(throws: FormatError.self, "\(context): uint64 beyond Int64.max", sourceLocation: sourceLocation) { try record.toTensor() }
            return
        }
        let tensor = try record.toTensor()
        #expect(tensor.dtype == record.elementType.widenedDType, "\(context): widened dtype", sourceLocation: sourceLocation)
        #expect(tensor.shape == record.shape, sourceLocation: sourceLocation)
        if let ints = tensor.int64s {
            #expect(ints == values.map { Int64($0) ?? .min }, "\(context): values", sourceLocation: sourceLocation)
        } else {
            let got = tensor.doubles
            let want = values.map { Double($0) ?? .nan }
            let same = got.count == want.count && zip(got, want).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) }
            #expect(same, "\(context): values \(got) vs \(want)", sourceLocation: sourceLocation)
        }
    }

    /// The case name of a FormatError (`"badMagic"`), for matching the expected JSON.
    static func caseName(_ error: FormatError) -> String {
        switch error {
        case .io: return "io"
        case .truncated: return "truncated"
        case .badMagic: return "badMagic"
        case .malformedHeader: return "malformedHeader"
        case .unsupportedDType: return "unsupportedDType"
        case .limitExceeded: return "limitExceeded"
        case .invalidTensor: return "invalidTensor"
        case .duplicateKey: return "duplicateKey"
        case .forbiddenGlobal: return "forbiddenGlobal"
        case .malformedPickle: return "malformedPickle"
        case .malformedZip: return "malformedZip"
        case .missingEntry: return "missingEntry"
        case .unrepresentable: return "unrepresentable"
        }
    }

    /// Runs `body`, which must throw a FormatError; returns it (or records a failure).
    static func formatError(_ context: String, sourceLocation: SourceLocation = #_sourceLocation,
                            _ body: () throws -> Void) -> FormatError? {
        do {
            try body()
            Issue.record("\(context): read succeeded, expected an error", sourceLocation: sourceLocation)
        } catch let error as FormatError {
            return error
        } catch {
            Issue.record("\(context): threw \(type(of: error)) \(error), not a FormatError", sourceLocation: sourceLocation)
        }
        return nil
    }
}
