import Foundation
import ParityCompare
import ParityFormats
import ParityTestSupport
import Testing

/// The conventions catalog (``Conventions``) and docs/conventions.md, which is its Markdown.
@Suite struct ConventionsTests {
    static let repository = Fixtures.root.deletingLastPathComponent().deletingLastPathComponent()

    @Test("docs/conventions.md is `parity conventions --markdown` (regenerate with PARITY_RECORD_CONVENTIONS=1)")
    func documentMatchesTheCode() throws {
        let url = Self.repository.appendingPathComponent("docs/conventions.md")
        if ProcessInfo.processInfo.environment["PARITY_RECORD_CONVENTIONS"] == "1" {
            try Data(Conventions.markdown.utf8).write(to: url)
        }
        let committed = String(decoding: try Data(contentsOf: url), as: UTF8.self)
        #expect(committed == Conventions.markdown, "docs/conventions.md drifted from the code: run `parity conventions --markdown > docs/conventions.md`")
    }

    @Test("ids are unique, every Parity source named exists, every cause id that is a convention has a row")
    func catalog() throws {
        let ids = Conventions.all.map(\.id)
        #expect(Set(ids).count == ids.count)
        for convention in Conventions.all {
            #expect(!convention.parity.isEmpty, "\(convention.id)")
            for path in convention.parity {
                #expect(FileManager.default.fileExists(atPath: Self.repository.appendingPathComponent(path).path), "\(convention.id): \(path)")
            }
        }
        let covered = Set(Conventions.all.compactMap(\.cause))
        #expect(Set(Cause.allCases).subtracting(covered) == [.floatNoise, .weightsDiffer, .weightsPrecision])
        let trainingCovered = Set(Conventions.all.compactMap(\.trainingCause))
        #expect(Set(TrainingCause.allCases).subtracting(trainingCovered).isSubset(of: [.floatNoise, .optimizerAlgorithm, .labelSmoothing]))
    }

    @Test("every id a source cites as `docs/conventions.md, X.N` is in the catalog")
    func citedIdsExist() throws {
        let sources = Self.repository.appendingPathComponent("Sources")
        let files = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)!.compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" }
        let ids = Set(Conventions.all.map(\.id))
        let pattern = try Regex(#"docs/conventions\.md,? ([A-H])\.(\d+)"#)
        var cited = 0
        for file in files {
            let text = String(decoding: try Data(contentsOf: file), as: UTF8.self)
            for match in text.matches(of: pattern) {
                let id = "\(match.output[1].substring!).\(match.output[2].substring!)"
                #expect(ids.contains(id), "\(file.lastPathComponent) cites \(id)")
                cited += 1
            }
        }
        #expect(cited > 10)
    }

    @Test("JSON has both presets and the cause for each row")
    func json() throws {
        let rows = try #require(try JSONValue.parse(Conventions.json).array)
        #expect(rows.count == Conventions.all.count)
        let bn = try #require(rows.first { $0["id"]?.string == "C.11" })
        #expect(bn["keras"]?["value"]?.string == "0.001" && bn["pytorch"]?["value"]?.string == "1e-05" && bn["cause"]?.string == "batchnorm-epsilon")
    }
}
