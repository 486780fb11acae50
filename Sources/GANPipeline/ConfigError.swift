import Foundation

/// A problem with a pipeline configuration, on one line:
/// `FILE:LINE:COLUMN: KEY.PATH: message`, or `--set KEY=VALUE: KEY.PATH: message` when the value came
/// from an override. Syntax errors have no key path; an unreadable file has no position.
public struct ConfigError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Origin: Equatable, Sendable {
        /// A position in the file (1-based line and column).
        case file(String, line: Int, column: Int)
        /// A `--set` override; the associated text is `KEY.PATH=VALUE` as given.
        case override(String)
        /// The file as a whole (e.g. it cannot be read).
        case unlocated(String)
    }

    public var origin: Origin
    /// The dotted key the error is about (`generator_optimizer.learning_rate`, `generator.hidden[1]`).
    public var key: String?
    public var message: String

    public init(origin: Origin, key: String?, message: String) {
        self.origin = origin
        self.key = key
        self.message = message
    }

    public var description: String {
        let place = switch origin {
        case .file(let file, let line, let column): "\(file):\(line):\(column)"
        case .override(let text): "--set \(text)"
        case .unlocated(let file): file
        }
        let text = [place, key, message].compactMap { $0 }.joined(separator: ": ")
        return text.split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}

/// One step of a key path: a mapping key or a list index.
enum PathKey: Equatable, Sendable {
    case key(String)
    case index(Int)

    init(_ codingKey: CodingKey) {
        self = codingKey.intValue.map(PathKey.index) ?? .key(codingKey.stringValue)
    }
}

extension Array where Element == PathKey {
    /// `generator.hidden[1]`
    var dotted: String {
        var out = ""
        for k in self {
            switch k {
            case .key(let s): out += out.isEmpty ? s : "." + s
            case .index(let i): out += "[\(i)]"
            }
        }
        return out
    }

    init(dotted: String) {
        self = dotted.split(separator: ".").map { .key(String($0)) }
    }
}

/// An error found while decoding or validating, before it has a location.
struct ConfigIssue: Error {
    var path: [PathKey]
    var message: String

    init(path: [PathKey], message: String) {
        self.path = path
        self.message = message
    }

    init(codingPath: [CodingKey], message: String) {
        self.init(path: codingPath.map(PathKey.init), message: message)
    }
}

enum KeySuggestion {
    /// The closest known key to a misspelt one, if it is close enough to be a likely typo
    /// (also catches camelCase and dashes: `learningRate`, `learning-rate` -> `learning_rate`).
    static func closest(to key: String, in known: [String]) -> String? {
        var snake = ""
        for ch in key {
            if ch.isUppercase { snake += (snake.isEmpty ? "" : "_") + ch.lowercased() } else { snake.append(ch) }
        }
        snake = snake.replacingOccurrences(of: "-", with: "_")
        if known.contains(snake) { return snake }
        var best: (key: String, distance: Int)?
        for candidate in known {
            let d = distance(snake, candidate)
            if d <= max(1, min(3, candidate.count / 4)), d < best?.distance ?? .max { best = (candidate, d) }
        }
        return best?.key
    }

    /// Optimal-string-alignment distance (Levenshtein plus adjacent transpositions).
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
        var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = Swift.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    d[i][j] = Swift.min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[a.count][b.count]
    }

    /// "unknown key (did you mean `x`?)" or "unknown key; expected one of: ...".
    static func unknownKeyMessage(_ key: String, known: [String]) -> String {
        if let s = closest(to: key, in: known) { return "unknown key (did you mean `\(s)`?)" }
        return "unknown key; expected one of: " + known.joined(separator: ", ")
    }
}
