import CHDF5

/// A group in an ``HDF5File``: named links to further groups and datasets, plus attributes.
public struct HDF5Group: HDF5Node {
    public let file: HDF5File
    public let path: String

    init(file: HDF5File, path: String) {
        self.file = file
        self.path = path
    }

    /// The order ``children`` come back in.
    public enum LinkOrder: Sendable, Hashable {
        /// Creation order: the group was written with creation order tracked and indexed
        /// (h5py `track_order=True`).
        case creation
        /// Name order (byte-wise): h5py's default, and what Keras files have. Keras itself never
        /// relies on child order: legacy files list layers in the `layer_names` attribute, Keras 3
        /// files name variables `vars/0`, `vars/1`, ...
        case name
    }

    /// The order of ``children`` in this group.
    public var linkOrder: LinkOrder {
        get throws(HDF5Error) {
            try HDF5Library.run { () throws(HDF5Error) -> LinkOrder in
                let group = try open()
                return try order(of: group)
            }
        }
    }

    /// The names of the group's members (groups, datasets, soft links...), in ``linkOrder``.
    public var children: [String] {
        get throws(HDF5Error) {
            try HDF5Library.run { () throws(HDF5Error) -> [String] in
                let group = try open()
                let index = try order(of: group) == .creation ? H5_INDEX_CRT_ORDER : H5_INDEX_NAME
                var info = H5G_info_t()
                try check(H5Gget_info(group.id, &info), "H5Gget_info", at: location)
                var names: [String] = []
                var position: hsize_t = 0
                while position < info.nlinks {
                    let length = try check(H5Lget_name_by_idx(group.id, ".", index, H5_ITER_INC, position, nil, 0,
                                                              chdf5_p_default()), "H5Lget_name_by_idx", at: location)
                    guard length < 1 << 20 else {
                        throw .library(call: "H5Lget_name_by_idx", message: "link name of \(length) bytes", at: location)
                    }
                    var buffer = [CChar](repeating: 0, count: length + 1)
                    try check(H5Lget_name_by_idx(group.id, ".", index, H5_ITER_INC, position, &buffer, buffer.count,
                                                 chdf5_p_default()), "H5Lget_name_by_idx", at: location)
                    names.append(String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self))
                    position += 1
                }
                return names
            }
        }
    }

    /// Whether the link at `path` (a member name or a relative path) exists, even if it is a
    /// dangling soft link; `false` when a component on the way is missing or is a dataset.
    public func contains(_ path: String) throws(HDF5Error) -> Bool {
        var components = path.split(separator: "/").map(String.init)
        guard let last = components.popLast() else { return true }  // "" or "/": a group itself
        let parent: HDF5Group
        do {
            parent = try group(named: (path.hasPrefix("/") ? "/" : "") + components.joined(separator: "/"))
        } catch {
            switch error {
            case .objectNotFound, .wrongObjectKind: return false
            default: throw error
            }
        }
        return try HDF5Library.run { () throws(HDF5Error) -> Bool in
            let group = try parent.open()
            return try check(H5Lexists(group.id, last, chdf5_p_default()), "H5Lexists", at: parent.location) > 0
        }
    }

    /// The group or dataset at `path`, relative to this group (or absolute when it starts with
    /// `/`). Components are separated by `/`; soft links are followed.
    ///
    /// - Throws: ``HDF5Error/objectNotFound(path:reason:at:)`` naming the first missing component,
    ///   a component that is a dataset, or a dangling link.
    public func object(at path: String) throws(HDF5Error) -> HDF5Object {
        let base = path.hasPrefix("/") ? [] : self.path.split(separator: "/").map(String.init)
        let components = base + path.split(separator: "/").map(String.init).filter { $0 != "." }
        let absolute = "/" + components.joined(separator: "/")
        let fileLocation = HDF5Location(file: file.url.path)
        return try HDF5Library.run { () throws(HDF5Error) -> HDF5Object in
            for index in components.indices.dropFirst(base.count) {
                let prefix = "/" + components[...index].joined(separator: "/")
                let parent = "/" + components[..<index].joined(separator: "/")
                guard try check(H5Lexists(file.id, prefix, chdf5_p_default()), "H5Lexists", at: fileLocation) > 0 else {
                    throw .objectNotFound(path: absolute, reason: "group '\(parent)' has no member '\(components[index])'",
                                          at: fileLocation)
                }
                if index < components.count - 1 {
                    let kind = try Self.kind(at: prefix, in: file, absolute: absolute)
                    guard kind == H5I_GROUP else {
                        throw .objectNotFound(path: absolute, reason: "'\(prefix)' is a dataset, not a group", at: fileLocation)
                    }
                }
            }
            switch try Self.kind(at: absolute, in: file, absolute: absolute) {
            case H5I_GROUP: return .group(HDF5Group(file: file, path: absolute))
            case H5I_DATASET: return .dataset(HDF5Dataset(file: file, path: absolute))
            case H5I_DATATYPE:
                throw .wrongObjectKind(expected: "group or dataset", found: "named datatype",
                                       at: HDF5Location(file: file.url.path, object: absolute))
            case let other:
                throw .wrongObjectKind(expected: "group or dataset", found: "object of id type \(other.rawValue)",
                                       at: HDF5Location(file: file.url.path, object: absolute))
            }
        }
    }

    /// The group at `path` (a member name or a relative path).
    public func group(named path: String) throws(HDF5Error) -> HDF5Group {
        let object = try object(at: path)
        guard let group = object.group else {
            throw .wrongObjectKind(expected: "group", found: "dataset",
                                   at: HDF5Location(file: file.url.path, object: object.path))
        }
        return group
    }

    /// The dataset at `path` (a member name or a relative path).
    public func dataset(named path: String) throws(HDF5Error) -> HDF5Dataset {
        let object = try object(at: path)
        guard let dataset = object.dataset else {
            throw .wrongObjectKind(expected: "dataset", found: "group",
                                   at: HDF5Location(file: file.url.path, object: object.path))
        }
        return dataset
    }

    // MARK: Internals (lock held)

    func open() throws(HDF5Error) -> Handle {
        try Handle(H5Gopen2(file.id, path, chdf5_p_default()), .group, call: "H5Gopen2", at: location)
    }

    private func order(of group: borrowing Handle) throws(HDF5Error) -> LinkOrder {
        let gcpl = try Handle(H5Gget_create_plist(group.id), .propertyList, call: "H5Gget_create_plist", at: location)
        var flags: UInt32 = 0
        try check(H5Pget_link_creation_order(gcpl.id, &flags), "H5Pget_link_creation_order", at: location)
        return flags & UInt32(H5P_CRT_ORDER_INDEXED) != 0 ? .creation : .name
    }

    /// The kind of the object a link points to; a dangling link is `objectNotFound`.
    private static func kind(at path: String, in file: HDF5File, absolute: String) throws(HDF5Error) -> H5I_type_t {
        let id = H5Oopen(file.id, path, chdf5_p_default())
        guard id >= 0 else {
            let reason = HDF5Library.errorStack() ?? "H5Oopen failed"
            throw .objectNotFound(path: absolute, reason: "the link '\(path)' cannot be followed (\(reason))",
                                  at: HDF5Location(file: file.url.path))
        }
        let object = try Handle(id, .object, call: "H5Oopen", at: HDF5Location(file: file.url.path, object: path))
        return H5Iget_type(object.id)
    }
}
