import Foundation
import GANHDF5
import GANTestSupport
import Testing

@Suite("HDF5 round trips")
struct HDF5RoundTripTests {
    @Test func everyDatasetTypeRoundTrips() throws {
        let dir = try TempDir()
        let path = dir.path("types.h5")
        let floats: [Float] = [1.5, -2, .pi, .infinity, -.infinity, .nan, -0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude]
        let doubles: [Double] = [1e-300, -1e300, .pi, .nan, -0.0, 0]
        let ints: [Int64] = [.min, -1, 0, 1, .max]
        let words: [UInt64] = [0, 1, .max, 0x9E37_79B9_7F4A_7C15]
        let pixels: [UInt8] = (0..<(2 * 3 * 4)).map { UInt8($0 * 10) }
        do {
            let f = try HDF5File.create(path)
            try f.root.write("f32", shape: [3, 3], values: floats)
            try f.root.write("f64", shape: [6], values: doubles)
            try f.root.write("i64", shape: [5], values: ints)
            try f.root.write("u64", shape: [2, 2], values: words)
            try f.root.write("u8", shape: [2, 3, 4], values: pixels, gzipLevel: 9)
            try f.close()
        }
        let f = try HDF5File.open(path)
        let rf = try f.root.readFloats("f32")
        #expect(rf.shape == [3, 3])
        #expect(rf.values.map(\.bitPattern) == floats.map(\.bitPattern))
        let rd = try f.root.read("f64", as: Double.self)
        #expect(rd.shape == [6] && rd.values.map(\.bitPattern) == doubles.map(\.bitPattern))
        #expect(try f.root.read("i64", as: Int64.self).values == ints)
        let rw = try f.root.read("u64", as: UInt64.self)
        #expect(rw.shape == [2, 2] && rw.values == words)
        let rp = try f.root.read("u8", as: UInt8.self)
        #expect(rp.shape == [2, 3, 4] && rp.values == pixels)
        #expect(try f.root.dataset("f32").elementKind() == .float32)
        #expect(try f.root.dataset("f64").elementKind() == .float64)
        #expect(try f.root.dataset("i64").elementKind() == .int64)
        #expect(try f.root.dataset("u64").elementKind() == .uint64)
        #expect(try f.root.dataset("u8").elementKind() == .uint8)
        #expect(try f.root.dataset("u8").shape() == [2, 3, 4])
        // Lossless widening is allowed, lossy conversions are refused.
        #expect(try f.root.read("u8", as: Int64.self).values == pixels.map { Int64($0) })
        #expect(try f.root.read("f32", as: Double.self).values[0] == 1.5)
        let e1 = #expect(throws: HDF5Error.self) { try f.root.read("f64", as: Float.self) }
        #expect(e1?.kind == .typeMismatch)
        #expect(e1?.description == "\(path): /f64: stored type float64 cannot be read as float32 without loss")
        let e2 = #expect(throws: HDF5Error.self) { try f.root.read("i64", as: UInt64.self) }
        #expect(e2?.kind == .typeMismatch)
        try f.close()
    }

    @Test func largeArraysWithAndWithoutGzip() throws {
        let dir = try TempDir()
        let path = dir.path("large.h5")
        let n = 1_000_000
        let values = (0..<n).map { Float($0) * 0.5 - 7 }
        let f = try HDF5File.create(path)
        try f.root.write("plain", shape: [n], values: values)
        try f.root.write("packed", shape: [1000, 1000], values: values, gzipLevel: 4)
        try f.root.writeFloats("matrix", shape: [250, 4000], values: values)  // rows of 16 KB: chunks of 64 rows
        try f.flush()
        #expect(try f.root.readFloats("plain").values == values)
        let packed = try f.root.readFloats("packed")
        #expect(packed.shape == [1000, 1000] && packed.values == values)
        var matrix = [Float](repeating: 0, count: n)
        try matrix.withUnsafeMutableBufferPointer { buffer in try f.root.read("matrix", shape: [250, 4000]) { buffer.baseAddress! } }
        #expect(matrix == values)
        try f.close()
    }

    @Test func zeroSizeAndScalarDatasets() throws {
        let dir = try TempDir()
        let path = dir.path("empty.h5")
        do {
            let f = try HDF5File.create(path)
            try f.root.write("e0", shape: [0], values: [Float]())
            try f.root.write("e1", shape: [3, 0], values: [Float]())
            try f.root.write("e2", shape: [0, 5, 7], values: [UInt8](), gzipLevel: 1)
            try f.root.write("e3", shape: [0], values: [UInt64]())
            try f.root.write("scalar", shape: [], values: [Double(42.5)])
            try f.root.writeFloats("t0", shape: [0, 4], values: [Float]())
            try f.close()
        }
        let f = try HDF5File.open(path)
        #expect(try f.root.readFloats("e0") == (shape: [0], values: []))
        #expect(try f.root.readFloats("e1").shape == [3, 0])
        let e2 = try f.root.read("e2", as: UInt8.self)
        #expect(e2.shape == [0, 5, 7] && e2.values.isEmpty)
        #expect(try f.root.read("e3", as: UInt64.self).values.isEmpty)
        let s = try f.root.read("scalar", as: Double.self)
        #expect(s.shape == [] && s.values == [42.5])
        var asked = false   // the destination is asked for even when there is nothing to read
        let none = UnsafeMutablePointer<Float>.allocate(capacity: 1)
        defer { none.deallocate() }
        try f.root.read("t0", shape: [0, 4]) {
            asked = true
            return none
        }
        #expect(asked)
        try f.close()
    }

    @Test func nestedGroups() throws {
        let dir = try TempDir()
        let path = dir.path("groups.h5")
        let f = try HDF5File.create(path)
        let c = try f.root.createGroup("a/b/c")
        #expect(c.path == "/a/b/c" && c.name == "c")
        try f.root.createGroup("z")
        try f.root.createGroup("m")
        let b = try f.root.group("a/b")
        try b.write("w", values: [Float(1), 2])
        try b.createGroup("d")
        #expect(try f.root.childNames() == ["a", "m", "z"])
        #expect(try b.childNames() == ["c", "d", "w"])
        #expect(try c.childNames() == [])
        #expect(f.root.contains("a/b/c") && f.root.contains("/a/b/w") && b.contains("w") && b.contains("c"))
        #expect(!f.root.contains("a/x/y") && !f.root.contains("a/b/w/q") && !f.root.contains("") && !f.root.contains("nope"))
        #expect(try f.root.group("/a").group("b/c").path == "/a/b/c")
        #expect(try c.group("/a/b").readFloats("w").values == [1, 2])   // absolute paths from anywhere
        #expect(try b.dataset("w").path == "/a/b/w")

        let e1 = #expect(throws: HDF5Error.self) { try f.root.group("a/nope") }
        #expect(e1?.kind == .notFound && e1?.description == "\(path): /a/nope: no such object")
        let e2 = #expect(throws: HDF5Error.self) { try f.root.group("a/b/w") }
        #expect(e2?.kind == .typeMismatch)
        let e3 = #expect(throws: HDF5Error.self) { try f.root.dataset("a/b") }
        #expect(e3?.kind == .typeMismatch)
        let e4 = #expect(throws: HDF5Error.self) { try f.root.createGroup("a/b") }
        #expect(e4?.kind == .alreadyExists)
        let e5 = #expect(throws: HDF5Error.self) { try b.write("w", values: [Float(3)]) }
        #expect(e5?.kind == .alreadyExists)
        let e6 = #expect(throws: HDF5Error.self) { try f.root.readFloats("a/b/missing") }
        #expect(e6?.kind == .notFound && e6?.description.hasPrefix("\(path): /a/b/missing: ") == true)
        let e7 = #expect(throws: HDF5Error.self) { try f.root.createGroup("a/../b") }
        #expect(e7?.kind == .invalidArgument)

        try b.remove("w")
        #expect(!b.contains("w"))
        try b.write("w", values: [Float(3)])
        #expect(try b.readFloats("w").values == [3])
        try f.root.remove("m")
        #expect(try f.root.childNames() == ["a", "z"])
        try f.close()

        // Reopen writable and extend.
        let g = try HDF5File.open(path, writable: true)
        try g.root.group("a").write("new", values: [Int64(5)])
        try g.close()
        let h = try HDF5File.open(path)
        #expect(try h.root.read("a/new", as: Int64.self).values == [5])
        // Writing to a read-only file is a library error, not a crash.
        let e8 = #expect(throws: HDF5Error.self) { try h.root.write("x", values: [Float(1)]) }
        #expect(e8?.kind == .library && e8?.operation == "H5Dcreate2")
        #expect(!h.root.contains("x"))
        try h.close()
    }

    @Test func attributesOfEveryType() throws {
        let dir = try TempDir()
        let path = dir.path("attrs.h5")
        let yaml = "model:\n  kind: dcgan\n  latent: 100\ntraining:\n  epochs: 20  # comment\n"
        let unicode = "Grüße, 世界 🌍 — ok"
        do {
            let f = try HDF5File.create(path)
            try f.root.createGroup("g").write("w", values: [Float(1)])
            let w = try f.root.dataset("g/w")
            for node in [f.root as any HDF5Node, try f.root.group("g"), w] {
                try node.setAttribute("empty", "")
                try node.setAttribute("unicode", unicode)
                try node.setAttribute("yaml", yaml)
                try node.setAttribute("min", Int64.min)
                try node.setAttribute("max", Int64.max)
                try node.setAttribute("int", 7)
                try node.setAttribute("pi", Double.pi)
                try node.setAttribute("negzero", -0.0)
                try node.setAttribute("ints", [Int64(1), -2, .max])
                try node.setAttribute("noints", [Int64]())
                try node.setAttribute("doubles", [0.5, -1e300, .infinity])
                try node.setAttribute("nodoubles", [Double]())
                try node.setAttribute("replaced", "old")
                try node.setAttribute("replaced", 3.0)
                try node.setAttribute("ünï", 1)
            }
            try f.close()
        }
        let f = try HDF5File.open(path)
        for node in [f.root as any HDF5Node, try f.root.group("g"), try f.root.dataset("g/w")] {
            #expect(try node.attributeNames() == ["doubles", "empty", "int", "ints", "max", "min", "negzero",
                                                  "nodoubles", "noints", "pi", "replaced", "unicode", "yaml", "ünï"])
            #expect(try node.stringAttribute("empty") == "")
            #expect(try node.stringAttribute("unicode") == unicode)
            #expect(try node.stringAttribute("yaml") == yaml)
            #expect(try node.intAttribute("min") == .min)
            #expect(try node.intAttribute("max") == .max)
            #expect(try node.intAttribute("int") == 7)
            #expect(try node.intAttribute("ünï") == 1)
            #expect(try node.doubleAttribute("pi") == .pi)
            #expect(try node.doubleAttribute("negzero").bitPattern == (-0.0).bitPattern)
            #expect(try node.intArrayAttribute("ints") == [1, -2, .max])
            #expect(try node.intArrayAttribute("noints") == [])
            #expect(try node.doubleArrayAttribute("doubles") == [0.5, -1e300, .infinity])
            #expect(try node.doubleArrayAttribute("nodoubles") == [])
            #expect(try node.attribute("replaced") == .double(3))
            #expect(try node.attribute("missing") == nil)
            #expect(try node.hasAttribute("pi") && !(try node.hasAttribute("nope")))

            let e1 = #expect(throws: HDF5Error.self) { try node.intAttribute("pi") }
            #expect(e1?.kind == .typeMismatch)
            #expect(e1?.description == "\(path): \(node.path) (attribute 'pi'): attribute is double (\(Double.pi)), not int")
            let e2 = #expect(throws: HDF5Error.self) { try node.stringAttribute("missing") }
            #expect(e2?.kind == .notFound)
            #expect(e2?.description == "\(path): \(node.path) (attribute 'missing'): no such attribute")
            let e3 = #expect(throws: HDF5Error.self) { try node.intAttribute("yaml") }
            #expect(e3?.kind == .typeMismatch && e3?.description.contains("\n") == false)
        }
        let e4 = #expect(throws: HDF5Error.self) { try f.root.setAttribute("x", 1) }   // read-only file
        #expect(e4?.kind == .library)
        try f.close()

        let g = try HDF5File.create(dir.path("nul.h5"))
        let e5 = #expect(throws: HDF5Error.self) { try g.root.setAttribute("nul", "a\u{0}b") }
        #expect(e5?.kind == .invalidArgument)
        let e6 = #expect(throws: HDF5Error.self) { try g.root.removeAttribute("nul") }
        #expect(e6?.kind == .notFound)
        try g.root.setAttribute("gone", 1)
        try g.root.removeAttribute("gone")
        #expect(try g.root.attributeNames() == [])
        try g.close()
    }
}
