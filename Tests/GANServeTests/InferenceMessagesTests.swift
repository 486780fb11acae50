import Foundation
@testable import GANServe
import Testing

@Suite struct JSONNumberTests {
    /// Every float32 must read back exactly from its shortest decimal (what our responses and
    /// Swift clients write) and from the 17-digit double text Python's json writes for a float32
    /// widened to float64; the fast path and strtof must agree with Swift's own parser.
    @Test func float32ReadsBackExactlyFromShortestAndPythonText() throws {
        var rng = SystemRandomNumberGenerator()
        var texts: [String] = ["0", "-0", "1", "0.1", "1e-45", "3.4028235e38", "-3.4028235e+38", "16777217", "1.17549435e-38",
                               "123456789", "0.000123", "5e-324", "12345678", "9.99999999e9",
                               // float midpoints (ties to even) and values just beside them
                               "16777219", "33554434", "1.000000059604644775390625", "1.0000000596046448", "1.0000000596046449",
                               "3.4028235677973366e38", "7.006492321624085e-46", "1.401298464324817e-45", "9007199254740993"]
        for _ in 0..<20_000 {
            let f = Float(bitPattern: UInt32.random(in: 0...UInt32.max, using: &rng))
            guard f.isFinite else { continue }
            texts.append(f.description)
            texts.append(String(format: "%.17g", Double(f)))
            texts.append(Double(f).description)
        }
        let json = "[" + texts.joined(separator: ",") + "]"
        let doc = try JSONDocument(Array(json.utf8))
        guard case .numbers(let n) = doc.root else { Issue.record("not an array of numbers"); return }
        #expect(n.count == texts.count)
        #expect(n.firstOutOfRange == nil)
        #expect(n.integers == nil)
        for (text, got) in zip(texts, n.floats) {
            let expected = Float(text)!
            #expect(got.bitPattern == expected.bitPattern, "\(text): \(got) != \(expected)")
        }
        // One at a time (a number outside an array) reads the same.
        for text in texts.prefix(200) {
            guard case .number(let one) = try JSONDocument(Array(text.utf8)).root else { Issue.record("\(text)"); continue }
            #expect(one.floats[0].bitPattern == Float(text)!.bitPattern)
        }
    }

    @Test func outOfRangeFloatsAndNonIntegersAreFlagged() throws {
        func numbers(_ text: String) throws -> JSONNumbers {
            guard case .numbers(let n) = try JSONDocument(Array(text.utf8)).root else { throw JSONError(description: "not numbers") }
            return n
        }
        #expect(try numbers("[1, 1e39, -1e39]").firstOutOfRange == "1e39")
        #expect(try numbers("[9223372036854775807, -9223372036854775808, 0]").integers == [Int64.max, Int64.min, 0])
        #expect(try numbers("[9223372036854775808]").integers == nil)
        #expect(try numbers("[1, 2.5]").integers == nil)
        #expect(try numbers("[1e2]").integers == nil)
        let special = try numbers("[NaN, -Infinity, Infinity]")
        #expect(special.floats[0].isNaN && special.floats[1] == -.infinity && special.floats[2] == .infinity && special.firstOutOfRange == nil)
        // A mixed array is an ordinary array of values.
        guard case .array(let mixed) = try JSONDocument(Array("[1, \"a\", [2, 3]]".utf8)).root else { Issue.record("mixed"); return }
        #expect(mixed.count == 3)
        if case .numbers(let inner) = mixed[2] { #expect(inner.integers == [2, 3]) } else { Issue.record("inner array") }
    }

    @Test(arguments: ["", "{", "[1,]", "{\"a\" 1}", "01", "1.", "-", "[1] 2", "\"abc", "{\"a\":tru}", "[" + String(repeating: "[", count: 70)])
    func malformedJSONIsAnError(_ text: String) {
        #expect(throws: JSONError.self) { try JSONDocument(Array(text.utf8)) }
    }

    @Test func writerEscapesStringsAndSpellsNonFiniteFloatsAsPython() throws {
        var w = JSONWriter()
        w.raw("[")
        w.string("a\"b\\c\n\u{01}é")
        w.raw(",")
        [Float.nan, .infinity, -.infinity, 0.1, -0.0].withUnsafeBufferPointer { w.floats($0) }
        w.raw("]")
        #expect(String(decoding: w.bytes, as: UTF8.self) == "[\"a\\\"b\\\\c\\n\\u0001é\",[NaN,Infinity,-Infinity,0.1,-0.0]]")
        let back = try JSONDocument(w.bytes)
        guard case .array(let items) = back.root, case .string(let s) = items[0] else { Issue.record("not read back"); return }
        #expect(s == "a\"b\\c\n\u{01}é")
    }
}

@Suite struct InferRequestTests {
    func decode(_ json: String, binary: [UInt8] = []) throws -> InferRequest {
        try InferRequest.decode(Array(json.utf8) + binary, headerLength: binary.isEmpty ? nil : json.utf8.count)
    }

    func status(_ json: String) -> Int? {
        do { _ = try decode(json); return nil } catch let e as InferenceError { return e.status } catch { return -1 }
    }

    @Test func readsFlatAndNestedDataWithIdAndRequestedOutputs() throws {
        let r = try decode("""
        {"id": "r1", "inputs": [{"name": "z", "shape": [2, 2], "datatype": "FP32", "data": [[0.5, -1], [3e-2, 4]]},
                                {"name": "seed", "shape": [1], "datatype": "INT64", "data": [9007199254740993]}],
         "outputs": [{"name": "samples", "parameters": {"binary_data": true}}]}
        """)
        #expect(r.id == "r1")
        #expect(r.inputs[0] == InferTensor(name: "z", shape: [2, 2], values: .fp32([0.5, -1, 0.03, 4])))
        #expect(r.inputs[1].values == .int64([9_007_199_254_740_993]))
        #expect(r.requestedOutputs == ["samples"])
        #expect(r.wantsBinary("samples"))
        #expect(!r.wantsBinary("other"))
    }

    @Test func readsTheBinaryExtension() throws {
        var bytes: [UInt8] = []
        for v: Float in [1.5, -2, 0.1] { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes += $0 } }
        for v: Int64 in [7] { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        let r = try decode("""
        {"inputs": [{"name": "x", "shape": [3], "datatype": "FP32", "parameters": {"binary_data_size": 12}},
                    {"name": "n", "shape": [1], "datatype": "INT64", "parameters": {"binary_data_size": 8}}],
         "parameters": {"binary_data_output": true}}
        """, binary: bytes)
        #expect(r.inputs[0].values == .fp32([1.5, -2, 0.1]))
        #expect(r.inputs[1].values == .int64([7]))
        #expect(r.wantsBinary("anything"))
        // Bytes left over, or too few, are errors.
        #expect(throws: InferenceError.self) {
            try decode("{\"inputs\": [{\"name\": \"x\", \"shape\": [1], \"datatype\": \"FP32\", \"parameters\": {\"binary_data_size\": 4}}]}",
                       binary: bytes)
        }
        #expect(throws: InferenceError.self) { try InferRequest.decode(Array("{}".utf8), headerLength: 5) }
    }

    @Test(arguments: [
        "{}",                                                                         // no inputs
        "{\"inputs\": {}}",                                                           // inputs not an array
        "{\"inputs\": [{\"shape\": [1], \"datatype\": \"FP32\", \"data\": [1]}]}",    // no name
        "{\"inputs\": [{\"name\": \"x\", \"shape\": [2], \"datatype\": \"FP32\", \"data\": [1]}]}",  // count
        "{\"inputs\": [{\"name\": \"x\", \"shape\": [-1], \"datatype\": \"FP32\", \"data\": []}]}",  // negative dim
        "{\"inputs\": [{\"name\": \"x\", \"shape\": [1], \"datatype\": \"FP64\", \"data\": [1]}]}",  // datatype
        "{\"inputs\": [{\"name\": \"x\", \"shape\": [1], \"datatype\": \"NOPE\", \"data\": [1]}]}",
        "{\"inputs\": [{\"name\": \"x\", \"shape\": [1], \"datatype\": \"INT64\", \"data\": [1.5]}]}",  // not an integer
        "{\"inputs\": [{\"name\": \"x\", \"shape\": [1], \"datatype\": \"FP32\", \"data\": [\"1\"]}]}",  // a string
        "{\"inputs\": [{\"name\": \"x\", \"shape\": [1], \"datatype\": \"FP32\", \"data\": [1e40]}]}",  // FP32 range
        "{\"inputs\": [{\"name\": \"x\", \"shape\": [1], \"datatype\": \"FP32\", \"parameters\": {\"binary_data_size\": 4}}]}",
        "{\"id\": 3, \"inputs\": []}",
        "[]",
    ])
    func malformedRequestsAre400(_ json: String) {
        #expect(status(json) == 400)
    }

    @Test func responseEncodesJSONOrRawBytes() throws {
        let response = InferResponse(modelName: "m-g", modelVersion: "5", id: "q", parameters: [("step", "5")],
                                     outputs: [InferOutput(name: "samples", shape: [1, 2], values: [0.1, -3])])
        let (json, none) = response.encode { _ in false }
        #expect(none == nil)
        #expect(String(decoding: json, as: UTF8.self) == """
        {"model_name":"m-g","model_version":"5","id":"q","parameters":{"step":"5"},"outputs":[{"name":"samples","datatype":"FP32","shape":[1,2],"data":[0.1,-3.0]}]}
        """)
        let (body, header) = response.encode { $0 == "samples" }
        let length = try #require(header)
        let doc = try JSONDocument(Array(body[..<length]))
        #expect(doc.root["outputs"].map { if case .array(let o) = $0 { return o[0]["data"] == nil } else { return false } } == true)
        let raw = Array(body[length...])
        #expect(raw.count == 8)
        let values = raw.withUnsafeBytes { p in (0..<2).map { Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) } }
        #expect(values == [0.1, -3])
    }
}
