/// Errors of the evaluation module: one line naming the file (or "-" when there is none) and what
/// went wrong, e.g. `classifier.h5: trained on other data (stored fnv1a64:..., expected ...)`.
public struct EvalError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Kind: String, Sendable {
        /// The file is not a classifier file, or its layout is not the expected one.
        case format
        /// The file is a valid classifier but for other training data, architecture or settings.
        case stale
        /// Inputs of the wrong size or value range.
        case invalidInput
        /// A LAPACK routine reported failure.
        case numerical
        /// A file-system operation failed.
        case io
    }

    public let kind: Kind
    public let file: String
    public let message: String

    public init(_ kind: Kind, _ file: String, _ message: String) {
        self.kind = kind
        self.file = file
        self.message = message
    }

    public var description: String { "\(file): \(message)" }
}
