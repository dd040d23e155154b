import Foundation

/// A check of the file's global heap collections before libhdf5 reads variable-length data.
///
/// Variable-length strings (every `str` and `bytes` attribute h5py 3 writes, so every Keras legacy
/// file) live in global heap collections (`GCOL`, HDF5 spec "Global Heap"). libhdf5 1.10.8 trusts
/// the object sizes recorded there: an object that runs past its collection makes `H5HG_read`
/// copy past its buffers (a crash), and a zero-sized free-space object makes the collection parser
/// loop forever. Found by fuzzing the fixtures; later libhdf5 releases check both. This scan
/// finds each collection by its signature and walks its objects as libhdf5 does, refusing the
/// file's variable-length data when one is inconsistent. Eight bytes must match (`GCOL`, version 1,
/// three zero bytes) before a hit counts as a collection, so raw data is not mistaken for one.
enum GlobalHeapCheck {
    /// `nil` when every collection is consistent, else what is wrong and where.
    static func problem(in url: URL, fileSize: UInt64) -> String? {
        guard let handle = FileHandle(forReadingAtPath: url.path) else { return "the file cannot be read" }
        defer { try? handle.close() }
        guard let lengthSize = sizeOfLengths(handle) else { return nil }  // libhdf5 opened it; be lenient
        let window = 1 << 20
        var offset: UInt64 = 0
        while offset < fileSize {
            // Overlap windows by 7 bytes so a signature across a boundary is seen.
            guard (try? handle.seek(toOffset: offset)) != nil,
                  let chunk = try? handle.read(upToCount: window + 7), chunk.count >= 8 else { break }
            var hits: [UInt64] = []
            chunk.withUnsafeBytes { bytes in
                guard let base = bytes.baseAddress else { return }
                let signature: [UInt8] = [0x47, 0x43, 0x4F, 0x4C, 1, 0, 0, 0]  // "GCOL", version 1, reserved
                var start = 0
                while start + 8 <= bytes.count, let found = memchr(base + start, 0x47, bytes.count - start) {
                    let position = base.distance(to: UnsafeRawPointer(found))
                    if position + 8 <= bytes.count, position < window,
                       (0..<8).allSatisfy({ bytes[position + $0] == signature[$0] }) {
                        hits.append(offset + UInt64(position))
                    }
                    start = position + 1
                }
            }
            for address in hits {
                if let problem = collectionProblem(handle, at: address, lengthSize: lengthSize, fileSize: fileSize) {
                    return "global heap collection at byte \(address): \(problem)"
                }
            }
            offset += UInt64(window)
        }
        return nil
    }

    /// "Size of lengths" from the superblock (at offset 0, or 512, 1024, ... after a user block).
    private static func sizeOfLengths(_ handle: FileHandle) -> Int? {
        var offset: UInt64 = 0
        while offset <= 1 << 30 {
            guard (try? handle.seek(toOffset: offset)) != nil,
                  let bytes = try? handle.read(upToCount: 16), bytes.count == 16 else { return nil }
            let header = [UInt8](bytes)
            if header.starts(with: [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]) {
                let size = Int(header[8] <= 1 ? header[14] : header[10])
                return [2, 4, 8].contains(size) ? size : nil
            }
            offset = offset == 0 ? 512 : offset * 2
        }
        return nil
    }

    /// Walks one collection's objects the way libhdf5's `H5HG__cache_heap_deserialize` does.
    private static func collectionProblem(_ handle: FileHandle, at address: UInt64, lengthSize: Int,
                                          fileSize: UInt64) -> String? {
        guard (try? handle.seek(toOffset: address + 8)) != nil,
              let sizeBytes = try? handle.read(upToCount: lengthSize), sizeBytes.count == lengthSize else {
            return "header cut off by the end of the file"
        }
        let size = littleEndian(sizeBytes)
        guard size >= 4096 else { return "collection size \(size) is below the minimum of 4096" }  // H5HG_MINSIZE
        guard size <= fileSize, address <= fileSize - size else {
            return "collection of \(size) bytes runs past the end of the file (\(fileSize) bytes)"
        }
        guard size <= 1 << 32, (try? handle.seek(toOffset: address)) != nil,
              let data = try? handle.read(upToCount: Int(size)), data.count == Int(size) else {
            return "collection of \(size) bytes cannot be read"
        }
        let heap = [UInt8](data)
        let objectHeader = 8 + lengthSize
        var position = 8 + lengthSize  // signature, version, reserved, collection size
        while position < heap.count {
            if position + objectHeader > heap.count { break }  // a tail too small for an object: free space
            let index = Int(heap[position]) | Int(heap[position + 1]) << 8
            let objectSize = littleEndian(heap[(position + 8)..<(position + 8 + lengthSize)])
            let need: UInt64
            if index > 0 {
                let (aligned, overflow) = objectSize.addingReportingOverflow(7)
                guard !overflow else { return "object \(index) claims \(objectSize) bytes" }
                need = UInt64(objectHeader) + aligned / 8 * 8
            } else {
                need = objectSize  // free space, its header included
            }
            guard need > 0 else { return "free-space object of size 0 at offset \(position)" }
            guard need <= UInt64(heap.count - position) else {
                return "object \(index) at offset \(position) claims \(objectSize) bytes, past the collection's \(heap.count)"
            }
            position += Int(need)
        }
        return nil
    }

    private static func littleEndian<C: Collection<UInt8>>(_ bytes: C) -> UInt64 {
        bytes.reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }
}
