import Foundation

extension RestrictedPickle {
    /// Pickles `value` with protocol 2, the way CPython's `pickle.Pickler` does inside `torch.save`
    /// (`Lib/pickle.py`, `torch/serialization.py`), so that the reader above, `pickle.load` and
    /// `torch.load(weights_only=True)` all accept it.
    ///
    /// Every str, non-empty tuple, list, dict and reduce result is memoized (BINPUT) as CPython
    /// does. CPython reuses memo entries by object identity; a value tree has none, so the writer
    /// reuses them where `torch.save` shares objects: globals, and the strings of persistent ids
    /// (`'storage'`, the location, a storage key named twice). A state_dict therefore comes out
    /// byte-identical to `torch.save`'s `data.pkl` (checked against a fixture). Tensors are written as
    /// `_rebuild_tensor_v2` (`_rebuild_tensor_v3` with an `UntypedStorage` for uint16/32/64, as torch
    /// does), wrapped in `_rebuild_parameter` for parameters. Bytes use protocol 2's
    /// `_codecs.encode(str, 'latin1')`, sets `builtins.set([...])`, as CPython does.
    public static func dump(_ value: PickleValue) throws -> Data {
        var writer = PickleWriter()
        writer.out = [0x80, 0x02]
        try writer.save(value, depth: 0)
        writer.out.append(0x2e)  // STOP
        return Data(writer.out)
    }
}

private struct PickleWriter {
    var out: [UInt8] = []
    var memoCount = 0
    var globals: [String: Int] = [:]
    var persistentStrings: [String: Int] = [:]
    static let batchSize = 1000
    static let maxDepth = 1000

    mutating func memoize() {
        if memoCount < 256 {
            out += [0x71, UInt8(memoCount)]  // BINPUT
        } else {
            out.append(0x72)  // LONG_BINPUT
            appendLE(UInt32(memoCount))
        }
        memoCount += 1
    }

    mutating func get(_ index: Int) {
        if index < 256 {
            out += [0x68, UInt8(index)]  // BINGET
        } else {
            out.append(0x6a)  // LONG_BINGET
            appendLE(UInt32(index))
        }
    }

    mutating func appendLE<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { out += $0 }
    }

    mutating func global(_ module: String, _ name: String) {
        let key = module + "\n" + name
        if let index = globals[key] { get(index); return }
        out.append(0x63)  // GLOBAL
        out += Array(module.utf8) + [0x0a] + Array(name.utf8) + [0x0a]
        globals[key] = memoCount
        memoize()
    }

    mutating func string(_ text: String) {
        let bytes = Array(text.utf8)
        out.append(0x58)  // BINUNICODE
        appendLE(UInt32(bytes.count))
        out += bytes
        memoize()
    }

    /// A string shared the way torch.save shares it inside persistent ids.
    mutating func sharedString(_ text: String) {
        if let index = persistentStrings[text] { get(index); return }
        persistentStrings[text] = memoCount
        let bytes = Array(text.utf8)
        out.append(0x58)
        appendLE(UInt32(bytes.count))
        out += bytes
        memoize()
    }

    mutating func int(_ value: Int64) {
        if value >= 0 && value <= 0xff {
            out += [0x4b, UInt8(value)]  // BININT1
        } else if value >= 0 && value <= 0xffff {
            out.append(0x4d)  // BININT2
            appendLE(UInt16(value))
        } else if value >= Int64(Int32.min) && value <= Int64(Int32.max) {
            out.append(0x4a)  // BININT
            appendLE(Int32(value))
        } else {
            var bytes = withUnsafeBytes(of: value.littleEndian) { Array($0) }
            while bytes.count > 1 {
                let last = bytes[bytes.count - 1], previous = bytes[bytes.count - 2]
                if (last == 0 && previous & 0x80 == 0) || (last == 0xff && previous & 0x80 != 0) { bytes.removeLast() } else { break }
            }
            out += [0x8a, UInt8(bytes.count)] + bytes  // LONG1
        }
    }

    mutating func tuple(_ items: [PickleValue], depth: Int) throws {
        if items.isEmpty { out.append(0x29); return }  // EMPTY_TUPLE
        if items.count <= 3 {
            for item in items { try save(item, depth: depth + 1) }
            out.append(0x84 + UInt8(items.count))  // TUPLE1-3
        } else {
            out.append(0x28)  // MARK
            for item in items { try save(item, depth: depth + 1) }
            out.append(0x74)  // TUPLE
        }
        memoize()
    }

    /// CPython's `_batch_appends` / `_batch_setitems`: batches of 1000 between MARK and
    /// APPENDS / SETITEMS, a lone item with APPEND / SETITEM.
    mutating func batched(_ count: Int, single: UInt8, many: UInt8,
                          _ emit: (inout PickleWriter, Int) throws -> Void) rethrows {
        var start = 0
        while start < count {
            let end = min(count, start + Self.batchSize)
            if end - start == 1 {
                try emit(&self, start)
                out.append(single)
            } else {
                out.append(0x28)  // MARK
                for i in start..<end { try emit(&self, i) }
                out.append(many)
            }
            start = end
        }
    }

    mutating func persistentID(_ storage: TorchStorageReference) throws {
        out.append(0x28)  // MARK
        sharedString("storage")
        if let type = storage.elementType {
            guard let name = AllowedGlobal.storageClasses.first(where: { $0.value == type })?.key else {
                throw FormatError.unrepresentable(key: "storage '\(storage.key)'",
                                                  reason: "torch has no typed storage class for \(type); use an untyped storage")
            }
            global("torch", name)
        } else {
            global("torch.storage", "UntypedStorage")
        }
        sharedString(storage.key)
        sharedString(storage.location)
        int(Int64(storage.numel))
        out.append(0x74)  // TUPLE
        memoize()
        out.append(0x51)  // BINPERSID
    }

    mutating func emptyOrderedDict() {
        global("collections", "OrderedDict")
        out.append(0x29)  // EMPTY_TUPLE
        out.append(0x52)  // REDUCE
        memoize()
    }

    mutating func dtype(_ type: ElementType) throws {
        guard let name = AllowedGlobal.dtypes.first(where: { $0.value == type })?.key else {
            throw FormatError.unrepresentable(key: "\(type)", reason: "no torch dtype")
        }
        global("torch", name)
    }

    mutating func tensor(_ t: TorchTensorReference) throws {
        let untyped = t.storage.elementType == nil
        if t.isParameter { global("torch._utils", "_rebuild_parameter") }
        global("torch._utils", untyped ? "_rebuild_tensor_v3" : "_rebuild_tensor_v2")
        out.append(0x28)  // MARK
        try persistentID(t.storage)
        int(Int64(t.storageOffset))
        try tuple(t.shape.map { .int(Int64($0)) }, depth: 0)
        try tuple(t.strides.map { .int(Int64($0)) }, depth: 0)
        out.append(t.requiresGrad && !t.isParameter ? 0x88 : 0x89)
        emptyOrderedDict()
        if untyped { try dtype(t.elementType) }
        out.append(0x74)  // TUPLE
        memoize()
        out.append(0x52)  // REDUCE
        memoize()
        if t.isParameter {
            out.append(t.requiresGrad ? 0x88 : 0x89)
            emptyOrderedDict()
            out.append(0x87)  // TUPLE3
            memoize()
            out.append(0x52)  // REDUCE
            memoize()
        }
    }

    mutating func save(_ value: PickleValue, depth: Int) throws {
        guard depth < Self.maxDepth else {
            throw FormatError.limitExceeded(file: "<pickle writer>", what: "nesting depth", value: "\(depth)", limit: "\(Self.maxDepth)")
        }
        switch value {
        case .none: out.append(0x4e)
        case .bool(let b): out.append(b ? 0x88 : 0x89)
        case .int(let i): int(i)
        case .bigInt(let bytes):
            guard bytes.count <= 255 else { throw FormatError.unrepresentable(key: "int", reason: "integer of \(bytes.count) bytes is too wide for LONG1") }
            out += [0x8a, UInt8(bytes.count)] + bytes
        case .float(let d):
            out.append(0x47)  // BINFLOAT, big-endian
            withUnsafeBytes(of: d.bitPattern.bigEndian) { out += $0 }
        case .string(let s): string(s)
        case .bytes(let data):
            global("_codecs", "encode")
            string(String(String.UnicodeScalarView(data.map { Unicode.Scalar($0) })))
            sharedString("latin1")
            out.append(0x86)  // TUPLE2
            memoize()
            out.append(0x52)  // REDUCE
            memoize()
        case .tuple(let items): try tuple(items, depth: depth)
        case .list(let items):
            out.append(0x5d)  // EMPTY_LIST
            memoize()
            try batched(items.count, single: 0x61, many: 0x65) { w, i in try w.save(items[i], depth: depth + 1) }
        case .set(let items):
            global("__builtin__", "set")
            out.append(0x5d)  // EMPTY_LIST
            memoize()
            try batched(items.count, single: 0x61, many: 0x65) { w, i in try w.save(items[i], depth: depth + 1) }
            out.append(0x85)  // TUPLE1
            memoize()
            out.append(0x52)  // REDUCE
            memoize()
        case .dict(let dict):
            if dict.isOrdered {
                emptyOrderedDict()
            } else {
                out.append(0x7d)  // EMPTY_DICT
                memoize()
            }
            try batched(dict.entries.count, single: 0x73, many: 0x75) { w, i in
                try w.save(dict.entries[i].key, depth: depth + 1)
                try w.save(dict.entries[i].value, depth: depth + 1)
            }
            if !dict.attributes.isEmpty {
                guard dict.isOrdered else { throw FormatError.unrepresentable(key: "dict", reason: "only an OrderedDict carries attributes") }
                out.append(0x7d)  // EMPTY_DICT
                memoize()
                try batched(dict.attributes.count, single: 0x73, many: 0x75) { w, i in
                    w.string(dict.attributes[i].key)
                    try w.save(dict.attributes[i].value, depth: depth + 1)
                }
                out.append(0x62)  // BUILD
            }
        case .storage(let storage): try persistentID(storage)
        case .tensor(let t): try tensor(t)
        case .dtype(let type): try dtype(type)
        }
    }
}
