/// The fixed order in which the values of K shards are summed, whatever the number of processes:
/// a binary tree by halving, `sum[lo, hi) = sum[lo, mid) + sum[mid, hi)` with
/// `mid = lo + (hi - lo) / 2`, over the shards `[0, K)`.
///
/// A process owning the shards `[a, b)` sums the maximal subtrees inside its range (`cover(a, b)`)
/// and the processes exchange those partial sums; every element of the total is then the same
/// expression of the same leaves on any number of processes, so the result is bit-identical.
/// For K a power of two and ranks owning aligned power-of-two blocks, each process's cover is a
/// single node.
public struct ShardTree: Sendable {
    /// The shards `[lo, hi)` below one node.
    public struct Node: Hashable, Sendable, CustomStringConvertible {
        public let lo: Int
        public let hi: Int
        public var isLeaf: Bool { hi - lo == 1 }
        public var mid: Int { lo + (hi - lo) / 2 }
        public var left: Node { Node(lo: lo, hi: mid) }
        public var right: Node { Node(lo: mid, hi: hi) }
        public var description: String { "[\(lo), \(hi))" }
    }

    public let shards: Int
    public var root: Node { Node(lo: 0, hi: shards) }

    public init(shards: Int) {
        precondition(shards >= 1, "ShardTree: needs at least one shard, got \(shards)")
        self.shards = shards
    }

    /// The maximal subtrees whose shards all lie in `[lo, hi)`, left to right.
    public func cover(_ lo: Int, _ hi: Int) -> [Node] {
        precondition(0 <= lo && lo <= hi && hi <= shards, "ShardTree.cover: [\(lo), \(hi)) is not inside [0, \(shards))")
        var out: [Node] = []
        func visit(_ n: Node) {
            if n.hi <= lo || n.lo >= hi { return }
            if lo <= n.lo && n.hi <= hi { out.append(n); return }
            visit(n.left)
            visit(n.right)
        }
        if lo < hi { visit(root) }
        return out
    }

    /// `node`'s sum, elementwise over `count` values: from `known` where the node is there, else
    /// its children's sums added (left + right), into `out`. `scratch` provides temporary vectors
    /// (one per tree level at most).
    public func sum(_ node: Node, known: [Node: UnsafePointer<Float>], count: Int,
                    into out: UnsafeMutablePointer<Float>, scratch: (Int) -> UnsafeMutablePointer<Float>, depth: Int = 0) {
        if let values = known[node] {
            if values != UnsafePointer(out) { out.update(from: values, count: count) }
            return
        }
        precondition(!node.isLeaf, "ShardTree.sum: no values for shard \(node.lo)")
        let left = node.left, right = node.right
        // The right child's sum goes to scratch at this depth; the left child's into `out`.
        let r: UnsafePointer<Float>
        if let known = known[right] {
            r = known
        } else {
            let buffer = scratch(depth)
            sum(right, known: known, count: count, into: buffer, scratch: scratch, depth: depth + 1)
            r = UnsafePointer(buffer)
        }
        sum(left, known: known, count: count, into: out, scratch: scratch, depth: depth + 1)
        for i in 0..<count { out[i] = out[i] + r[i] }
    }
}
