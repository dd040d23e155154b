import CHDF5

/// The character set an HDF5 string type declares. h5py marks `bytes` (`|S`) as ASCII even when
/// they hold UTF-8 (Keras encodes layer names with `.encode("utf8")`), so both are decoded as UTF-8.
public enum HDF5StringEncoding: String, Sendable, Hashable {
    /// `H5T_CSET_ASCII`.
    case ascii
    /// `H5T_CSET_UTF8`.
    case utf8
}

/// The element type of a dataset or attribute, as stored in the file.
public enum HDF5ElementType: Sendable, Hashable, CustomStringConvertible {
    /// A two's-complement (`signed`) or unsigned integer of `bits` bits, either byte order.
    case integer(bits: Int, signed: Bool)
    /// A floating-point number of `bits` bits (16: half precision; 32; 64), either byte order.
    case float(bits: Int)
    /// h5py's boolean: an enum `{FALSE = 0, TRUE = 1}` over an 8-bit integer.
    case bool
    /// Any other enum, read as its underlying integer values.
    case enumeration(bits: Int, signed: Bool)
    /// A string, fixed-length of `length` bytes or variable-length (`length == nil`).
    case string(length: Int?, encoding: HDF5StringEncoding)
    /// A type this reader does not read (compound, opaque, array, reference, ...), described.
    case other(String)

    public var description: String {
        switch self {
        case let .integer(bits, signed): return "\(signed ? "int" : "uint")\(bits)"
        case let .float(bits): return "float\(bits)"
        case .bool: return "bool"
        case let .enumeration(bits, signed): return "enum over \(signed ? "int" : "uint")\(bits)"
        case let .string(length?, encoding): return "fixed-length \(encoding.rawValue) string (\(length) bytes)"
        case let .string(nil, encoding): return "variable-length \(encoding.rawValue) string"
        case let .other(text): return text
        }
    }
}

/// How a dataset's data is laid out in the file, and the filters (compression) applied to it.
public struct HDF5Storage: Sendable, Hashable, CustomStringConvertible {
    /// The layout of a dataset's data.
    public enum Layout: Sendable, Hashable {
        /// One block of raw data (h5py's default).
        case contiguous
        /// Chunks of `chunkShape` elements, each stored (and filtered) separately.
        case chunked(chunkShape: [Int])
        /// Stored inside the object header (at most 64 KB).
        case compact
        /// Mapped from other datasets (HDF5 1.10 virtual datasets).
        case virtual
    }

    /// How the data is laid out.
    public var layout: Layout
    /// Filter names in pipeline order: `deflate` (gzip), `shuffle`, `fletcher32`, `szip`, `nbit`,
    /// `scaleoffset`, or `filter <id>` for others.
    public var filters: [String]

    /// A storage description; the parameters are the properties of the same names.
    public init(layout: Layout, filters: [String]) {
        self.layout = layout
        self.filters = filters
    }

    public var description: String {
        let base: String
        switch layout {
        case .contiguous: base = "contiguous"
        case let .chunked(shape): base = "chunked \(shape)"
        case .compact: base = "compact"
        case .virtual: base = "virtual"
        }
        return filters.isEmpty ? base : "\(base), filters \(filters.joined(separator: ", "))"
    }
}

// MARK: - Inspecting libhdf5 types (call with the lock held)

/// The element type of the libhdf5 datatype `type`.
func elementType(of type: hid_t, at location: HDF5Location) throws(HDF5Error) -> HDF5ElementType {
    let typeClass = H5Tget_class(type)
    let size = H5Tget_size(type)
    guard typeClass != H5T_NO_CLASS, size > 0 else { throw HDF5Library.failure("H5Tget_class", location) }
    switch typeClass {
    case H5T_INTEGER:
        return .integer(bits: size * 8, signed: try check(H5Tget_sign(type).rawValue, "H5Tget_sign", at: location) != H5T_SGN_NONE.rawValue)
    case H5T_FLOAT:
        return .float(bits: size * 8)
    case H5T_STRING:
        let variable = try check(H5Tis_variable_str(type), "H5Tis_variable_str", at: location) > 0
        let encoding: HDF5StringEncoding = H5Tget_cset(type) == H5T_CSET_UTF8 ? .utf8 : .ascii
        return .string(length: variable ? nil : size, encoding: encoding)
    case H5T_ENUM:
        let base = try Handle(H5Tget_super(type), .datatype, call: "H5Tget_super", at: location)
        let signed = H5Tget_sign(base.id) == H5T_SGN_2
        let bits = H5Tget_size(base.id) * 8
        return try isBoolEnum(type, baseBits: bits, at: location) ? .bool : .enumeration(bits: bits, signed: signed)
    case H5T_COMPOUND:
        return .other("compound type (\(max(0, H5Tget_nmembers(type))) fields, \(size) bytes)")
    case H5T_OPAQUE:
        var tag = ""
        if let pointer = H5Tget_tag(type) {
            tag = String(cString: pointer)
            H5free_memory(pointer)
        }
        return .other("opaque type (\(size) bytes\(tag.isEmpty ? "" : ", tag '\(tag)'"))")
    case H5T_ARRAY: return .other("array type (\(size) bytes)")
    case H5T_VLEN: return .other("variable-length sequence type")
    case H5T_REFERENCE: return .other("reference type")
    case H5T_BITFIELD: return .other("bitfield type (\(size * 8) bits)")
    case H5T_TIME: return .other("time type")
    default: return .other("type class \(typeClass.rawValue)")
    }
}

/// Whether `type` (an enum) is h5py's bool: exactly `FALSE = 0`, `TRUE = 1` over 8 bits.
private func isBoolEnum(_ type: hid_t, baseBits: Int, at location: HDF5Location) throws(HDF5Error) -> Bool {
    guard baseBits == 8, H5Tget_nmembers(type) == 2 else { return false }
    var members: [String: Int8] = [:]
    for index in UInt32(0)..<2 {
        guard let pointer = H5Tget_member_name(type, index) else { throw HDF5Library.failure("H5Tget_member_name", location) }
        let name = String(cString: pointer)
        H5free_memory(pointer)
        var value: Int8 = 0
        try check(H5Tget_member_value(type, index, &value), "H5Tget_member_value", at: location)
        members[name] = value
    }
    return members == ["FALSE": 0, "TRUE": 1]
}

/// The layout and filters recorded in a dataset creation property list.
func storage(of dcpl: hid_t, rank: Int, at location: HDF5Location) throws(HDF5Error) -> HDF5Storage {
    let layout: HDF5Storage.Layout
    switch H5Pget_layout(dcpl) {
    case H5D_CONTIGUOUS: layout = .contiguous
    case H5D_COMPACT: layout = .compact
    case H5D_VIRTUAL: layout = .virtual
    case H5D_CHUNKED:
        var dims = [hsize_t](repeating: 0, count: max(rank, 1))
        let chunkRank = try check(H5Pget_chunk(dcpl, Int32(dims.count), &dims), "H5Pget_chunk", at: location)
        layout = .chunked(chunkShape: dims.prefix(Int(chunkRank)).map { Int(clamping: $0) })
    default:
        throw HDF5Library.failure("H5Pget_layout", location)
    }
    let count = try check(H5Pget_nfilters(dcpl), "H5Pget_nfilters", at: location)
    var filters: [String] = []
    for index in 0..<UInt32(count) {
        var flags: UInt32 = 0, valueCount = 0, config: UInt32 = 0
        let id = H5Pget_filter2(dcpl, index, &flags, &valueCount, nil, 0, nil, &config)
        switch id {
        case H5Z_FILTER_DEFLATE: filters.append("deflate")
        case H5Z_FILTER_SHUFFLE: filters.append("shuffle")
        case H5Z_FILTER_FLETCHER32: filters.append("fletcher32")
        case H5Z_FILTER_SZIP: filters.append("szip")
        case H5Z_FILTER_NBIT: filters.append("nbit")
        case H5Z_FILTER_SCALEOFFSET: filters.append("scaleoffset")
        case ..<0: throw HDF5Library.failure("H5Pget_filter2", location)
        default: filters.append("filter \(id)")
        }
    }
    return HDF5Storage(layout: layout, filters: filters)
}
