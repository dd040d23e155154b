import Foundation

/// A `torch.save` zip archive (the format since PyTorch 1.6; `torch/serialization.py`,
/// `caffe2/serialize/inline_container.cc`): records under one top folder (the file stem, or
/// `archive/`): `data.pkl` (the pickled object), `data/<key>` (raw storage bytes), `byteorder`,
/// `version`, ...
///
/// Opening unpickles `data.pkl` with ``RestrictedPickle`` (nothing is executed; its CRC-32 is checked);
/// tensors are materialised on request from their storage record, checking the view (storage offset,
/// size, strides) against the storage's size, and copying only when the view is not a contiguous run
/// (a contiguous one is a slice of the memory-mapped file).
/// The legacy pre-1.6 format (a bare pickle stream) and TorchScript archives are refused.
public struct TorchArchive {
    /// The unpickled `data.pkl`.
    public let root: PickleValue
    /// The archive's top folder, without the slash.
    public let prefix: String
    /// Where the archive came from (its path), for errors.
    public let source: String
    /// Stop materialising once this many bytes have been produced (expanded views can make a
    /// small file describe a huge tensor).
    public let maxMaterializedBytes: Int
    /// The bytes materialised so far.
    public private(set) var materializedBytes = 0

    let zip: ZipContainer
    let bigEndian: Bool
    private var storages: [String: Data] = [:]

    /// Opens the archive memory-mapped. `maxMaterializedBytes` defaults to 8 × the file size
    /// (at least 64 MiB).
    public init(contentsOf url: URL, limits: PickleLimits = PickleLimits(), maxMaterializedBytes: Int? = nil) throws {
        try self.init(readFile(url), source: url.path, limits: limits, maxMaterializedBytes: maxMaterializedBytes)
    }

    /// Opens an archive image; `source` names it in errors.
    public init(_ data: Data, source: String = "<memory>", limits: PickleLimits = PickleLimits(),
                maxMaterializedBytes: Int? = nil) throws {
        self.source = source
        self.maxMaterializedBytes = maxMaterializedBytes ?? Swift.max(1 << 26, Checked.multiply(data.count, 8) ?? Int.max)
        guard ZipContainer.looksLikeZip(data) else {
            let head = try data.copyBytes(at: 0, count: Swift.min(16, data.count), file: source, what: "magic")
            if head.starts(with: [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8]) {
                throw FormatError.badMagic(file: source, expected: "a zip archive (torch.save since PyTorch 1.6)",
                                           found: "the legacy torch.save format (pickle with magic number), which is not read")
            }
            throw FormatError.badMagic(file: source, expected: "a zip archive (\"PK\\x03\\x04\")", found: printable(head))
        }
        zip = try ZipContainer(data: data, file: source)
        guard let first = zip.members.first else { throw FormatError.missingEntry(file: source, entry: "archive/data.pkl") }
        guard let slash = first.name.firstIndex(of: "/") else {
            throw FormatError.malformedZip(file: source, offset: 0, reason: "record '\(first.name)' is not inside an archive folder")
        }
        prefix = String(first.name[..<slash])
        for member in zip.members where !member.name.hasPrefix(prefix + "/") {
            throw FormatError.malformedZip(file: source, offset: member.dataOffset,
                                           reason: "record '\(member.name)' is outside the archive folder '\(prefix)/'")
        }
        if let order = zip.member(named: "\(prefix)/byteorder") {
            let text = String(decoding: try zip.contents(of: order), as: UTF8.self)
            switch text.trimmingCharacters(in: .whitespacesAndNewlines) {
            case "little": bigEndian = false
            case "big": bigEndian = true
            default: throw FormatError.malformedHeader(file: source, offset: order.dataOffset, reason: "byteorder is '\(text)'")
            }
        } else {
            bigEndian = false
        }
        guard let pickle = zip.member(named: "\(prefix)/data.pkl") else {
            throw FormatError.missingEntry(file: source, entry: "\(prefix)/data.pkl")
        }
        root = try RestrictedPickle.load(try zip.contents(of: pickle), source: "\(source):\(prefix)/data.pkl", limits: limits)
    }

    /// The tensor's elements in row-major order, checked against its storage. `key` names it in errors.
    public mutating func materialize(_ tensor: TorchTensorReference, key: String) throws -> ArrayRecord {
        let storage = try storageBytes(tensor.storage, key: key)
        let elementSize = tensor.elementType.byteCount
        let available = storage.count / elementSize
        let shape = tensor.shape, strides = tensor.strides
        func invalid(_ reason: String) -> FormatError { .invalidTensor(file: source, key: key, reason: reason) }
        guard shape.count == strides.count else { throw invalid("size \(shape) and stride \(strides) differ in rank") }
        guard shape.allSatisfy({ $0 >= 0 }), strides.allSatisfy({ $0 >= 0 }), tensor.storageOffset >= 0 else {
            throw invalid("negative size, stride or offset (size \(shape), stride \(strides), offset \(tensor.storageOffset))")
        }
        guard let count = Checked.product(shape), let byteCount = Checked.multiply(count, elementSize) else {
            throw FormatError.limitExceeded(file: source, what: "size of tensor '\(key)' \(shape)", value: "element count", limit: "Int.max bytes")
        }
        if count > 0 {
            var last = tensor.storageOffset
            for (size, stride) in Swift.zip(shape, strides) {
                guard let step = Checked.multiply(size - 1, stride), let next = Checked.add(last, step) else {
                    throw invalid("view (size \(shape), stride \(strides)) overflows")
                }
                last = next
            }
            guard last < available else {
                throw invalid("view (offset \(tensor.storageOffset), size \(shape), stride \(strides)) reaches element \(last) of a storage of \(available) \(tensor.elementType) elements (record '\(prefix)/data/\(tensor.storage.key)')")
            }
        }
        guard let total = Checked.add(materializedBytes, byteCount), total <= maxMaterializedBytes else {
            throw FormatError.limitExceeded(file: source, what: "materialised tensor bytes (at '\(key)', shape \(shape), stride \(strides))",
                                            value: "\(materializedBytes) + \(byteCount)", limit: "\(maxMaterializedBytes)")
        }
        materializedBytes = total
        var bytes: Data
        if count == 0 {
            bytes = Data()
        } else if strides == Layout.contiguousStrides(shape) || count == 1 {
            bytes = storage[(storage.startIndex + tensor.storageOffset * elementSize)...].prefix(byteCount)
        } else {
            bytes = storage.withUnsafeBytes {
                Layout.gather($0, elementSize: elementSize, shape: shape, strides: strides, offset: tensor.storageOffset)
            }
        }
        if bigEndian && elementSize > 1 { Layout.byteSwap(&bytes, elementSize: elementSize) }
        return ArrayRecord(unchecked: tensor.elementType, shape: shape, bytes: bytes)
    }

    private mutating func storageBytes(_ storage: TorchStorageReference, key: String) throws -> Data {
        let name = "\(prefix)/data/\(storage.key)"
        let bytes: Data
        if let cached = storages[storage.key] {
            bytes = cached
        } else {
            guard let member = zip.member(named: name) else { throw FormatError.missingEntry(file: source, entry: name) }
            // Storage records are not CRC-checked, as torch.load does not check them (PyTorch 2.15 loads a
            // .pt with a flipped data byte, mmap or not): a stored record stays a slice of the mapped
            // file, untouched until used, so opening a 1 GiB state_dict costs about its header.
            bytes = try zip.contents(of: member, verifyChecksum: false)
            storages[storage.key] = bytes
        }
        guard let declared = storage.byteCount, declared == bytes.count else {
            throw FormatError.invalidTensor(file: source, key: key,
                                            reason: "storage record '\(name)' has \(bytes.count) bytes; its persistent id declares \(storage.numel) × \(storage.elementType?.description ?? "byte")")
        }
        return bytes
    }
}

/// A PyTorch `state_dict` saved with `torch.save(model.state_dict(), path)`: tensors by name, in
/// order. Read through ``TorchArchive``; written as `torch.save` writes it, so that
/// `torch.load(path, weights_only=True)` accepts the file (verified by
/// `scripts/make_format_fixtures.py --verify`).
public enum TorchStateDict {
    /// The tensors of the state_dict in `url`, in order. With `key`, the state_dict is the member
    /// `key` of the saved dict (a checkpoint such as `{"model": state_dict, "epoch": 3}`).
    public static func read(contentsOf url: URL, key: String? = nil, limits: PickleLimits = PickleLimits()) throws -> [NamedArray] {
        var archive = try TorchArchive(contentsOf: url, limits: limits)
        return try tensors(in: &archive, key: key)
    }

    /// ``read(contentsOf:key:limits:)`` for an archive image; `source` names it in errors.
    public static func read(_ data: Data, source: String = "<memory>", key: String? = nil,
                            limits: PickleLimits = PickleLimits()) throws -> [NamedArray] {
        var archive = try TorchArchive(data, source: source, limits: limits)
        return try tensors(in: &archive, key: key)
    }

    static func tensors(in archive: inout TorchArchive, key: String?) throws -> [NamedArray] {
        var dict = archive.root
        if let key {
            guard let inner = archive.root[key] else {
                throw FormatError.missingEntry(file: archive.source, entry: "\(key) (a member of the saved \(archive.root.kind))")
            }
            dict = inner
        }
        guard case .dict(let members) = dict else {
            throw FormatError.malformedPickle(file: archive.source, offset: 0,
                                              reason: "the saved object is a \(dict.kind), not a state_dict (a dict of tensors)")
        }
        var out: [NamedArray] = []
        for (name, value) in members.entries {
            guard case .string(let name) = name else {
                throw FormatError.malformedPickle(file: archive.source, offset: 0, reason: "state_dict key is a \(name.kind), not a str")
            }
            guard case .tensor(let tensor) = value else {
                throw FormatError.invalidTensor(file: archive.source, key: name, reason: "value is of type \(value.kind), not a tensor")
            }
            out.append((name, try archive.materialize(tensor, key: name)))
        }
        return out
    }

    /// The `torch.save` archive bytes for an OrderedDict of `tensors`, one storage each, under the
    /// folder `archiveName`.
    public static func encode(_ tensors: [NamedArray], archiveName: String = "archive") throws -> Data {
        var seen: Set<String> = []
        var entries: [(key: PickleValue, value: PickleValue)] = []
        var storages: [(path: String, data: Data)] = []
        for (index, (name, record)) in tensors.enumerated() {
            guard seen.insert(name).inserted else { throw FormatError.duplicateKey(file: "<torch writer>", key: name) }
            // uint16/32/64 have no typed storage class: torch writes them untyped (numel in bytes) with v3.
            let typed = ![.uint16, .uint32, .uint64].contains(record.elementType)
            let storage = TorchStorageReference(key: "\(index)", elementType: typed ? record.elementType : nil,
                                                location: "cpu", numel: typed ? record.elementCount : record.bytes.count)
            entries.append((.string(name), .tensor(TorchTensorReference(storage: storage, elementType: record.elementType,
                                                                        shape: record.shape))))
            storages.append(("\(archiveName)/data/\(index)", record.bytes))
        }
        let pickle = try RestrictedPickle.dump(.dict(PickleDict(entries: entries, isOrdered: true)))
        var records: [(path: String, data: Data)] = [
            ("\(archiveName)/data.pkl", pickle),
            ("\(archiveName)/.format_version", Data("1".utf8)),
            ("\(archiveName)/.storage_alignment", Data("64".utf8)),
            ("\(archiveName)/byteorder", Data("little".utf8)),
        ]
        records += storages
        records.append(("\(archiveName)/version", Data("3\n".utf8)))
        return try ZipContainer.archive(records, compressed: false)
    }

    /// Writes `tensors` to `url`, the archive folder named after the file stem as `torch.save` does.
    public static func write(_ tensors: [NamedArray], to url: URL) throws {
        let stem = url.deletingPathExtension().lastPathComponent
        let name = stem.isEmpty || stem.contains("/") ? "archive" : stem
        try writeFile(encode(tensors, archiveName: name), to: url)
    }
}
