import Foundation
import GANFiles

/// Where a writer streams its bytes: a file, written crash-safely through `AtomicFile` (the
/// hidden `.NAME.tmp`, renamed over NAME by `commit()`; removed if never committed), or standard
/// output. Every failure is a `FileWriteError`.
final class OutputFile {
    let name: String
    /// nil: standard output.
    private let file: AtomicFile?

    private init(name: String, file: AtomicFile?) {
        self.name = name
        self.file = file
    }

    static func standardOutput() -> OutputFile {
        fflush(nil)  // whatever print() has buffered goes first
        return OutputFile(name: "standard output", file: nil)
    }

    static func create(_ path: String) throws -> OutputFile { OutputFile(name: path, file: try AtomicFile(path)) }

    func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        if let file {
            try file.write(bytes)
        } else if let code = FileDescriptor.writeAll(STDOUT_FILENO, bytes, name: name) {
            throw FileWriteError(name, code: code)
        }
    }

    func commit() throws { try file?.commit() }
}
