import CHDF5

/// A group in an open `HDF5File`: the file plus an absolute object path. Each call opens the group,
/// does its work and closes everything it opened, so copies of this value hold no HDF5 handles.
/// Names passed to its methods are relative to the group (nested paths such as "a/b" allowed) or
/// absolute when they start with `/`.
public struct HDF5Group: HDF5Node {
    public let file: HDF5File
    public let path: String

    init(file: HDF5File, path: String) {
        self.file = file
        self.path = path
    }

    /// Creates a group (and any missing intermediate groups). Throws `.alreadyExists` if `name` exists.
    @discardableResult
    public func createGroup(_ name: String) throws -> HDF5Group {
        try file.withFileID(object: path) { fid, base in
            let abs = try ObjectPath.resolve(name, in: path, base)
            let ctx = base.at(abs)
            guard !ObjectPath.exists(fid, abs) else { throw ctx.error(.alreadyExists, "already exists") }
            let lcpl = try ctx.check(H5Pcreate(chdf5_p_link_create()), "H5Pcreate")
            defer { H5Pclose(lcpl) }
            try ctx.check(H5Pset_create_intermediate_group(lcpl, 1), "H5Pset_create_intermediate_group")
            let g = try ctx.check(H5Gcreate2(fid, abs, lcpl, chdf5_p_default(), chdf5_p_default()), "H5Gcreate2")
            try ctx.check(H5Gclose(g), "H5Gclose")
            return HDF5Group(file: file, path: abs)
        }
    }

    /// The existing group at `path`; throws `.notFound`, or `.typeMismatch` if it is not a group.
    public func group(_ path: String) throws -> HDF5Group {
        let abs = try resolveExisting(path, expect: H5I_GROUP, what: "a group")
        return HDF5Group(file: file, path: abs)
    }

    /// The existing dataset at `path`; throws `.notFound`, or `.typeMismatch` if it is not a dataset.
    public func dataset(_ path: String) throws -> HDF5Dataset {
        let abs = try resolveExisting(path, expect: H5I_DATASET, what: "a dataset")
        return HDF5Dataset(file: file, path: abs)
    }

    /// Whether an object (group or dataset) exists at `path`. False for invalid names or a closed file.
    public func contains(_ path: String) -> Bool {
        (try? file.withFileID(object: self.path) { fid, ctx in
            ObjectPath.exists(fid, try ObjectPath.resolve(path, in: self.path, ctx))
        }) ?? false
    }

    /// Names of the direct children (groups and datasets), sorted.
    public func childNames() throws -> [String] {
        try file.withFileID(object: path) { fid, ctx in
            let g = try openSelf(fid, ctx)
            defer { H5Gclose(g) }
            var info = H5G_info_t()
            try ctx.check(H5Gget_info(g, &info), "H5Gget_info")
            var names: [String] = []
            names.reserveCapacity(Int(info.nlinks))
            for i in 0..<info.nlinks {
                let len = try ctx.check(H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, nil, 0,
                                                           chdf5_p_default()), "H5Lget_name_by_idx")
                var buf = [CChar](repeating: 0, count: len + 1)
                try ctx.check(H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, &buf, buf.count,
                                                 chdf5_p_default()), "H5Lget_name_by_idx")
                names.append(String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
            }
            return names.sorted()
        }
    }

    /// Unlinks the object at `path` (a group is removed with everything below it). HDF5 does not
    /// reclaim the space inside the file; write a fresh file to compact.
    public func remove(_ path: String) throws {
        try file.withFileID(object: self.path) { fid, base in
            let abs = try ObjectPath.resolve(path, in: self.path, base)
            let ctx = base.at(abs)
            guard ObjectPath.exists(fid, abs) else { throw ctx.error(.notFound, "no such object") }
            try ctx.check(H5Ldelete(fid, abs, chdf5_p_default()), "H5Ldelete")
        }
    }

    private func openSelf(_ fid: hid_t, _ ctx: H5Context) throws -> hid_t {
        guard ObjectPath.exists(fid, path) else { throw ctx.error(.notFound, "group no longer exists") }
        return try ctx.check(H5Gopen2(fid, path, chdf5_p_default()), "H5Gopen2")
    }

    private func resolveExisting(_ name: String, expect: H5I_type_t, what: String) throws -> String {
        try file.withFileID(object: path) { fid, base in
            let abs = try ObjectPath.resolve(name, in: path, base)
            let ctx = base.at(abs)
            let o = try ObjectPath.open(fid, abs, ctx)
            defer { H5Oclose(o) }
            let type = H5Iget_type(o)
            guard type == expect else {
                let actual = type == H5I_GROUP ? "a group" : type == H5I_DATASET ? "a dataset" : "another kind of object"
                throw ctx.error(.typeMismatch, "is \(actual), not \(what)")
            }
            return abs
        }
    }
}

/// A dataset in an open `HDF5File` (file + absolute path; holds no HDF5 handle). Read it through its
/// group (`group.readFloats("w")` etc.) or with the methods here; attributes via `HDF5Node`.
public struct HDF5Dataset: HDF5Node {
    public let file: HDF5File
    public let path: String

    /// The stored shape (`[]` for a scalar dataset).
    public func shape() throws -> [Int] {
        try file.withFileID(object: path) { fid, ctx in
            let d = try DatasetIO.open(fid, path, ctx)
            defer { H5Dclose(d) }
            return try DatasetIO.shape(d, ctx)
        }
    }

    /// The bytes the file holds for the data (HDF5's storage size: after compression, without
    /// chunks never written).
    public func storageSize() throws -> Int {
        try file.withFileID(object: path) { fid, ctx in
            let d = try DatasetIO.open(fid, path, ctx)
            defer { H5Dclose(d) }
            return Int(clamping: H5Dget_storage_size(d))
        }
    }

    /// The stored element kind; throws `.typeMismatch` for types this wrapper does not write
    /// (it still reads any float type as Float/Double and integer types losslessly where possible).
    public func elementKind() throws -> HDF5ElementKind {
        try file.withFileID(object: path) { fid, ctx in
            let d = try DatasetIO.open(fid, path, ctx)
            defer { H5Dclose(d) }
            let stored = try DatasetIO.storedType(d, ctx)
            switch (stored.typeClass, stored.size, stored.signed) {
            case (.float, 4, _): return .float32
            case (.float, 8, _): return .float64
            case (.integer, 8, true): return .int64
            case (.integer, 8, false): return .uint64
            case (.integer, 1, false): return .uint8
            default: throw ctx.error(.typeMismatch, "stored type \(stored) is not one of \(HDF5ElementKind.allCases.map(\.rawValue))")
            }
        }
    }

    /// The stored values and shape.
    public func read<T: HDF5Element>(as type: T.Type = T.self) throws -> (shape: [Int], values: [T]) {
        try HDF5Group(file: file, path: "/").read(path, as: type)
    }
}
