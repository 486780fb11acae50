import Foundation
import Yams

/// Encodes a value into a Yams `Node` tree. Unlike `YAMLEncoder` it writes every Double in Swift's
/// shortest exact form (`0.0002`, `4.0`, `1e-08`; YAMLEncoder writes `2e-4`, `4e+0` and keeps only
/// 15 significant digits, so a stored config could decode to a different Double), writes `nil`
/// optionals as explicit `null`, and lays lists of scalars out in flow style (`[10, 10, 10]`).
enum ConfigTreeEncoder {
    static func node<T: Encodable>(for value: T) throws -> Node {
        let encoder = TreeEncoder(tree: Tree(), codingPath: [])
        try value.encode(to: encoder)
        return encoder.tree.node
    }

    /// The YAML spelling of a Double that reads back as the same Double.
    static func format(_ x: Double) -> String {
        if x.isNaN { return ".nan" }
        if x.isInfinite { return x < 0 ? "-.inf" : ".inf" }
        return "\(x)"
    }
}

private final class Tree {
    enum Kind { case null, scalar(Node), mapping([(String, Tree)]), sequence([Tree]) }
    var kind = Kind.null

    var node: Node {
        switch kind {
        case .null: return Node("null", Tag(.null))
        case .scalar(let n): return n
        case .mapping(let pairs): return Node(pairs.map { (Node($0.0), $0.1.node) })
        case .sequence(let items):
            let nodes = items.map(\.node)
            let flat = nodes.allSatisfy { $0.scalar != nil }
            return Node(nodes, .implicit, flat ? .flow : .block)
        }
    }

    func appendChild(key: String?) -> Tree {
        let child = Tree()
        switch kind {
        case .mapping(var pairs): pairs.append((key ?? "", child)); kind = .mapping(pairs)
        case .sequence(var items): items.append(child); kind = .sequence(items)
        default: preconditionFailure("ConfigTreeEncoder: child of a scalar")
        }
        return child
    }
}

private struct TreeEncoder: Encoder {
    let tree: Tree
    let codingPath: [CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if case .mapping = tree.kind {} else { tree.kind = .mapping([]) }
        return KeyedEncodingContainer(KeyedTree<Key>(encoder: self))
    }

    func unkeyedContainer() -> UnkeyedEncodingContainer {
        if case .sequence = tree.kind {} else { tree.kind = .sequence([]) }
        return UnkeyedTree(encoder: self)
    }

    func singleValueContainer() -> SingleValueEncodingContainer { SingleTree(encoder: self) }

    /// Writes `value` into `target`: scalars directly, everything else through its own `encode(to:)`.
    func write<T: Encodable>(_ value: T, into target: Tree, key: CodingKey?) throws {
        if let x = value as? Double {
            target.kind = .scalar(Node(ConfigTreeEncoder.format(x), Tag(.float)))
        } else if let x = value as? Float {
            target.kind = .scalar(Node(ConfigTreeEncoder.format(Double("\(x)") ?? Double(x)), Tag(.float)))
        } else if let x = value as? YAMLEncodable {
            target.kind = .scalar(x.box())
        } else {
            try value.encode(to: TreeEncoder(tree: target, codingPath: codingPath + (key.map { [$0] } ?? [])))
        }
    }
}

private struct IndexKey: CodingKey {
    var stringValue: String { "\(intValue!)" }
    var intValue: Int?
    init(_ i: Int) { intValue = i }
    init?(stringValue: String) { nil }
    init?(intValue: Int) { self.intValue = intValue }
}

private struct KeyedTree<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let encoder: TreeEncoder
    var codingPath: [CodingKey] { encoder.codingPath }

    private func child(_ key: Key) -> Tree { encoder.tree.appendChild(key: key.stringValue) }

    mutating func encodeNil(forKey key: Key) throws { _ = child(key) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try encoder.write(value, into: child(key), key: key)
    }
    // Synthesized `encode(to:)` skips nil optionals through these; write them as `null` instead.
    mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }
    mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }
    mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }
    mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }
    mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type,
                                                        forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        TreeEncoder(tree: child(key), codingPath: codingPath + [key]).container(keyedBy: keyType)
    }
    mutating func nestedUnkeyedContainer(forKey key: Key) -> UnkeyedEncodingContainer {
        TreeEncoder(tree: child(key), codingPath: codingPath + [key]).unkeyedContainer()
    }
    mutating func superEncoder() -> Encoder { preconditionFailure("ConfigTreeEncoder: superEncoder") }
    mutating func superEncoder(forKey key: Key) -> Encoder {
        TreeEncoder(tree: child(key), codingPath: codingPath + [key])
    }
}

private struct UnkeyedTree: UnkeyedEncodingContainer {
    let encoder: TreeEncoder
    var codingPath: [CodingKey] { encoder.codingPath }
    var count: Int {
        if case .sequence(let items) = encoder.tree.kind { return items.count }
        return 0
    }

    private func child() -> Tree { encoder.tree.appendChild(key: nil) }

    mutating func encodeNil() throws { _ = child() }
    mutating func encode<T: Encodable>(_ value: T) throws {
        try encoder.write(value, into: child(), key: IndexKey(count))
    }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        TreeEncoder(tree: child(), codingPath: codingPath + [IndexKey(count)]).container(keyedBy: keyType)
    }
    mutating func nestedUnkeyedContainer() -> UnkeyedEncodingContainer {
        TreeEncoder(tree: child(), codingPath: codingPath + [IndexKey(count)]).unkeyedContainer()
    }
    mutating func superEncoder() -> Encoder { preconditionFailure("ConfigTreeEncoder: superEncoder") }
}

private struct SingleTree: SingleValueEncodingContainer {
    let encoder: TreeEncoder
    var codingPath: [CodingKey] { encoder.codingPath }

    mutating func encodeNil() throws { encoder.tree.kind = .null }
    mutating func encode<T: Encodable>(_ value: T) throws {
        try encoder.write(value, into: encoder.tree, key: nil)
    }
}
