import CHDF5
import Foundation
import ParityTensor

/// A dataset or an attribute opened for reading: its datatype, dataspace, and how much stored data
/// its header may plausibly claim. All methods run with the library lock held.
struct DataSource: ~Copyable {
    /// The largest ratio by which filtered (compressed) data may exceed the file: deflate's maximum
    /// is about 1032:1. Filters beyond libhdf5's built-in ones need plugins and are not expected.
    static let maxCompressionRatio: UInt64 = 1100

    let handle: Handle
    let type: Handle
    let space: Handle
    let location: HDF5Location
    /// The most bytes the stored elements may take, from the file size (× the compression ratio
    /// for filtered datasets); `nil` for virtual datasets, whose data lives elsewhere.
    let storedByteBudget: UInt64?
    /// Whether the elements are stored in one unfiltered run of bytes in the file (contiguous layout,
    /// no filters, no external files): the condition for reading them in place.
    let contiguous: Bool
    let file: HDF5File
    var fileSize: UInt64 { file.size }
    var limit: Int { file.maxReadBytes }

    init(dataset: consuming Handle, file: HDF5File, at location: HDF5Location) throws(HDF5Error) {
        let type = try Handle(H5Dget_type(dataset.id), .datatype, call: "H5Dget_type", at: location)
        let space = try Handle(H5Dget_space(dataset.id), .dataspace, call: "H5Dget_space", at: location)
        let dcpl = try Handle(H5Dget_create_plist(dataset.id), .propertyList, call: "H5Dget_create_plist", at: location)
        let filters = try check(H5Pget_nfilters(dcpl.id), "H5Pget_nfilters", at: location)
        let (budget, overflow) = file.size.multipliedReportingOverflow(by: filters > 0 ? Self.maxCompressionRatio : 1)
        let layout = H5Pget_layout(dcpl.id)
        storedByteBudget = layout == H5D_VIRTUAL ? nil : (overflow ? UInt64.max : budget)
        contiguous = layout == H5D_CONTIGUOUS && filters == 0 && H5Pget_external_count(dcpl.id) == 0
        self.type = type
        self.space = space
        handle = dataset
        self.location = location
        self.file = file
    }

    init(attribute: consuming Handle, file: HDF5File, at location: HDF5Location) throws(HDF5Error) {
        let type = try Handle(H5Aget_type(attribute.id), .datatype, call: "H5Aget_type", at: location)
        let space = try Handle(H5Aget_space(attribute.id), .dataspace, call: "H5Aget_space", at: location)
        self.type = type
        self.space = space
        handle = attribute
        self.location = location
        storedByteBudget = file.size
        contiguous = false
        self.file = file
    }

    /// The dims of the dataspace (`[]` for a scalar); throws for a null dataspace (`h5py.Empty`).
    func dims(reading: String) throws(HDF5Error) -> [UInt64] {
        switch H5Sget_simple_extent_type(space.id) {
        case H5S_SCALAR:
            return []
        case H5S_SIMPLE:
            let rank = try check(H5Sget_simple_extent_ndims(space.id), "H5Sget_simple_extent_ndims", at: location)
            guard rank <= 32 else {  // H5S_MAX_RANK
                throw .unsupportedType(type: "a dataspace of rank \(rank)", reading: reading, at: location)
            }
            var dims = [hsize_t](repeating: 0, count: Int(rank))
            try check(H5Sget_simple_extent_dims(space.id, &dims, nil), "H5Sget_simple_extent_dims", at: location)
            return dims.map { UInt64($0) }
        case H5S_NULL:
            throw .unsupportedType(type: "a null dataspace (no value, h5py.Empty)", reading: reading, at: location)
        default:
            throw HDF5Library.failure("H5Sget_simple_extent_type", location)
        }
    }

    /// The element count of `dims`, after checking that `memoryBytesPerElement` per element stays
    /// within the read limit and that the stored size (`H5Tget_size` per element) fits the file.
    func count(_ dims: [UInt64], memoryBytesPerElement: Int) throws(HDF5Error) -> Int {
        var count: UInt64 = 1
        var overflow = false
        for dim in dims where !overflow { (count, overflow) = count.multipliedReportingOverflow(by: dim) }
        let (memoryBytes, memoryOverflow) = count.multipliedReportingOverflow(by: UInt64(memoryBytesPerElement))
        guard !overflow, !memoryOverflow, memoryBytes <= UInt64(limit) else {
            let bytes = overflow || memoryOverflow ? "more than 2^64" : "\(memoryBytes)"
            throw .tooLarge(shape: dims, bytes: bytes, limit: limit, at: location)
        }
        let (storedBytes, storedOverflow) = count.multipliedReportingOverflow(by: UInt64(max(H5Tget_size(type.id), 1)))
        if let budget = storedByteBudget, storedOverflow || storedBytes > budget {
            throw .exceedsFile(shape: dims, bytes: storedOverflow ? "more than 2^64" : "\(storedBytes)",
                               fileSize: fileSize, compressed: budget != fileSize, at: location)
        }
        return Int(count)  // ≤ limit, so it fits
    }

    /// Reads every element, converted by libhdf5 to `memoryType`, into `buffer`.
    func read(into buffer: UnsafeMutableRawPointer, as memoryType: hid_t) throws(HDF5Error) {
        if handle.kind == .attribute {
            try check(H5Aread(handle.id, memoryType, buffer), "H5Aread", at: location)
        } else {
            try check(H5Dread(handle.id, memoryType, chdf5_s_all(), chdf5_s_all(), chdf5_p_default(), buffer),
                      "H5Dread", at: location)
        }
    }

    /// Reads every element into `array`, which holds exactly the element count.
    private func read<E>(into array: inout [E], as memoryType: hid_t) throws(HDF5Error) {
        let result = array.withUnsafeMutableBytes { buffer -> Result<Void, HDF5Error> in
            guard let base = buffer.baseAddress else { return .success(()) }
            return Result { () throws(HDF5Error) in try read(into: base, as: memoryType) }
        }
        try result.get()
    }

    // MARK: Typed reads

    /// The `count` elements as a tensor reading them in place from the file's bytes, when they are stored
    /// there exactly as `dtype` holds them: ``contiguous``, allocated (`H5Dget_offset`), the file type
    /// little-endian IEEE float32 / float64 (`H5Tequal`), every byte inside the file, and at least
    /// ``ParityTensor/FileMapping/inPlaceMinimumBytes``; `nil` otherwise (and when the file cannot be mapped, was opened with
    /// `readsInPlace` false, or the address is not aligned to the element size), and the caller reads
    /// them through libhdf5. `count` has passed ``count(_:memoryBytesPerElement:)``'s checks.
    func inPlace(shape: [Int], count: Int, dtype: DType) -> Tensor? {
        let size = dtype == .float64 ? 8 : 4
        let stored = count * size  // ≤ the read limit
        guard file.readsInPlace, handle.kind == .dataset, contiguous, stored >= FileMapping.inPlaceMinimumBytes,
              H5Tequal(type.id, dtype == .float64 ? chdf5_ieee_f64le() : chdf5_ieee_f32le()) > 0,
              H5Dget_storage_size(handle.id) == UInt64(stored) else { return nil }
        let address = UInt64(H5Dget_offset(handle.id))  // absolute: a user block's size included
        guard address != UInt64(chdf5_haddr_undef()), let (mapping, region) = file.bytes, let mapping,
              address <= UInt64(region.count), UInt64(stored) <= UInt64(region.count) - address,
              let regionBase = region.baseAddress, let mappingBase = mapping.bytes.baseAddress else { return nil }
        return Tensor(shape: shape, dtype: dtype, mappedAt: mappingBase.distance(to: regionBase) + Int(address), in: mapping)
    }

    /// The elements converted by libhdf5 to `memoryType` (`T`'s), written straight into the array's
    /// uninitialised memory (a zero fill first was a pass of its own over a large array: 0.9 s → 0.74 s
    /// for 1 GB of weights copied from a `.keras` archive).
    func readFloats<T: BinaryFloatingPoint>(_: T.Type, count: Int, memoryType: hid_t) throws(HDF5Error) -> [T] {
        guard count > 0 else { return [] }
        var failure: HDF5Error?
        let values = [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            do throws(HDF5Error) {
                try read(into: UnsafeMutableRawPointer(buffer.baseAddress!), as: memoryType)
                initialized = count
            } catch {
                failure = error
                initialized = 0
            }
        }
        if let failure { throw failure }
        return values
    }

    /// Integers, enums and bools, widened to `Int64`. The elements are read in the file's own type
    /// (libhdf5 copies bytes and converts nothing) and decoded here by width, sign and byte order:
    /// that keeps libhdf5's type-conversion code (`H5Tget_native_type`, which fuzzing showed can
    /// crash on a corrupt enum) out of the path.
    func readIntegers(count: Int) throws(HDF5Error) -> [Int64] {
        guard count > 0 else { return [] }
        let layout = try integerLayout(type.id)
        guard [1, 2, 4, 8].contains(layout.size), layout.precision == layout.size * 8, layout.offset == 0 else {
            throw .unsupportedType(type: "an integer of \(layout.precision) bits at bit offset \(layout.offset) in "
                                   + "\(layout.size) bytes", reading: "as Int64", at: location)
        }
        let size = layout.size
        var raw = [UInt8](repeating: 0, count: count * size)  // count() allowed 16 bytes per element
        try read(into: &raw, as: type.id)
        var values = [Int64]()
        values.reserveCapacity(count)
        for index in 0..<count {
            var bits: UInt64 = 0
            for byte in 0..<size {
                let value = raw[index * size + (layout.bigEndian ? byte : size - 1 - byte)]
                bits = bits << 8 | UInt64(value)
            }
            if layout.signed {
                let shift = UInt64(64 - size * 8)
                values.append(Int64(bitPattern: bits << shift) >> shift)  // sign-extend
            } else {
                guard let value = Int64(exactly: bits) else { throw .outOfRange(value: "\(bits)", at: location) }
                values.append(value)
            }
        }
        return values
    }

    /// Width, sign, byte order, precision and bit offset of an integer type or an enum's base type.
    private func integerLayout(_ type: hid_t) throws(HDF5Error)
        -> (size: Int, signed: Bool, bigEndian: Bool, precision: Int, offset: Int) {
        func layout(_ type: hid_t) throws(HDF5Error) -> (size: Int, signed: Bool, bigEndian: Bool, precision: Int, offset: Int) {
            let order = H5Tget_order(type)
            let precision = H5Tget_precision(type)
            let offset = try check(H5Tget_offset(type), "H5Tget_offset", at: location)
            guard order == H5T_ORDER_LE || order == H5T_ORDER_BE, precision > 0 else {
                throw HDF5Library.failure("H5Tget_order", location)
            }
            return (H5Tget_size(type), H5Tget_sign(type) == H5T_SGN_2, order == H5T_ORDER_BE, precision, Int(offset))
        }
        guard H5Tget_class(type) == H5T_ENUM else { return try layout(type) }
        let base = try Handle(H5Tget_super(type), .datatype, call: "H5Tget_super", at: location)
        return try layout(base.id)
    }

    /// Strings of any HDF5 string type, decoded as UTF-8.
    func readStrings(count: Int, length: Int?, encoding: HDF5StringEncoding) throws(HDF5Error) -> [String] {
        guard count > 0 else { return [] }
        if let length {
            let pad = H5Tget_strpad(type.id)
            var bytes = [UInt8](repeating: 0, count: count * length)  // count() checked count × length
            try read(into: &bytes, as: type.id)
            var strings: [String] = []
            strings.reserveCapacity(count)
            for index in 0..<count {
                var slice = bytes[(index * length)..<((index + 1) * length)]
                if pad == H5T_STR_NULLTERM, let end = slice.firstIndex(of: 0) {
                    slice = slice[..<end]
                } else {
                    let padding: UInt8 = pad == H5T_STR_SPACEPAD ? 0x20 : 0
                    while let last = slice.last, last == padding { slice = slice.dropLast() }
                }
                strings.append(try decode(slice))
            }
            return strings
        }
        if let problem = file.globalHeapProblem {
            throw .corruptFile(reason: "\(problem); variable-length data is not read", at: location)
        }
        let memoryType = try Handle(H5Tcopy(chdf5_c_s1()), .datatype, call: "H5Tcopy", at: location)
        try check(H5Tset_size(memoryType.id, chdf5_variable()), "H5Tset_size", at: location)
        try check(H5Tset_cset(memoryType.id, encoding == .utf8 ? H5T_CSET_UTF8 : H5T_CSET_ASCII), "H5Tset_cset", at: location)
        var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
        try read(into: &pointers, as: memoryType.id)
        defer { pointers.withUnsafeMutableBytes { _ = chdf5_reclaim(memoryType.id, space.id, $0.baseAddress) } }
        var strings: [String] = []
        strings.reserveCapacity(count)
        for pointer in pointers {
            guard let pointer else { strings.append(""); continue }
            try strings.append(decode(UnsafeRawBufferPointer(start: pointer, count: strlen(pointer))))
        }
        return strings
    }

    private func decode<C: Collection<UInt8>>(_ bytes: C) throws(HDF5Error) -> String {
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        let hex = bytes.prefix(32).map { String($0, radix: 16).count == 1 ? "0\(String($0, radix: 16))" : String($0, radix: 16) }
        throw .invalidString(hex: hex.joined(separator: " ") + (bytes.count > 32 ? " ..." : ""), at: location)
    }
}

// MARK: - Values and tensors

extension DataSource {
    /// The whole dataset as a tensor: float16/float32 → float32, float64 → float64 (read in place when
    /// the file holds them as such, ``inPlace(shape:count:dtype:)``), integers, enums and bools →
    /// int64; with `bfloat16`, 2-byte opaque elements as little-endian bfloat16 widened to float32.
    func tensor(bfloat16: Bool = false) throws(HDF5Error) -> Tensor {
        let reading = "as a tensor (a Tensor holds float32, float64 or int64)"
        let dims = try dims(reading: reading)
        let element = try elementType(of: type.id, at: location)
        let shape = dims.compactMap { Int(exactly: $0) }
        guard shape.count == dims.count else {
            throw .tooLarge(shape: dims, bytes: "more than 2^63", limit: limit, at: location)
        }
        switch element {
        case .float(let bits) where bits <= 32:
            let count = try count(dims, memoryBytesPerElement: 4)
            if let tensor = inPlace(shape: shape, count: count, dtype: .float32) { return tensor }
            return Tensor(shape: shape, values: try readFloats(Float.self, count: count, memoryType: chdf5_native_float()))
        case .float(64):
            let count = try count(dims, memoryBytesPerElement: 8)
            if let tensor = inPlace(shape: shape, count: count, dtype: .float64) { return tensor }
            return Tensor(shape: shape, values: try readFloats(Double.self, count: count, memoryType: chdf5_native_double()))
        case .integer, .bool, .enumeration:
            let count = try count(dims, memoryBytesPerElement: 16)  // native buffer + Int64 copy
            return Tensor(shape: shape, int64: try readIntegers(count: count))
        case .other where bfloat16 && H5Tget_class(type.id) == H5T_OPAQUE && H5Tget_size(type.id) == 2:
            let count = try count(dims, memoryBytesPerElement: 6)  // raw bits + Float
            var bits = [UInt16](repeating: 0, count: count)
            if count > 0 { try read(into: &bits, as: type.id) }
            return Tensor(shape: shape, values: bits.map { Float(bitPattern: UInt32(UInt16(littleEndian: $0)) << 16) })
        default:
            throw .unsupportedType(type: element.description, reading: reading, at: location)
        }
    }

    /// The whole dataset or attribute as a value (strings, integers or floats).
    func value() throws(HDF5Error) -> HDF5Value {
        let reading = "as a value (strings, integers or floats up to 64 bits)"
        let dims = try dims(reading: reading)
        let scalar = dims.isEmpty
        switch try elementType(of: type.id, at: location) {
        case let .string(length, encoding):
            let count = try count(dims, memoryBytesPerElement: length ?? MemoryLayout<UnsafeRawPointer>.size)
            let strings = try readStrings(count: count, length: length, encoding: encoding)
            return scalar ? .string(strings.first ?? "") : .strings(strings)
        case .float(let bits) where bits <= 64:
            let count = try count(dims, memoryBytesPerElement: 8)
            let values = try readFloats(Double.self, count: count, memoryType: chdf5_native_double())
            return scalar ? .float(values.first ?? 0) : .floats(values)
        case .integer, .bool, .enumeration:
            let count = try count(dims, memoryBytesPerElement: 16)
            let values = try readIntegers(count: count)
            return scalar ? .integer(values.first ?? 0) : .integers(values)
        case let element:
            throw .unsupportedType(type: element.description, reading: reading, at: location)
        }
    }
}
