import CHDF5
import Foundation
import ParityTensor

/// An HDF5 file being written: created (or truncated) at a path, filled with groups, datasets and
/// attributes addressed by path, then closed.
///
/// ```swift
/// let writer = try HDF5FileWriter(creating: url)
/// try writer.setAttribute("name", .string("dense"), on: "layers/dense/vars")   // creates the groups
/// try writer.writeDataset("layers/dense/vars/0", HDF5Array(kernel))
/// try writer.close()
/// ```
///
/// The file looks like one h5py 3 writes with its defaults, which is what Keras writes: the
/// earliest file format (superblock 0, symbol-table groups), contiguous datasets without filters,
/// little-endian numbers, strings as variable-length UTF-8. Modification times are not recorded, so
/// the same calls give the same bytes. Missing groups on a path are created. Every call takes the
/// library lock; a writer is meant to be used from one task at a time.
public final class HDF5FileWriter {
    /// The file's location.
    public let url: URL
    /// The open file, `nil` once closed.
    private var id: hid_t?

    /// Creates the file at `url`, replacing any file there (`H5Fcreate` with `H5F_ACC_TRUNC`).
    ///
    /// - Throws: ``HDF5Error/cannotCreate(path:reason:)`` when the directory does not exist, the
    ///   path is a directory, or libhdf5 cannot create the file (its message is the reason).
    public init(creating url: URL) throws(HDF5Error) {
        let path = url.path
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw .cannotCreate(path: path, reason: "it is a directory")
        }
        let folder = url.deletingLastPathComponent().path
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw .cannotCreate(path: path, reason: "the directory '\(folder)' does not exist")
        }
        id = try HDF5Library.run { () throws(HDF5Error) -> hid_t in
            let id = H5Fcreate(path, chdf5_acc_trunc(), chdf5_p_default(), chdf5_p_default())
            guard id >= 0 else {
                throw .cannotCreate(path: path, reason: HDF5Library.errorStack() ?? "H5Fcreate returned an error")
            }
            return id
        }
        self.url = url
    }

    deinit {
        if let id { _ = HDF5Library.locked { H5Fclose(id) } }
    }

    /// Flushes and closes the file. Later calls on this writer throw
    /// ``HDF5Error/invalidWrite(reason:at:)``; closing twice does nothing.
    public func close() throws(HDF5Error) {
        guard let id else { return }
        self.id = nil
        try HDF5Library.run { () throws(HDF5Error) -> Void in
            try check(H5Fclose(id), "H5Fclose", at: HDF5Location(file: url.path))
        }
    }

    /// Creates the group at `path` (absolute or relative to the root) and any missing group above
    /// it; an existing group is left as it is.
    public func createGroup(_ path: String) throws(HDF5Error) {
        let components = try Self.components(path, at: HDF5Location(file: url.path, object: path))
        try HDF5Library.run { () throws(HDF5Error) -> Void in
            try ensureGroups(components[...], file: try openFile(at: path))
        }
    }

    /// Writes `array` as a new dataset at `path`, creating missing groups above it.
    ///
    /// - Throws: ``HDF5Error/invalidWrite(reason:at:)`` when the element count does not match the
    ///   shape, a dimension is negative, or an object already exists at `path`;
    ///   ``HDF5Error/library(call:message:at:)`` when libhdf5 fails.
    public func writeDataset(_ path: String, _ array: HDF5Array) throws(HDF5Error) {
        let components = try Self.components(path, at: HDF5Location(file: url.path, object: path))
        let location = HDF5Location(file: url.path, object: "/" + components.joined(separator: "/"))
        guard let object = location.object, !components.isEmpty else {
            throw .invalidWrite(reason: "a dataset needs a name; the root '/' is a group", at: location)
        }
        let dims = try Self.dims(of: array, at: location)
        try HDF5Library.run { () throws(HDF5Error) -> Void in
            let file = try openFile(at: path)
            try ensureGroups(components.dropLast(), file: file)
            guard try check(H5Lexists(file, object, chdf5_p_default()), "H5Lexists", at: location) == 0 else {
                throw .invalidWrite(reason: "an object already exists there", at: location)
            }
            let space = try Self.dataspace(dims, at: location)
            let types = try Self.types(of: array, at: location)
            let dcpl = try Handle(H5Pcreate(chdf5_p_dataset_create()), .propertyList, call: "H5Pcreate", at: location)
            try check(H5Pset_obj_track_times(dcpl.id, false), "H5Pset_obj_track_times", at: location)
            let dataset = try Handle(H5Dcreate2(file, object, types.file.id, space.id, chdf5_p_default(), dcpl.id,
                                                chdf5_p_default()), .dataset, call: "H5Dcreate2", at: location)
            if case .bfloat16 = array.elements {
                try Self.writeAttribute("dtype", .string("bfloat16"), on: dataset.id, at: location)
            }
            guard array.count > 0 else { return }
            try Self.withBytes(of: array) { (bytes) throws(HDF5Error) in
                try check(H5Dwrite(dataset.id, types.memory, chdf5_s_all(), chdf5_s_all(), chdf5_p_default(), bytes),
                          "H5Dwrite", at: location)
            }
        }
    }

    /// Writes a tensor as a dataset in its own dtype (float32, float64 or int64), as the
    /// ``HDF5Array`` overload does.
    public func writeDataset(_ path: String, _ tensor: Tensor) throws(HDF5Error) {
        try writeDataset(path, HDF5Array(tensor))
    }

    /// Sets the attribute `name` of the group or dataset at `path` (replacing one of that name):
    /// a string as a scalar variable-length UTF-8 string (what h5py 3 writes for a Python `str`),
    /// strings as a one-dimensional array of them, numbers as scalar or one-dimensional int64 /
    /// float64. A missing group at `path` is created.
    public func setAttribute(_ name: String, _ value: HDF5Value, on path: String = "/") throws(HDF5Error) {
        try withObject(at: path, attribute: name) { (object, location) throws(HDF5Error) in
            try Self.writeAttribute(name, value, on: object, at: location)
        }
    }

    /// Sets the attribute `name` of the group or dataset at `path` to a numeric array of any shape
    /// (replacing one of that name). A missing group at `path` is created.
    public func setAttribute(_ name: String, _ array: HDF5Array, on path: String = "/") throws(HDF5Error) {
        try withObject(at: path, attribute: name) { (object, location) throws(HDF5Error) in
            try Self.writeAttribute(name, array, on: object, at: location)
        }
    }

    // MARK: Internals (lock held unless said otherwise)

    private func openFile(at path: String) throws(HDF5Error) -> hid_t {
        guard let id else {
            throw .invalidWrite(reason: "the writer was closed", at: HDF5Location(file: url.path, object: path))
        }
        return id
    }

    /// Opens (creating groups as needed) the object at `path` and runs `body` on it.
    private func withObject(at path: String, attribute: String,
                            _ body: (hid_t, HDF5Location) throws(HDF5Error) -> Void) throws(HDF5Error) {
        let components = try Self.components(path, at: HDF5Location(file: url.path, object: path, attribute: attribute))
        let objectPath = "/" + components.joined(separator: "/")
        let location = HDF5Location(file: url.path, object: objectPath, attribute: attribute)
        guard !attribute.isEmpty else { throw .invalidWrite(reason: "an attribute needs a name", at: location) }
        try HDF5Library.run { () throws(HDF5Error) -> Void in
            let file = try openFile(at: objectPath)
            try ensureGroups(components.dropLast(), file: file)
            if !components.isEmpty, try check(H5Lexists(file, objectPath, chdf5_p_default()), "H5Lexists", at: location) == 0 {
                try ensureGroups(components[...], file: file)
            }
            let object = try Handle(H5Oopen(file, objectPath, chdf5_p_default()), .object, call: "H5Oopen", at: location)
            try body(object.id, location)
        }
    }

    /// Creates each group of `components` (a path from the root) that does not exist yet; throws
    /// when one of them is a dataset.
    private func ensureGroups(_ components: ArraySlice<String>, file: hid_t) throws(HDF5Error) {
        var path = ""
        for component in components {
            path += "/" + component
            let location = HDF5Location(file: url.path, object: path)
            if try check(H5Lexists(file, path, chdf5_p_default()), "H5Lexists", at: location) > 0 {
                let object = try Handle(H5Oopen(file, path, chdf5_p_default()), .object, call: "H5Oopen", at: location)
                guard H5Iget_type(object.id) == H5I_GROUP else {
                    throw .invalidWrite(reason: "'\(path)' is a dataset, not a group", at: location)
                }
                continue
            }
            let gcpl = try Handle(H5Pcreate(chdf5_p_group_create()), .propertyList, call: "H5Pcreate", at: location)
            try check(H5Pset_obj_track_times(gcpl.id, false), "H5Pset_obj_track_times", at: location)
            _ = try Handle(H5Gcreate2(file, path, chdf5_p_default(), gcpl.id, chdf5_p_default()), .group,
                           call: "H5Gcreate2", at: location)
        }
    }

    /// The components of a slash-separated path (absolute or from the root); empty for the root.
    /// No lock needed.
    private static func components(_ path: String, at location: HDF5Location) throws(HDF5Error) -> [String] {
        let trimmed = path.hasPrefix("/") ? String(path.dropFirst()) : path
        guard !trimmed.isEmpty else { return [] }
        let components = trimmed.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard components.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }) else {
            throw .invalidWrite(reason: "the path '\(path)' has an empty, '.' or '..' component", at: location)
        }
        return components
    }

    /// `array`'s shape as HDF5 dimensions, after checking it against the element count. No lock needed.
    private static func dims(of array: HDF5Array, at location: HDF5Location) throws(HDF5Error) -> [hsize_t] {
        guard array.shape.count <= 32 else {  // H5S_MAX_RANK
            throw .invalidWrite(reason: "shape \(array.shape) has rank \(array.shape.count), above HDF5's 32", at: location)
        }
        guard array.shape.allSatisfy({ $0 >= 0 }) else {
            throw .invalidWrite(reason: "shape \(array.shape) has a negative dimension", at: location)
        }
        var count = 1
        var overflow = false
        for dimension in array.shape where !overflow { (count, overflow) = count.multipliedReportingOverflow(by: dimension) }
        guard !overflow, count == array.count else {
            throw .invalidWrite(reason: "shape \(array.shape) needs \(overflow ? "more than 2^63" : "\(count)") elements; "
                                + "the \(array.typeName) array has \(array.count)", at: location)
        }
        return array.shape.map { hsize_t($0) }
    }

    private static func dataspace(_ dims: [hsize_t], at location: HDF5Location) throws(HDF5Error) -> Handle {
        if dims.isEmpty {
            return try Handle(H5Screate(H5S_SCALAR), .dataspace, call: "H5Screate", at: location)
        }
        return try Handle(H5Screate_simple(Int32(dims.count), dims, nil), .dataspace, call: "H5Screate_simple", at: location)
    }

    /// The type stored in the file (owned) and the type of the elements in memory (a library constant).
    private static func types(of array: HDF5Array, at location: HDF5Location) throws(HDF5Error) -> StoredType {
        switch array.elements {
        case .float32: return StoredType(file: try copy(chdf5_ieee_f32le(), at: location), memory: chdf5_native_float())
        case .float64: return StoredType(file: try copy(chdf5_ieee_f64le(), at: location), memory: chdf5_native_double())
        case .int32: return StoredType(file: try copy(chdf5_std_i32le(), at: location), memory: chdf5_native_int32())
        case .int64: return StoredType(file: try copy(chdf5_std_i64le(), at: location), memory: chdf5_native_int64())
        case .float16:
            // IEEE binary16 as h5py defines it: sign bit 15, exponent bits 10-14 (bias 15), mantissa bits 0-9.
            let half = try copy(chdf5_ieee_f32le(), at: location)
            try check(H5Tset_fields(half.id, 15, 10, 5, 0, 10), "H5Tset_fields", at: location)
            try check(H5Tset_size(half.id, 2), "H5Tset_size", at: location)
            try check(H5Tset_ebias(half.id, 15), "H5Tset_ebias", at: location)
            return StoredType(fileTypeInMemory: half)  // little-endian bit patterns, copied as they are
        case .bfloat16:
            return StoredType(fileTypeInMemory: try Handle(H5Tcreate(H5T_OPAQUE, 2), .datatype, call: "H5Tcreate", at: location))
        }
    }

    private static func copy(_ type: hid_t, at location: HDF5Location) throws(HDF5Error) -> Handle {
        try Handle(H5Tcopy(type), .datatype, call: "H5Tcopy", at: location)
    }

    /// Runs `body` with a pointer to `array`'s elements (not empty).
    private static func withBytes(of array: HDF5Array,
                                  _ body: (UnsafeRawPointer) throws(HDF5Error) -> Void) throws(HDF5Error) {
        func run<E>(_ values: [E]) -> Result<Void, HDF5Error> {
            values.withUnsafeBytes { buffer in
                guard let base = buffer.baseAddress else { return .success(()) }
                return Result { () throws(HDF5Error) in try body(base) }
            }
        }
        let result: Result<Void, HDF5Error>
        switch array.elements {
        case .float16(let bits), .bfloat16(let bits): result = run(bits.map(\.littleEndian))
        case .float32(let values): result = run(values)
        case .float64(let values): result = run(values)
        case .int32(let values): result = run(values)
        case .int64(let values): result = run(values)
        }
        try result.get()
    }

    /// An attribute created on `object` (an existing one of that name deleted first).
    private static func createAttribute(_ name: String, on object: hid_t, type: borrowing StoredType,
                                        dims: [hsize_t], at location: HDF5Location) throws(HDF5Error) -> Handle {
        if try check(H5Aexists(object, name), "H5Aexists", at: location) > 0 {
            try check(H5Adelete(object, name), "H5Adelete", at: location)
        }
        let space = try dataspace(dims, at: location)
        return try Handle(H5Acreate2(object, name, type.file.id, space.id, chdf5_p_default(), chdf5_p_default()),
                          .attribute, call: "H5Acreate2", at: location)
    }

    /// Writes a numeric attribute on `object`.
    private static func writeAttribute(_ name: String, _ array: HDF5Array, on object: hid_t,
                                       at location: HDF5Location) throws(HDF5Error) {
        let type = try types(of: array, at: location)
        let attribute = try createAttribute(name, on: object, type: type, dims: try dims(of: array, at: location), at: location)
        guard array.count > 0 else { return }
        try withBytes(of: array) { (bytes) throws(HDF5Error) in
            try check(H5Awrite(attribute.id, type.memory, bytes), "H5Awrite", at: location)
        }
    }

    /// Writes a string, strings or numbers attribute on `object`.
    private static func writeAttribute(_ name: String, _ value: HDF5Value, on object: hid_t,
                                       at location: HDF5Location) throws(HDF5Error) {
        let strings: [String]
        let scalar: Bool
        switch value {
        case .string(let text): (strings, scalar) = ([text], true)
        case .strings(let texts): (strings, scalar) = (texts, false)
        case .integer(let number):
            return try writeAttribute(name, HDF5Array(shape: [], elements: .int64([number])), on: object, at: location)
        case .integers(let numbers):
            return try writeAttribute(name, HDF5Array(shape: [numbers.count], elements: .int64(numbers)), on: object, at: location)
        case .float(let number):
            return try writeAttribute(name, HDF5Array(shape: [], elements: .float64([number])), on: object, at: location)
        case .floats(let numbers):
            return try writeAttribute(name, HDF5Array(shape: [numbers.count], elements: .float64(numbers)), on: object, at: location)
        }
        guard strings.allSatisfy({ !$0.utf8.contains(0) }) else {
            throw .invalidWrite(reason: "a variable-length string cannot hold a NUL byte", at: location)
        }
        let type = StoredType(fileTypeInMemory: try Handle(H5Tcopy(chdf5_c_s1()), .datatype, call: "H5Tcopy", at: location))
        try check(H5Tset_size(type.file.id, chdf5_variable()), "H5Tset_size", at: location)
        try check(H5Tset_cset(type.file.id, H5T_CSET_UTF8), "H5Tset_cset", at: location)
        let attribute = try createAttribute(name, on: object, type: type, dims: scalar ? [] : [hsize_t(strings.count)],
                                            at: location)
        guard !strings.isEmpty else { return }
        let pointers = strings.map { strdup($0) }
        defer { pointers.forEach { free($0) } }
        let status = pointers.withUnsafeBytes { H5Awrite(attribute.id, type.memory, $0.baseAddress) }
        try check(status, "H5Awrite", at: location)
    }
}

/// The type elements are stored as in the file (owned), and the type they have in memory.
private struct StoredType: ~Copyable {
    let file: Handle
    let memory: hid_t

    init(file: consuming Handle, memory: hid_t) {
        self.file = file
        self.memory = memory
    }

    /// Elements whose bytes in memory are already in the stored type (bit patterns, strings).
    init(fileTypeInMemory type: consuming Handle) {
        memory = type.id
        file = type
    }
}
