import Foundation
import ParityHDF5
import ParityTensor
import Testing

@Suite("HDF5File: opening, bad inputs, the library lock")
struct FileTests {
    @Test func reportsLibraryVersion() throws {
        let parts = HDF5File.libraryVersion.split(separator: ".").compactMap { Int($0) }
        #expect(parts.count == 3)
        #expect(parts.lexicographicallyPrecedes([1, 10, 0]) == false, "libhdf5 \(HDF5File.libraryVersion) is older than 1.10")
    }

    @Test func opensAndReportsSize() throws {
        let file = try HDF5Fixture.open("legacy_model.h5")
        let size = try FileManager.default.attributesOfItem(atPath: file.url.path)[.size] as? Int
        #expect(file.size == UInt64(size ?? -1))
        #expect(file.maxReadBytes == HDF5File.defaultMaxReadBytes)
        #expect(file.root.path == "/")
        #expect(file.root.name == "/")
    }

    @Test func missingFile() {
        let path = HDF5Fixture.url("no_such_file.h5").path
        let error = expectHDF5Error("no file at", path) { _ = try HDF5File(url: URL(fileURLWithPath: path)) }
        #expect(error == .fileNotFound(path: path))
    }

    @Test func textFileIsNotHDF5() {
        let path = HDF5Fixture.url("not_hdf5.h5").path
        let error = expectHDF5Error("is not an HDF5 file", "no HDF5 signature", path) {
            _ = try HDF5File(url: URL(fileURLWithPath: path))
        }
        guard case .notHDF5? = error else { Issue.record("got \(String(describing: error))"); return }
    }

    @Test func directoryAndEmptyFileAreNotHDF5() throws {
        let directory = try HDF5Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        expectHDF5Error("is not an HDF5 file", "directory") { _ = try HDF5File(url: directory) }
        let empty = directory.appendingPathComponent("empty.h5")
        try Data().write(to: empty)
        expectHDF5Error("is not an HDF5 file", "only 0 bytes", empty.path) { _ = try HDF5File(url: empty) }
    }

    /// Prefixes of a valid file: the signature survives from 8 bytes on, so libhdf5 itself must
    /// refuse them (the superblock's end-of-file address is past the end), with its message.
    @Test(arguments: [5, 8, 40, 96, 800, 1000, -1])
    func truncatedFile(keeping length: Int) throws {
        let data = try Data(contentsOf: HDF5Fixture.url("legacy_model.h5"))
        let kept = length < 0 ? data.count + length : (length == 1000 ? data.count / 2 : length)
        let directory = try HDF5Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("truncated.h5")
        try data.prefix(kept).write(to: url)
        let error = expectHDF5Error(url.path) { _ = try HDF5File(url: url) }
        switch error {
        case .notHDF5(_, let reason)?:
            #expect(kept < 8, "prefix of \(kept) bytes: \(reason)")
        case .cannotOpen(_, let reason)?:
            #expect(kept >= 8)
            #expect(reason.hasPrefix("unable to open file: unable to read superblock"), "prefix of \(kept) bytes: \(reason)")
            if kept >= 96 {  // a whole superblock: libhdf5 compares its end-of-file address with the size
                #expect(reason.contains("truncated file: eof = \(kept),"), "prefix of \(kept) bytes: \(reason)")
            }
        default:
            Issue.record("prefix of \(kept) bytes: \(String(describing: error))")
        }
    }

    @Test func objectsKeepTheFileOpen() throws {
        let dataset = try HDF5Fixture.open("keras3_weights.h5").dataset(at: "layers/dense/vars/1")
        // The HDF5File value is gone; the dataset holds it.
        #expect(try dataset.readTensor().shape == [3])
    }

    /// Swift Testing runs tests in parallel; here many tasks also share files and handles. The
    /// serial libhdf5 would corrupt its state without the global lock.
    @Test func parallelReadsAgree() async throws {
        let names = ["keras3_weights.h5", "legacy_model.h5", "types.h5"]
        let shared = try names.map { try HDF5Fixture.open($0) }
        let paths = ["layers/dense/vars/0", "model_weights/dense/dense/kernel:0", "storage/chunked_gzip"]
        let reference = try zip(shared, paths).map { try $0.dataset(at: $1).readTensor() }
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for task in 0..<24 {
                group.addTask {
                    let index = task % names.count
                    let file = task % 2 == 0 ? shared[index] : try HDF5Fixture.open(names[index])
                    for _ in 0..<5 {
                        guard try file.dataset(at: paths[index]).readTensor() == reference[index] else { return false }
                        _ = try file.root.children
                        _ = try file.attributeNames
                    }
                    return true
                }
            }
            for try await agreed in group { #expect(agreed) }
        }
    }
}
