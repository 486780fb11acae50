import CHDF5
import Foundation

/// A structural check of the file's global heap collections ("GCOL"), run before the first
/// variable-length string is read from a file this process did not create.
///
/// Why: variable-length data (our string attributes) lives in global heap collections, which have no
/// checksum in any HDF5 format version. Measured with HDF5 1.10.8: flipping single bytes in a
/// collection's object headers made `H5Aread` loop forever (a zero object size) or segfault (a huge
/// object size) instead of failing. This check mirrors the library's parse loop
/// (H5HG__cache_heap_deserialize) and rejects any collection on which that loop would not advance
/// or would run past the collection, so such files throw instead.
enum GlobalHeapCheck {
    /// Returns nil when every collection is well formed, else a description of the first bad one.
    static func validate(path: String, lengthSize: Int) -> String? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return "cannot reopen the file to check it" }
        defer { close(fd) }
        return validate(descriptor: fd, lengthSize: lengthSize)
    }

    /// The same through an open descriptor (read with `pread` only: its offset is left alone).
    static func validate(descriptor fd: Int32, lengthSize: Int) -> String? {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return "cannot determine the file size" }
        let fileSize = UInt64(st.st_size)
        var coveredUntil: UInt64 = 0   // "GCOL" inside a valid collection is string content, not a header
        for offset in candidates(fd) where offset >= coveredUntil {
            guard let header = read(fd, at: offset, count: 16),
                  header[4] == 1, header[5] == 0, header[6] == 0, header[7] == 0 else { continue }  // not a collection
            let collectionSize = littleEndian(header[8..<(8 + lengthSize)])
            guard collectionSize >= 16, collectionSize <= fileSize, offset <= fileSize - collectionSize else {
                return "global heap collection at byte \(offset) has an invalid size \(collectionSize)"
            }
            guard let body = read(fd, at: offset, count: Int(collectionSize)) else {
                return "global heap collection at byte \(offset) cannot be read"
            }
            if let problem = walk(body, lengthSize: lengthSize) {
                return "global heap collection at byte \(offset) is corrupt (\(problem))"
            }
            coveredUntil = offset + collectionSize
        }
        return nil
    }

    /// Mirrors H5HG__cache_heap_deserialize: objects of `align8(8 + lengthSize)` header bytes plus
    /// data padded to 8 bytes; index 0 is free space whose size includes its header.
    static func walk(_ body: [UInt8], lengthSize: Int) -> String? {
        let headerSize = align8(8 + lengthSize)          // collection header
        let objectHeaderSize = align8(8 + lengthSize)    // object header
        let end = body.count
        var p = headerSize
        while p < end {
            if p + objectHeaderSize > end { break }      // tail too small for a header: free space
            let index = Int(body[p]) | Int(body[p + 1]) << 8
            let size = littleEndian(body[(p + 8)..<(p + 8 + lengthSize)])
            guard size <= UInt64(end) else { return "object \(index) at +\(p) has size \(size)" }
            let need = index > 0 ? objectHeaderSize + align8(Int(size)) : Int(size)
            guard need >= objectHeaderSize, need <= end - p else {
                return "object \(index) at +\(p) has size \(size)"
            }
            p += need
        }
        return nil
    }

    /// Offsets of every "GCOL" in the file, read with pread in 4 MiB blocks that overlap by 3 bytes.
    private static func candidates(_ fd: Int32) -> [UInt64] {
        let block = 4 << 20
        let buf = UnsafeMutableRawPointer.allocate(byteCount: block, alignment: 64)
        defer { buf.deallocate() }
        var found: [UInt64] = []
        var offset: UInt64 = 0
        while true {
            let n = pread(fd, buf, block, off_t(offset))
            guard n >= 4 else { break }
            var i = 0
            while i + 4 <= n, let hit = memchr(buf + i, 0x47, n - 3 - i) {  // 'G'
                let at = buf.distance(to: hit)
                if buf.loadUnaligned(fromByteOffset: at, as: UInt32.self) == 0x4C4F_4347 { found.append(offset + UInt64(at)) }  // "GCOL" LE
                i = at + 1
            }
            if n < block { break }
            offset += UInt64(n - 3)
        }
        return found
    }

    /// Exactly `count` bytes at `offset`, or nil.
    private static func read(_ fd: Int32, at offset: UInt64, count: Int) -> [UInt8]? {
        guard count >= 0, offset <= UInt64(off_t.max) else { return nil }
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset) + off_t(done)) }
            if n <= 0 { return nil }
            done += n
        }
        return bytes
    }

    private static func littleEndian(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        bytes.reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }

    private static func align8(_ n: Int) -> Int { (n + 7) & ~7 }
}
