import Foundation

/// A request the server answers with an error status and `{"error": message}`: the one error
/// shape of every endpoint (the Open Inference Protocol's).
public struct InferenceError: Error, CustomStringConvertible, Equatable {
    public var status: Int
    public var message: String
    public init(_ status: Int, _ message: String) {
        self.status = status
        self.message = message
    }
    public var description: String { "\(status): \(message)" }

    public static func badRequest(_ message: String) -> InferenceError { InferenceError(400, message) }

    /// The response body: `{"error": "..."}`.
    public var body: [UInt8] {
        var w = JSONWriter()
        w.raw("{\"error\":")
        w.string(message)
        w.raw("}")
        return w.bytes
    }
}

/// A tensor's elements: the two datatypes the GAN models take (FP32 samples, noise and data;
/// INT64 seeds and counts).
public enum TensorValues: Equatable {
    case fp32([Float])
    case int64([Int64])

    public var datatype: String {
        switch self {
        case .fp32: "FP32"
        case .int64: "INT64"
        }
    }

    public var count: Int {
        switch self {
        case .fp32(let v): v.count
        case .int64(let v): v.count
        }
    }
}

/// One named input tensor of an inference request.
public struct InferTensor: Equatable {
    public var name: String
    public var shape: [Int]
    public var values: TensorValues

    public init(name: String, shape: [Int], values: TensorValues) {
        self.name = name
        self.shape = shape
        self.values = values
    }
}

/// An Open Inference Protocol (KServe v2) inference request, JSON or with the binary tensor
/// extension (`Inference-Header-Content-Length`: the JSON header, then the raw little-endian bytes
/// of each input whose `parameters.binary_data_size` says so, in input order).
public struct InferRequest {
    public var id: String?
    public var inputs: [InferTensor]
    /// Outputs named in `outputs` (nil: all).
    public var requestedOutputs: [String]?
    /// Outputs to send as raw bytes: `parameters.binary_data` of a requested output, or all of
    /// them with the request's `parameters.binary_data_output`.
    public var binaryOutputs: Set<String> = []
    public var allOutputsBinary = false

    public func wantsBinary(_ output: String) -> Bool { allOutputsBinary || binaryOutputs.contains(output) }

    /// Datatypes of the protocol that this server recognises but does not take: named in the
    /// error instead of "unknown".
    static let otherDatatypes: Set<String> = ["BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32",
                                              "FP16", "FP64", "BF16", "BYTES"]

    /// - Parameter headerLength: the `Inference-Header-Content-Length` value (nil: all JSON).
    public static func decode(_ body: [UInt8], headerLength: Int?) throws -> InferRequest {
        try body.withUnsafeBytes { try decode($0, headerLength: headerLength) }
    }

    /// Decodes the body in place (the request's buffer, not a copy of it).
    public static func decode(_ body: UnsafeRawBufferPointer, headerLength: Int?) throws -> InferRequest {
        var json = body
        var binary = UnsafeRawBufferPointer(start: nil, count: 0)
        if let headerLength {
            guard headerLength >= 0, headerLength <= body.count else {
                throw InferenceError.badRequest("Inference-Header-Content-Length is \(headerLength), the body has \(body.count) bytes")
            }
            json = UnsafeRawBufferPointer(rebasing: body[..<headerLength])
            binary = UnsafeRawBufferPointer(rebasing: body[headerLength...])
        }
        let doc: JSONDocument
        do { doc = try JSONDocument(json) } catch let e as JSONError { throw InferenceError.badRequest(e.description) }
        guard case .object = doc.root else { throw InferenceError.badRequest("the request must be a JSON object, got \(doc.root.kindName)") }
        var request = InferRequest(inputs: [])
        if let id = doc.root["id"] {
            guard case .string(let s) = id else { throw InferenceError.badRequest("\"id\" must be a string, got \(id.kindName)") }
            request.id = s
        }
        if let p = doc.root["parameters"], case .bool(true)? = p["binary_data_output"] { request.allOutputsBinary = true }
        guard let inputs = doc.root["inputs"] else { throw InferenceError.badRequest("the request has no \"inputs\"") }
        guard case .array(let list) = inputs else { throw InferenceError.badRequest("\"inputs\" must be an array, got \(inputs.kindName)") }
        for item in list {
            request.inputs.append(try tensor(item, binary: &binary, binaryAllowed: headerLength != nil))
        }
        guard binary.isEmpty else {
            throw InferenceError.badRequest("\(binary.count) bytes of binary data follow the JSON header that no input's binary_data_size accounts for")
        }
        if let outputs = doc.root["outputs"] {
            guard case .array(let list) = outputs else { throw InferenceError.badRequest("\"outputs\" must be an array, got \(outputs.kindName)") }
            request.requestedOutputs = []
            for o in list {
                guard case .string(let name)? = o["name"] else { throw InferenceError.badRequest("every requested output needs a \"name\" string") }
                request.requestedOutputs?.append(name)
                if case .bool(true)? = o["parameters"]?["binary_data"] { request.binaryOutputs.insert(name) }
            }
        }
        return request
    }

    static func tensor(_ item: JSONValue, binary: inout UnsafeRawBufferPointer, binaryAllowed: Bool) throws -> InferTensor {
        guard case .object = item else { throw InferenceError.badRequest("every input must be an object, got \(item.kindName)") }
        guard case .string(let name)? = item["name"] else { throw InferenceError.badRequest("every input needs a \"name\" string") }
        func bad(_ what: String) -> InferenceError { .badRequest("input \"\(name)\": \(what)") }
        guard case .string(let datatype)? = item["datatype"] else { throw bad("needs a \"datatype\" string (FP32 or INT64)") }
        var dims: [Int64] = []
        switch item["shape"] {
        case .numbers(let n)?:
            guard let d = n.integers, d.allSatisfy({ $0 >= 0 && $0 <= Int64(Int32.max) }) else { throw bad("\"shape\" must hold non-negative integers") }
            dims = d
        case .array(let items)? where items.isEmpty:
            break  // a scalar
        case .array?:
            throw bad("\"shape\" must hold non-negative integers")
        default:
            throw bad("needs a \"shape\" array")
        }
        var shape: [Int] = [], count = 1
        for v in dims {
            shape.append(Int(v))
            let (c, o) = count.multipliedReportingOverflow(by: Int(v))
            guard !o, c <= 1 << 30 else { throw bad("shape \(shape) is too large") }
            count = c
        }
        guard datatype == "FP32" || datatype == "INT64" else {
            throw bad(otherDatatypes.contains(datatype) ? "datatype \(datatype) is not taken by this server (FP32 or INT64)"
                                                        : "unknown datatype \"\(datatype)\" (FP32 or INT64)")
        }
        let width = datatype == "INT64" ? 8 : 4
        if case .number(let n)? = item["parameters"]?["binary_data_size"] {
            guard binaryAllowed else { throw bad("binary_data_size without an Inference-Header-Content-Length header") }
            guard let size = n.integers?.first, size == Int64(count * width) else {
                throw bad("binary_data_size \(n.floats[0]) is not \(count) \(datatype) values (\(count * width) bytes)")
            }
            guard binary.count >= Int(size) else { throw bad("binary_data_size \(size), but only \(binary.count) bytes remain") }
            let bytes = UnsafeRawBufferPointer(rebasing: binary[..<Int(size)])
            binary = UnsafeRawBufferPointer(rebasing: binary[Int(size)...])
            return InferTensor(name: name, shape: shape, values: littleEndian(bytes, datatype: datatype, count: count))
        }
        guard let data = item["data"] else { throw bad("needs \"data\" (or binary_data_size with the binary extension)") }
        var pieces: [JSONNumbers] = []
        var found = 0
        try flatten(data, into: &pieces, found: &found, limit: count, name: name)
        guard found == count else { throw bad("shape \(shape) needs \(count) values, \"data\" has \(found)") }
        if datatype == "FP32" {
            if let text = pieces.lazy.compactMap(\.firstOutOfRange).first { throw bad("\(text) is out of range for FP32") }
            return InferTensor(name: name, shape: shape, values: .fp32(pieces.count == 1 ? pieces[0].floats : pieces.flatMap(\.floats)))
        }
        var values: [Int64] = []
        values.reserveCapacity(count)
        for piece in pieces {
            guard let v = piece.integers else { throw bad("\"data\" holds a number that is not an INT64 integer") }
            values += v
        }
        return InferTensor(name: name, shape: shape, values: .int64(values))
    }

    /// The protocol allows `data` flat or nested (row-major); both read as one flat list of
    /// pieces (the parser's arrays of numbers).
    static func flatten(_ v: JSONValue, into out: inout [JSONNumbers], found: inout Int, limit: Int, name: String) throws {
        switch v {
        case .number(let n), .numbers(let n):
            out.append(n)
            found += n.count
        case .array(let items):
            for item in items {
                try flatten(item, into: &out, found: &found, limit: limit, name: name)
                guard found <= limit else { return }  // the count check reports it
            }
        default:
            throw InferenceError.badRequest("input \"\(name)\": \"data\" must hold only numbers, found \(v.kindName)")
        }
    }

    static func littleEndian(_ raw: UnsafeRawBufferPointer, datatype: String, count: Int) -> TensorValues {
        if datatype == "FP32" {
            return .fp32((0..<count).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) })
        }
        return .int64((0..<count).map { Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self)) })
    }
}

/// One output tensor of a response (the GAN models answer FP32 only).
public struct InferOutput {
    public var name: String
    public var shape: [Int]
    public var values: [Float]

    public init(name: String, shape: [Int], values: [Float]) {
        self.name = name
        self.shape = shape
        self.values = values
    }
}

/// An inference response, encoded as JSON or with the binary tensor extension.
public struct InferResponse {
    public var modelName: String
    public var modelVersion: String
    public var id: String?
    /// Response-level `parameters` (string values).
    public var parameters: [(String, String)] = []
    public var outputs: [InferOutput]

    public init(modelName: String, modelVersion: String, id: String?, parameters: [(String, String)] = [], outputs: [InferOutput]) {
        self.modelName = modelName
        self.modelVersion = modelVersion
        self.id = id
        self.parameters = parameters
        self.outputs = outputs
    }

    /// The body and, when an output travels as raw bytes, the JSON header's length (the value
    /// of the response's `Inference-Header-Content-Length`).
    public func encode(binary: (String) -> Bool) -> (body: [UInt8], headerLength: Int?) {
        let values = outputs.reduce(0) { $0 + $1.values.count }
        var w = JSONWriter(capacity: 256 + 14 * values)
        w.raw("{\"model_name\":")
        w.string(modelName)
        w.raw(",\"model_version\":")
        w.string(modelVersion)
        if let id {
            w.raw(",\"id\":")
            w.string(id)
        }
        if !parameters.isEmpty {
            w.raw(",\"parameters\":{")
            for (k, (key, value)) in parameters.enumerated() {
                if k > 0 { w.raw(",") }
                w.string(key)
                w.raw(":")
                w.string(value)
            }
            w.raw("}")
        }
        w.raw(",\"outputs\":[")
        var raw: [UInt8] = []
        for (k, o) in outputs.enumerated() {
            if k > 0 { w.raw(",") }
            w.raw("{\"name\":")
            w.string(o.name)
            w.raw(",\"datatype\":\"FP32\",\"shape\":")
            w.integers(o.shape)
            if binary(o.name) {
                w.raw(",\"parameters\":{\"binary_data_size\":\(4 * o.values.count)}}")
                o.values.withUnsafeBufferPointer { p in
                    for v in p { withUnsafeBytes(of: v.bitPattern.littleEndian) { raw.append(contentsOf: $0) } }
                }
            } else {
                w.raw(",\"data\":")
                o.values.withUnsafeBufferPointer { w.floats($0) }
                w.raw("}")
            }
        }
        w.raw("]}")
        if raw.isEmpty { return (w.bytes, nil) }
        let header = w.bytes.count
        return (w.bytes + raw, header)
    }
}
