import CHDF5
import Foundation

/// Datasets. Every dataset of rank >= 1 is chunked with the Fletcher-32 checksum filter, so
/// corrupted data is detected on read (by default the whole dataset up to 1 MiB per chunk, split on
/// the leading dimensions beyond that; see `HDF5DatasetOptions`); gzip (deflate, level 0...9) is
/// optional. Rank-0 (scalar) datasets cannot be chunked in HDF5 and are stored compact, without
/// checksum. Zero-size dimensions are allowed. Writing a name that already exists throws
/// `.alreadyExists` (call `remove` first).
extension HDF5Group {
    /// Writes `values` (row-major, `shape.reduce(1, *)` elements) as a new dataset.
    public func write<T: HDF5Element>(_ name: String, shape: [Int], values: UnsafeBufferPointer<T>,
                                      options: HDF5DatasetOptions) throws {
        try file.withFileID(object: path) { fid, base in
            let abs = try ObjectPath.resolve(name, in: path, base)
            try DatasetIO.write(fid, abs, base.at(abs), shape: shape, kind: T.hdf5Kind,
                                count: values.count, values: values.baseAddress.map(UnsafeRawPointer.init),
                                options: options)
        }
    }

    public func write<T: HDF5Element>(_ name: String, shape: [Int], values: [T], options: HDF5DatasetOptions) throws {
        try values.withUnsafeBufferPointer { try write(name, shape: shape, values: $0, options: options) }
    }

    /// `write(_:shape:values:options:)` with the default layout, gzip-compressed at `gzipLevel`.
    public func write<T: HDF5Element>(_ name: String, shape: [Int], values: UnsafeBufferPointer<T>,
                                      gzipLevel: Int? = nil) throws {
        try write(name, shape: shape, values: values, options: HDF5DatasetOptions(gzipLevel: gzipLevel))
    }

    public func write<T: HDF5Element>(_ name: String, shape: [Int], values: [T], gzipLevel: Int? = nil) throws {
        try values.withUnsafeBufferPointer { try write(name, shape: shape, values: $0, gzipLevel: gzipLevel) }
    }

    /// Writes a 1-D dataset.
    public func write<T: HDF5Element>(_ name: String, values: [T], gzipLevel: Int? = nil) throws {
        try write(name, shape: [values.count], values: values, gzipLevel: gzipLevel)
    }

    /// Writes `shape.reduce(1, *)` floats starting at `values`.
    public func writeFloats(_ name: String, shape: [Int], values: UnsafePointer<Float>, gzipLevel: Int? = nil) throws {
        guard let n = DatasetIO.elementCount(shape) else {
            throw H5Context(file: file.path, object: path).error(.invalidArgument, "invalid shape \(shape)")
        }
        try write(name, shape: shape, values: UnsafeBufferPointer(start: values, count: n), gzipLevel: gzipLevel)
    }

    /// Array overload (checks the element count; preferred over the implicit array-to-pointer conversion).
    public func writeFloats(_ name: String, shape: [Int], values: [Float], gzipLevel: Int? = nil) throws {
        try write(name, shape: shape, values: values, gzipLevel: gzipLevel)
    }

    /// Reads a dataset as `T`. Throws `.typeMismatch` if the stored type cannot be converted to `T`
    /// without loss (e.g. float64 as Float, int64 as UInt64).
    public func read<T: HDF5Element>(_ name: String, as type: T.Type = T.self) throws -> (shape: [Int], values: [T]) {
        try readDataset(name, as: T.self, expectedShape: nil) { shape, n, read in
            let values = try [T](unsafeUninitializedCapacity: n) { buf, initialized in
                initialized = 0
                try read(UnsafeMutableRawPointer(buf.baseAddress))
                initialized = n
            }
            return (shape, values)
        }
    }

    public func readFloats(_ name: String) throws -> (shape: [Int], values: [Float]) {
        try read(name, as: Float.self)
    }

    /// Reads a dataset of exactly `shape` into memory the caller owns: `destination` is asked for
    /// room for `shape.reduce(1, *)` values only once the stored shape and type are checked, so a
    /// mismatch (`.shapeMismatch`, "FILE: PATH: expected shape [a, b], found [c, d]") leaves the
    /// caller's buffer untouched. If the read itself fails the contents are unspecified.
    public func read<T: HDF5Element>(_ name: String, shape: [Int], into destination: () -> UnsafeMutablePointer<T>) throws {
        try readDataset(name, as: T.self, expectedShape: shape) { _, _, read in try read(UnsafeMutableRawPointer(destination())) }
    }

    /// The one read path: opens the dataset, checks its shape (against `expectedShape` when given)
    /// and its type, and hands `body` the shape, the element count and a function that reads all
    /// values into a buffer of that many `T`s.
    private func readDataset<T: HDF5Element, R>(
        _ name: String, as type: T.Type, expectedShape: [Int]?,
        _ body: (_ shape: [Int], _ count: Int, _ read: (UnsafeMutableRawPointer?) throws -> Void) throws -> R
    ) throws -> R {
        try file.withFileID(object: path) { fid, base in
            let abs = try ObjectPath.resolve(name, in: path, base)
            let ctx = base.at(abs)
            let d = try DatasetIO.open(fid, abs, ctx)
            defer { H5Dclose(d) }
            let shape = try DatasetIO.shape(d, ctx)
            if let want = expectedShape, shape != want {
                throw ctx.error(.shapeMismatch, "expected shape \(want), found \(shape)")
            }
            try DatasetIO.checkType(d, T.hdf5Kind, ctx)
            guard let n = DatasetIO.elementCount(shape) else { throw ctx.error(.invalidArgument, "invalid stored shape \(shape)") }
            let (bytes, overflow) = n.multipliedReportingOverflow(by: MemoryLayout<T>.stride)
            guard !overflow else { throw ctx.error(.invalidArgument, "stored shape \(shape) is too large") }
            try DatasetIO.checkDeclaredSize(d, bytes: bytes, ctx)
            return try body(shape, n) { buffer in
                if n > 0 {
                    try ctx.check(H5Dread(d, T.hdf5Kind.memoryType, chdf5_s_all(), chdf5_s_all(), chdf5_p_default(), buffer),
                                  "H5Dread")
                }
            }
        }
    }
}

/// Dataset plumbing shared by the group and dataset values. All functions run inside `withFileID`.
enum DatasetIO {
    static let chunkByteLimit = 1 << 20

    /// Product of the dimensions, nil for negative dimensions or overflow, also of any partial
    /// product (zeros counted as ones: a row's size must fit even in an empty dataset).
    static func elementCount(_ shape: [Int]) -> Int? {
        var n = 1
        for d in shape {
            guard d >= 0 else { return nil }
            let (p, o) = n.multipliedReportingOverflow(by: max(d, 1))
            if o { return nil }
            n = p
        }
        return shape.contains(0) ? 0 : n
    }

    /// Chunk dimensions: the whole dataset while it fits in `limit` bytes, otherwise the leading
    /// dimensions are cut (first dim first) until it does. Zero-size dimensions get chunk extent 1.
    static func chunkShape(_ shape: [Int], elementSize: Int, limit: Int = chunkByteLimit) -> [Int] {
        var chunk = shape.map { max($0, 1) }
        func bytes(_ dims: ArraySlice<Int>) -> Int {  // saturating product times the element size
            dims.reduce(elementSize) { a, b in
                let (p, overflow) = a.multipliedReportingOverflow(by: b)
                return overflow ? Int.max : p
            }
        }
        for i in chunk.indices {
            if bytes(chunk[i...]) <= limit { break }
            let rest = bytes(chunk[(i + 1)...])
            // Split dimension i into equal pieces that fit (not limit/rest, which can leave a
            // mostly-empty last chunk: [400, 784] floats became 2 chunks of 334 rows = 67 % waste).
            let fit = max(1, limit / rest)
            let pieces = (chunk[i] + fit - 1) / fit
            chunk[i] = (chunk[i] + pieces - 1) / pieces
            if rest <= limit { break }
        }
        return chunk
    }

    /// Chunk dimensions of whole rows (every dimension but the first), as many rows as fit in
    /// `limit` bytes and at least one.
    static func rowChunkShape(_ shape: [Int], elementSize: Int, limit: Int = chunkByteLimit) -> [Int] {
        var chunk = shape.map { max($0, 1) }
        let (rowBytes, overflow) = max(1, shape.dropFirst().reduce(1, *)).multipliedReportingOverflow(by: elementSize)
        chunk[0] = overflow ? 1 : max(1, min(shape[0], limit / rowBytes))
        return chunk
    }

    static func write(_ fid: hid_t, _ abs: String, _ ctx: H5Context, shape: [Int], kind: HDF5ElementKind,
                      count: Int, values: UnsafeRawPointer?, options: HDF5DatasetOptions) throws {
        guard let n = elementCount(shape), elementCount(shape.map { max($0, 1) }) != nil else {
            throw ctx.error(.invalidArgument, "invalid shape \(shape) (negative dimension or too large)")
        }
        guard n == count else { throw ctx.error(.invalidArgument, "shape \(shape) needs \(n) values, got \(count)") }
        if let level = options.gzipLevel, !(0...9).contains(level) {
            throw ctx.error(.invalidArgument, "gzip level \(level) is not in 0...9")
        }
        guard n == 0 || values != nil else { throw ctx.error(.invalidArgument, "no values") }
        guard !ObjectPath.exists(fid, abs) else { throw ctx.error(.alreadyExists, "already exists (remove it first)") }

        let dims = shape.map { hsize_t($0) }
        let maxDims = shape.map { $0 == 0 ? chdf5_s_unlimited() : hsize_t($0) }  // chunk 1 must fit
        let space = try ctx.check(shape.isEmpty ? H5Screate(H5S_SCALAR)
                                                : H5Screate_simple(Int32(shape.count), dims, maxDims), "H5Screate")
        defer { H5Sclose(space) }
        let dcpl = try ctx.check(H5Pcreate(chdf5_p_dataset_create()), "H5Pcreate")
        defer { H5Pclose(dcpl) }
        if !options.tracksObjectTimes {
            try ctx.check(H5Pset_obj_track_times(dcpl, false), "H5Pset_obj_track_times")
        }
        if shape.isEmpty {
            try ctx.check(H5Pset_layout(dcpl, H5D_COMPACT), "H5Pset_layout")
        } else {
            let chunk = switch options.chunking {
            case .balanced: chunkShape(shape, elementSize: kind.byteSize)
            case .wholeRows: rowChunkShape(shape, elementSize: kind.byteSize)
            }
            try ctx.check(H5Pset_chunk(dcpl, Int32(chunk.count), chunk.map { hsize_t($0) }), "H5Pset_chunk")
            if let level = options.gzipLevel {
                try ctx.check(H5Pset_deflate(dcpl, UInt32(level)), "H5Pset_deflate")
            }
            try ctx.check(H5Pset_fletcher32(dcpl), "H5Pset_fletcher32")
        }
        let lcpl = try ctx.check(H5Pcreate(chdf5_p_link_create()), "H5Pcreate")
        defer { H5Pclose(lcpl) }
        try ctx.check(H5Pset_create_intermediate_group(lcpl, 1), "H5Pset_create_intermediate_group")
        let d = try ctx.check(H5Dcreate2(fid, abs, kind.fileType, space, lcpl, dcpl, chdf5_p_default()), "H5Dcreate2")
        do {
            if n > 0 {
                try ctx.check(H5Dwrite(d, kind.memoryType, chdf5_s_all(), chdf5_s_all(), chdf5_p_default(), values),
                              "H5Dwrite")
            }
            try ctx.check(H5Dclose(d), "H5Dclose")
        } catch {
            // Do not leave a half-written dataset behind.
            H5Dclose(d)
            H5Ldelete(fid, abs, chdf5_p_default())
            HDF5ErrorStack.clear()
            throw error
        }
    }

    /// Opens the dataset at `abs`; `.notFound` / `.typeMismatch` (not a dataset) otherwise.
    static func open(_ fid: hid_t, _ abs: String, _ ctx: H5Context) throws -> hid_t {
        let o = try ObjectPath.open(fid, abs, ctx)
        guard H5Iget_type(o) == H5I_DATASET else {
            H5Oclose(o)
            throw ctx.error(.typeMismatch, "is not a dataset")
        }
        return o  // H5Oopen of a dataset gives a dataset id; close with H5Dclose
    }

    static func shape(_ d: hid_t, _ ctx: H5Context) throws -> [Int] {
        let space = try ctx.check(H5Dget_space(d), "H5Dget_space")
        defer { H5Sclose(space) }
        let cls = H5Sget_simple_extent_type(space)
        try ctx.check(cls.rawValue, "H5Sget_simple_extent_type")
        if cls == H5S_SCALAR { return [] }
        guard cls == H5S_SIMPLE else { throw ctx.error(.typeMismatch, "dataset has a null dataspace (no data)") }
        let rank = try ctx.check(H5Sget_simple_extent_ndims(space), "H5Sget_simple_extent_ndims")
        var dims = [hsize_t](repeating: 0, count: Int(rank))
        try ctx.check(H5Sget_simple_extent_dims(space, &dims, nil), "H5Sget_simple_extent_dims")
        guard dims.allSatisfy({ $0 <= hsize_t(Int.max) }) else { throw ctx.error(.invalidArgument, "stored shape \(dims) is too large") }
        let shape = dims.map { Int($0) }
        guard elementCount(shape) != nil else { throw ctx.error(.invalidArgument, "stored shape \(shape) is too large") }
        return shape
    }

    /// What a dataset may declare beyond the bytes the file stores for it: chunks never written
    /// read as the fill value, so a valid file can store less than it declares.
    static let unstoredAllowance = 64 << 20

    /// Refuses, before any room is made for it, a dataset whose declared size the file cannot
    /// back. Without a compressing filter its bytes are in the file (`H5Dget_storage_size`), so
    /// declaring much more than that is damage or a hostile file, and memory follows the file's
    /// size; a compressed dataset must at least fit in this machine's memory (allocating more
    /// would abort the process).
    static func checkDeclaredSize(_ d: hid_t, bytes: Int, _ ctx: H5Context) throws {
        guard bytes > unstoredAllowance else { return }
        let stored = Int(clamping: H5Dget_storage_size(d))
        if try isCompressed(d, ctx) {
            let memory = ProcessInfo.processInfo.physicalMemory
            guard UInt64(bytes) <= memory else {
                throw ctx.error(.corrupt, "declares \(bytes) bytes of data, more than this machine's memory (\(memory) bytes)")
            }
        } else if bytes - stored > unstoredAllowance {
            throw ctx.error(.corrupt, "declares \(bytes) bytes of data but the file stores \(stored) (damaged file?)")
        }
    }

    /// Whether a filter other than the checksum and the byte shuffle is on the dataset.
    static func isCompressed(_ d: hid_t, _ ctx: H5Context) throws -> Bool {
        let dcpl = try ctx.check(H5Dget_create_plist(d), "H5Dget_create_plist")
        defer { H5Pclose(dcpl) }
        let n = try ctx.check(H5Pget_nfilters(dcpl), "H5Pget_nfilters")
        for i in 0..<n {
            var flags: UInt32 = 0, values = 0, config: UInt32 = 0
            let id = try ctx.check(H5Pget_filter2(dcpl, UInt32(i), &flags, &values, nil, 0, nil, &config), "H5Pget_filter2")
            if id != H5Z_FILTER_FLETCHER32 && id != H5Z_FILTER_SHUFFLE { return true }
        }
        return false
    }

    static func storedType(_ d: hid_t, _ ctx: H5Context) throws -> StoredType {
        let t = try ctx.check(H5Dget_type(d), "H5Dget_type")
        defer { H5Tclose(t) }
        return try StoredType(t, ctx)
    }

    static func checkType(_ d: hid_t, _ kind: HDF5ElementKind, _ ctx: H5Context) throws {
        let stored = try storedType(d, ctx)
        guard kind.canRead(stored) else {
            throw ctx.error(.typeMismatch, "stored type \(stored) cannot be read as \(kind.rawValue) without loss")
        }
    }
}
