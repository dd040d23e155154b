import Foundation

/// Bounds on what a pickle may make the reader hold, so that no file can exhaust the stack or the
/// memory (the file's own length bounds everything else: every length is checked against it).
public struct PickleLimits: Sendable, Equatable {
    /// Deepest nesting of tuples, lists, dicts and sets, and of open MARKs.
    public var maxDepth: Int
    /// Most memo entries (BINPUT / LONG_BINPUT / MEMOIZE).
    public var maxMemoEntries: Int
    /// Most values in the decoded result, counting a value shared through the memo once per place
    /// it appears (this bounds the blow-up of "billion laughs" sharing).
    public var maxValues: Int

    /// Limits; the parameters are the properties of the same names.
    public init(maxDepth: Int = 1000, maxMemoEntries: Int = 1 << 20, maxValues: Int = 10_000_000) {
        self.maxDepth = maxDepth
        self.maxMemoEntries = maxMemoEntries
        self.maxValues = maxValues
    }
}

/// A restricted unpickler in the spirit of `torch.load(weights_only=True)`
/// (`torch/_weights_only_unpickler.py`): it interprets the data-only opcodes of pickle protocols 2
/// to 5 and never imports or calls anything. `GLOBAL` / `STACK_GLOBAL` resolve only names on a
/// fixed allowlist (see ``RestrictedPickle/allowedGlobals``) and `REDUCE` / `BUILD` are interpreted
/// only for those: every other global (`posix.system`, `builtins.eval`, ...) is refused with
/// `FormatError/forbiddenGlobal` naming it. Persistent ids are accepted only in `torch.save`'s
/// storage form.
///
/// Recursive structures are refused: a list, dict or set cannot be modified once it has been
/// placed inside another object (Python's pickler always fills a container before using it, so
/// only self-referencing data violates this), nor contain itself.
public enum RestrictedPickle {
    /// The globals the reader resolves, as `module.name` (Python 2's `__builtin__` is read as
    /// `builtins`). Storage classes may appear only in persistent ids, dtypes only as the
    /// `_rebuild_tensor_v3` argument, `_codecs.encode` only as `encode(str, 'latin1')`.
    public static let allowedGlobals: [String] = AllowedGlobal.table.keys.sorted()

    /// Decodes the pickle in `data`. `source` names it in errors.
    public static func load(_ data: Data, source: String = "<memory>", limits: PickleLimits = PickleLimits()) throws -> PickleValue {
        var reader = Unpickler(ByteReader([UInt8](data), file: source), limits: limits)
        return try reader.load()
    }
}

// MARK: - Allowlist

enum AllowedGlobal: Equatable {
    case orderedDict
    case rebuildTensor, rebuildTensorV2, rebuildTensorV3
    case rebuildParameter, rebuildParameterWithState
    /// A typed storage class (`torch.FloatStorage`), or `nil` for `torch.storage.UntypedStorage`.
    case storageType(ElementType?)
    case dtype(ElementType)
    case codecsEncode
    case builtinSet

    static let storageClasses: [String: ElementType] = [
        "FloatStorage": .float32, "DoubleStorage": .float64, "HalfStorage": .float16, "BFloat16Storage": .bfloat16,
        "LongStorage": .int64, "IntStorage": .int32, "ShortStorage": .int16, "CharStorage": .int8,
        "ByteStorage": .uint8, "BoolStorage": .bool,
    ]

    static let dtypes: [String: ElementType] = [
        "float32": .float32, "float64": .float64, "float16": .float16, "bfloat16": .bfloat16,
        "int64": .int64, "int32": .int32, "int16": .int16, "int8": .int8, "uint8": .uint8, "bool": .bool,
        "uint16": .uint16, "uint32": .uint32, "uint64": .uint64,
    ]

    static let table: [String: AllowedGlobal] = {
        var table: [String: AllowedGlobal] = [
            "collections.OrderedDict": .orderedDict,
            "torch._utils._rebuild_tensor": .rebuildTensor,
            "torch._utils._rebuild_tensor_v2": .rebuildTensorV2,
            "torch._utils._rebuild_tensor_v3": .rebuildTensorV3,
            "torch._utils._rebuild_parameter": .rebuildParameter,
            "torch._utils._rebuild_parameter_with_state": .rebuildParameterWithState,
            "torch.storage.UntypedStorage": .storageType(nil),
            "_codecs.encode": .codecsEncode,
            "builtins.set": .builtinSet,
        ]
        for (name, type) in storageClasses { table["torch.\(name)"] = .storageType(type) }
        for (name, type) in dtypes { table["torch.\(name)"] = .dtype(type) }
        return table
    }()

    /// Storage classes and dtypes torch allows that Parity has no element type for.
    static let knownUnsupported: Set<String> = [
        "torch.ComplexFloatStorage", "torch.ComplexDoubleStorage", "torch.QInt8Storage", "torch.QUInt8Storage",
        "torch.QInt32Storage", "torch.QUInt4x2Storage", "torch.QUInt2x4Storage", "torch.complex64", "torch.complex128",
        "torch.complex32", "torch.float8_e4m3fn", "torch.float8_e5m2", "torch.float8_e4m3fnuz", "torch.float8_e5m2fnuz",
        "torch.float8_e8m0fnu", "torch.float4_e2m1fn_x2", "torch.qint8", "torch.quint8", "torch.qint32",
    ]

    /// Resolves `module.name` (Python 2 module names mapped as pickle's `fix_imports` does).
    static func resolve(module: String, name: String, file: String, offset: Int) throws -> AllowedGlobal {
        let module = module == "__builtin__" ? "builtins" : module
        let full = "\(module).\(name)"
        if let found = table[full] { return found }
        if knownUnsupported.contains(full) {
            throw FormatError.unsupportedDType(file: file, key: "global at byte \(offset)", dtype: full)
        }
        throw FormatError.forbiddenGlobal(file: file, global: full, offset: offset)
    }

    var name: String {
        Self.table.first { $0.value == self }?.key ?? "?"
    }
}

// MARK: - Unpickler

/// A list, set, dict or OrderedDict under construction, shared by reference through the memo.
private final class Container {
    enum Kind { case list, set, dict, orderedDict }
    let kind: Kind
    var items: [Item] = []
    var keys: [Item] = []
    var index: [HashKey: Int] = [:]
    var attributes: [(String, Item)] = []
    /// Set once the container is placed in another object; it can no longer change.
    var sealed = false
    var depth = 1

    init(_ kind: Kind) { self.kind = kind }

    var typeName: String {
        switch kind {
        case .list: return "list"
        case .set: return "set"
        case .dict: return "dict"
        case .orderedDict: return "OrderedDict"
        }
    }
}

private indirect enum Item {
    case leaf(PickleValue)
    case tuple([Item], depth: Int)
    case container(Container)
    case global(AllowedGlobal)

    var depth: Int {
        switch self {
        case .leaf, .global: return 1
        case .tuple(_, let depth): return depth
        case .container(let c): return c.depth
        }
    }

    var kind: String {
        switch self {
        case .leaf(let v): return v.kind
        case .tuple: return "tuple"
        case .container(let c): return c.typeName
        case .global(let g): return "global \(g.name)"
        }
    }
}

/// Dict keys: the hashable values.
private indirect enum HashKey: Hashable {
    case none, bool(Bool), int(Int64), big([UInt8]), float(UInt64), string(String), bytes(Data), tuple([HashKey])
}

private struct Unpickler {
    var r: ByteReader
    let limits: PickleLimits
    var stack: [Item] = []
    var metastack: [[Item]] = []
    var memo: [Int: Item] = [:]
    var opcodeOffset = 0

    init(_ reader: ByteReader, limits: PickleLimits) {
        r = reader
        self.limits = limits
    }

    var file: String { r.file }

    func fail(_ reason: String) -> FormatError {
        .malformedPickle(file: file, offset: opcodeOffset, reason: reason)
    }

    // MARK: Stack

    mutating func pop(_ what: String) throws -> Item {
        guard let top = stack.popLast() else { throw fail("\(what): stack is empty") }
        return top
    }

    mutating func popMark(_ what: String) throws -> [Item] {
        guard let previous = metastack.popLast() else { throw fail("\(what) without a preceding MARK") }
        let items = stack
        stack = previous
        return items
    }

    func top(_ what: String) throws -> Item {
        guard let top = stack.last else { throw fail("\(what): stack is empty") }
        return top
    }

    func checkDepth(_ depth: Int) throws {
        guard depth <= limits.maxDepth else {
            throw FormatError.limitExceeded(file: file, what: "pickle nesting depth at byte \(opcodeOffset)",
                                            value: "\(depth)", limit: "\(limits.maxDepth)")
        }
    }

    func seal(_ item: Item) {
        if case .container(let c) = item { c.sealed = true }
    }

    func makeTuple(_ items: [Item]) throws -> Item {
        let depth = 1 + (items.map(\.depth).max() ?? 0)
        try checkDepth(depth)
        items.forEach(seal)
        return .tuple(items, depth: depth)
    }

    /// Checks that `child` may go into `container`, then records the nesting.
    func adopt(_ child: Item, into container: Container) throws {
        guard !container.sealed else {
            throw fail("a \(container.typeName) is modified after being placed in another object (recursive structures are refused)")
        }
        if case .container(let c) = child, c === container {
            throw fail("a \(container.typeName) cannot contain itself (recursive structures are refused)")
        }
        try checkDepth(child.depth + 1)
        container.depth = max(container.depth, child.depth + 1)
        seal(child)
    }

    func hashKey(_ item: Item) throws -> HashKey {
        switch item {
        case .leaf(let v):
            switch v {
            case .none: return .none
            case .bool(let b): return .bool(b)
            case .int(let i): return .int(i)
            case .bigInt(let b): return .big(b)
            case .float(let d): return .float(d.bitPattern)
            case .string(let s): return .string(s)
            case .bytes(let b): return .bytes(b)
            default: throw fail("unhashable \(v.kind) used as a dict key or set member")
            }
        case .tuple(let items, _): return .tuple(try items.map(hashKey))
        default: throw fail("unhashable \(item.kind) used as a dict key or set member")
        }
    }

    func setItem(_ container: Container, key: Item, value: Item) throws {
        guard container.kind == .dict || container.kind == .orderedDict else {
            throw fail("SETITEM on a \(container.typeName) (only dict and OrderedDict)")
        }
        try adopt(key, into: container)
        try adopt(value, into: container)
        let hashed = try hashKey(key)
        if let existing = container.index[hashed] {
            container.items[existing] = value
        } else {
            container.index[hashed] = container.keys.count
            container.keys.append(key)
            container.items.append(value)
        }
    }

    func addToSet(_ container: Container, _ item: Item) throws {
        try adopt(item, into: container)
        let hashed = try hashKey(item)
        if container.index[hashed] == nil {
            container.index[hashed] = container.items.count
            container.items.append(item)
        }
    }

    mutating func memoize(_ index: Int) throws {
        let value = try top("memo put")
        if memo[index] == nil && memo.count >= limits.maxMemoEntries {
            throw FormatError.limitExceeded(file: file, what: "pickle memo entries", value: "\(memo.count + 1)",
                                            limit: "\(limits.maxMemoEntries)")
        }
        memo[index] = value
    }

    mutating func memoGet(_ index: Int) throws {
        guard let value = memo[index] else { throw fail("memo entry \(index) is read before it is written") }
        stack.append(value)
    }

    // MARK: Strings

    mutating func text(_ count: Int, _ what: String) throws -> String {
        let bytes = try r.take(count, what)
        guard let string = strictUTF8(bytes) else { throw fail("\(what) is not valid UTF-8") }
        return string
    }

    mutating func length64(_ what: String) throws -> Int {
        let n = try r.le(UInt64.self, what)
        guard let count = Int(exactly: n), count <= r.remaining else {
            throw FormatError.truncated(file: file, what: what, offset: r.offset, needed: Int(clamping: n), available: r.remaining)
        }
        return count
    }

    // MARK: Main loop

    mutating func load() throws -> PickleValue {
        while true {
            opcodeOffset = r.offset
            let opcode = try r.u8("pickle opcode (missing STOP)")
            switch opcode {
            case 0x80:  // PROTO
                let version = try r.u8("protocol")
                guard version <= 5 else { throw fail("unsupported pickle protocol \(version)") }
            case 0x95:  // FRAME: framing only; the length must fit.
                let length = try r.le(UInt64.self, "frame length")
                guard length <= UInt64(r.remaining) else {
                    throw FormatError.truncated(file: file, what: "pickle frame", offset: r.offset, needed: Int(clamping: length), available: r.remaining)
                }
            case 0x2e:  // STOP
                let result = try pop("STOP")
                var budget = limits.maxValues
                return try convert(result, budget: &budget)
            case 0x28:  // MARK
                guard metastack.count < limits.maxDepth else {
                    throw FormatError.limitExceeded(file: file, what: "open MARKs in pickle at byte \(opcodeOffset)",
                                                    value: "\(metastack.count + 1)", limit: "\(limits.maxDepth)")
                }
                metastack.append(stack)
                stack = []
            case 0x30:  // POP
                _ = try pop("POP")
            case 0x31:  // POP_MARK
                _ = try popMark("POP_MARK")

            // Constants and scalars
            case 0x4e: stack.append(.leaf(.none))  // NONE
            case 0x88: stack.append(.leaf(.bool(true)))  // NEWTRUE
            case 0x89: stack.append(.leaf(.bool(false)))  // NEWFALSE
            case 0x4a:  // BININT
                stack.append(.leaf(.int(Int64(Int32(bitPattern: try r.le(UInt32.self, "BININT"))))))
            case 0x4b:  // BININT1
                stack.append(.leaf(.int(Int64(try r.u8("BININT1")))))
            case 0x4d:  // BININT2
                stack.append(.leaf(.int(Int64(try r.le(UInt16.self, "BININT2")))))
            case 0x8a:  // LONG1
                let n = Int(try r.u8("LONG1 length"))
                stack.append(.leaf(Self.decodeLong(Array(try r.take(n, "LONG1")))))
            case 0x47:  // BINFLOAT (big-endian)
                let bytes = try r.take(8, "BINFLOAT")
                let bits = bytes.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                stack.append(.leaf(.float(Double(bitPattern: bits))))
            case 0x58:  // BINUNICODE
                let n = Int(try r.le(UInt32.self, "BINUNICODE length"))
                stack.append(.leaf(.string(try text(n, "BINUNICODE"))))
            case 0x8c:  // SHORT_BINUNICODE
                let n = Int(try r.u8("SHORT_BINUNICODE length"))
                stack.append(.leaf(.string(try text(n, "SHORT_BINUNICODE"))))
            case 0x8d:  // BINUNICODE8
                let n = try length64("BINUNICODE8")
                stack.append(.leaf(.string(try text(n, "BINUNICODE8"))))
            case 0x55:  // SHORT_BINSTRING (Python 2 str, decoded as UTF-8 like torch.load)
                let n = Int(try r.u8("SHORT_BINSTRING length"))
                stack.append(.leaf(.string(try text(n, "SHORT_BINSTRING"))))
            case 0x54:  // BINSTRING
                let n = Int32(bitPattern: try r.le(UInt32.self, "BINSTRING length"))
                guard n >= 0 else { throw fail("negative BINSTRING length \(n)") }
                stack.append(.leaf(.string(try text(Int(n), "BINSTRING"))))
            case 0x43:  // SHORT_BINBYTES
                let n = Int(try r.u8("SHORT_BINBYTES length"))
                stack.append(.leaf(.bytes(Data(try r.take(n, "SHORT_BINBYTES")))))
            case 0x42:  // BINBYTES
                let n = Int(try r.le(UInt32.self, "BINBYTES length"))
                stack.append(.leaf(.bytes(Data(try r.take(n, "BINBYTES")))))
            case 0x8e:  // BINBYTES8
                let n = try length64("BINBYTES8")
                stack.append(.leaf(.bytes(Data(try r.take(n, "BINBYTES8")))))

            // Containers
            case 0x29: stack.append(.tuple([], depth: 1))  // EMPTY_TUPLE
            case 0x74: stack.append(try makeTuple(try popMark("TUPLE")))  // TUPLE
            case 0x85, 0x86, 0x87:  // TUPLE1-3
                let n = Int(opcode - 0x84)
                guard stack.count >= n else { throw fail("TUPLE\(n) needs \(n) items, stack has \(stack.count)") }
                let items = Array(stack.suffix(n))
                stack.removeLast(n)
                stack.append(try makeTuple(items))
            case 0x5d: stack.append(.container(Container(.list)))  // EMPTY_LIST
            case 0x7d: stack.append(.container(Container(.dict)))  // EMPTY_DICT
            case 0x8f: stack.append(.container(Container(.set)))  // EMPTY_SET
            case 0x61, 0x65:  // APPEND, APPENDS
                let items = opcode == 0x61 ? [try pop("APPEND")] : try popMark("APPENDS")
                guard case .container(let list) = try top("APPEND"), list.kind == .list else {
                    throw fail("APPEND to a \(try top("APPEND").kind) (only lists)")
                }
                for item in items {
                    try adopt(item, into: list)
                    list.items.append(item)
                }
            case 0x73:  // SETITEM
                let value = try pop("SETITEM")
                let key = try pop("SETITEM")
                guard case .container(let dict) = try top("SETITEM") else { throw fail("SETITEM on a \(try top("SETITEM").kind)") }
                try setItem(dict, key: key, value: value)
            case 0x75:  // SETITEMS
                let items = try popMark("SETITEMS")
                guard items.count % 2 == 0 else { throw fail("SETITEMS with an odd number (\(items.count)) of items") }
                guard case .container(let dict) = try top("SETITEMS") else { throw fail("SETITEMS on a \(try top("SETITEMS").kind)") }
                for i in stride(from: 0, to: items.count, by: 2) { try setItem(dict, key: items[i], value: items[i + 1]) }
            case 0x90:  // ADDITEMS
                let items = try popMark("ADDITEMS")
                guard case .container(let set) = try top("ADDITEMS"), set.kind == .set else {
                    throw fail("ADDITEMS on a \(try top("ADDITEMS").kind) (only sets)")
                }
                for item in items { try addToSet(set, item) }
            case 0x91:  // FROZENSET
                let items = try popMark("FROZENSET")
                let set = Container(.set)
                for item in items { try addToSet(set, item) }
                set.sealed = true
                stack.append(.container(set))

            // Memo
            case 0x71: try memoize(Int(try r.u8("BINPUT index")))  // BINPUT
            case 0x72: try memoize(Int(try r.le(UInt32.self, "LONG_BINPUT index")))  // LONG_BINPUT
            case 0x94: try memoize(memo.count)  // MEMOIZE
            case 0x68: try memoGet(Int(try r.u8("BINGET index")))  // BINGET
            case 0x6a: try memoGet(Int(try r.le(UInt32.self, "LONG_BINGET index")))  // LONG_BINGET

            // Globals and calls: allowlist only
            case 0x63:  // GLOBAL
                let module = String(decoding: try r.line("GLOBAL module", maxLength: 256), as: UTF8.self)
                let name = String(decoding: try r.line("GLOBAL name", maxLength: 256), as: UTF8.self)
                stack.append(.global(try AllowedGlobal.resolve(module: module, name: name, file: file, offset: opcodeOffset)))
            case 0x93:  // STACK_GLOBAL
                let name = try pop("STACK_GLOBAL")
                let module = try pop("STACK_GLOBAL")
                guard case .leaf(.string(let m)) = module, case .leaf(.string(let n)) = name else {
                    throw fail("STACK_GLOBAL needs two strings, got \(module.kind) and \(name.kind)")
                }
                stack.append(.global(try AllowedGlobal.resolve(module: m, name: n, file: file, offset: opcodeOffset)))
            case 0x52:  // REDUCE
                let args = try pop("REDUCE")
                guard case .global(let callable) = try top("REDUCE") else {
                    throw fail("REDUCE calls a \(try top("REDUCE").kind), not an allowed global")
                }
                guard case .tuple(let arguments, _) = args else { throw fail("REDUCE arguments are a \(args.kind), not a tuple") }
                let result = try reduce(callable, arguments)
                stack[stack.count - 1] = result
            case 0x62:  // BUILD
                let state = try pop("BUILD")
                try build(try top("BUILD"), state: state)
            case 0x51:  // BINPERSID
                let pid = try pop("BINPERSID")
                stack.append(.leaf(.storage(try storage(pid))))

            default:
                throw fail("unsupported opcode 0x\(String(opcode, radix: 16)) \(Self.opcodeName(opcode)) (only the data opcodes torch.save uses are read)")
            }
        }
    }

    static func decodeLong(_ bytes: [UInt8]) -> PickleValue {
        var trimmed = bytes
        // Drop redundant sign-extension bytes.
        while trimmed.count > 1 {
            let last = trimmed[trimmed.count - 1], previous = trimmed[trimmed.count - 2]
            if (last == 0 && previous & 0x80 == 0) || (last == 0xff && previous & 0x80 != 0) { trimmed.removeLast() } else { break }
        }
        guard trimmed.count <= 8 else { return .bigInt(trimmed) }
        if trimmed.isEmpty { return .int(0) }
        var value: UInt64 = 0
        for (i, byte) in trimmed.enumerated() { value |= UInt64(byte) << (8 * UInt64(i)) }
        let bits = 8 * trimmed.count
        if bits < 64 && trimmed[trimmed.count - 1] & 0x80 != 0 { value |= ~UInt64(0) << UInt64(bits) }
        return .int(Int64(bitPattern: value))
    }

    static func opcodeName(_ opcode: UInt8) -> String {
        let names: [UInt8: String] = [
            0x49: "INT", 0x4c: "LONG", 0x53: "STRING", 0x56: "UNICODE", 0x46: "FLOAT", 0x50: "PERSID", 0x67: "GET",
            0x70: "PUT", 0x64: "DICT", 0x6c: "LIST", 0x69: "INST", 0x6f: "OBJ", 0x81: "NEWOBJ", 0x92: "NEWOBJ_EX",
            0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4", 0x8b: "LONG4", 0x96: "BYTEARRAY8", 0x97: "NEXT_BUFFER",
            0x98: "READONLY_BUFFER", 0x32: "DUP",
        ]
        return names[opcode].map { "(\($0))" } ?? ""
    }

    // MARK: Interpreting allowlisted calls

    func int(_ item: Item, _ what: String) throws -> Int {
        guard case .leaf(.int(let v)) = item, let value = Int(exactly: v) else { throw fail("\(what) is a \(item.kind), not an int") }
        return value
    }

    func ints(_ item: Item, _ what: String) throws -> [Int] {
        guard case .tuple(let items, _) = item else { throw fail("\(what) is a \(item.kind), not a tuple of ints") }
        return try items.map { try int($0, what) }
    }

    func bool(_ item: Item, _ what: String) throws -> Bool {
        guard case .leaf(.bool(let b)) = item else { throw fail("\(what) is a \(item.kind), not a bool") }
        return b
    }

    func tensor(_ item: Item, _ what: String) throws -> TorchTensorReference {
        guard case .leaf(.tensor(let t)) = item else { throw fail("\(what) is a \(item.kind), not a tensor") }
        return t
    }

    /// Refuses tensor metadata (conj / neg bits), which changes the values' meaning.
    func checkNoMetadata(_ item: Item?) throws {
        guard let item else { return }
        switch item {
        case .leaf(.none): return
        case .container(let c) where c.items.isEmpty: return
        default: throw fail("tensor metadata (\(item.kind), e.g. conj/neg bits) is not supported")
        }
    }

    mutating func reduce(_ callable: AllowedGlobal, _ args: [Item]) throws -> Item {
        func expectCount(_ range: ClosedRange<Int>) throws {
            guard range.contains(args.count) else {
                throw fail("\(callable.name) takes \(range.lowerBound == range.upperBound ? "\(range.lowerBound)" : "\(range.lowerBound)-\(range.upperBound)") arguments, got \(args.count)")
            }
        }
        switch callable {
        case .orderedDict:
            try expectCount(0...0)
            return .container(Container(.orderedDict))
        case .builtinSet:
            try expectCount(0...1)
            let set = Container(.set)
            if let source = args.first {
                switch source {
                case .container(let c) where c.kind == .list || c.kind == .set: for item in c.items { try addToSet(set, item) }
                case .tuple(let items, _): for item in items { try addToSet(set, item) }
                default: throw fail("builtins.set of a \(source.kind)")
                }
            }
            return .container(set)
        case .codecsEncode:
            try expectCount(2...2)
            guard case .leaf(.string(let text)) = args[0], case .leaf(.string(let encoding)) = args[1],
                  encoding == "latin1" || encoding == "latin-1" else {
                throw fail("_codecs.encode is allowed only as encode(str, 'latin1') (protocol 2 bytes)")
            }
            var bytes = [UInt8]()
            for scalar in text.unicodeScalars {
                guard scalar.value <= 0xff else { throw fail("_codecs.encode: character U+\(String(scalar.value, radix: 16)) is not latin-1") }
                bytes.append(UInt8(scalar.value))
            }
            return .leaf(.bytes(Data(bytes)))
        case .rebuildTensor, .rebuildTensorV2, .rebuildTensorV3:
            let range: ClosedRange<Int> = callable == .rebuildTensor ? 4...4 : callable == .rebuildTensorV2 ? 6...7 : 7...8
            try expectCount(range)
            guard case .leaf(.storage(let storage)) = args[0] else { throw fail("\(callable.name): storage argument is a \(args[0].kind)") }
            let offset = try int(args[1], "storage_offset")
            let shape = try ints(args[2], "size")
            let strides = try ints(args[3], "stride")
            guard shape.count == strides.count else { throw fail("\(callable.name): size \(shape) and stride \(strides) differ in rank") }
            var requiresGrad = false
            let elementType: ElementType
            if callable == .rebuildTensorV3 {
                requiresGrad = try bool(args[4], "requires_grad")
                guard case .global(.dtype(let dtype)) = args[6] else { throw fail("_rebuild_tensor_v3: dtype argument is a \(args[6].kind)") }
                elementType = dtype
                try checkNoMetadata(args.count > 7 ? args[7] : nil)
            } else {
                guard let type = storage.elementType else { throw fail("\(callable.name) needs a typed storage, got UntypedStorage") }
                elementType = type
                if callable == .rebuildTensorV2 {
                    requiresGrad = try bool(args[4], "requires_grad")
                    try checkNoMetadata(args.count > 6 ? args[6] : nil)
                }
            }
            return .leaf(.tensor(TorchTensorReference(storage: storage, elementType: elementType, storageOffset: offset,
                                                      shape: shape, strides: strides, requiresGrad: requiresGrad)))
        case .rebuildParameter, .rebuildParameterWithState:
            try expectCount(callable == .rebuildParameter ? 3...3 : 4...4)
            var t = try tensor(args[0], "parameter data")
            t.requiresGrad = try bool(args[1], "requires_grad")
            t.isParameter = true
            return .leaf(.tensor(t))
        case .storageType, .dtype:
            throw fail("\(callable.name) cannot be called (it is allowed only inside a persistent id or as a dtype)")
        }
    }

    func build(_ target: Item, state: Item) throws {
        guard case .container(let dict) = target, dict.kind == .orderedDict else {
            throw fail("BUILD on a \(target.kind) (only OrderedDict attributes, such as a state_dict's _metadata, are set)")
        }
        guard !dict.sealed else { throw fail("BUILD on an OrderedDict already placed in another object") }
        if case .leaf(.none) = state { return }
        guard case .container(let attributes) = state, attributes.kind == .dict else {
            throw fail("BUILD state is a \(state.kind), not a dict")
        }
        try adopt(state, into: dict)
        for (key, value) in zip(attributes.keys, attributes.items) {
            guard case .leaf(.string(let name)) = key else { throw fail("attribute name is a \(key.kind), not a str") }
            dict.attributes.append((name, value))
        }
    }

    func storage(_ pid: Item) throws -> TorchStorageReference {
        guard case .tuple(let parts, _) = pid, parts.count == 5 else {
            throw fail("persistent id is a \(pid.kind) (only torch.save's ('storage', type, key, location, numel) is read)")
        }
        let tag: String?
        switch parts[0] {
        case .leaf(.string(let s)): tag = s
        case .leaf(.bytes(let b)): tag = String(decoding: b, as: UTF8.self)
        default: tag = nil
        }
        guard tag == "storage" else { throw fail("persistent id tag is not 'storage'") }
        guard case .global(.storageType(let type)) = parts[1] else {
            throw fail("persistent id storage type is a \(parts[1].kind), not a storage class")
        }
        guard case .leaf(.string(let key)) = parts[2] else { throw fail("persistent id key is a \(parts[2].kind), not a str") }
        guard case .leaf(.string(let location)) = parts[3] else { throw fail("persistent id location is a \(parts[3].kind), not a str") }
        let numel = try int(parts[4], "persistent id numel")
        guard numel >= 0 else { throw fail("persistent id numel \(numel) is negative") }
        return TorchStorageReference(key: key, elementType: type, location: location, numel: numel)
    }

    // MARK: Result

    func convert(_ item: Item, budget: inout Int) throws -> PickleValue {
        budget -= 1
        guard budget >= 0 else {
            throw FormatError.limitExceeded(file: file, what: "decoded pickle values", value: "more than \(limits.maxValues)",
                                            limit: "\(limits.maxValues)")
        }
        switch item {
        case .leaf(let value): return value
        case .tuple(let items, _): return .tuple(try items.map { try convert($0, budget: &budget) })
        case .global(let g):
            if case .dtype(let type) = g { return .dtype(type) }
            throw fail("the result holds the global \(g.name), which is not data")
        case .container(let c):
            switch c.kind {
            case .list: return .list(try c.items.map { try convert($0, budget: &budget) })
            case .set: return .set(try c.items.map { try convert($0, budget: &budget) })
            case .dict, .orderedDict:
                var entries: [(key: PickleValue, value: PickleValue)] = []
                for (key, value) in zip(c.keys, c.items) {
                    entries.append((try convert(key, budget: &budget), try convert(value, budget: &budget)))
                }
                var attributes: [(key: String, value: PickleValue)] = []
                for (name, value) in c.attributes { attributes.append((name, try convert(value, budget: &budget))) }
                return .dict(PickleDict(entries: entries, isOrdered: c.kind == .orderedDict, attributes: attributes))
            }
        }
    }
}
