import Foundation

/// A value decoded from a restricted pickle, or to be written to one: the plain Python data a
/// `torch.save` checkpoint is made of (None, bool, int, float, str, bytes, tuple, list, set, dict,
/// `collections.OrderedDict`), plus the torch objects the allowlist can build (storage references,
/// tensors, dtypes). Nothing in it can run code.
///
/// Mirrors what `torch.load(weights_only=True)` returns (`torch/_weights_only_unpickler.py`), with
/// tensors kept as references to their storage (``TorchTensorReference``) until the archive reader
/// materialises them.
public indirect enum PickleValue: Sendable, Equatable {
    /// Python `None`.
    case none
    /// A `bool`.
    case bool(Bool)
    /// An `int` that fits in 64 bits.
    case int(Int64)
    /// An integer wider than 64 bits, as LONG1 stores it: little-endian two's complement.
    case bigInt([UInt8])
    /// A `float`.
    case float(Double)
    /// A `str`.
    case string(String)
    /// A `bytes`.
    case bytes(Data)
    /// A `tuple`.
    case tuple([PickleValue])
    /// A `list`.
    case list([PickleValue])
    /// A `set`.
    case set([PickleValue])
    /// `dict` or `collections.OrderedDict` (``PickleDict/isOrdered``), members in insertion order.
    case dict(PickleDict)
    /// A persistent-id storage reference, `('storage', torch.FloatStorage, key, location, numel)`.
    case storage(TorchStorageReference)
    /// A tensor or `nn.Parameter` rebuilt by `torch._utils._rebuild_tensor_v2` and friends.
    case tensor(TorchTensorReference)
    /// A `torch.dtype` (`torch.uint16`, ...), as `_rebuild_tensor_v3` takes it.
    case dtype(ElementType)

    /// A short name of the value's kind, for error messages.
    public var kind: String {
        switch self {
        case .none: return "None"
        case .bool: return "bool"
        case .int, .bigInt: return "int"
        case .float: return "float"
        case .string: return "str"
        case .bytes: return "bytes"
        case .tuple: return "tuple"
        case .list: return "list"
        case .set: return "set"
        case .dict(let d): return d.isOrdered ? "OrderedDict" : "dict"
        case .storage: return "storage"
        case .tensor: return "tensor"
        case .dtype: return "torch.dtype"
        }
    }

    /// The member for `key` when this is a dict with string keys.
    public subscript(key: String) -> PickleValue? {
        guard case .dict(let d) = self else { return nil }
        return d.entries.first { $0.key == .string(key) }?.value
    }
}

/// A `dict` or `collections.OrderedDict`: members in insertion order, and for an OrderedDict the
/// attributes a BUILD gave it (a state_dict's `_metadata`).
public struct PickleDict: Sendable, Equatable {
    /// The members, in insertion order.
    public var entries: [(key: PickleValue, value: PickleValue)]
    /// Whether it is a `collections.OrderedDict`.
    public var isOrdered: Bool
    /// `__dict__` of the OrderedDict, e.g. `["_metadata": OrderedDict(...)]`; empty when none.
    public var attributes: [(key: String, value: PickleValue)]

    /// A dict; the parameters are the properties of the same names.
    public init(entries: [(key: PickleValue, value: PickleValue)], isOrdered: Bool,
                attributes: [(key: String, value: PickleValue)] = []) {
        self.entries = entries
        self.isOrdered = isOrdered
        self.attributes = attributes
    }

    public static func == (lhs: PickleDict, rhs: PickleDict) -> Bool {
        lhs.isOrdered == rhs.isOrdered
            && lhs.entries.count == rhs.entries.count
            && zip(lhs.entries, rhs.entries).allSatisfy { $0.key == $1.key && $0.value == $1.value }
            && lhs.attributes.count == rhs.attributes.count
            && zip(lhs.attributes, rhs.attributes).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }
}

/// A storage as a `torch.save` persistent id names it: `('storage', <type>, key, location, numel)`,
/// its bytes being the archive record `data/<key>`.
///
/// `elementType` is the typed storage's element (`torch.FloatStorage` → float32, `numel` counting
/// elements); for `torch.storage.UntypedStorage` (written with `_rebuild_tensor_v3`) it is `nil` and
/// `numel` counts bytes, as in `torch/serialization.py`'s `persistent_id`.
public struct TorchStorageReference: Sendable, Hashable {
    /// The storage's key: its bytes are the archive record `data/<key>`.
    public var key: String
    /// The element type its storage class names (`nil` for an untyped storage).
    public var elementType: ElementType?
    /// The device it was saved from (`cpu`).
    public var location: String
    /// The element count (bytes for an untyped storage).
    public var numel: Int

    /// A reference; the parameters are the properties of the same names.
    public init(key: String, elementType: ElementType?, location: String = "cpu", numel: Int) {
        self.key = key
        self.elementType = elementType
        self.location = location
        self.numel = numel
    }

    /// The storage's size in bytes, `nil` on overflow.
    public var byteCount: Int? { Checked.multiply(numel, elementType?.byteCount ?? 1) }
}

/// A tensor as `torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad,
/// backward_hooks)` describes it: a strided view of a storage, offsets and strides in elements.
public struct TorchTensorReference: Sendable, Equatable {
    /// The storage the tensor views.
    public var storage: TorchStorageReference
    /// The tensor's element type.
    public var elementType: ElementType
    /// The offset of its first element in the storage, in elements.
    public var storageOffset: Int
    /// The tensor's shape.
    public var shape: [Int]
    /// The strides, in elements.
    public var strides: [Int]
    /// `requires_grad` as saved.
    public var requiresGrad: Bool
    /// Rebuilt through `_rebuild_parameter` (an `nn.Parameter`).
    public var isParameter: Bool

    /// A reference; the parameters are the properties of the same names.
    public init(storage: TorchStorageReference, elementType: ElementType, storageOffset: Int = 0, shape: [Int],
                strides: [Int]? = nil, requiresGrad: Bool = false, isParameter: Bool = false) {
        self.storage = storage
        self.elementType = elementType
        self.storageOffset = storageOffset
        self.shape = shape
        self.strides = strides ?? Layout.contiguousStrides(shape)
        self.requiresGrad = requiresGrad
        self.isParameter = isParameter
    }
}
