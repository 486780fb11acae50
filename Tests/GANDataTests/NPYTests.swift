import Foundation
import GANData
import GANTestSupport
import Testing

/// A Python with numpy for cross-checks: the project's h5py venv first, then python3; nil (and the
/// cross-checks skipped) when neither imports numpy.
enum NumPy {
    static let python: String? = {
        let venv = packageRoot().appendingPathComponent(".build/h5py-venv/bin/python").path
        for candidate in [venv, "python3"] where (try? run(candidate, "import numpy", []))?.status == 0 {
            return candidate
        }
        return nil
    }()

    static func run(_ python: String, _ script: String, _ args: [String]) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [python, "-c", script] + args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

@Suite struct NPYTests {
    static func inTemporaryDirectory<T>(_ body: (URL) throws -> T) throws -> T {
        let dir = try makeTemporaryDirectory("npy")
        defer { try? FileManager.default.removeItem(at: dir) }
        return try body(dir)
    }

    static func errorText(_ body: () throws -> Any) -> String {
        do { _ = try body(); return "no error" } catch { return "\(error)" }
    }

    /// A .npy file from a header dict text (padded like numpy) and raw data.
    static func npy(_ dict: String, _ data: [UInt8], version: UInt8 = 1) -> [UInt8] {
        let prefix = version == 1 ? 10 : 12
        var h = Array(dict.utf8)
        let pad = 64 - (prefix + h.count + 1) % 64
        h += [UInt8](repeating: 32, count: pad) + [10]
        let n = h.count
        var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [version, 0, UInt8(n & 255), UInt8(n >> 8)]
        if version > 1 { out += [0, 0] }
        return out + h + data
    }

    static func bytes<T>(_ values: [T]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }

    static func save(_ dir: URL, _ name: String, _ bytes: [UInt8]) throws -> String {
        let path = dir.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    static let shapes: [[Int]] = [[], [7], [0], [3, 4], [2, 3, 4, 5], [0, 3], [1, 1, 1, 1, 1, 1]]

    static func values(_ n: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0..<n).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int64(bitPattern: state) >> 40) / 4096
        }
    }

    @Test func roundTripsShapesAndValues() throws {
        try Self.inTemporaryDirectory { dir in
            for (k, shape) in Self.shapes.enumerated() {
                let vals = Self.values(shape.reduce(1, *), seed: UInt64(k))
                let path = dir.appendingPathComponent("a\(k).npy").path
                try NPYArray.write(path, shape: shape, values: vals)
                let data = try Data(contentsOf: URL(fileURLWithPath: path))
                let headerLength = Int(data[8]) | Int(data[9]) << 8
                #expect((10 + headerLength) % 64 == 0 && data[9 + headerLength] == 10 && data[6] == 1)
                let a = try NPYArray.read(path)
                #expect(a.shape == shape)
                #expect(a.values.map(\.bitPattern) == vals.map(\.bitPattern))
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).allSatisfy { !$0.hasSuffix(".tmp") })
        }
    }

    @Test func writesTheHeaderExactlyAsNumPy() throws {
        try Self.inTemporaryDirectory { dir in
            let path = dir.appendingPathComponent("h.npy").path
            try NPYArray.write(path, shape: [3, 4], values: [Float](repeating: 0, count: 12))
            let data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }" + String(repeating: " ", count: 20)
            #expect(data.count == 128 + 48)
            #expect(Array(data[0..<10]) == [0x93, 78, 85, 77, 80, 89, 1, 0, 118, 0])
            #expect(String(decoding: data[10..<128], as: UTF8.self) == dict + String(repeating: " ", count: 118 - dict.count - 1) + "\n")
            try NPYArray.write(path, shape: [], values: [2])
            let scalar = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            #expect(String(decoding: scalar[10..<70], as: UTF8.self).hasPrefix("{'descr': '<f4', 'fortran_order': False, 'shape': (), }  "))
        }
    }

    @Test func readsEveryDtypeAndVersion() throws {
        try Self.inTemporaryDirectory { dir in
            let ints = (0..<6).map { $0 - 2 }
            let cases: [(String, [UInt8], UInt8)] = [
                ("<f4", Self.bytes(ints.map { Float($0) / 4 }), 1),
                ("<f8", Self.bytes(ints.map { Double($0) / 10 }), 2),
                ("|u1", ints.map { UInt8($0 + 2) }, 3),
                ("<i4", Self.bytes(ints.map { Int32($0) * 1000 }), 1),
                ("<i8", Self.bytes(ints.map { Int64($0) << 20 }), 1),
            ]
            let expected: [[Float]] = [ints.map { Float($0) / 4 }, ints.map { Float(Double($0) / 10) }, ints.map { Float($0 + 2) },
                                       ints.map { Float($0 * 1000) }, ints.map { Float($0 << 20) }]
            for ((descr, data, version), want) in zip(cases, expected) {
                let path = try Self.save(dir, "\(descr.dropFirst()).npy",
                                         Self.npy("{'descr': '\(descr)', 'fortran_order': False, 'shape': (2, 3), }", data, version: version))
                let a = try NPYArray.read(path)
                #expect(a.shape == [2, 3] && a.values == want, "\(descr)")
            }
            // Python 2 wrote longs as 3L; key order and quotes are free.
            let py2 = try Self.save(dir, "py2.npy", Self.npy("{\"shape\": (3L,), 'fortran_order': False, 'descr': '<f4'}", Self.bytes([Float](arrayLiteral: 1, 2, 3))))
            #expect(try NPYArray.read(py2).values == [1, 2, 3])
            let u1 = try Self.save(dir, "img.npy", Self.npy("{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2), }", [0, 7, 128, 255]))
            let b = try NPYArray.readBytes(u1)
            #expect(b.shape == [2, 2] && b.values == [0, 7, 128, 255])
        }
    }

    @Test func reportsEveryErrorOnOneLine() throws {
        try Self.inTemporaryDirectory { dir in
            func check(_ name: String, _ bytes: [UInt8], _ expected: String, readBytes: Bool = false) throws {
                let path = try Self.save(dir, name, bytes)
                let text = readBytes ? Self.errorText { try NPYArray.readBytes(path) } : Self.errorText { try NPYArray.read(path) }
                #expect(text == "\(path): \(expected)")
            }
            let f4x6 = Self.bytes([Float](repeating: 1, count: 6))
            func dict(_ descr: String = "<f4", fortran: String = "False", shape: String = "(2, 3)") -> String {
                "{'descr': '\(descr)', 'fortran_order': \(fortran), 'shape': \(shape), }"
            }
            try check("short.npy", Self.npy(dict(), Array(f4x6[..<20])), "truncated: shape [2, 3] of <f4 needs 24 bytes, found 20")
            try check("long.npy", Self.npy(dict(), f4x6 + [0]), "shape [2, 3] of <f4 needs 24 bytes, found 25 (extra data after the array)")
            try check("magic.npy", Array("PK\u{3}\u{4} not numpy".utf8), "not a .npy file: it does not start with the \\x93NUMPY magic")
            try check("empty.npy", [], "empty file, expected a .npy array")
            var v4 = Self.npy(dict(), f4x6)
            v4[6] = 4
            try check("v4.npy", v4, ".npy format version 4.0 is not supported, expected 1.0, 2.0 or 3.0")
            try check("header.npy", Array(Self.npy(dict(), [])[..<40]), "truncated .npy header: it declares 118 bytes, the file has 30 after the 10-byte preamble")
            try check("fortran.npy", Self.npy(dict(fortran: "True"), f4x6), "fortran_order: True is not supported, save the array in C order (np.ascontiguousarray)")
            try check("big.npy", Self.npy(dict(">f4"), f4x6), "dtype '>f4' is not supported (big-endian; convert with arr.astype(arr.dtype.newbyteorder('<'))), expected <f4, <f8, |u1, <i4 or <i8")
            try check("f2.npy", Self.npy(dict("<f2"), f4x6), "dtype '<f2' is not supported, expected <f4, <f8, |u1, <i4 or <i8")
            try check("bytes.npy", Self.npy(dict(), f4x6), "dtype '<f4' is not uint8, expected |u1", readBytes: true)
            let structured = "{'descr': [('x', '<f4')], 'fortran_order': False, 'shape': (2,), }"
            try check("struct.npy", Self.npy(structured, Array(f4x6[..<8])), "structured dtypes are not supported: \(structured)")
            let noShape = "{'descr': '<f4', 'fortran_order': False, }"
            try check("noshape.npy", Self.npy(noShape, []), "malformed .npy header (no 'shape' tuple): \(noShape)")
            let garbled = "{'descr': '<f4' 'fortran_order': False, 'shape': (2,), }"
            try check("garbled.npy", Self.npy(garbled, []), "malformed .npy header (expected ',' at byte 16): \(garbled)")
            let extra = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}"
            try check("extra.npy", Self.npy(extra, Array(f4x6[..<8])), "malformed .npy header (unexpected key 'x'): \(extra)")
            try check("preamble.npy", Array(Self.npy(dict(), f4x6)[..<8]), "truncated .npy header: the file ends after 8 bytes")
            let negative = "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }"
            try check("negative.npy", Self.npy(negative, []), "malformed .npy header (shape entries must be non-negative integers): \(negative)")
            var withNaN = [Float](repeating: 1, count: 6)
            withNaN[4] = .nan
            try check("nan.npy", Self.npy(dict(), Self.bytes(withNaN)), "element [1, 1]: NaN is not allowed")
            try check("inf.npy", Self.npy(dict("<f8", shape: "(3,)"), Self.bytes([0, -Double.infinity, 1])), "element [1]: -inf is not allowed")
            try check("range.npy", Self.npy(dict("<f8", shape: "(2,)"), Self.bytes([0, 1e300])), "element [1]: 1e+300 is out of range for a 32-bit float")
            #expect(Self.errorText { try NPYArray.read("/nonexistent/a.npy") } == "/nonexistent/a.npy: no such file")

            let out = dir.appendingPathComponent("missing/a.npy").path
            #expect(Self.errorText { try NPYArray.write(out, shape: [1], values: [1]) } == "\(out): cannot write: directory \(dir.path)/missing does not exist")
            let ok = dir.appendingPathComponent("a.npy").path
            #expect(Self.errorText { try NPYArray.write(ok, shape: [2, 2], values: [1]) } == "\(ok): shape [2, 2] needs 4 values, got 1")
            #expect(Self.errorText { try NPYArray.write(ok, shape: [-1], values: [1]) } == "\(ok): shape [-1] has a negative dimension -1")
        }
    }

    /// numpy loads what we write (same bits, and np.save of the loaded array gives our exact bytes).
    @Test func numpyReadsOurFiles() throws {
        guard let python = NumPy.python else { return }
        try Self.inTemporaryDirectory { dir in
            var paths: [String] = []
            for (k, shape) in Self.shapes.enumerated() {
                let vals = Self.values(shape.reduce(1, *), seed: 100 + UInt64(k))
                let path = dir.appendingPathComponent("ours\(k).npy").path
                try NPYArray.write(path, shape: shape, values: vals)
                try Data(Self.bytes(vals)).write(to: URL(fileURLWithPath: path + ".raw"))
                paths.append(path)
            }
            let script = """
            import io, sys, numpy as np
            for p in sys.argv[1:]:
                a = np.load(p)
                raw = open(p + '.raw', 'rb').read()
                buf = io.BytesIO(); np.save(buf, a)
                ok = a.dtype == np.float32 and a.tobytes() == raw and buf.getvalue() == open(p, 'rb').read()
                print('ok' if ok else 'MISMATCH %s %s %s' % (p, a.dtype, a.shape))
            """
            let r = try NumPy.run(python, script, paths)
            #expect(r.status == 0 && r.output == String(repeating: "ok\n", count: paths.count), "\(r.output)")
        }
    }

    /// We load what numpy writes: every dtype, versions 1.0 / 2.0 / 3.0, 1-D, 0-D, empty and 4-D.
    @Test func weReadNumpyFiles() throws {
        guard let python = NumPy.python else { return }
        try Self.inTemporaryDirectory { dir in
            let script = """
            import sys, numpy as np
            from numpy.lib import format as fmt
            d = sys.argv[1]
            base = np.arange(24).reshape(2, 3, 4) - 7
            np.save(d + '/f4.npy', (base * 0.25).astype('<f4'))
            np.save(d + '/f8.npy', (base / 10).astype('<f8'))
            np.save(d + '/u1.npy', (base + 7).astype('u1'))
            np.save(d + '/i4.npy', base.astype('<i4'))
            np.save(d + '/i8.npy', (base * 1000003).astype('<i8'))
            np.save(d + '/vec.npy', np.arange(5, dtype=np.float32))
            np.save(d + '/scalar.npy', np.float32(2.5))
            np.save(d + '/empty.npy', np.zeros((0, 3), np.float32))
            np.save(d + '/four.npy', (base * 0.5).astype('<f4').reshape(1, 2, 3, 4))
            for v in (2, 3):
                with open(d + '/v%d.npy' % v, 'wb') as f:
                    fmt.write_array(f, (base * 0.25).astype('<f4'), version=(v, 0))
            np.save(d + '/fortran.npy', np.asfortranarray(base.astype('<f4')))
            np.save(d + '/big.npy', base.astype('>f4'))
            """
            let r = try NumPy.run(python, script, [dir.path])
            try #require(r.status == 0, "\(r.output)")
            func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
            let base = (0..<24).map { $0 - 7 }
            let cases: [(String, [Int], [Float])] = [
                ("f4", [2, 3, 4], base.map { Float($0) * 0.25 }),
                ("f8", [2, 3, 4], base.map { Float(Double($0) / 10) }),
                ("u1", [2, 3, 4], base.map { Float($0 + 7) }),
                ("i4", [2, 3, 4], base.map { Float($0) }),
                ("i8", [2, 3, 4], base.map { Float($0 * 1_000_003) }),
                ("vec", [5], [0, 1, 2, 3, 4]),
                ("scalar", [], [2.5]),
                ("empty", [0, 3], []),
                ("four", [1, 2, 3, 4], base.map { Float($0) * 0.5 }),
                ("v2", [2, 3, 4], base.map { Float($0) * 0.25 }),
                ("v3", [2, 3, 4], base.map { Float($0) * 0.25 }),
            ]
            for (name, shape, want) in cases {
                let a = try NPYArray.read(path(name + ".npy"))
                #expect(a.shape == shape && a.values.map(\.bitPattern) == want.map(\.bitPattern), "\(name)")
            }
            #expect(try NPYArray.readBytes(path("u1.npy")).values == (0..<24).map { UInt8($0) })
            #expect(Self.errorText { try NPYArray.read(path("fortran.npy")) }.hasSuffix(": fortran_order: True is not supported, save the array in C order (np.ascontiguousarray)"))
            #expect(Self.errorText { try NPYArray.read(path("big.npy")) }.contains(": dtype '>f4' is not supported (big-endian"))
        }
    }

    /// An array of image-sized rows round-trips exactly.
    @Test func roundTripsALargeArray() throws {
        let rows = 300
        try Self.inTemporaryDirectory { dir in
            let vals = Self.values(rows * 784, seed: 5)
            let path = dir.appendingPathComponent("big.npy").path
            try NPYArray.write(path, shape: [rows, 784], values: vals)
            let a = try NPYArray.read(path)
            #expect(a.shape == [rows, 784] && a.values == vals)
        }
    }
}
