/// A schema-level problem with a checkpoint: one line, `FILE: PATH: what was expected and found`.
public struct CheckpointError: Error, CustomStringConvertible, Equatable {
    public var file: String
    public var path: String
    public var message: String
    public init(_ file: String, _ path: String, _ message: String) {
        self.file = file
        self.path = path
        self.message = message
    }
    public var description: String { "\(file): \(path): \(message)" }
}
