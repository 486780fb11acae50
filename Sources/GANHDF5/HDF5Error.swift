import CHDF5

/// An error from the HDF5 wrapper. `description` is always a single line of the form
/// `FILE: OBJECT: OPERATION failed: HDF5 MESSAGE` (library failures) or `FILE: OBJECT: MESSAGE`
/// (errors found by the wrapper itself, e.g. `... : expected shape [2, 3], found [3, 2]`).
public struct HDF5Error: Error, CustomStringConvertible, Sendable {
    public enum Kind: String, Sendable {
        /// An HDF5 call failed; `operation` names it and `message` is HDF5's innermost message.
        case library
        case notFound
        case alreadyExists
        case shapeMismatch
        case typeMismatch
        case invalidArgument
        /// The wrapper's own integrity check found the file corrupt (see `GlobalHeapCheck`).
        case corrupt
        /// The file was closed before the call.
        case closed
    }

    public var kind: Kind
    /// Path of the HDF5 file in the file system.
    public var file: String
    /// Object path inside the file (e.g. `/weights/w1`), possibly with an attribute name.
    public var object: String
    /// The failing HDF5 function (e.g. `H5Dread`) for `.library` errors, otherwise empty.
    public var operation: String
    public var message: String

    public init(kind: Kind, file: String, object: String, operation: String = "", message: String) {
        self.kind = kind
        self.file = file
        self.object = object
        self.operation = operation
        self.message = message
    }

    public var description: String {
        let text = operation.isEmpty ? message : "\(operation) failed: \(message)"
        return HDF5Error.oneLine("\(file): \(object): \(text)")
    }

    static func oneLine(_ s: String) -> String {
        String(s.map { $0.isNewline ? " " : $0 })
    }
}

/// Error-stack plumbing. Debian's HDF5 is built thread-safe, so both the automatic error printing
/// and the error stack are per thread: every entry point calls `silence()` on its own thread, and
/// failures are collected synchronously (no suspension point between the failing call and `take`).
enum HDF5ErrorStack {
    static func silence() {
        _ = H5Eset_auto2(chdf5_e_default(), nil, nil)
    }

    /// Whether automatic error printing is off on the calling thread.
    static var isSilenced: Bool {
        var fn: H5E_auto2_t? = nil
        var data: UnsafeMutableRawPointer? = nil
        guard H5Eget_auto2(chdf5_e_default(), &fn, &data) >= 0 else { return false }
        return fn == nil
    }

    /// HDF5's innermost message on the calling thread's error stack; clears the stack.
    static func take() -> String {
        var entries: [StackEntry] = []
        withUnsafeMutablePointer(to: &entries) { list in
            _ = H5Ewalk2(chdf5_e_default(), H5E_WALK_UPWARD, { _, err, data in
                guard let err, let data else { return 0 }
                let list = data.assumingMemoryBound(to: [StackEntry].self)
                let desc = err.pointee.desc.map { String(cString: $0) } ?? ""
                let fn = err.pointee.func_name.map { String(cString: $0) } ?? ""
                var minor = ""
                var buf = [CChar](repeating: 0, count: 256)
                if H5Eget_msg(err.pointee.min_num, nil, &buf, buf.count) > 0 {
                    minor = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                }
                list.pointee.append(StackEntry(desc: desc, function: fn, minor: minor))
                return 0
            }, list)
        }
        _ = H5Eclear2(chdf5_e_default())
        // Walking upward, the first entry is the innermost (most specific) one.
        guard let inner = entries.first else { return "unknown HDF5 error (empty error stack)" }
        var text = inner.desc.isEmpty ? inner.minor : inner.desc
        if !inner.minor.isEmpty && !inner.desc.isEmpty && !inner.desc.lowercased().contains(inner.minor.lowercased()) {
            text += " (\(inner.minor))"
        }
        if !inner.function.isEmpty { text = "\(inner.function): \(text)" }
        return HDF5Error.oneLine(text)
    }

    /// Clears the calling thread's error stack (after a call whose failure is expected and handled).
    static func clear() { _ = H5Eclear2(chdf5_e_default()) }
}

private struct StackEntry {
    var desc: String
    var function: String
    var minor: String
}

/// Where an operation happens (file + object), used to build errors.
struct H5Context {
    let file: String
    let object: String

    func at(_ object: String) -> H5Context { H5Context(file: file, object: object) }

    func error(_ kind: HDF5Error.Kind, _ message: String) -> HDF5Error {
        HDF5Error(kind: kind, file: file, object: object, message: message)
    }

    /// Returns `result`, or throws a `.library` error with HDF5's message when it is negative.
    @discardableResult
    func check<T: BinaryInteger>(_ result: T, _ operation: String) throws -> T {
        if result < 0 {
            throw HDF5Error(kind: .library, file: file, object: object, operation: operation,
                            message: HDF5ErrorStack.take())
        }
        return result
    }
}
