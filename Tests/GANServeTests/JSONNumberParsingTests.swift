import Foundation
@testable import GANServe
import Testing

/// The number parser against `strtof` (C locale) and against the grammar it had before it read
/// numbers in one pass and eight digits at a time: every value bit for bit, every error with the
/// same message at the same byte.
@Suite struct JSONNumberParsingTests {
    // MARK: The reference: the grammar and strtof, one byte at a time

    /// What the parser must give for a document `[t1,t2,...]` (or anything that starts with `[`
    /// and uses only number characters, spaces, commas and `]`): the floats (as strtof reads each
    /// number), the Int64s while every number is an integer literal, the first out-of-range text;
    /// or the error's description.
    enum Expected: Equatable {
        case numbers(floats: [UInt32], integers: [Int64]?, firstOutOfRange: String?)
        case empty
        case error(String)
    }

    static func reference(_ text: [UInt8]) -> Expected {
        var i = 0
        func fail(_ what: String) -> Expected { .error("malformed JSON at byte \(i): \(what)") }
        func at(_ k: Int) -> UInt8? { k < text.count ? text[k] : nil }
        func isDigit(_ c: UInt8?) -> Bool { c.map { $0 >= 0x30 && $0 <= 0x39 } ?? false }
        func skipSpace() { while let c = at(i), c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { i += 1 } }
        func atNumber() -> Bool {
            guard let c = at(i) else { return false }
            return isDigit(c) || c == UInt8(ascii: "-") || c == UInt8(ascii: "N") || c == UInt8(ascii: "I")
        }
        func literal(_ word: String) -> Bool {
            let w = Array(word.utf8)
            guard i + w.count <= text.count, Array(text[i..<(i + w.count)]) == w else { return false }
            i += w.count
            return true
        }
        /// A value that is not a number where an element starts (the generic parse's error).
        func notANumber() -> Expected {
            guard let c = at(i) else { return fail("unexpected end of input") }
            if c == UInt8(ascii: "-") { i += 1 }
            return fail("unexpected character")
        }
        var floats: [UInt32] = [], integers: [Int64]? = [], firstOutOfRange: String?
        guard text.first == UInt8(ascii: "[") else { return .error("not a test document") }
        i = 1
        skipSpace()
        if at(i) == UInt8(ascii: "]") {
            i += 1
            skipSpace()
            return i == text.count ? .empty : fail("unexpected data after the JSON value")
        }
        guard atNumber() else { return notANumber() }
        while true {
            // One number (the grammar of RFC 8259, plus NaN and the infinities).
            let start = i
            let c0 = text[i], c1 = at(i + 1) ?? 0
            var special: Float?
            var isInteger = true
            if c0 == UInt8(ascii: "N") || c0 == UInt8(ascii: "I") || (c0 == UInt8(ascii: "-") && c1 == UInt8(ascii: "I")) {
                if literal("NaN") { special = .nan } else if literal("Infinity") { special = .infinity }
                else if literal("-Infinity") { special = -.infinity } else { return fail("unexpected character") }
                isInteger = false
            } else {
                if at(i) == UInt8(ascii: "-") { i += 1 }
                guard isDigit(at(i)) else { return fail("unexpected character") }
                let first = text[i]
                i += 1
                if first != 0x30 { while isDigit(at(i)) { i += 1 } }
                if at(i) == UInt8(ascii: ".") {
                    isInteger = false
                    i += 1
                    guard isDigit(at(i)) else { return fail("expected a digit after the decimal point") }
                    while isDigit(at(i)) { i += 1 }
                }
                if at(i) == UInt8(ascii: "e") || at(i) == UInt8(ascii: "E") {
                    isInteger = false
                    i += 1
                    if at(i) == UInt8(ascii: "+") || at(i) == UInt8(ascii: "-") { i += 1 }
                    guard isDigit(at(i)) else { return fail("expected a digit in the exponent") }
                    while isDigit(at(i)) { i += 1 }
                }
            }
            let token = String(decoding: text[start..<i], as: UTF8.self)
            var value = special ?? strtof(token, nil)
            if special == nil, value.isInfinite {
                firstOutOfRange = firstOutOfRange ?? token
                value = token.hasPrefix("-") ? -.infinity : .infinity
            }
            floats.append(value.bitPattern)
            if integers != nil {
                if isInteger, let v = Int64(token) { integers!.append(v) } else { integers = nil }
            }
            // The separator.
            skipSpace()
            guard let c = at(i) else { return fail("unterminated array") }
            i += 1
            if c == UInt8(ascii: "]") {
                skipSpace()
                guard i == text.count else { return fail("unexpected data after the JSON value") }
                return .numbers(floats: floats, integers: integers, firstOutOfRange: firstOutOfRange)
            }
            guard c == UInt8(ascii: ",") else { i -= 1; return fail("expected , or ] in an array") }
            skipSpace()
            guard atNumber() else { return notANumber() }
        }
    }

    static func parsed(_ text: [UInt8]) -> Expected {
        text.withUnsafeBytes { parsed($0) }
    }

    static func parsed(_ text: UnsafeRawBufferPointer) -> Expected {
        do {
            switch try JSONDocument(text).root {
            case .numbers(let n): return .numbers(floats: n.floats.map(\.bitPattern), integers: n.integers, firstOutOfRange: n.firstOutOfRange)
            case .array(let items) where items.isEmpty: return .empty
            default: return .error("not an array of numbers")
            }
        } catch let e as JSONError {
            return .error(e.description)
        } catch {
            return .error("\(error)")
        }
    }

    /// `parsed` of the text placed so that its last byte is the last readable one before a page
    /// that cannot be read: a load past the end crashes instead of reading what follows.
    static func parsedAtPageEnd(_ text: [UInt8]) -> Expected {
        let page = Int(sysconf(Int32(_SC_PAGESIZE))), pages = (text.count + page - 1) / page + 1
        guard let base = mmap(nil, pages * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), base != MAP_FAILED,
              mprotect(base + (pages - 1) * page, page, PROT_NONE) == 0 else { return .error("no guard page") }
        defer { munmap(base, pages * page) }
        let start = base + (pages - 1) * page - text.count
        text.withUnsafeBytes { start.copyMemory(from: $0.baseAddress!, byteCount: text.count) }
        return parsed(UnsafeRawBufferPointer(start: start, count: text.count))
    }

    /// Parses `[texts]` with the separator, expecting strtof's float of each and, one by one,
    /// the same as a document of its own; returns how many differ.
    static func checkArray(_ texts: [String], separator: String = ",", sourceLocation: SourceLocation = #_sourceLocation) {
        let doc = Array(("[" + texts.joined(separator: separator) + "]").utf8)
        let got = parsedAtPageEnd(doc), want = reference(doc)
        guard got != want else { return }
        // Name the first number that differs.
        if case .numbers(let g, _, _) = got, case .numbers(let w, _, _) = want, g.count == w.count {
            for (k, (a, b)) in zip(g, w).enumerated() where a != b {
                Issue.record("\(texts[k]): parsed \(Float(bitPattern: a)) (0x\(String(a, radix: 16))), strtof \(Float(bitPattern: b)) (0x\(String(b, radix: 16)))",
                             sourceLocation: sourceLocation)
                return
            }
        }
        Issue.record("\(String(decoding: doc.prefix(200), as: UTF8.self)): parsed \(got), expected \(want)", sourceLocation: sourceLocation)
    }

    /// printf's text of a Double (glibc prints exact decimal expansions).
    static func format(_ f: String, _ v: Double) -> String {
        withVaList([v]) { args in
            var buffer = [CChar](repeating: 0, count: 512)
            let n = Int(vsnprintf(&buffer, buffer.count, f, args))
            return String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    /// `NumberText.count` (which sizes an array of numbers by its commas) against a byte loop, at
    /// every length and offset around its eight-byte steps, with the byte next to every other
    /// value and 0xAC (the pattern's bit 7 flipped, which a carry between bytes would confuse).
    @Test func countingABytesOccurrencesMatchesAByteLoop() {
        var rng = SystemRandomNumberGenerator()
        let alphabet: [UInt8] = [0x2C, 0x2C, 0x2C, 0xAC, 0x2B, 0x2D, 0x00, 0xFF, 0x30, 0x7F, 0x80]
        for _ in 0..<300 {
            let text = (0..<Int.random(in: 0...70, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            text.withUnsafeBufferPointer { b in
                for start in 0...min(9, text.count) {
                    let expected = text[start...].filter { $0 == 0x2C }.count
                    #expect(NumberText.count(0x2C, in: b.baseAddress! + start, text.count - start) == expected)
                }
            }
        }
    }

    // MARK: Values

    /// Random float32 bit patterns as clients print them: Swift's shortest text, %.9g (enough for
    /// every float), the %.17g and shortest Double texts Python's json writes for a float widened
    /// to Double, and 30 and 60 significant digits (long digit strings). Each list goes through
    /// the plain-number loop (`,`), the general reader (` ,`: a space before the comma) and, for
    /// some, one document per number.
    @Test func randomFloatsReadAsStrtofReadsThem() {
        var rng = SystemRandomNumberGenerator()
        var texts: [String] = []
        for _ in 0..<40_000 {
            let f = Float(bitPattern: UInt32.random(in: 0...UInt32.max, using: &rng))
            guard f.isFinite else { continue }
            let d = Double(f)
            texts += [f.description, Self.format("%.9g", d), Self.format("%.17g", d), d.description,
                      Self.format("%.29e", d), Self.format("%.59e", d)]
        }
        // And values of the magnitudes a GAN's tensors hold, whose texts are mostly plain numbers.
        for _ in 0..<40_000 {
            let f = Float.random(in: -4...4, using: &rng) * (Bool.random(using: &rng) ? 1 : 0.001)
            texts += [f.description, Self.format("%.9g", Double(f)), Double(f).description]
        }
        Self.checkArray(texts)
        Self.checkArray(texts, separator: " ,")
        Self.checkArray(texts, separator: ", ")
        for text in texts.prefix(3000) { Self.checkArray([text]) }
    }

    /// Exact midpoints between adjacent floats (ties to even decide), the Doubles one unit in the
    /// last place either side of them, and the same for midpoints that are integers (Clinger's
    /// exact fast path meets them as exactly representable Doubles).
    @Test func midpointsAndTheirNeighboursRoundAsStrtof() {
        var rng = SystemRandomNumberGenerator()
        var texts: [String] = []
        func add(_ f: Float) {
            guard f.isFinite, f.nextUp.isFinite else { return }
            let mid = (Double(f) + Double(f.nextUp)) / 2
            for v in [mid, mid.nextUp, mid.nextDown] {
                texts += [Self.format("%.17g", v), Self.format("%.40e", v), v.description]
            }
            texts.append(Self.format("%.120e", mid))  // the exact expansion of every midpoint in the normal range
        }
        for _ in 0..<20_000 { add(Float(bitPattern: UInt32.random(in: 0..<0x7F80_0000, using: &rng))) }
        for _ in 0..<5_000 { add(Float(Int.random(in: 1 << 24 ..< 1 << 53, using: &rng))) }
        for _ in 0..<5_000 { add(Float.random(in: 0.5..<1, using: &rng)) }
        texts += ["16777217", "16777219", "33554434", "1.000000059604644775390625", "1.0000000596046448", "1.0000000596046449",
                  "0.50000002980232238769531250", "9007199254740993", "9007199254740992", "3.4028235677973366e38"]
        Self.checkArray(texts)
        Self.checkArray(texts, separator: " ,")
    }

    /// The edges: zeros, subnormals, the smallest and largest normals, the overflow threshold
    /// (out of range, as strtof's infinity), huge and tiny exponents, exponents beyond every int.
    @Test func edgesOfTheRangeReadAsStrtof() {
        var texts = ["0", "-0", "0.0", "-0.0", "0e5", "0E-5", "-0e+0", "0.000", "0e400", "0e-400", "1e400", "-1e400", "1e-400", "-1e-400",
                     "1e-45", "7e-46", "7.1e-46", "1.401298464324817e-45", "7.006492321624085e-46", "7.006492321624086e-46",
                     "1.1754942e-38", "1.17549435e-38", "1.1754943508222875e-38", "1.1754942106924411e-38",
                     "3.4028235e38", "3.4028235e+38", "-3.4028235e38", "3.40282346638528859811704183484516925440e+38",
                     "3.4028235677973366e38", "3.4028235677973362e38", "3.402823567797337e38", "3.4028236e38", "1e39", "-1e39",
                     "1e38", "1e-38", "1e-39", "1e-44", "1e-46", "123456789012345678901234567890", "0.000000000000000000000000000001",
                     "1e99999999999999999999", "1e-99999999999999999999", "0.1e99999999999", "1E+22", "1e23", "1e-22", "1e-23",
                     "9007199254740993e-22", "9007199254740992e22", "18446744073709551615", "18446744073709551616", "99999999999999999999"]
        for k in -50...40 { texts += ["1e\(k)", "-7e\(k)", "123456789e\(k)", "0.5e\(k)"] }
        var f = Float.leastNonzeroMagnitude
        while f < 1e-37 {
            texts += [f.description, Self.format("%.9g", Double(f)), Self.format("%.17g", Double(f))]
            f = f * 3 + .leastNonzeroMagnitude
        }
        Self.checkArray(texts)
        Self.checkArray(texts, separator: " ,")
        for text in texts { Self.checkArray([text]) }
        // Out of range: stored as an infinity and named (the request's error), the rest read on.
        guard case .numbers(let n) = try? JSONDocument(Array("[0.5,1e39,-3.5e38,2]".utf8)).root else { Issue.record("not numbers"); return }
        #expect(n.floats.map(\.bitPattern) == [Float(0.5), .infinity, -.infinity, 2].map(\.bitPattern))
        #expect(n.firstOutOfRange == "1e39")
        #expect(n.integers == nil)
    }

    /// Numbers at every offset around the eight- and sixteen-byte loads and the plain-number
    /// loop's 64-byte margin, and at the very end of the text (no byte after the `]`, or after a
    /// number that is the whole document).
    @Test func numbersAtEveryOffsetAndAtTheEndOfTheText() {
        let samples = ["1.5", "0", "-0", "7", "-3", "0.30736345", "0.4101315", "12345678", "123456789", "-12345678.123456789",
                       "1234567890123456", "0.000012345678", "1e5", "2.5E-3", "1234567.8", "0.12345678901234567", "9",
                       "1.17549435e-38", "12345678901234567890123", "-0.5", "100000000", "0.1000000001"]
        for text in samples {
            for pad in 0..<40 {
                let filler = String(repeating: " ", count: pad)
                Self.checkArray([filler + text])
                Self.checkArray(Array(repeating: "0.5", count: pad) + [text])                 // the last of a plain run
                Self.checkArray(Array(repeating: "1", count: pad % 7) + [text, text, "2.5"] + Array(repeating: text, count: pad))
                Self.checkArray([String(repeating: "8", count: pad % 17) + "." + text.filter { $0 != "-" && $0 != "." }])
                // Numbers of every width crossing the end of the loop's margin.
                Self.checkArray(Array(repeating: text, count: 3 + pad))
            }
            // A document that is the number alone: its last byte is the number's.
            let bytes = Array(text.utf8)
            guard case .number(let n) = try? JSONDocument(bytes).root else { Issue.record("\(text) alone"); continue }
            #expect(n.floats[0].bitPattern == strtof(text, nil).bitPattern, "\(text) alone")
        }
        // `[1.5]` at the very end of its buffer (nothing readable after it).
        #expect(Self.parsedAtPageEnd(Array("[1.5]".utf8)) == .numbers(floats: [Float(1.5).bitPattern], integers: nil, firstOutOfRange: nil))
        // Digit runs that reach the end of a truncated text, after enough plain numbers that the
        // loop for them reads them: every load must stop at the end.
        let run = String(repeating: "1234567890", count: 12)
        for tail in [run, "0." + run, "1." + run, run + ".", "-" + run, "0." + run + "e", run + "." + run] {
            for k in [1, 7, 8, 9, 15, 16, 17, 40, 70, tail.utf8.count] {
                let doc = Array(("[" + String(repeating: "0.5,", count: 20) + tail.prefix(k)).utf8)
                #expect(Self.parsedAtPageEnd(doc) == Self.reference(doc), "\(String(decoding: doc, as: UTF8.self))")
                let closed = doc + Array(",0.25]".utf8)
                #expect(Self.parsedAtPageEnd(closed) == Self.reference(closed), "\(String(decoding: closed, as: UTF8.self))")
            }
        }
    }

    // MARK: Errors

    /// Every malformed number throws, inside an array (after a run of plain numbers, so the loop
    /// that reads them meets it) and alone.
    @Test(arguments: ["01", "1.", ".5", "1e", "-", "+1", "1.5.5", "1e+", "1e-", "-.5", "--1", "1.e5", "1ee5", "0x10", "1e5.5",
                      "00", "-01", "0.5.", "Infinit", "NaNa", "-Inf", "1,", "1 2", "1]", "1.5e", "12345678.", "123456789e"])
    func malformedNumbersThrow(_ text: String) {
        #expect(throws: JSONError.self) { try JSONDocument(Array(text.utf8)) }
        for prefix in ["[", "[0.5,", "[" + String(repeating: "0.25,", count: 20)] {
            let doc = Array((prefix + text + "]").utf8)
            #expect(throws: JSONError.self) { try JSONDocument(doc) }
            #expect(Self.parsed(doc) == Self.reference(doc), "\(prefix + text)]")
        }
        // Truncated: every prefix of a long valid array either parses as the reference says or
        // throws the same error at the same byte.
        let whole = "[" + String(repeating: "0.30736345,", count: 10) + text + ",1.25e-3,-7]"
        for k in 0...whole.utf8.count {
            let doc = Array(whole.utf8.prefix(k))
            guard doc.first == UInt8(ascii: "[") else { continue }
            #expect(Self.parsedAtPageEnd(doc) == Self.reference(doc), "\(String(decoding: doc, as: UTF8.self))")
        }
    }

    /// Random texts over the number alphabet, commas, spaces and `]`, embedded in runs of plain
    /// numbers: the same floats, integers and errors (message and byte) as the reference.
    @Test func randomTextsParseOrFailAsTheReference() {
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array("0123456789.-+eE,] ".utf8) + Array("0123456789.-".utf8)
        for round in 0..<20_000 {
            var token: [UInt8] = []
            for _ in 0..<Int.random(in: 0...24, using: &rng) { token.append(alphabet.randomElement(using: &rng)!) }
            let before = String(repeating: round % 2 == 0 ? "0.30736345," : "17,", count: round % 9)
            let after = round % 3 == 0 ? "" : ",0.5,-2.25e-3" + String(repeating: ",0.125", count: round % 11)
            let doc = Array(("[" + before).utf8) + token + Array((after + "]").utf8)
            let got = Self.parsedAtPageEnd(doc), want = Self.reference(doc)
            if got != want {
                Issue.record("\(String(decoding: doc, as: UTF8.self)): parsed \(got), expected \(want)")
                return
            }
        }
    }

    // MARK: Integers

    /// The Int64 side (INT64 inputs such as seed and count): kept while every element is an
    /// integer literal within Int64, dropped at the first other one; the floats stay exact.
    @Test func integersAreKeptWhileEveryNumberIsAnIntegerLiteral() throws {
        func numbers(_ text: String) throws -> JSONNumbers {
            guard case .numbers(let n) = try JSONDocument(Array(text.utf8)).root else { throw JSONError(description: "not numbers") }
            return n
        }
        #expect(try numbers("[7]").integers == [7])
        #expect(try numbers("[64,784]").integers == [64, 784])
        #expect(try numbers("[-0, 0, -1, 1]").integers == [0, 0, -1, 1])
        #expect(try numbers("[9223372036854775807,-9223372036854775808]").integers == [.max, .min])
        #expect(try numbers("[9223372036854775808]").integers == nil)
        #expect(try numbers("[-9223372036854775809]").integers == nil)
        #expect(try numbers("[99999999999999999999]").integers == nil)
        #expect(try numbers("[1, 2, 2.5, 3]").integers == nil)
        #expect(try numbers("[1, 2, 1e0]").integers == nil)
        let ints = (0..<500).map { _ in Int64.random(in: .min ... .max) }
        let n = try numbers("[" + ints.map(String.init).joined(separator: ",") + "]")
        #expect(n.integers == ints)
        #expect(n.floats.map(\.bitPattern) == ints.map { strtof(String($0), nil).bitPattern })
        // Integers, then a float, then a long run: the floats of all of them.
        let mixed = (0..<100).map(String.init) + ["0.5"] + (0..<300).map { String(Float($0) * 0.37) }
        let m = try numbers("[" + mixed.joined(separator: ",") + "]")
        #expect(m.integers == nil)
        #expect(m.floats.map(\.bitPattern) == mixed.map { strtof($0, nil).bitPattern })
        // A request's shape and an INT64 input.
        let r = try InferRequest.decode(Array("{\"inputs\":[{\"name\":\"seed\",\"shape\":[1],\"datatype\":\"INT64\",\"data\":[7]},{\"name\":\"count\",\"shape\":[1],\"datatype\":\"INT64\",\"data\":[64]}]}".utf8), headerLength: nil)
        #expect(r.inputs.map(\.values) == [.int64([7]), .int64([64])])
    }
}
