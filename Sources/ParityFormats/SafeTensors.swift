import Foundation

/// A Hugging Face `.safetensors` file, read with the reference implementation's validation and
/// written byte-for-byte as it writes (`huggingface/safetensors`, `safetensors/src/tensor.rs`:
/// `SafeTensors::read_metadata`, `Metadata::validate`, `prepare`).
///
/// Layout: `[u64 LE N][N bytes of UTF-8 JSON][data]`. The JSON maps each tensor name to
/// `{"dtype", "shape", "data_offsets": [begin, end]}` (offsets relative to the data section), plus
/// an optional `"__metadata__"` object of string → string. Reading checks, as the reference does:
/// N ≤ 100,000,000; the header lies in the file and is valid UTF-8 JSON; shapes and offsets are
/// non-negative integers; the tensors, sorted by offsets, start at 0 and tile the data section with
/// no gap or overlap (`InvalidOffset`); `end − begin` = element count × dtype size, computed with
/// overflow checks (`TensorInvalidInfo`, `ValidationOverflow`); the last tensor ends at the end of
/// the file (`MetadataIncompleteBuffer`). Stricter than the reference: a key given twice is refused
/// (serde keeps the last one silently). Unknown fields in a tensor entry are ignored, as serde does.
///
/// Tensors come back in data order (which is header order for files the reference wrote). The
/// writer sorts as the reference does (by dtype alignment, descending, then by name) and pads the
/// header with spaces to a multiple of 8, so its output equals `safetensors.torch.save_file`'s
/// byte for byte (checked on a fixture); the one difference is the order of several metadata keys,
/// which the reference takes from a Rust `HashMap` (it varies between runs) and Parity sorts.
public enum SafeTensors {
    /// The reference's `MAX_HEADER_SIZE`.
    public static let maxHeaderSize = 100_000_000

    /// The tensors of the file at `url`, in the order of their data, and its `__metadata__` (empty when absent).
    public static func read(contentsOf url: URL) throws -> (tensors: [NamedArray], metadata: [String: String]) {
        try read(readFile(url), source: url.path)
    }

    /// The tensors and metadata of a `.safetensors` image; `source` names it in errors.
    public static func read(_ data: Data, source: String = "<memory>") throws -> (tensors: [NamedArray], metadata: [String: String]) {
        guard data.count >= 8 else {
            throw FormatError.truncated(file: source, what: "safetensors header length", offset: 0, needed: 8, available: data.count)
        }
        let declared = try data.littleEndian(UInt64.self, at: 0, file: source, what: "header length")
        guard declared <= UInt64(maxHeaderSize) else {
            throw FormatError.limitExceeded(file: source, what: "safetensors header length", value: "\(declared) bytes",
                                            limit: "\(maxHeaderSize) bytes")
        }
        let headerLength = Int(declared)
        guard headerLength <= data.count - 8 else {
            throw FormatError.truncated(file: source, what: "safetensors header", offset: 8, needed: headerLength,
                                        available: data.count - 8)
        }
        let headerBytes = try data.copyBytes(at: 8, count: headerLength, file: source, what: "safetensors header")
        guard strictUTF8(headerBytes) != nil else {
            throw FormatError.malformedHeader(file: source, offset: 8, reason: "header is not valid UTF-8")
        }
        let header: JSONValue
        do { header = try JSONValue.parse(headerBytes) } catch {
            if case .duplicateKey(_, let key) = error { throw FormatError.duplicateKey(file: source, key: key) }
            throw FormatError.malformedHeader(file: source, offset: 8 + error.offset, reason: "invalid JSON: \(error.reason)")
        }
        guard case .object(let members) = header else {
            throw FormatError.malformedHeader(file: source, offset: 8, reason: "header is not a JSON object")
        }

        var metadata: [String: String] = [:]
        var entries: [(name: String, type: ElementType, shape: [Int], begin: Int, end: Int)] = []
        for (name, value) in members {
            if name == "__metadata__" {
                guard case .object(let pairs) = value else {
                    throw FormatError.malformedHeader(file: source, offset: 8, reason: "__metadata__ is \(value.kind), not an object of strings")
                }
                for (key, item) in pairs {
                    guard case .string(let text) = item else {
                        throw FormatError.malformedHeader(file: source, offset: 8,
                                                          reason: "__metadata__['\(key)'] is \(item.kind), not a string")
                    }
                    metadata[key] = text
                }
                continue
            }
            guard case .object(let fields) = value else {
                throw FormatError.invalidTensor(file: source, key: name, reason: "header entry is \(value.kind), not an object")
            }
            func field(_ wanted: String) throws -> JSONValue {
                guard let found = fields[wanted] else {
                    throw FormatError.invalidTensor(file: source, key: name, reason: "missing field \"\(wanted)\"")
                }
                return found
            }
            guard case .string(let dtype) = try field("dtype") else {
                throw FormatError.invalidTensor(file: source, key: name, reason: "dtype is \(try field("dtype").kind), not a string")
            }
            guard let type = elementType(dtype) else {
                throw FormatError.unsupportedDType(file: source, key: name, dtype: dtype)
            }
            guard case .array(let dims) = try field("shape") else {
                throw FormatError.invalidTensor(file: source, key: name, reason: "shape is \(try field("shape").kind), not an array")
            }
            var shape: [Int] = []
            for dim in dims {
                guard case .int(let n) = dim, n >= 0 else {
                    throw FormatError.invalidTensor(file: source, key: name, reason: "shape entry is \(dim.kind), expected a non-negative integer")
                }
                shape.append(n)
            }
            guard case .array(let offsets) = try field("data_offsets"), offsets.count == 2,
                  case .int(let begin) = offsets[0], case .int(let end) = offsets[1], begin >= 0, end >= 0 else {
                throw FormatError.invalidTensor(file: source, key: name,
                                                reason: "data_offsets must be two non-negative integers [begin, end]")
            }
            entries.append((name, type, shape, begin, end))
        }

        // Metadata::validate: sorted by offsets, the tensors must tile the data section exactly.
        let ordered = entries.enumerated().sorted {
            ($0.element.begin, $0.element.end, $0.offset) < ($1.element.begin, $1.element.end, $1.offset)
        }.map(\.element)
        let dataStart = 8 + headerLength
        let dataLength = data.count - dataStart
        var expectedStart = 0
        var tensors: [NamedArray] = []
        tensors.reserveCapacity(ordered.count)
        for entry in ordered {
            guard entry.begin == expectedStart, entry.end >= entry.begin else {
                let problem = entry.begin < expectedStart ? "overlaps the previous tensor" : entry.begin > expectedStart ? "leaves a gap after the previous tensor" : "ends before it begins"
                throw FormatError.invalidTensor(file: source, key: entry.name,
                                                reason: "invalid data_offsets [\(entry.begin), \(entry.end)]: expected to begin at \(expectedStart); \(problem)")
            }
            guard let count = Checked.product(entry.shape), let byteCount = Checked.multiply(count, entry.type.byteCount) else {
                throw FormatError.limitExceeded(file: source, what: "size of tensor '\(entry.name)' with shape \(entry.shape)",
                                                value: "element count × \(entry.type.byteCount) bytes", limit: "Int.max (overflow)")
            }
            guard entry.end - entry.begin == byteCount else {
                throw FormatError.invalidTensor(file: source, key: entry.name,
                                                reason: "shape \(entry.shape) of \(entry.type) needs \(byteCount) bytes, data_offsets [\(entry.begin), \(entry.end)] give \(entry.end - entry.begin)")
            }
            guard entry.end <= dataLength else {
                throw FormatError.truncated(file: source, what: "data of tensor '\(entry.name)'", offset: dataStart + entry.begin,
                                            needed: byteCount, available: Swift.max(0, dataLength - entry.begin))
            }
            expectedStart = entry.end
            let bytes = try data.checkedSlice(at: dataStart + entry.begin, count: byteCount, file: source, what: "tensor data")
            tensors.append((entry.name, ArrayRecord(unchecked: entry.type, shape: entry.shape, bytes: bytes)))
        }
        guard expectedStart == dataLength else {
            throw FormatError.malformedHeader(file: source, offset: dataStart + expectedStart,
                                              reason: "incomplete metadata: tensors cover \(expectedStart) of the \(dataLength) data bytes")
        }
        return (tensors, metadata)
    }

    /// The file bytes `safetensors.torch.save_file(tensors, metadata=...)` would write (metadata is
    /// omitted when empty).
    public static func encode(_ tensors: [NamedArray], metadata: [String: String] = [:]) throws -> Data {
        var seen: Set<String> = []
        for (name, _) in tensors {
            guard name != "__metadata__" else { throw FormatError.unrepresentable(key: name, reason: "reserved name in safetensors") }
            guard seen.insert(name).inserted else { throw FormatError.duplicateKey(file: "<safetensors writer>", key: name) }
        }
        for (name, record) in tensors where record.elementType.isComplex {
            throw FormatError.unrepresentable(key: name, reason: "Parity writes no complex safetensors (\(record.elementType)); save the real pairs (view_as_real) instead")
        }
        let sorted = tensors.sorted { a, b in
            let (ra, rb) = (alignmentRank(a.record.elementType), alignmentRank(b.record.elementType))
            if ra != rb { return ra > rb }
            return a.name.utf8.lexicographicallyPrecedes(b.name.utf8)
        }
        var header = JSONObject()
        if !metadata.isEmpty {
            let pairs = metadata.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
            header["__metadata__"] = .object(JSONObject(pairs.map { ($0.key, JSONValue.string($0.value)) }))
        }
        var offset = 0
        for (name, record) in sorted {
            let end = offset + record.bytes.count
            header[name] = .object(["dtype": .string(dtypeName(record.elementType)), "shape": .ints(record.shape),
                                    "data_offsets": .ints([offset, end])])
            offset = end
        }
        var headerBytes = Array(JSONValue.object(header).compactText.utf8)
        headerBytes.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - headerBytes.count % 8) % 8))
        var out = Data(capacity: 8 + headerBytes.count + offset)
        let length = UInt64(headerBytes.count)
        out.append(contentsOf: (0..<8).map { UInt8((length >> (8 * UInt64($0))) & 0xff) })
        out.append(contentsOf: headerBytes)
        for (_, record) in sorted { out.append(record.bytes) }
        return out
    }

    /// Writes ``encode(_:metadata:)``'s bytes to `url`.
    public static func write(_ tensors: [NamedArray], metadata: [String: String] = [:], to url: URL) throws {
        try writeFile(encode(tensors, metadata: metadata), to: url)
    }

    // MARK: dtype names

    static func elementType(_ name: String) -> ElementType? {
        switch name {
        case "BOOL": return .bool
        case "U8": return .uint8
        case "I8": return .int8
        case "I16": return .int16
        case "U16": return .uint16
        case "F16": return .float16
        case "BF16": return .bfloat16
        case "I32": return .int32
        case "U32": return .uint32
        case "F32": return .float32
        case "F64": return .float64
        case "I64": return .int64
        case "U64": return .uint64
        default: return nil  // F8_*, F4, F6_*, C64 and unknown names
        }
    }

    static func dtypeName(_ type: ElementType) -> String {
        switch type {
        case .bool: return "BOOL"
        case .uint8: return "U8"
        case .int8: return "I8"
        case .int16: return "I16"
        case .uint16: return "U16"
        case .float16: return "F16"
        case .bfloat16: return "BF16"
        case .int32: return "I32"
        case .uint32: return "U32"
        case .float32: return "F32"
        case .float64: return "F64"
        case .int64: return "I64"
        case .uint64: return "U64"
        case .complex64, .complex128: return type.rawValue  // refused by encode
        }
    }

    /// The position of the dtype in the reference's `Dtype` enum, which is declared in increasing
    /// alignment order and sorts the written tensors.
    static func alignmentRank(_ type: ElementType) -> Int {
        switch type {
        case .bool: return 0
        case .uint8: return 1
        case .int8: return 2
        case .int16: return 3
        case .uint16: return 4
        case .float16: return 5
        case .bfloat16: return 6
        case .int32: return 7
        case .uint32: return 8
        case .float32: return 9
        case .float64: return 10
        case .int64: return 11
        case .uint64: return 12
        case .complex64, .complex128: return 13  // refused by encode
        }
    }
}
