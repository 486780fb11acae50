import Foundation
import Testing

/// A `gan-sample serve` process on a free loopback port, stopped (SIGKILL) when released.
final class ServeProcess {
    let child: Child
    let port: Int

    /// Starts `gan-sample serve ARGS --port 0` and waits for its "serving ... on http://HOST:PORT" line.
    init(_ arguments: [String]) throws {
        let bin = try #require(ImageFixture.binary, "gan-sample is not built")
        child = try Child(bin.path, ["serve"] + arguments + ["--port", "0"])
        let deadline = Date().addingTimeInterval(30)
        var found: Int?
        while found == nil, Date() < deadline, child.isRunning {
            if let line = child.errorOutput().split(separator: "\n").first(where: { $0.contains(" on http://127.0.0.1:") }),
               let p = line.split(separator: ":").last.flatMap({ Int($0) }) {
                found = p
            } else {
                usleep(20_000)
            }
        }
        guard let found else { throw ServeTestError("server did not start: \(child.errorOutput())") }
        port = found
    }

    func request(_ method: String, _ path: String, headers: [String: String] = [:], body: [UInt8] = []) throws -> HTTPAnswer {
        try HTTPAnswer.send(port: port, method, path, headers: headers, body: body)
    }

    /// POST JSON to /v2/models/MODEL/infer.
    func infer(_ model: String, _ json: String, headers: [String: String] = [:]) throws -> HTTPAnswer {
        try request("POST", "/v2/models/\(model)/infer", headers: ["Content-Type": "application/json"].merging(headers) { $1 }, body: Array(json.utf8))
    }

    /// The value of one sample of a Prometheus metric (its name with labels, as printed).
    func metric(_ series: String) throws -> Double? {
        let text = try request("GET", "/metrics").text
        return text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last!) }
    }
}

struct ServeTestError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// One HTTP/1.1 exchange over a fresh loopback connection (`Connection: close`), written with
/// plain sockets so that the tests control every byte: no client library adds or hides
/// `Expect`, retries, or pools connections across a shutdown.
struct HTTPAnswer {
    var status: Int
    /// Lower-cased names.
    var headers: [String: String]
    var body: [UInt8]
    var text: String { String(decoding: body, as: UTF8.self) }

    enum Failure: Error { case connect(Int32), io(String) }

    static func connect(port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var timeout = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        if rc != 0 {
            let e = errno
            close(fd)
            throw Failure.connect(e)
        }
        return fd
    }

    static func head(_ method: String, _ path: String, headers: [String: String], bodyLength: Int) -> [UInt8] {
        var text = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        if headers["Content-Length"] == nil, method == "POST" || bodyLength > 0 { text += "Content-Length: \(bodyLength)\r\n" }
        for (k, v) in headers.sorted(by: { $0.key < $1.key }) { text += "\(k): \(v)\r\n" }
        return Array((text + "\r\n").utf8)
    }

    static func send(port: Int, _ method: String, _ path: String, headers: [String: String] = [:], body: [UInt8] = []) throws -> HTTPAnswer {
        let fd = try connect(port: port)
        defer { close(fd) }
        try write(fd, head(method, path, headers: headers, bodyLength: body.count) + body)
        return try read(fd)
    }

    static func write(_ fd: Int32, _ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Failure.io("send failed: \(String(cString: strerror(errno)))") }
            sent += n
        }
    }

    /// Reads until the server closes (`Connection: close`), then parses the response.
    static func read(_ fd: Int32) throws -> HTTPAnswer {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { break }
            guard n > 0 else { throw Failure.io("recv failed after \(data.count) bytes: \(String(cString: strerror(errno)))") }
            data += buffer[0..<n]
        }
        return try parse(data)
    }

    /// Parses a response (skipping interim 1xx heads); the body is what follows the head, cut at
    /// Content-Length.
    static func parse(_ data: [UInt8]) throws -> HTTPAnswer {
        var rest = data[...]
        while true {
            guard let end = rest.firstRange(of: Array("\r\n\r\n".utf8)) else { throw Failure.io("no complete response head in \(data.count) bytes") }
            let lines = String(decoding: rest[..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
            let parts = lines[0].split(separator: " ")
            guard parts.count >= 2, let status = Int(parts[1]) else { throw Failure.io("bad status line \(lines[0])") }
            rest = rest[end.upperBound...]
            if (100..<200).contains(status) { continue }
            var headers: [String: String] = [:]
            for line in lines.dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            var body = Array(rest)
            if let length = headers["content-length"].flatMap({ Int($0) }), length < body.count { body = Array(body[..<length]) }
            return HTTPAnswer(status: status, headers: headers, body: body)
        }
    }

    /// The FP32 `data` of the first output of a JSON inference answer, read from its text with
    /// Swift's own float parser (never through a Double).
    var floats: [Float] {
        guard let r = text.range(of: "\"data\":[") else { return [] }
        let list = text[r.upperBound...].prefix { $0 != "]" }
        return list.split(separator: ",").map { Float(String($0))! }
    }

    /// The `error` message of an error answer.
    var error: String? {
        (try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])?["error"] as? String
    }
}

/// Request bodies of the protocol.
enum OIP {
    static func generate(seed: Int, count: Int, extra: String = "") -> String {
        """
        {"inputs":[{"name":"seed","shape":[1],"datatype":"INT64","data":[\(seed)]},\
        {"name":"count","shape":[1],"datatype":"INT64","data":[\(count)]}]\(extra)}
        """
    }

    static func tensor(_ name: String, shape: [Int], _ values: [Float]) -> String {
        """
        {"inputs":[{"name":"\(name)","shape":[\(shape.map(String.init).joined(separator: ","))],"datatype":"FP32",\
        "data":[\(values.map(\.description).joined(separator: ","))]}]}
        """
    }

    /// Floats of a CSV text (one row per line; a header line is skipped).
    static func csv(_ text: String) -> [Float] {
        text.split(separator: "\n").flatMap { $0.split(separator: ",").compactMap { Float(String($0)) } }
    }
}
