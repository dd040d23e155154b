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
    /// `nil` when every collection in the file's `bytes` is consistent, else what is wrong and where.
    static func problem(in bytes: UnsafeRawBufferPointer) -> String? {
        guard let base = bytes.baseAddress, let lengthSize = sizeOfLengths(bytes) else { return nil }  // libhdf5 opened it; be lenient
        let signature: [UInt8] = [0x47, 0x43, 0x4F, 0x4C, 1, 0, 0, 0]  // "GCOL", version 1, reserved
        var start = 0
        while start + 8 <= bytes.count, let found = memchr(base + start, 0x47, bytes.count - start) {
            let address = base.distance(to: UnsafeRawPointer(found))
            if address + 8 <= bytes.count, (0..<8).allSatisfy({ bytes[address + $0] == signature[$0] }),
               let problem = collectionProblem(bytes, at: address, lengthSize: lengthSize) {
                return "global heap collection at byte \(address): \(problem)"
            }
            start = address + 1
        }
        return nil
    }

    /// "Size of lengths" from the superblock (at offset 0, or 512, 1024, ... after a user block).
    private static func sizeOfLengths(_ bytes: UnsafeRawBufferPointer) -> Int? {
        var offset = 0
        while offset <= 1 << 30, offset + 16 <= bytes.count {
            let header = bytes[offset..<(offset + 16)]
            if header.starts(with: [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]) {
                let size = Int(header[offset + (header[offset + 8] <= 1 ? 14 : 10)])
                return [2, 4, 8].contains(size) ? size : nil
            }
            offset = offset == 0 ? 512 : offset * 2
        }
        return nil
    }

    /// Walks one collection's objects the way libhdf5's `H5HG__cache_heap_deserialize` does.
    private static func collectionProblem(_ bytes: UnsafeRawBufferPointer, at address: Int, lengthSize: Int) -> String? {
        let fileSize = bytes.count
        guard address + 8 + lengthSize <= fileSize else { return "header cut off by the end of the file" }
        let size = littleEndian(bytes[(address + 8)..<(address + 8 + lengthSize)])
        guard size >= 4096 else { return "collection size \(size) is below the minimum of 4096" }  // H5HG_MINSIZE
        guard size <= UInt64(fileSize - address) else {
            return "collection of \(size) bytes runs past the end of the file (\(fileSize) bytes)"
        }
        let heap = UnsafeRawBufferPointer(rebasing: bytes[address..<(address + Int(size))])
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
