import Foundation
import GANNN
import GANServe

/// The parsed body does not hold the values it was printed from.
struct JSONFloatsMismatch: Error, CustomStringConvertible {
    var description: String
}

extension GANBench {
    /// `json_floats`: the server's JSON parser on a 64-row score request of the mlp_gan
    /// discriminator (`{"inputs":[{"name":"x","shape":[64,784],"datatype":"FP32","data":[...]}]}`,
    /// 50,176 seeded sigmoid outputs printed as `gan-sample generate` and Swift's `Float.description`
    /// print them: ~10 bytes each, as Benchmarks/serve-bench.sh's score64 body). Times `JSONDocument`
    /// (the parse alone) and `InferRequest.decode` (parse + the FP32 tensor), each as the median
    /// over 11 rounds of `iters / 10` parses, in ns per number, and the parse of the same values
    /// as Python clients print them (json's repr of the float32 widened to a Double: ~17 digits);
    /// checks that every value reads back bit for bit. The RESULT line's timing (it_per_s) is the document rounds'.
    func benchJSONFloats() throws -> BenchResult {
        let rows = 64, columns = 784, count = rows * columns
        var rng = RNG(seed: seed, stream: .jsonFloats)
        var values = [Float](repeating: 0, count: count)
        values.withUnsafeMutableBufferPointer { rng.fillNormal($0.baseAddress!, count: count, std: 0.5) }
        values = values.map { 1 / (1 + exp(-$0)) }  // G's sigmoid: values in (0, 1), ~0.2 to 0.8
        func request(_ numbers: [String]) -> [UInt8] {
            Array(("{\"inputs\":[{\"name\":\"x\",\"shape\":[\(rows),\(columns)],\"datatype\":\"FP32\",\"data\":["
                   + numbers.joined(separator: ",") + "]}]}").utf8)
        }
        let body = request(values.map(\.description))
        // As Python clients send them: json's repr of each float32 widened to a Double (~17 digits).
        let pythonBody = request(values.map { Double($0).description })

        func parsed(_ doc: JSONDocument) -> [Float]? {
            guard case .array(let inputs)? = doc.root["inputs"], case .numbers(let n)? = inputs.first?["data"] else { return nil }
            return n.floats
        }
        guard let floats = parsed(try JSONDocument(body)), floats.elementsEqual(values, by: { $0.bitPattern == $1.bitPattern }) else {
            throw JSONFloatsMismatch(description: "json_floats: the parsed document differs from the printed values")
        }
        guard let pythonFloats = parsed(try JSONDocument(pythonBody)), pythonFloats.elementsEqual(values, by: { $0.bitPattern == $1.bitPattern }) else {
            throw JSONFloatsMismatch(description: "json_floats: the parsed Python-style document differs from the values")
        }
        let request = try InferRequest.decode(body, headerLength: nil)
        guard case .fp32(let tensor)? = request.inputs.first?.values, tensor == values else {
            throw JSONFloatsMismatch(description: "json_floats: the decoded request differs from the printed values")
        }

        let reps = max(1, iters / 10)
        var failure: Error?
        func round(_ parse: () throws -> Void) -> Double {
            let t0 = Measurement.monotonicSeconds()
            for _ in 0..<reps {
                do { try parse() } catch { failure = error }
            }
            return (Measurement.monotonicSeconds() - t0) / Double(reps * count) * 1e9
        }
        for _ in 0..<warmup {
            _ = try JSONDocument(body)
            _ = try InferRequest.decode(body, headerLength: nil)
        }
        var parse: [Double] = [], decode: [Double] = [], python: [Double] = []
        let m = Measurement.run { for _ in 0..<11 { parse.append(round { _ = try JSONDocument(body) }) } }
        for _ in 0..<11 { decode.append(round { _ = try InferRequest.decode(body, headerLength: nil) }) }
        for _ in 0..<11 { python.append(round { _ = try JSONDocument(pythonBody) }) }
        if let failure { throw failure }
        FileHandle.standardError.write(Data(String(format: "json_floats: %d numbers in %d bytes: %.2f ns per number (JSONDocument; best %.2f), %.2f ns (InferRequest.decode); Python's texts (%d bytes): %.2f ns\n",
                                                   count, body.count, median(parse), parse.min()!, median(decode), pythonBody.count, median(python)).utf8))
        var result = BenchResult(model: model.rawValue, threads: threads, iters: 11 * reps, batch: rows, measurement: m)
        result.extra = [("numbers", count), ("body_bytes", body.count),
                        ("ns_per_number", round2(median(parse))), ("best_ns_per_number", round2(parse.min()!)),
                        ("decode_ns_per_number", round2(median(decode))), ("python_ns_per_number", round2(median(python)))]
        return result
    }
}
