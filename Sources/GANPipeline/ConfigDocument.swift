import Foundation
import Yams

/// A composed pipeline file: the Yams node tree (merge keys `<<: *anchor` flattened, positions kept),
/// the `--set` overrides applied onto it, and which paths each override supplied. Every error is
/// located through it: a path is walked through the tree to the node's position, or to the override
/// that put the node there.
struct ConfigDocument {
    let file: String
    private(set) var root: Node
    /// Dotted path -> the override (`KEY=VALUE`) that set or created the node at that path.
    private var overrideOwners: [String: String] = [:]

    init(yaml: String, file: String) throws {
        self.file = file
        let composed: Node?
        do {
            composed = try Yams.compose(yaml: yaml)
        } catch {
            throw Self.syntaxError(error) { line, column in .file(file, line: line, column: column) }
        }
        let root = composed ?? Node([(Node, Node)]())
        guard root.mapping != nil else {
            let mark = root.mark
            throw ConfigError(origin: .file(file, line: mark?.line ?? 1, column: mark?.column ?? 1), key: nil,
                              message: "a pipeline file is a mapping of sections (data:, noise:, generator:, ...)")
        }
        self.root = root
        self.root = try flatten(root)
    }

    // MARK: Overrides

    /// Applies `KEY.PATH=VALUE` (VALUE parsed as YAML), creating missing sections on the way.
    mutating func apply(override text: String) throws {
        let origin = ConfigError.Origin.override(text)
        guard let eq = text.firstIndex(of: "=") else {
            throw ConfigError(origin: origin, key: nil, message: "expected KEY.PATH=VALUE")
        }
        let keyText = text[..<eq].trimmingCharacters(in: .whitespaces)
        let keys = keyText.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !keys.contains("") else {
            throw ConfigError(origin: origin, key: keyText.isEmpty ? nil : keyText, message: "empty key in KEY.PATH")
        }
        var schema = PipelineConfig.schema
        for (i, k) in keys.enumerated() {
            let prefix = keys[...i].joined(separator: ".")
            guard schema.keys.contains(k) else {
                throw ConfigError(origin: origin, key: prefix,
                                  message: KeySuggestion.unknownKeyMessage(k, known: schema.keys))
            }
            if i < keys.count - 1 {
                guard let sub = schema.sections[k] else {
                    throw ConfigError(origin: origin, key: prefix,
                                      message: "not a section; set the whole value (`\(prefix)=...`)")
                }
                schema = sub
            }
        }
        var value: Node
        do {
            value = try Yams.compose(yaml: String(text[text.index(after: eq)...])) ?? Node("null", Tag(.null))
        } catch {
            throw Self.syntaxError(error) { _, _ in origin }
        }
        value = try flatten(value)

        let dotted = keys.joined(separator: ".")
        overrideOwners = overrideOwners.filter { $0.key != dotted && !$0.key.hasPrefix(dotted + ".") }
        overrideOwners[dotted] = text
        root = setting(root, keys[...], to: value, prefix: "", owner: text)
    }

    private mutating func setting(_ node: Node?, _ keys: ArraySlice<String>, to value: Node,
                                  prefix: String, owner: String) -> Node {
        guard let key = keys.first else { return value }
        let path = prefix.isEmpty ? key : prefix + "." + key
        var mapping = node?.mapping ?? Node.Mapping([])
        if let index = mapping.firstIndex(where: { $0.key.string == key }) {
            if keys.count > 1, mapping[index].value.mapping == nil { overrideOwners[path] = owner }  // replaced
            let child = setting(mapping[index].value, keys.dropFirst(), to: value, prefix: path, owner: owner)
            mapping[index] = (key: mapping[index].key, value: child)
        } else {
            if keys.count > 1 { overrideOwners[path] = owner }  // a section created by the override
            mapping[Node(key)] = setting(nil, keys.dropFirst(), to: value, prefix: path, owner: owner)
        }
        return .mapping(mapping)
    }

    // MARK: Checks and locations

    /// Rejects keys the schema does not know, at any depth, in document order.
    func checkUnknownKeys() throws {
        func check(_ node: Node, _ schema: ConfigSchema, _ path: [PathKey]) throws {
            guard let mapping = node.mapping else { return }  // decoding reports the wrong type
            for (k, v) in mapping {
                let name = k.string ?? "\(k)"
                guard schema.keys.contains(name) else {
                    throw error(path + [.key(name)], KeySuggestion.unknownKeyMessage(name, known: schema.keys),
                                atKey: true)
                }
                if let sub = schema.sections[name] { try check(v, sub, path + [.key(name)]) }
            }
        }
        try check(root, PipelineConfig.schema, [])
    }

    /// An error about `path`, located at the value's position (or its key's, with `atKey`), at the
    /// key of the deepest existing section when the path does not exist (a missing key), or at the
    /// override that supplied it.
    func error(_ path: [PathKey], _ message: String, atKey: Bool = false) -> ConfigError {
        let (mark, owner) = locate(path, atKey: atKey)
        let origin = owner.map(ConfigError.Origin.override)
            ?? .file(file, line: mark?.line ?? 1, column: mark?.column ?? 1)
        return ConfigError(origin: origin, key: path.isEmpty ? nil : path.dotted, message: message)
    }

    /// The override that supplied the node at `path`, if any.
    func overrideOwner(of path: [PathKey]) -> String? { locate(path, atKey: false).owner }

    private func locate(_ path: [PathKey], atKey: Bool) -> (mark: Mark?, owner: String?) {
        var node = root, mark = root.mark, owner: String?, walked: [PathKey] = []
        for (i, step) in path.enumerated() {
            var child: Node?, keyMark: Mark?
            switch step {
            case .key(let k):
                if let pair = node.mapping?.first(where: { $0.key.string == k }) { (child, keyMark) = (pair.value, pair.key.mark) }
            case .index(let j):
                if let items = node.sequence, j >= 0, j < items.count { (child, keyMark) = (items[j], items[j].mark) }
            }
            guard let child else { break }
            walked.append(step)
            if let o = overrideOwners[walked.dotted] { owner = o }
            node = child
            mark = (i == path.count - 1 && !atKey ? child.mark : keyMark) ?? mark
        }
        return (mark, owner)
    }

    /// Converts a `DecodingError` into a located one-line error.
    func error(for decodingError: DecodingError) -> ConfigError {
        switch decodingError {
        case .typeMismatch(let type, let context):
            return error(context.codingPath.map(PathKey.init), Self.expectation(type))
        case .valueNotFound(let type, let context):
            return error(context.codingPath.map(PathKey.init), Self.expectation(type))
        case .keyNotFound(let key, let context):
            return error((context.codingPath + [key]).map(PathKey.init), "missing required key")
        case .dataCorrupted(let context):
            return error(context.codingPath.map(PathKey.init), context.debugDescription)
        @unknown default:
            return error([], "\(decodingError)")
        }
    }

    private static func expectation(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type, is Int64.Type, is Int32.Type: "expected an integer"
        case is UInt64.Type, is UInt.Type, is UInt32.Type: "expected a non-negative integer"
        case is Double.Type, is Float.Type: "expected a number"
        case is Bool.Type: "expected true or false"
        case is String.Type: "expected a string"
        case is Node.Sequence.Type: "expected a list"
        case is Node.Mapping.Type: "expected a mapping (a section of keys)"
        case is Node.Scalar.Type: "expected a single value, not a list or mapping"
        default: "expected a value of type \(type)"
        }
    }

    // MARK: Helpers

    static func syntaxError(_ error: Error, origin: (Int, Int) -> ConfigError.Origin) -> ConfigError {
        func withContext(_ problem: String, _ context: YamlError.Context?) -> String {
            guard let context else { return problem }
            return "\(problem) (\(context.text) at line \(context.mark.line), column \(context.mark.column))"
        }
        let (mark, message): (Mark?, String) = switch error as? YamlError {
        case .scanner(let context, let problem, let mark, _): (mark, withContext(problem, context))
        case .parser(let context, let problem, let mark, _): (mark, withContext(problem, context))
        case .composer(let context, let problem, let mark, _): (mark, withContext(problem, context))
        case .duplicatedKeysInMapping(let duplicates, let context):
            (context.mark, "duplicate key " + duplicates.map { "`\($0)`" }.joined(separator: ", ") + " in one mapping")
        default: (nil, "\(error)")
        }
        return ConfigError(origin: origin(mark?.line ?? 1, mark?.column ?? 1), key: nil,
                           message: "YAML syntax error: \(message)")
    }

    /// Resolves merge keys (`<<: *anchor`, `<<: [*a, *b]`): keys written in the mapping win over
    /// merged ones, earlier merge sources over later ones (YAML 1.1 merge semantics).
    private func flatten(_ node: Node) throws -> Node {
        switch node {
        case .mapping(let m):
            var explicit: [(Node, Node)] = [], merged: [(Node, Node)] = []
            for (k, v) in m {
                guard k.tag == Tag(.merge) else { explicit.append((k, try flatten(v))); continue }
                for source in v.sequence.map(Array.init) ?? [v] {
                    guard let sm = try flatten(source).mapping else {
                        throw ConfigError(origin: .file(file, line: source.mark?.line ?? 1, column: source.mark?.column ?? 1),
                                          key: nil, message: "a merge key `<<` needs a mapping or a list of mappings")
                    }
                    for (sk, sv) in sm where !merged.contains(where: { $0.0.string == sk.string }) { merged.append((sk, sv)) }
                }
            }
            let own = Set(explicit.compactMap { $0.0.string })
            let pairs = merged.filter { !own.contains($0.0.string ?? "") } + explicit
            return .mapping(Node.Mapping(pairs, m.tag, m.style, m.mark))
        case .sequence(let s):
            return .sequence(Node.Sequence(try s.map(flatten), s.tag, s.style, s.mark))
        default:
            return node
        }
    }
}
