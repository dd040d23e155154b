import Foundation
import ZIPFoundation

/// The zip container of `.npz` files, `torch.save` and `torch.export` (`.pt2`) archives and `.keras`
/// files: a strict, read-only directory over the file's (memory-mapped) bytes, plus a writer on
/// ZIPFoundation.
///
/// Reading parses the end-of-central-directory record (ZIP64 included, as `torch.save` always
/// writes it), the central directory and each local header itself, checking every offset and
/// length against the file size, so that stored members come back as zero-copy slices of the
/// mapping. ZIPFoundation does the inflating and the CRC-32; its `Archive` reader is not used
/// because it exposes no member offsets (so nothing could be mapped) and, on Linux, its inflate
/// loop does not end on a truncated deflate stream.
public struct ZipContainer: Sendable {
    /// One entry of the central directory, checked against the file.
    public struct Member: Sendable {
        public let name: String
        let method: UInt16
        let compressedSize: Int
        let uncompressedSize: Int
        let crc32: UInt32
        let dataOffset: Int
        public var isDirectory: Bool { name.hasSuffix("/") }
        /// Whether the data is stored uncompressed, so that ``ZipContainer/contents(of:verifyChecksum:)``
        /// returns it in place (a slice of the file's mapping).
        public var isStored: Bool { method == 0 }
    }

    let data: Data
    let file: String
    /// The entries, in central-directory order.
    public let members: [Member]
    private let index: [String: Int]

    private static let localSignature: UInt32 = 0x0403_4b50
    private static let centralSignature: UInt32 = 0x0201_4b50
    private static let endSignature: UInt32 = 0x0605_4b50
    private static let zip64LocatorSignature: UInt32 = 0x0706_4b50
    private static let zip64EndSignature: UInt32 = 0x0606_4b50

    /// True when `data` starts like a zip file (a local header or an empty archive's end record).
    static func looksLikeZip(_ data: Data) -> Bool {
        guard data.count >= 4, let magic = try? data.littleEndian(UInt32.self, at: 0, file: "", what: "") else { return false }
        return magic == localSignature || magic == endSignature
    }

    /// Reads the directory of the zip file at `url`, mapped (``readFile(_:)``): stored members come
    /// back as slices of the mapping, and `Tensor`s made from them are read in place.
    public init(contentsOf url: URL) throws {
        try self.init(data: readFile(url), file: url.path)
    }

    init(data: Data, file: String) throws {
        self.data = data
        self.file = file
        let size = data.count
        guard size >= 22 else {
            throw FormatError.malformedZip(file: file, offset: 0, reason: "\(size) bytes is too short for a zip end record")
        }
        // End of central directory: the last signature in the final 64 KiB + 22 bytes.
        var endOffset = -1
        let lowest = max(0, size - 22 - 0xffff)
        let tail = try data.copyBytes(at: lowest, count: size - lowest, file: file, what: "zip end record")
        var candidate = tail.count - 22
        while candidate >= 0 {
            if tail[candidate] == 0x50, tail[candidate + 1] == 0x4b, tail[candidate + 2] == 0x05, tail[candidate + 3] == 0x06 {
                endOffset = lowest + candidate
                break
            }
            candidate -= 1
        }
        guard endOffset >= 0 else {
            throw FormatError.malformedZip(file: file, offset: size, reason: "no end-of-central-directory record (truncated or not a zip)")
        }
        var end = ByteReader(try data.copyBytes(at: endOffset, count: 22, file: file, what: "zip end record"),
                             base: endOffset, file: file)
        _ = try end.le(UInt32.self, "signature")
        let disk = try end.le(UInt16.self, "disk number")
        let directoryDisk = try end.le(UInt16.self, "directory disk")
        _ = try end.le(UInt16.self, "entries on disk")
        var entryCount = UInt64(try end.le(UInt16.self, "entry count"))
        var directorySize = UInt64(try end.le(UInt32.self, "directory size"))
        var directoryOffset = UInt64(try end.le(UInt32.self, "directory offset"))
        var directoryLimit = endOffset

        // ZIP64 locator immediately before the end record.
        if endOffset >= 20, try data.littleEndian(UInt32.self, at: endOffset - 20, file: file, what: "zip64 locator") == Self.zip64LocatorSignature {
            var locator = ByteReader(try data.copyBytes(at: endOffset - 20, count: 20, file: file, what: "zip64 locator"),
                                     base: endOffset - 20, file: file)
            _ = try locator.le(UInt32.self, "signature")
            _ = try locator.le(UInt32.self, "disk")
            let recordOffset64 = try locator.le(UInt64.self, "zip64 end offset")
            guard let recordOffset = Int(exactly: recordOffset64), recordOffset <= endOffset - 20 - 56 else {
                throw FormatError.malformedZip(file: file, offset: endOffset - 20,
                                               reason: "zip64 end record offset \(recordOffset64) is outside the file")
            }
            var record = ByteReader(try data.copyBytes(at: recordOffset, count: 56, file: file, what: "zip64 end record"),
                                    base: recordOffset, file: file)
            guard try record.le(UInt32.self, "signature") == Self.zip64EndSignature else {
                throw FormatError.malformedZip(file: file, offset: recordOffset, reason: "bad zip64 end record signature")
            }
            _ = try record.le(UInt64.self, "record size")
            _ = try record.le(UInt16.self, "version made by")
            _ = try record.le(UInt16.self, "version needed")
            let disk64 = try record.le(UInt32.self, "disk")
            let directoryDisk64 = try record.le(UInt32.self, "directory disk")
            guard disk64 == 0, directoryDisk64 == 0 else {
                throw FormatError.malformedZip(file: file, offset: recordOffset, reason: "multi-disk archives are not supported")
            }
            _ = try record.le(UInt64.self, "entries on disk")
            entryCount = try record.le(UInt64.self, "entry count")
            directorySize = try record.le(UInt64.self, "directory size")
            directoryOffset = try record.le(UInt64.self, "directory offset")
            directoryLimit = recordOffset
        } else if disk != 0 || directoryDisk != 0 {
            throw FormatError.malformedZip(file: file, offset: endOffset, reason: "multi-disk archives are not supported")
        }

        guard let start = Int(exactly: directoryOffset), let length = Int(exactly: directorySize),
              let stop = Checked.add(start, length), stop <= directoryLimit else {
            throw FormatError.malformedZip(file: file, offset: endOffset,
                                           reason: "central directory [\(directoryOffset), +\(directorySize)) is outside the file (\(size) bytes)")
        }
        guard entryCount <= UInt64(length / 46) else {
            throw FormatError.malformedZip(file: file, offset: endOffset,
                                           reason: "\(entryCount) entries cannot fit in a \(length)-byte central directory")
        }
        var directory = ByteReader(try data.copyBytes(at: start, count: length, file: file, what: "central directory"),
                                   base: start, file: file)
        var members: [Member] = []
        var index: [String: Int] = [:]
        members.reserveCapacity(Int(entryCount))
        for _ in 0..<Int(entryCount) {
            let member = try Self.readMember(&directory, data: data, directoryStart: start, file: file)
            guard index[member.name] == nil else { throw FormatError.duplicateKey(file: file, key: member.name) }
            index[member.name] = members.count
            members.append(member)
        }
        self.members = members
        self.index = index
    }

    private static func readMember(_ r: inout ByteReader, data: Data, directoryStart: Int, file: String) throws -> Member {
        let at = r.offset
        guard try r.le(UInt32.self, "central directory signature") == centralSignature else {
            throw FormatError.malformedZip(file: file, offset: at, reason: "bad central directory entry signature")
        }
        _ = try r.le(UInt16.self, "version made by")
        _ = try r.le(UInt16.self, "version needed")
        let flags = try r.le(UInt16.self, "flags")
        let method = try r.le(UInt16.self, "method")
        _ = try r.le(UInt32.self, "time and date")
        let crc = try r.le(UInt32.self, "crc-32")
        var compressed = UInt64(try r.le(UInt32.self, "compressed size"))
        var uncompressed = UInt64(try r.le(UInt32.self, "uncompressed size"))
        let nameLength = Int(try r.le(UInt16.self, "name length"))
        let extraLength = Int(try r.le(UInt16.self, "extra length"))
        let commentLength = Int(try r.le(UInt16.self, "comment length"))
        _ = try r.le(UInt16.self, "disk start")
        _ = try r.le(UInt16.self, "internal attributes")
        _ = try r.le(UInt32.self, "external attributes")
        var localOffset = UInt64(try r.le(UInt32.self, "local header offset"))
        let nameBytes = try r.take(nameLength, "entry name")
        var extra = ByteReader([UInt8](try r.take(extraLength, "extra field")), base: r.offset - extraLength, file: file)
        _ = try r.take(commentLength, "entry comment")

        let name = String(decoding: nameBytes, as: UTF8.self)
        guard !nameBytes.contains(0), strictUTF8(nameBytes) != nil else {
            throw FormatError.malformedZip(file: file, offset: at, reason: "entry name \(printable(nameBytes)) is not valid UTF-8")
        }
        // ZIP64 extended information: the fields whose 32-bit value is saturated, in this order.
        while extra.remaining >= 4 {
            let id = try extra.le(UInt16.self, "extra id")
            let size = Int(try extra.le(UInt16.self, "extra size"))
            var field = ByteReader([UInt8](try extra.take(size, "extra field \(id)")), base: extra.offset - size, file: file)
            guard id == 0x0001 else { continue }
            if uncompressed == 0xffff_ffff { uncompressed = try field.le(UInt64.self, "zip64 uncompressed size") }
            if compressed == 0xffff_ffff { compressed = try field.le(UInt64.self, "zip64 compressed size") }
            if localOffset == 0xffff_ffff { localOffset = try field.le(UInt64.self, "zip64 local header offset") }
        }
        guard flags & 0x1 == 0 else {
            throw FormatError.malformedZip(file: file, offset: at, reason: "entry '\(name)' is encrypted")
        }
        guard method == 0 || method == 8 else {
            throw FormatError.malformedZip(file: file, offset: at, reason: "entry '\(name)' uses compression method \(method) (only stored and deflate are read)")
        }
        guard let compressedSize = Int(exactly: compressed), let uncompressedSize = Int(exactly: uncompressed),
              let local = Int(exactly: localOffset), local <= directoryStart - 30 else {
            throw FormatError.malformedZip(file: file, offset: at, reason: "entry '\(name)' has sizes or offset outside the file")
        }
        var header = ByteReader(try data.copyBytes(at: local, count: 30, file: file, what: "local header of '\(name)'"),
                                base: local, file: file)
        guard try header.le(UInt32.self, "local signature") == localSignature else {
            throw FormatError.malformedZip(file: file, offset: local, reason: "bad local header signature for '\(name)'")
        }
        _ = try header.take(22, "local header fields")
        let localName = Int(try header.le(UInt16.self, "local name length"))
        let localExtra = Int(try header.le(UInt16.self, "local extra length"))
        let dataOffset = local + 30 + localName + localExtra
        guard let dataEnd = Checked.add(dataOffset, compressedSize), dataEnd <= directoryStart else {
            throw FormatError.malformedZip(file: file, offset: local,
                                           reason: "data of '\(name)' (\(compressedSize) bytes at \(dataOffset)) runs past the central directory at \(directoryStart)")
        }
        if method == 0, compressedSize != uncompressedSize {
            throw FormatError.malformedZip(file: file, offset: at,
                                           reason: "stored entry '\(name)' has compressed size \(compressedSize) ≠ size \(uncompressedSize)")
        }
        // Deflate cannot expand more than ~1032:1; a larger claim is corrupt (or a bomb).
        if method == 8, uncompressedSize / 1032 > compressedSize + 1 {
            throw FormatError.malformedZip(file: file, offset: at,
                                           reason: "deflated entry '\(name)' claims \(uncompressedSize) bytes from \(compressedSize)")
        }
        return Member(name: name, method: method, compressedSize: compressedSize, uncompressedSize: uncompressedSize,
                      crc32: crc, dataOffset: dataOffset)
    }

    /// The entry called `name`, if any.
    public func member(named name: String) -> Member? { index[name].map { members[$0] } }

    /// The member's bytes: a zero-copy slice when stored, inflated (at most its declared size) when
    /// deflated; the CRC-32 is checked unless `verifyChecksum` is false.
    public func contents(of member: Member, verifyChecksum: Bool = true) throws -> Data {
        let raw = try data.checkedSlice(at: member.dataOffset, count: member.compressedSize, file: file,
                                        what: "data of '\(member.name)'")
        let result: Data
        if member.method == 0 {
            result = raw
        } else {
            result = try inflate(raw, expected: member.uncompressedSize, name: member.name)
        }
        if verifyChecksum, result.crc32(checksum: 0) != member.crc32 {
            throw FormatError.malformedZip(file: file, offset: member.dataOffset,
                                           reason: "CRC-32 mismatch in '\(member.name)' (corrupt data)")
        }
        return result
    }

    private func inflate(_ compressed: Data, expected: Int, name: String) throws -> Data {
        let chunk = 1 << 16
        var output = Data()
        var consumed = 0
        var exhausted = false
        do {
            _ = try Data.decompress(size: Int64(compressed.count), bufferSize: chunk, skipCRC32: true, provider: { _, _ in
                // ZIPFoundation hands zlib `bufferSize` bytes whatever the chunk's length, so every chunk is
                // padded to that size (zeros make a truncated stream fail as invalid data), and asking past the
                // end throws instead of looping.
                if exhausted { throw FormatError.malformedZip(file: file, offset: consumed, reason: "deflate stream of '\(name)' is truncated") }
                let take = Swift.min(chunk, compressed.count - consumed)
                var piece = Data(count: chunk)
                if take > 0 {
                    let start = compressed.startIndex + consumed
                    piece.replaceSubrange(0..<take, with: compressed[start..<(start + take)])
                }
                consumed += take
                if consumed >= compressed.count { exhausted = true }
                return piece
            }, consumer: { produced in
                guard output.count + produced.count <= expected else {
                    throw FormatError.malformedZip(file: file, offset: 0, reason: "deflated entry '\(name)' inflates past its declared \(expected) bytes")
                }
                output.append(produced)
            })
        } catch let error as FormatError {
            throw error
        } catch {
            throw FormatError.malformedZip(file: file, offset: 0, reason: "cannot inflate '\(name)': \(error)")
        }
        guard output.count == expected else {
            throw FormatError.malformedZip(file: file, offset: 0,
                                           reason: "deflated entry '\(name)' inflates to \(output.count) bytes, declared \(expected)")
        }
        return output
    }

    // MARK: Writing

    /// A zip of `entries` in order (stored, or deflated when `compressed`), built in memory with
    /// ZIPFoundation. Timestamps are a fixed date so that equal inputs give equal members.
    static func archive(_ entries: [(path: String, data: Data)], compressed: Bool) throws -> Data {
        let fixedDate = Date(timeIntervalSince1970: 1_000_000_000)  // 2001-09-09
        do {
            let archive = try Archive(accessMode: .create)
            for entry in entries {
                let payload = entry.data
                try archive.addEntry(with: entry.path, type: .file, uncompressedSize: Int64(payload.count),
                                     modificationDate: fixedDate, compressionMethod: compressed ? .deflate : .none,
                                     provider: { position, size in
                                         let start = payload.startIndex + Int(position)
                                         return payload.subdata(in: start..<(start + size))
                                     })
            }
            guard let data = archive.data else {
                throw FormatError.io(file: "<zip>", reason: "ZIPFoundation returned no archive data")
            }
            return data
        } catch let error as FormatError {
            throw error
        } catch {
            throw FormatError.io(file: "<zip>", reason: "cannot build zip: \(error)")
        }
    }
}
