import Foundation
import GANData
import GANTestSupport
import Testing

/// The readers' memory follows what the file really holds: data past a declared end is refused
/// at once, a header declaring more than fits in an Int is an error, a pipe costs what arrives.
@Suite("Bounded reads")
struct BoundedReadTests {
    /// gzip data that goes on past the declared bytes is refused after one more byte: the file
    /// below inflates to 64 MiB, the reader stops at the header's 6 bytes.
    @Test func gzipDataPastTheDeclaredEndIsRefusedWithoutInflatingIt() throws {
        let data = IDXTests.idxBytes(shape: [2, 3], data: [1, 2, 3, 4, 5, 6]) + [UInt8](repeating: 0, count: 64 << 20)
        let path = try IDXTests.write(data, "long.idx.gz", gzip: true)
        let started = Date()
        #expect { try IDXArray.read(path) } throws: { "\($0)" == "\(path): IDX dimensions [2, 3] need 6 data bytes, found more (the data goes on past them)" }
        #expect { try IDXFile(path) } throws: { "\($0)".contains("found more") }
        #expect(Date().timeIntervalSince(started) < 1, "stops at the declared end instead of inflating 64 MiB")
    }

    /// A header whose dimensions multiply past Int.max (also behind a zero) is an error, not a trap.
    @Test(arguments: [[Int](repeating: 28, count: 42), [0, 1 << 31, 1 << 31, 1 << 31]])
    func overflowingIDXDimensionsAreAnError(shape: [Int]) throws {
        let path = try IDXTests.write(IDXTests.idxBytes(shape: shape, data: []), "big.idx")
        #expect { try IDXArray.read(path) } throws: { "\($0)".hasSuffix("declare more data than any file can hold") }
        #expect { try IDXFile(path) } throws: { "\($0)".hasSuffix("declare more data than any file can hold") }
    }

    /// From a pipe, where the size is unknown, a header declaring 4 GiB over 8 bytes of data
    /// costs those bytes: the buffer grows as data arrives.
    @Test func npyFromAPipeReadsOnlyWhatArrives() throws {
        let dir = try TempDir()
        let fifo = dir.path("in.npy")
        #expect(mkfifo(fifo, 0o600) == 0)
        let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (1073741824,), }"
        let header = Array(dict.utf8) + [UInt8](repeating: 32, count: 118 - dict.utf8.count - 10) + [10]
        let bytes = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.count), 0] + header + [0, 0, 128, 63, 0, 0, 0, 64]
        let writer = Thread {
            let fd = open(fifo, O_WRONLY)
            _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            close(fd)
        }
        writer.start()
        #expect { try NPYArray.read(fifo) } throws: { "\($0)".contains("truncated: shape [1073741824] of <f4 needs 4294967296 bytes, found 8") }
    }
}
