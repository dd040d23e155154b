import Foundation
@testable import ParityFormats
import ParityTestSupport
import Testing

@Suite("Zip container")
struct ZipContainerTests {
    @Test func readsWhatZipFoundationWrites() throws {
        let payload = Data((0..<5000).map { UInt8($0 % 7) })
        for compressed in [false, true] {
            let data = try ZipContainer.archive([("a/x", payload), ("a/empty", Data())], compressed: compressed)
            let zip = try ZipContainer(data: data, file: "memory")
            #expect(zip.members.map(\.name) == ["a/x", "a/empty"])
            #expect(zip.members.map(\.method) == (compressed ? [8, 8] : [0, 0]))
            #expect(try zip.contents(of: zip.members[0]) == payload && zip.contents(of: zip.members[1]).isEmpty)
        }
    }

    /// A deflate stream cut in half with the directory intact: ZIPFoundation's own `extract` loops
    /// forever on this on Linux; the container reports it.
    @Test func truncatedDeflateStreamIsAnError() throws {
        let url = FormatFixtures.url("npz/truncated_deflate.npz")
        let error = FormatFixtures.formatError("truncated deflate") { _ = try NumpyArchive.read(contentsOf: url) }
        #expect(error.map(FormatFixtures.caseName) == "malformedZip")
        let bomb = FormatFixtures.formatError("bomb") { _ = try NumpyArchive.read(contentsOf: FormatFixtures.url("npz/deflate_bomb_claim.npz")) }
        #expect(bomb.map { "\($0)" }?.contains("claims 1000000000000 bytes from 100") == true)
    }

    @Test func refusesMalformedDirectories() throws {
        let good = try ZipContainer.archive([("a/x", Data([1, 2, 3]))], compressed: false)
        let bytes = [UInt8](good)
        let central = try #require((0..<(bytes.count - 4)).first { bytes[$0..<($0 + 4)].elementsEqual([0x50, 0x4b, 0x01, 0x02]) })
        var encrypted = bytes
        encrypted[central + 8] |= 1
        var method = bytes
        method[central + 10] = 12  // bzip2
        var duplicate = try ZipContainer.archive([("a/x", Data([1])), ("a/x", Data([2]))], compressed: false)
        duplicate = Data(duplicate)
        for (name, data) in [("encrypted", Data(encrypted)), ("bzip2", Data(method)), ("duplicate", duplicate),
                             ("empty", Data()), ("cut", good.prefix(good.count - 30))] {
            let error = FormatFixtures.formatError(name) { _ = try ZipContainer(data: data, file: name) }
            #expect(["malformedZip", "duplicateKey"].contains(error.map(FormatFixtures.caseName)), "\(name): \(String(describing: error))")
        }
        let empty = try ZipContainer(data: Data([0x50, 0x4b, 0x05, 0x06] + [UInt8](repeating: 0, count: 18)), file: "empty")
        #expect(empty.members.isEmpty)
        #expect(throws: FormatError.self) { try TorchArchive(Data([0x50, 0x4b, 0x05, 0x06] + [UInt8](repeating: 0, count: 18))) }
    }

    @Test func missingFilesAreIOErrors() {
        let error = FormatFixtures.formatError("missing") { _ = try SafeTensors.read(contentsOf: FormatFixtures.url("nope.safetensors")) }
        #expect(error.map(FormatFixtures.caseName) == "io")
    }
}
