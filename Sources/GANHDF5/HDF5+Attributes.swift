import CHDF5

/// Attributes on groups (the root included) and datasets. Strings are stored as variable-length
/// UTF-8 (h5py reads them as `str`), integers as int64, doubles as float64, arrays as 1-D.
/// Setting an existing attribute replaces it.
extension HDF5Node {
    public func setAttribute(_ name: String, _ value: HDF5Value) throws {
        try withObject(attribute: name) { obj, ctx in
            guard !name.isEmpty else { throw ctx.error(.invalidArgument, "empty attribute name") }
            let exists = try ctx.check(H5Aexists(obj, name), "H5Aexists")
            if exists > 0 { try ctx.check(H5Adelete(obj, name), "H5Adelete") }
            switch value {
            case .string(let s):
                guard !s.utf8.contains(0) else { throw ctx.error(.invalidArgument, "string contains a NUL character") }
                let t = try AttributeIO.stringType(cset: H5T_CSET_UTF8, ctx)
                defer { H5Tclose(t) }
                try AttributeIO.create(obj, name, fileType: t, count: nil, ctx) { attr in
                    try s.withCString { c in
                        var p: UnsafePointer<CChar>? = c
                        try ctx.check(H5Awrite(attr, t, &p), "H5Awrite")
                    }
                }
            case .int(let v):
                try AttributeIO.write(obj, name, [v], scalar: true, HDF5ElementKind.int64, ctx)
            case .double(let v):
                try AttributeIO.write(obj, name, [v], scalar: true, HDF5ElementKind.float64, ctx)
            case .ints(let v):
                try AttributeIO.write(obj, name, v, scalar: false, HDF5ElementKind.int64, ctx)
            case .doubles(let v):
                try AttributeIO.write(obj, name, v, scalar: false, HDF5ElementKind.float64, ctx)
            }
        }
    }

    public func setAttribute(_ name: String, _ value: String) throws { try setAttribute(name, .string(value)) }
    public func setAttribute(_ name: String, _ value: Int) throws { try setAttribute(name, .int(Int64(value))) }
    public func setAttribute(_ name: String, _ value: Int64) throws { try setAttribute(name, .int(value)) }
    public func setAttribute(_ name: String, _ value: Double) throws { try setAttribute(name, .double(value)) }
    public func setAttribute(_ name: String, _ value: [Int]) throws { try setAttribute(name, .ints(value.map { Int64($0) })) }
    public func setAttribute(_ name: String, _ value: [Int64]) throws { try setAttribute(name, .ints(value)) }
    public func setAttribute(_ name: String, _ value: [Double]) throws { try setAttribute(name, .doubles(value)) }

    /// The attribute's value, or nil if there is no attribute `name`. Any integer type is read as
    /// Int64, any float type as Double; other types (and multi-dimensional or string-array
    /// attributes) throw `.typeMismatch`.
    public func attribute(_ name: String) throws -> HDF5Value? {
        try withObject(attribute: name) { obj, ctx in
            guard !name.isEmpty, try ctx.check(H5Aexists(obj, name), "H5Aexists") > 0 else { return nil }
            let attr = try ctx.check(H5Aopen(obj, name, chdf5_p_default()), "H5Aopen")
            defer { H5Aclose(attr) }
            return try AttributeIO.read(attr, ctx, beforeVariableLengthRead: { try file.verifyGlobalHeaps(ctx) })
        }
    }

    /// Whether the attribute exists.
    public func hasAttribute(_ name: String) throws -> Bool { try attribute(name) != nil }

    public func stringAttribute(_ name: String) throws -> String {
        try typedAttribute(name, "string") { if case .string(let v) = $0 { v } else { nil } }
    }

    public func intAttribute(_ name: String) throws -> Int64 {
        try typedAttribute(name, "int") { if case .int(let v) = $0 { v } else { nil } }
    }

    public func doubleAttribute(_ name: String) throws -> Double {
        try typedAttribute(name, "double") { if case .double(let v) = $0 { v } else { nil } }
    }

    public func intArrayAttribute(_ name: String) throws -> [Int64] {
        try typedAttribute(name, "[int]") { if case .ints(let v) = $0 { v } else { nil } }
    }

    public func doubleArrayAttribute(_ name: String) throws -> [Double] {
        try typedAttribute(name, "[double]") { if case .doubles(let v) = $0 { v } else { nil } }
    }

    /// Attribute names, sorted.
    public func attributeNames() throws -> [String] {
        try withObject(attribute: nil) { obj, ctx in
            var names: [String] = []
            try withUnsafeMutablePointer(to: &names) { list in
                _ = try ctx.check(H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, nil, { _, name, _, data in
                    guard let name, let data else { return -1 }
                    data.assumingMemoryBound(to: [String].self).pointee.append(String(cString: name))
                    return 0
                }, list), "H5Aiterate2")
            }
            return names.sorted()
        }
    }

    public func removeAttribute(_ name: String) throws {
        try withObject(attribute: name) { obj, ctx in
            guard !name.isEmpty, try ctx.check(H5Aexists(obj, name), "H5Aexists") > 0 else {
                throw ctx.error(.notFound, "no such attribute")
            }
            try ctx.check(H5Adelete(obj, name), "H5Adelete")
        }
    }

    private func typedAttribute<T>(_ name: String, _ typeName: String, _ extract: (HDF5Value) -> T?) throws -> T {
        let value = try attribute(name)
        let ctx = H5Context(file: file.path, object: AttributeIO.label(path, name))
        guard let value else { throw ctx.error(.notFound, "no such attribute") }
        guard let v = extract(value) else {
            let shown = value.description.count > 60 ? value.description.prefix(57) + "..." : value.description
            throw ctx.error(.typeMismatch, "attribute is \(value.typeName) (\(shown)), not \(typeName)")
        }
        return v
    }

    /// Opens this object for the duration of `body`.
    private func withObject<R>(attribute: String?, _ body: (hid_t, H5Context) throws -> R) throws -> R {
        try file.withFileID(object: AttributeIO.label(path, attribute)) { fid, ctx in
            let obj = try ObjectPath.open(fid, path, ctx.at(path))
            defer { H5Oclose(obj) }
            return try body(obj, ctx)
        }
    }
}

enum AttributeIO {
    /// Object label used in error messages, e.g. `/weights/w1 (attribute 'lr')`.
    static func label(_ path: String, _ attribute: String?) -> String {
        attribute.map { "\(path) (attribute '\($0)')" } ?? path
    }

    static func stringType(cset: H5T_cset_t, _ ctx: H5Context) throws -> hid_t {
        let t = try ctx.check(H5Tcopy(chdf5_c_s1()), "H5Tcopy")
        do {
            try ctx.check(H5Tset_size(t, chdf5_variable()), "H5Tset_size")
            try ctx.check(H5Tset_cset(t, cset), "H5Tset_cset")
        } catch {
            H5Tclose(t)
            throw error
        }
        return t
    }

    /// Creates attribute `name` (scalar when `count` is nil, else 1-D) and runs `write` on it.
    static func create(_ obj: hid_t, _ name: String, fileType: hid_t, count: Int?, _ ctx: H5Context,
                       _ write: (hid_t) throws -> Void) throws {
        var dims = [hsize_t(count ?? 0)]
        let space = try ctx.check(count == nil ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &dims, nil), "H5Screate")
        defer { H5Sclose(space) }
        let attr = try ctx.check(H5Acreate2(obj, name, fileType, space, chdf5_p_default(), chdf5_p_default()), "H5Acreate2")
        do {
            try write(attr)
            try ctx.check(H5Aclose(attr), "H5Aclose")
        } catch {
            H5Aclose(attr)
            H5Adelete(obj, name)
            HDF5ErrorStack.clear()
            throw error
        }
    }

    static func write<T: HDF5Element>(_ obj: hid_t, _ name: String, _ values: [T], scalar: Bool,
                                      _ kind: HDF5ElementKind, _ ctx: H5Context) throws {
        try create(obj, name, fileType: kind.fileType, count: scalar ? nil : values.count, ctx) { attr in
            if values.isEmpty { return }
            try values.withUnsafeBufferPointer { buf in
                _ = try ctx.check(H5Awrite(attr, kind.memoryType, buf.baseAddress), "H5Awrite")
            }
        }
    }

    static func read(_ attr: hid_t, _ ctx: H5Context, beforeVariableLengthRead: () throws -> Void) throws -> HDF5Value {
        let space = try ctx.check(H5Aget_space(attr), "H5Aget_space")
        defer { H5Sclose(space) }
        let cls = H5Sget_simple_extent_type(space)
        try ctx.check(cls.rawValue, "H5Sget_simple_extent_type")
        let scalar = cls == H5S_SCALAR
        var count = 0
        if cls == H5S_SIMPLE {
            let rank = try ctx.check(H5Sget_simple_extent_ndims(space), "H5Sget_simple_extent_ndims")
            guard rank == 1 else { throw ctx.error(.typeMismatch, "attribute has rank \(rank); only scalars and 1-D arrays are supported") }
            count = try ctx.check(Int(H5Sget_simple_extent_npoints(space)), "H5Sget_simple_extent_npoints")
        }
        let t = try ctx.check(H5Aget_type(attr), "H5Aget_type")
        defer { H5Tclose(t) }
        let stored = try StoredType(t, ctx)
        switch stored.typeClass {
        case .string where scalar:
            return .string(try readString(attr, t, ctx, beforeVariableLengthRead))
        case .integer:
            let v: [Int64] = try readNumbers(attr, scalar ? 1 : count, .int64, ctx)
            return scalar ? .int(v[0]) : .ints(v)
        case .float:
            let v: [Double] = try readNumbers(attr, scalar ? 1 : count, .float64, ctx)
            return scalar ? .double(v[0]) : .doubles(v)
        default:
            throw ctx.error(.typeMismatch, "unsupported attribute type \(stored)\(scalar ? "" : " array")")
        }
    }

    private static func readNumbers<T: HDF5Element>(_ attr: hid_t, _ n: Int, _ kind: HDF5ElementKind,
                                                    _ ctx: H5Context) throws -> [T] {
        try [T](unsafeUninitializedCapacity: n) { buf, initialized in
            initialized = 0
            if n > 0 { try ctx.check(H5Aread(attr, kind.memoryType, buf.baseAddress), "H5Aread") }
            initialized = n
        }
    }

    private static func readString(_ attr: hid_t, _ fileType: hid_t, _ ctx: H5Context,
                                   _ beforeVariableLengthRead: () throws -> Void) throws -> String {
        let isVariable = try ctx.check(H5Tis_variable_str(fileType), "H5Tis_variable_str") > 0
        if isVariable {
            try beforeVariableLengthRead()
            let cset = H5Tget_cset(fileType)
            try ctx.check(cset.rawValue, "H5Tget_cset")
            let t = try stringType(cset: cset, ctx)
            defer { H5Tclose(t) }
            var p: UnsafeMutablePointer<CChar>? = nil
            try ctx.check(H5Aread(attr, t, &p), "H5Aread")
            guard let p else { return "" }
            defer { H5free_memory(p) }
            return String(cString: p)
        }
        // Fixed-length string (e.g. numpy bytes from h5py): read the raw bytes, cut at the first NUL.
        let t = try ctx.check(H5Tcopy(fileType), "H5Tcopy")
        defer { H5Tclose(t) }
        var bytes = [UInt8](repeating: 0, count: Int(H5Tget_size(fileType)))
        try ctx.check(H5Aread(attr, t, &bytes), "H5Aread")
        let end = bytes.firstIndex(of: 0) ?? bytes.count
        var s = String(decoding: bytes[..<end], as: UTF8.self)
        if H5Tget_strpad(fileType) == H5T_STR_SPACEPAD { while s.hasSuffix(" ") { s.removeLast() } }
        return s
    }
}
