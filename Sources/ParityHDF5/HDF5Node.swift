import CHDF5

/// A group or dataset in an ``HDF5File``: a path, and attributes.
public protocol HDF5Node: Sendable {
    /// The file the object is in (kept open while the object is alive).
    var file: HDF5File { get }
    /// The object's absolute path in the file, `/` for the root group.
    var path: String { get }
}

extension HDF5Node {
    /// The last path component (`kernel:0` for `/model_weights/dense/dense/kernel:0`), `/` for the root.
    public var name: String { path.split(separator: "/").last.map(String.init) ?? "/" }

    var location: HDF5Location { HDF5Location(file: file.url.path, object: path) }

    /// The attribute names: in creation order when the object tracks it (h5py's `track_order`),
    /// else in name order (h5py's default, and what Keras files have).
    public var attributeNames: [String] {
        get throws(HDF5Error) {
            try HDF5Library.run { () throws(HDF5Error) -> [String] in
                let object = try openObject()
                let collect: H5A_operator2_t = { _, name, _, data in
                    guard let name, let data else { return -1 }
                    data.assumingMemoryBound(to: [String].self).pointee.append(String(cString: name))
                    return 0
                }
                func names(_ index: H5_index_t) -> [String]? {
                    var names: [String] = []
                    var position: hsize_t = 0
                    let status = withUnsafeMutablePointer(to: &names) { pointer in
                        H5Aiterate2(object.id, index, H5_ITER_INC, &position, collect, pointer)
                    }
                    return status < 0 ? nil : names
                }
                // Creation order only when tracked: libhdf5 1.10 "iterates" an untracked object by
                // creation order too, in an arbitrary order.
                if try attributeCreationOrderTracked(object), let ordered = names(H5_INDEX_CRT_ORDER) { return ordered }
                _ = HDF5Library.errorStack()
                guard let sorted = names(H5_INDEX_NAME) else { throw HDF5Library.failure("H5Aiterate2", location) }
                return sorted
            }
        }
    }

    /// Whether the object has an attribute called `name`.
    public func hasAttribute(_ name: String) throws(HDF5Error) -> Bool {
        try HDF5Library.run { () throws(HDF5Error) -> Bool in
            let object = try openObject()
            return try check(H5Aexists(object.id, name), "H5Aexists", at: location.attribute(name)) > 0
        }
    }

    /// The attribute called `name`, read whole (see ``HDF5Value`` for the conversions).
    ///
    /// - Throws: ``HDF5Error/attributeNotFound(name:available:at:)`` (listing the attributes there
    ///   are), ``HDF5Error/unsupportedType(type:reading:at:)`` for compound and other types.
    public func attribute(_ name: String) throws(HDF5Error) -> HDF5Value {
        try HDF5Library.run { () throws(HDF5Error) -> HDF5Value in
            try DataSource(attribute: try openAttribute(name), file: file, at: location.attribute(name)).value()
        }
    }

    /// The element type of the attribute called `name` (to tell, say, a fixed-length `|S` string
    /// from a variable-length one; ``attribute(_:)`` reads both).
    public func attributeType(_ name: String) throws(HDF5Error) -> HDF5ElementType {
        try HDF5Library.run { () throws(HDF5Error) -> HDF5ElementType in
            let attribute = try openAttribute(name)
            let type = try Handle(H5Aget_type(attribute.id), .datatype, call: "H5Aget_type", at: location.attribute(name))
            return try elementType(of: type.id, at: location.attribute(name))
        }
    }

    /// Every attribute, by name.
    public func attributes() throws(HDF5Error) -> [String: HDF5Value] {
        var values: [String: HDF5Value] = [:]
        for name in try attributeNames { values[name] = try attribute(name) }
        return values
    }

    /// Opens the attribute called `name` (lock held).
    func openAttribute(_ name: String) throws(HDF5Error) -> Handle {
        let object = try openObject()
        let at = location.attribute(name)
        guard try check(H5Aexists(object.id, name), "H5Aexists", at: at) > 0 else {
            throw .attributeNotFound(name: name, available: try attributeNames, at: location)
        }
        return try Handle(H5Aopen(object.id, name, chdf5_p_default()), .attribute, call: "H5Aopen", at: at)
    }

    /// Whether `object` records its attributes' creation order (lock held).
    private func attributeCreationOrderTracked(_ object: borrowing Handle) throws(HDF5Error) -> Bool {
        let (plist, call): (hid_t, String)
        switch H5Iget_type(object.id) {
        case H5I_GROUP: (plist, call) = (H5Gget_create_plist(object.id), "H5Gget_create_plist")
        case H5I_DATASET: (plist, call) = (H5Dget_create_plist(object.id), "H5Dget_create_plist")
        default: return false
        }
        let ocpl = try Handle(plist, .propertyList, call: call, at: location)
        var flags: UInt32 = 0
        try check(H5Pget_attr_creation_order(ocpl.id, &flags), "H5Pget_attr_creation_order", at: location)
        return flags & UInt32(H5P_CRT_ORDER_TRACKED) != 0
    }

    /// Opens the object by path (lock held).
    func openObject() throws(HDF5Error) -> Handle {
        try Handle(H5Oopen(file.id, path, chdf5_p_default()), .object, call: "H5Oopen", at: location)
    }
}
