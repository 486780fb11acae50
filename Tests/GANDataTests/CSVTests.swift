import Foundation
import GANData
import GANTestSupport
import Testing

@Suite struct CSVTests {
    /// Runs `body` with a fresh temporary directory, removed afterwards.
    static func inTemporaryDirectory<T>(_ body: (URL) throws -> T) throws -> T {
        let dir = try makeTemporaryDirectory("csv")
        defer { try? FileManager.default.removeItem(at: dir) }
        return try body(dir)
    }

    static func file(_ dir: URL, _ name: String, _ text: String) throws -> String {
        let path = dir.appendingPathComponent(name).path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// The error text of a failing read.
    static func readError(_ path: String, hasHeader: Bool? = nil) -> String {
        do {
            let t = try CSVTable.read(path, hasHeader: hasHeader)
            return "no error: \(t.rows) rows"
        } catch {
            return "\(error)"
        }
    }

    /// Deterministic finite floats of every magnitude (random bit patterns), plus edge cases.
    static func awkwardFloats(_ n: Int, seed: UInt64) -> [Float] {
        var state = seed
        var out: [Float] = [0, -0.0, 1, -1, 0.1, 1e-7, 16_777_216, Float.leastNonzeroMagnitude, -Float.leastNormalMagnitude,
                            Float.greatestFiniteMagnitude, -Float.greatestFiniteMagnitude, 3.4028235e38, Float(bitPattern: 7), 255, 0.5019608]
        while out.count < n {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let f = Float(bitPattern: UInt32(truncatingIfNeeded: state >> 32))
            if f.isFinite { out.append(f) }
        }
        return out
    }

    @Test func roundTripsExactBitsWithAndWithoutHeader() throws {
        try Self.inTemporaryDirectory { dir in
            let values = Self.awkwardFloats(3000, seed: 7)
            for header in [nil, ["x", "y", "z", "w", "label"]] as [[String]?] {
                let path = dir.appendingPathComponent("t.csv").path
                try CSVTable.write(path, values: values, columns: 5, header: header)
                #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent(".t.csv.tmp").path))
                let t = try CSVTable.read(path)
                #expect(t.columns == 5 && t.rows == 600)
                #expect(t.header == header)
                #expect(t.values.map(\.bitPattern) == values.map(\.bitPattern))
            }
        }
    }

    @Test func headerNamesRoundTripIncludingEmptyAndNumericLooking() throws {
        try Self.inTemporaryDirectory { dir in
            let path = dir.appendingPathComponent("h.csv").path
            let names = ["", "a,b", "say \"hi\"", "1", "#id", " padded ", "nan", "ok"]
            try CSVTable.write(path, values: [Float](repeating: 1.5, count: 16), columns: 8, header: names)
            let text = try String(contentsOfFile: path, encoding: .utf8)
            #expect(text.hasPrefix("\"\",\"a,b\",\"say \"\"hi\"\"\",\"1\",\"#id\",\" padded \",\"nan\",ok\n1.5,"))
            let t = try CSVTable.read(path)
            #expect(t.header == names)
            #expect(t.rows == 2 && t.columns == 8)
            // All-empty names still read back as a header.
            try CSVTable.write(path, values: [1, 2], columns: 2, header: ["", ""])
            #expect(try CSVTable.read(path).header == ["", ""])
        }
    }

    @Test func detectsHeaderAutomaticallyOrAsTold() throws {
        try Self.inTemporaryDirectory { dir in
            let withHeader = try Self.file(dir, "a.csv", "x, y\n1,2\n3,4\n")
            let a = try CSVTable.read(withHeader)
            #expect(a.header == ["x", "y"] && a.rows == 2 && a.values == [1, 2, 3, 4])
            let plain = try Self.file(dir, "b.csv", "1,2\n3,4\n")
            let b = try CSVTable.read(plain)
            #expect(b.header == nil && b.rows == 2)
            // Told there is a header: a numeric first line becomes the names.
            let c = try CSVTable.read(plain, hasHeader: true)
            #expect(c.header == ["1", "2"] && c.rows == 1 && c.values == [3, 4])
            // Told there is none: the header's first cell is reported.
            #expect(Self.readError(withHeader, hasHeader: false) == "\(withHeader): line 1, column 1: \"x\" is not a number")
            // A first line with only an empty cell and numbers is data, not a header.
            let gap = try Self.file(dir, "c.csv", "1,,3\n4,5,6\n")
            #expect(Self.readError(gap) == "\(gap): line 1, column 2: empty cell, expected a number")
            // A header followed by a bad row: the bad row is what is reported.
            let bad = try Self.file(dir, "d.csv", "a,b\n1,2\n3,x\n")
            #expect(Self.readError(bad) == "\(bad): line 3, column 2: \"x\" is not a number")
        }
    }

    @Test func acceptsCommentsBlankLinesCRLFWhitespaceBOMAndNoFinalNewline() throws {
        try Self.inTemporaryDirectory { dir in
            let text = "\u{FEFF}# exported by a tool\r\n\r\n  a , b \r\n 1 ,\t+2.5 \r\n\n# middle\r\n.5,1.\r\n   \n-1E3,2e-1"
            let path = try Self.file(dir, "mixed.csv", text)
            let t = try CSVTable.read(path)
            #expect(t.header == ["a", "b"])
            #expect(t.rows == 3 && t.columns == 2)
            #expect(t.values == [1, 2.5, 0.5, 1, -1000, 0.2])
            let single = try Self.file(dir, "one.csv", "42")
            let s = try CSVTable.read(single)
            #expect(s.columns == 1 && s.rows == 1 && s.values == [42])
        }
    }

    /// The byte parser agrees bit for bit with Swift's (strtof-based) Float(String) on many formats,
    /// including 19+ significant digits (numpy's savetxt) and exact decimal midpoints between floats.
    @Test func parsesLikeFloatFromString() throws {
        try Self.inTemporaryDirectory { dir in
            let floats = Self.awkwardFloats(4000, seed: 11)
            var cells: [String] = []
            for (i, f) in floats.enumerated() {
                let d = Double(f)
                cells.append(String(format: ["%.9g", "%.18e", "%.3f", "%g", "%.12e"][i % 5], d))
                cells.append("\(d)")
                if f.isNormal && abs(f) < 1e30 {
                    let mid = (d + Double(f.nextUp)) / 2  // exactly halfway: ties to even
                    cells.append(String(format: "%.60g", mid))
                    cells.append(String(format: "%.17g", mid))
                } else {
                    cells += ["0.000", "1e-50"]
                }
            }
            cells += ["1e-46", "7.0064923e-46", "7.006492321624087e-46", "3.40282356e38", "0.0000000000000000000000000000001234",
                      "123456789012345678901234567890", "1e-38", "1.17549435e-38", "000123.4500e+000", "-0e5",
                      "12345678", "0.12345678", "1234567812345678", "0.000000001234567812345678", "99999999999999999999",
                      "18446744073709551616", "4294967295.5", "00000000.00000000123", "1.5E+3", "7e-1"]
            while cells.count % 10 != 0 { cells.append("1") }
            var text = ""
            for r in 0..<(cells.count / 10) { text += cells[(r * 10)..<(r * 10 + 10)].joined(separator: ",") + "\n" }
            let path = try Self.file(dir, "formats.csv", text)
            let t = try CSVTable.read(path)
            #expect(t.values.count == cells.count)
            var mismatches: [String] = []
            for (cell, v) in zip(cells, t.values) where Float(cell)!.bitPattern != v.bitPattern {
                mismatches.append("\(cell) -> \(v), expected \(Float(cell)!)")
            }
            #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
        }
    }

    /// numpy's savetxt output (19 significant digits, a header) reads to numpy's own float32
    /// values, and numpy's loadtxt reads our file to our exact values.
    @Test func agreesWithNumpy() throws {
        guard let python = NumPy.python else { return }
        try Self.inTemporaryDirectory { dir in
            let ours = dir.appendingPathComponent("ours.csv").path
            let values = Self.awkwardFloats(600, seed: 3)
            try CSVTable.write(ours, values: values, columns: 6, header: ["a", "b", "c", "d", "e", "f"])
            let script = """
            import sys, numpy as np
            d, ours = sys.argv[1], sys.argv[2]
            rng = np.random.default_rng(0)
            a = (rng.standard_normal((50, 3)) * 10.0 ** rng.integers(-20, 20, (50, 3))).astype(np.float32)
            np.savetxt(d + '/np.csv', a, delimiter=',', header='x,y,z', comments='')
            open(d + '/np.raw', 'wb').write(a.tobytes())
            b = np.loadtxt(ours, delimiter=',', skiprows=1, dtype=np.float32)
            open(d + '/ours.raw', 'wb').write(b.tobytes())
            """
            let r = try NumPy.run(python, script, [dir.path, ours])
            try #require(r.status == 0, "\(r.output)")
            func raw(_ name: String) throws -> [UInt32] {
                let data = try Data(contentsOf: dir.appendingPathComponent(name))
                return data.withUnsafeBytes { Array($0.bindMemory(to: UInt32.self)) }
            }
            let t = try CSVTable.read(dir.appendingPathComponent("np.csv").path)
            #expect(t.header == ["x", "y", "z"] && t.rows == 50 && t.columns == 3)
            #expect(t.values.map(\.bitPattern) == (try raw("np.raw")))
            #expect(values.map(\.bitPattern) == (try raw("ours.raw")))
        }
    }

    @Test func reportsEveryErrorOnOneLine() throws {
        try Self.inTemporaryDirectory { dir in
            func check(_ name: String, _ text: String, _ expected: String, hasHeader: Bool? = nil) throws {
                let path = try Self.file(dir, name, text)
                #expect(Self.readError(path, hasHeader: hasHeader) == "\(path): \(expected)")
            }
            try check("word.csv", "# comment\nx,y\n1,2\n\n3,abc\n", "line 5, column 2: \"abc\" is not a number")
            try check("nan.csv", "1,2\n3,NaN\n", "line 2, column 2: NaN is not allowed")
            try check("inf.csv", "1,inf\n", "line 1, column 2: inf is not allowed")
            try check("ninf.csv", "1,2\r\n-Infinity,4\r\n", "line 2, column 1: -inf is not allowed")
            try check("ragged.csv", "1,2,3\n4,5,6\n7,8\n", "line 3 has 2 columns, expected 3")
            try check("ragged-header.csv", "a,b\n1,2,3\n", "line 2 has 3 columns, expected 2")
            try check("range.csv", "1e39,0\n", "line 1, column 1: \"1e39\" is out of range for a 32-bit float")
            try check("semi.csv", "a;b;c\n1;2;3\n", "line 2, column 1: \"1;2;3\" is not a number (cells must be separated by commas)")
            try check("tabs.csv", "x\ty\n1\t2\n", "line 2, column 1: \"1\\t2\" is not a number (cells must be separated by commas)")
            try check("cr.csv", "a,b\r1,2\r\r3,x\r", "line 4, column 2: \"x\" is not a number")
            try check("control.csv", "1,2\n3,4\u{7}\n", "line 2, column 2: \"4\\u{7}\" is not a number")
            try check("empty.csv", "", "empty file, expected comma-separated numbers")
            try check("blank.csv", "\n  \n# only a comment\n", "no data rows (only blank lines and # comments)")
            try check("header-only.csv", "# c\na,b\n\n", "no data rows after the header on line 2")
            try check("binary.csv", "1,2\n\u{0}\u{1}", "not a text file (binary data on line 2)")
            try check("quote.csv", "\"a,b\n1\n", "line 1, column 1: unterminated quote in the header")
            try check("after.csv", "x,\"a\"b\n1,2\n", "line 1, column 2: text after the closing quote in the header")
            #expect(Self.readError("/nonexistent/t.csv") == "/nonexistent/t.csv: no such file")
            #expect(Self.readError(dir.path) == "\(dir.path): is a directory, expected a file")
            let long = try Self.file(dir, "long.csv", String(repeating: "z", count: 100) + "\n")
            #expect(Self.readError(long, hasHeader: false) == "\(long): line 1, column 1: \"\(String(repeating: "z", count: 40))...\" is not a number")
        }
    }

    @Test func writeErrorsNameThePath() throws {
        try Self.inTemporaryDirectory { dir in
            let missing = dir.appendingPathComponent("no/such/out.csv").path
            #expect { try CSVTable.write(missing, values: [1], columns: 1) } throws: { e in
                "\(e)" == "\(missing): cannot write: directory \(dir.path)/no/such does not exist"
            }
            let path = dir.appendingPathComponent("out.csv").path
            #expect { try CSVTable.write(path, values: [1, 2, 3], columns: 2) } throws: { e in
                "\(e)" == "\(path): 3 values do not fill rows of 2 columns"
            }
            #expect { try CSVTable.write(path, values: [1, 2], columns: 2, header: ["a"]) } throws: { e in
                "\(e)" == "\(path): header has 1 names, expected 2 (one per column)"
            }
            #expect { try CSVTable.write(path, values: [1, 2], columns: 2, header: ["a", "b\nc"]) } throws: { e in
                "\(e)" == "\(path): header name 2 contains a line break"
            }
            #expect { try CSVTable.write(path, values: [], columns: 0) } throws: { e in
                "\(e)" == "\(path): cannot write a table with 0 columns"
            }
            #expect { try CSVTable.write(dir.path, values: [1], columns: 1) } throws: { e in
                "\(e)" == "\(dir.path): cannot write: it is a directory"
            }
            #expect(!FileManager.default.fileExists(atPath: path))
            // Overwriting replaces the whole file; no temporary file is left behind.
            try CSVTable.write(path, values: [Float](repeating: 9, count: 100), columns: 10)
            try CSVTable.write(path, values: [1, 2], columns: 2)
            #expect(try String(contentsOfFile: path, encoding: .utf8) == "1.0,2.0\n")
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["out.csv"])
        }
    }

    /// Standard output is captured by pointing fd 1 at a file for the duration of the call (other
    /// tests' output in that window could land in the file too, so only containment is checked).
    @Test func writesToStandardOutput() throws {
        try Self.inTemporaryDirectory { dir in
            let path = dir.appendingPathComponent("stdout.txt").path
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            try #require(fd >= 0)
            fflush(nil)
            let saved = dup(1)
            dup2(fd, 1)
            close(fd)
            let result = Result { try CSVTable.writeToStandardOutput(values: [1, 2.5, -3, 1e-7], columns: 2, header: ["a", "b"]) }
            fflush(nil)
            dup2(saved, 1)
            close(saved)
            try result.get()
            #expect(try String(contentsOfFile: path, encoding: .utf8).contains("a,b\n1.0,2.5\n-3.0,1e-07\n"))
        }
    }

    /// A table of image-sized rows round-trips exactly.
    @Test func roundTripsALargeTable() throws {
        let rows = 300
        try Self.inTemporaryDirectory { dir in
            var state: UInt64 = 3
            let values = (0..<(rows * 784)).map { _ -> Float in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return Float(state >> 56) / 255  // pixel-like values, 9-digit shortest forms
            }
            let path = dir.appendingPathComponent("big.csv").path
            try CSVTable.write(path, values: values, columns: 784)
            let t = try CSVTable.read(path)
            #expect(t.rows == rows && t.columns == 784 && t.values == values)
        }
    }
}
