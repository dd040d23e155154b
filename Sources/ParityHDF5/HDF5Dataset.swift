import CHDF5
import ParityTensor

/// A dataset in an ``HDF5File``: an n-dimensional array of one element type, plus attributes.
///
/// Contiguous, compact and chunked datasets give the same tensors; libhdf5 undoes the filters (gzip,
/// shuffle, fletcher32) and converts byte order and float formats, and contiguous little-endian float
/// data is read in place (``readTensor()``).
public struct HDF5Dataset: HDF5Node {
    public let file: HDF5File
    public let path: String

    init(file: HDF5File, path: String) {
        self.file = file
        self.path = path
    }

    /// The dimensions; `[]` for a scalar dataset.
    public var shape: [Int] {
        get throws(HDF5Error) {
            try withSource { (source) throws(HDF5Error) -> [Int] in
                let dims = try source.dims(reading: "as a shape")
                let shape = dims.compactMap { Int(exactly: $0) }
                guard shape.count == dims.count else {
                    throw .tooLarge(shape: dims, bytes: "more than 2^63", limit: file.maxReadBytes, at: location)
                }
                return shape
            }
        }
    }

    /// The element type as stored in the file.
    public var elementType: HDF5ElementType {
        get throws(HDF5Error) {
            try withSource { (source) throws(HDF5Error) in try ParityHDF5.elementType(of: source.type.id, at: location) }
        }
    }

    /// The layout (contiguous, chunked, compact) and filters of the stored data.
    public var storage: HDF5Storage {
        get throws(HDF5Error) {
            try HDF5Library.run { () throws(HDF5Error) -> HDF5Storage in
                let dataset = try open()
                let space = try Handle(H5Dget_space(dataset.id), .dataspace, call: "H5Dget_space", at: location)
                let rank = try check(H5Sget_simple_extent_ndims(space.id), "H5Sget_simple_extent_ndims", at: location)
                let dcpl = try Handle(H5Dget_create_plist(dataset.id), .propertyList, call: "H5Dget_create_plist", at: location)
                return try ParityHDF5.storage(of: dcpl.id, rank: Int(rank), at: location)
            }
        }
    }

    /// The whole dataset as a `Tensor`: float16 and float32 as `.float32` (float16 widened
    /// exactly), float64 as `.float64`, every integer width, h5py's bool and other enums as
    /// `.int64`.
    ///
    /// bfloat16 has no HDF5 type: h5py stores `ml_dtypes.bfloat16` arrays as 2-byte opaque
    /// elements (empty tag), and Keras 3 (`H5IOStore.__setitem__`) marks such datasets with the
    /// string attribute `dtype = "bfloat16"`. A 2-byte opaque dataset carrying that attribute is
    /// read as little-endian bfloat16 and widened (exactly) to `.float32`; other opaque data is refused.
    ///
    /// The size is checked before anything is allocated: at most ``HDF5File/maxReadBytes``, and no
    /// more stored bytes than the file holds (for compressed data, than the file at 1100:1).
    ///
    /// A float32 or float64 dataset of at least 4 KiB stored contiguous, unfiltered and as little-endian
    /// IEEE floats, at an address aligned to the element size, is read in place: the tensor reads the
    /// file's mapping (`Tensor.isMapped`) and nothing is copied until a use needs an array.
    ///
    /// - Throws: ``HDF5Error/unsupportedType(type:reading:at:)`` for strings (use ``readValue()``),
    ///   floats wider than 64 bits, compound, opaque (but bfloat16 as above), array and reference
    ///   types; ``HDF5Error/outOfRange(value:at:)`` for uint64 values above `Int64.max`;
    ///   ``HDF5Error/tooLarge(shape:bytes:limit:at:)`` and
    ///   ``HDF5Error/exceedsFile(shape:bytes:fileSize:compressed:at:)``.
    public func readTensor() throws(HDF5Error) -> Tensor {
        var bfloat16 = false
        if try elementType == .other("opaque type (2 bytes)"), try hasAttribute("dtype") {
            bfloat16 = try attribute("dtype") == .string("bfloat16")
        }
        return try withSource { (source) throws(HDF5Error) in try source.tensor(bfloat16: bfloat16) }
    }

    /// The whole dataset as an ``HDF5Value`` (as attributes are read): strings, integers or floats.
    public func readValue() throws(HDF5Error) -> HDF5Value {
        try withSource { (source) throws(HDF5Error) in try source.value() }
    }

    // MARK: Internals

    private func open() throws(HDF5Error) -> Handle {
        try Handle(H5Dopen2(file.id, path, chdf5_p_default()), .dataset, call: "H5Dopen2", at: location)
    }

    private func withSource<T>(_ body: (borrowing DataSource) throws(HDF5Error) -> T) throws(HDF5Error) -> T {
        try HDF5Library.run { () throws(HDF5Error) -> T in
            let source = try DataSource(dataset: try open(), file: file, at: location)
            return try body(source)
        }
    }
}
