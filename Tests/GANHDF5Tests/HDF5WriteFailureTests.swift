import CHDF5
import Foundation
import GANFiles
import GANHDF5
import GANTestSupport
import Testing

/// Files are built in memory and written by `close()` (`HDF5File`), so a full disk is a
/// `FileWriteError` thrown after HDF5 closed the file cleanly. Before, the failed write happened
/// inside HDF5 1.10.8, whose failing H5Fclose left a freed file registered; the library's exit
/// handler (or any walk over open files, as `openHandleCount` does) then segfaulted.
@Suite("HDF5 writes: in memory until close, a full disk is a FileWriteError")
struct HDF5WriteFailureTests {
    static func fileSize(_ path: String) throws -> Int {
        try #require(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
    }

    @Test func nothingReachesTheDiskBeforeClose() throws {
        let dir = try TempDir()
        let path = dir.path("a.h5")
        let f = try HDF5File.create(path)
        try f.root.write("w", shape: [256, 256], values: [Float](repeating: 0.5, count: 256 * 256))
        try f.flush()
        #expect(try Self.fileSize(path) == 0, "created empty; HDF5 writes into memory")
        try f.close()
        #expect(try Self.fileSize(path) > 256 * 256 * 4)
        try readEverything(path)
    }

    @Test(arguments: [ENOSPC, EIO])
    func aFailedWriteIsAFileWriteErrorAndHDF5StaysUsable(code: Int32) throws {
        let dir = try TempDir()
        let path = dir.path("full.h5")
        WriteFaults.install(.init(.fail(errno: code), nth: 1, name: path))
        defer { WriteFaults.remove(name: path) }
        let f = try HDF5File.create(path)
        try f.root.write("w", shape: [1000], values: [Float](repeating: 1, count: 1000))
        try f.root.setAttribute("complete", 1)
        #expect(throws: FileWriteError(path, code: code)) { try f.close() }
        #expect(!f.isOpen)
        try f.close()   // idempotent after a failure
        // Walks every file identifier HDF5 has: a dangling one from a failed H5Fclose crashed here.
        #expect(HDF5Diagnostics.openHandleCount(path: path) == 0)
        // The same path written again (the seam fired once) is a complete file.
        let g = try HDF5File.create(path)
        try g.root.write("w", shape: [1000], values: [Float](repeating: 2, count: 1000))
        try g.close()
        let r = try HDF5File.open(path)
        #expect(try r.root.read("w", as: Float.self).values == [Float](repeating: 2, count: 1000))
        try r.close()
    }

    /// A writable reopen reads the file into memory and writes it back on close; a failed write
    /// back is reported the same way.
    @Test func aWritableReopenWritesBackOnClose() throws {
        let dir = try TempDir()
        let path = dir.path("r.h5")
        let f = try HDF5File.create(path)
        try f.root.write("w", values: [Float(1), 2, 3])
        try f.close()
        let g = try HDF5File.open(path, writable: true)
        try g.root.setAttribute("note", "added")
        try g.close()
        let h = try HDF5File.open(path)
        #expect(try h.root.stringAttribute("note") == "added")
        #expect(try h.root.read("w", as: Float.self).values == [1, 2, 3])
        try h.close()

        WriteFaults.install(.init(.fail(errno: EROFS), nth: 1, name: path))
        defer { WriteFaults.remove(name: path) }
        let k = try HDF5File.open(path, writable: true)
        try k.root.setAttribute("other", 1)
        #expect(throws: FileWriteError(path, code: EROFS)) { try k.close() }
    }

    /// A dataset that declares 64 GiB and stores nothing (no chunk ever written) is refused before
    /// any room is made for it; one that stores less than it declares by a little still reads.
    @Test func aDatasetDeclaringMoreThanTheFileStoresIsRefused() throws {
        let dir = try TempDir()
        let path = dir.path("hollow.h5")
        let fid = H5Fcreate(path, chdf5_acc_trunc(), chdf5_p_default(), chdf5_p_default())
        for (name, n) in [("huge", hsize_t(1) << 34), ("small", 1000)] {
            var dims = [n]
            let space = H5Screate_simple(1, &dims, nil)
            let dcpl = H5Pcreate(chdf5_p_dataset_create())
            var chunk: [hsize_t] = [100]
            H5Pset_chunk(dcpl, 1, &chunk)
            H5Dclose(H5Dcreate2(fid, name, chdf5_ieee_f32le(), space, chdf5_p_default(), dcpl, chdf5_p_default()))
            H5Pclose(dcpl)
            H5Sclose(space)
        }
        H5Fclose(fid)
        let f = try HDF5File.open(path)
        defer { try? f.close() }
        let e = #expect(throws: HDF5Error.self) { try f.root.read("huge", as: Float.self) }
        #expect(e?.kind == .corrupt && e?.description == "\(path): /huge: declares \(4 << 34) bytes of data but the file stores 0 (damaged file?)")
        #expect(try f.root.read("small", as: Float.self).values == [Float](repeating: 0, count: 1000), "the fill value")
    }

    @Test func discardLeavesTheFileAsItWas() throws {
        let dir = try TempDir()
        let path = dir.path("d.h5")
        let f = try HDF5File.create(path)
        try f.root.write("w", values: [Float(1)])
        f.discard()
        f.discard()
        #expect(try Self.fileSize(path) == 0)
        #expect(HDF5Diagnostics.openHandleCount(path: path) == 0)
    }
}
