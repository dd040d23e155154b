import Foundation
import ParityHDF5
import ParityTestSupport
import Testing

/// The HDF5 fixtures (`Tests/Fixtures/hdf5/`, written by `scripts/make_hdf5_fixtures.py`).
enum HDF5Fixture {
    static func url(_ name: String) -> URL { Fixtures.root.appendingPathComponent("hdf5").appendingPathComponent(name) }

    static func open(_ name: String, maxReadBytes: Int = HDF5File.defaultMaxReadBytes) throws -> HDF5File {
        try HDF5File(url: url(name), maxReadBytes: maxReadBytes)
    }

    /// `expected.json`: what h5py wrote, per dataset and attribute.
    static let expected: JSONValue? = try? Fixtures.json("hdf5/expected.json")

    /// A fresh temporary directory, removed by the caller.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("parity-hdf5-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// Runs `body`, expecting an ``HDF5Error`` whose message contains every fragment; returns it.
@discardableResult
func expectHDF5Error(_ fragments: String..., sourceLocation: SourceLocation = #_sourceLocation,
                     _ body: () throws -> Void) -> HDF5Error? {
    do {
        try body()
        Issue.record("expected an HDF5Error mentioning \(fragments)", sourceLocation: sourceLocation)
        return nil
    } catch let error as HDF5Error {
        for fragment in fragments {
            #expect(error.description.contains(fragment), "'\(fragment)' not in: \(error.description)",
                    sourceLocation: sourceLocation)
        }
        return error
    } catch {
        Issue.record("expected an HDF5Error, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}
