import CHDF5

/// Element types of datasets. Stored as little-endian IEEE / standard integer types; native in memory.
public enum HDF5ElementKind: String, Sendable, CaseIterable {
    case float32, float64, int64, uint64, uint8

    var memoryType: hid_t {
        switch self {
        case .float32: chdf5_native_float()
        case .float64: chdf5_native_double()
        case .int64: chdf5_native_int64()
        case .uint64: chdf5_native_uint64()
        case .uint8: chdf5_native_uint8()
        }
    }

    var fileType: hid_t {
        switch self {
        case .float32: chdf5_ieee_f32le()
        case .float64: chdf5_ieee_f64le()
        case .int64: chdf5_std_i64le()
        case .uint64: chdf5_std_u64le()
        case .uint8: chdf5_std_u8le()
        }
    }

    var byteSize: Int {
        switch self {
        case .float32: 4
        case .float64, .int64, .uint64: 8
        case .uint8: 1
        }
    }

    /// Whether a stored type can be read into this kind without loss (HDF5 converts; lossy
    /// conversions such as float64 -> float32 or int64 -> uint64 are refused).
    func canRead(_ stored: StoredType) -> Bool {
        switch (self, stored.typeClass) {
        case (.float32, .float): stored.size <= 4
        case (.float64, .float): stored.size <= 8
        case (.int64, .integer): stored.size < 8 || (stored.size == 8 && stored.signed)
        case (.uint64, .integer): !stored.signed && stored.size <= 8
        case (.uint8, .integer): !stored.signed && stored.size == 1
        default: false
        }
    }
}

/// Swift types that can be stored in datasets: Float, Double, Int64, UInt64, UInt8.
public protocol HDF5Element: Sendable {
    static var hdf5Kind: HDF5ElementKind { get }
}

extension Float: HDF5Element { public static var hdf5Kind: HDF5ElementKind { .float32 } }
extension Double: HDF5Element { public static var hdf5Kind: HDF5ElementKind { .float64 } }
extension Int64: HDF5Element { public static var hdf5Kind: HDF5ElementKind { .int64 } }
extension UInt64: HDF5Element { public static var hdf5Kind: HDF5ElementKind { .uint64 } }
extension UInt8: HDF5Element { public static var hdf5Kind: HDF5ElementKind { .uint8 } }

/// An attribute value.
public enum HDF5Value: Equatable, Sendable, CustomStringConvertible {
    /// Variable-length UTF-8 string (h5py reads it as `str`).
    case string(String)
    case int(Int64)
    case double(Double)
    case ints([Int64])
    case doubles([Double])

    public var typeName: String {
        switch self {
        case .string: "string"
        case .int: "int"
        case .double: "double"
        case .ints: "[int]"
        case .doubles: "[double]"
        }
    }

    public var description: String {
        switch self {
        case .string(let s): "\"\(s)\""
        case .int(let v): "\(v)"
        case .double(let v): "\(v)"
        case .ints(let v): "\(v)"
        case .doubles(let v): "\(v)"
        }
    }
}

/// The class/size/sign of a stored HDF5 datatype.
struct StoredType: CustomStringConvertible {
    enum TypeClass { case integer, float, string, other(Int32) }
    var typeClass: TypeClass
    var size: Int
    var signed: Bool

    init(_ type: hid_t, _ ctx: H5Context) throws {
        let cls = H5Tget_class(type)
        try ctx.check(cls.rawValue, "H5Tget_class")
        size = Int(H5Tget_size(type))
        if size == 0 { try ctx.check(-1, "H5Tget_size") }
        signed = false
        switch cls {
        case H5T_INTEGER:
            typeClass = .integer
            let sign = H5Tget_sign(type)
            try ctx.check(sign.rawValue, "H5Tget_sign")
            signed = sign == H5T_SGN_2
        case H5T_FLOAT: typeClass = .float
        case H5T_STRING: typeClass = .string
        default: typeClass = .other(cls.rawValue)
        }
    }

    var description: String {
        switch typeClass {
        case .integer: "\(signed ? "int" : "uint")\(size * 8)"
        case .float: "float\(size * 8)"
        case .string: "string"
        case .other(let c): "HDF5 type class \(c)"
        }
    }
}

/// Something in a file that has an object path and can carry attributes: `HDF5Group`, `HDF5Dataset`.
public protocol HDF5Node: Sendable {
    var file: HDF5File { get }
    /// Absolute object path inside the file, e.g. `/` or `/weights/w1`.
    var path: String { get }
}

extension HDF5Node {
    /// Last path component (`/` for the root).
    public var name: String { path == "/" ? "/" : String(path.split(separator: "/").last ?? "/") }
}

enum ObjectPath {
    /// Resolves `name` (relative to `base`, or absolute when it starts with `/`) to a normalized
    /// absolute path. Empty names, `.` and `..` components are rejected.
    static func resolve(_ name: String, in base: String, _ ctx: H5Context) throws -> String {
        let parts = name.split(separator: "/", omittingEmptySubsequences: true)
        guard !parts.isEmpty else { throw ctx.error(.invalidArgument, "invalid object name '\(name)'") }
        for p in parts where p == "." || p == ".." {
            throw ctx.error(.invalidArgument, "invalid object name '\(name)' ('.' and '..' are not supported)")
        }
        let prefix = name.hasPrefix("/") ? "" : (base == "/" ? "" : base)
        return prefix + "/" + parts.joined(separator: "/")
    }

    /// Whether every component of the absolute path `path` exists (H5Lexists per component, since
    /// H5Lexists on "a/b" fails when "a" is missing). Never throws; clears any error it causes.
    static func exists(_ fileID: hid_t, _ path: String) -> Bool {
        if path == "/" { return true }
        var prefix = ""
        for part in path.split(separator: "/") {
            prefix += "/" + part
            let r = H5Lexists(fileID, prefix, chdf5_p_default())
            if r < 0 { HDF5ErrorStack.clear(); return false }
            if r == 0 { return false }
        }
        // The link may dangle (soft link to nothing): check the object too.
        let o = H5Oexists_by_name(fileID, path, chdf5_p_default())
        if o < 0 { HDF5ErrorStack.clear(); return false }
        return o > 0
    }

    /// Opens the object at `path` (group or dataset); throws `.notFound` when it does not exist.
    static func open(_ fileID: hid_t, _ path: String, _ ctx: H5Context) throws -> hid_t {
        guard exists(fileID, path) else { throw ctx.error(.notFound, "no such object") }
        return try ctx.check(H5Oopen(fileID, path, chdf5_p_default()), "H5Oopen")
    }
}

/// How a new dataset is stored. The defaults are the layout of every file the project keeps
/// (checkpoints, `data.h5`, the classifier cache).
public struct HDF5DatasetOptions: Sendable, Equatable {
    public enum Chunking: Sendable, Equatable {
        /// The whole dataset while it fits in 1 MiB, otherwise the leading dimensions split into
        /// equal parts until a chunk fits.
        case balanced
        /// Whole rows (every dimension but the first), as many as fit in 1 MiB and at least one:
        /// the layout `gan-sample`'s HDF5 outputs have always had (kept so that the same samples
        /// still give the same bytes).
        case wholeRows
    }

    public var chunking: Chunking
    /// Deflate level 0...9; nil: no compression.
    public var gzipLevel: Int?
    /// Whether HDF5 records the object's creation and modification times in its header. Off, the
    /// file's bytes depend only on what is written (same samples, same file).
    public var tracksObjectTimes: Bool

    public init(chunking: Chunking = .balanced, gzipLevel: Int? = nil, tracksObjectTimes: Bool = true) {
        self.chunking = chunking
        self.gzipLevel = gzipLevel
        self.tracksObjectTimes = tracksObjectTimes
    }
}
