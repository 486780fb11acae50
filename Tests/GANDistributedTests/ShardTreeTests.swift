import Testing
@testable import GANDistributed

@Suite("Shard tree")
struct ShardTreeTests {
    @Test("covers are the maximal subtrees, left to right, and partition the range", arguments: [1, 2, 3, 4, 6, 8, 12])
    func coversPartition(shards: Int) {
        let tree = ShardTree(shards: shards)
        for ranks in 1...shards where shards % ranks == 0 {
            let m = shards / ranks
            var covered: [Int] = []
            for r in 0..<ranks {
                let cover = tree.cover(r * m, (r + 1) * m)
                for node in cover { covered += Array(node.lo..<node.hi) }
                // Maximal: no two neighbouring cover nodes are the two children of one node.
                for (a, b) in zip(cover, cover.dropFirst()) {
                    #expect(!(a.hi == b.lo && ShardTree.Node(lo: a.lo, hi: b.hi).mid == a.hi && isNode(tree, a.lo, b.hi)))
                }
            }
            #expect(covered == Array(0..<shards))
        }
        #expect(tree.cover(0, shards) == [tree.root])
    }

    @Test("aligned power-of-two blocks are single nodes")
    func alignedBlocks() {
        let tree = ShardTree(shards: 8)
        #expect(tree.cover(0, 4) == [ShardTree.Node(lo: 0, hi: 4)])
        #expect(tree.cover(6, 8) == [ShardTree.Node(lo: 6, hi: 8)])
        #expect(ShardTree(shards: 6).cover(0, 2) == [ShardTree.Node(lo: 0, hi: 1), ShardTree.Node(lo: 1, hi: 2)])
    }

    /// Whether [lo, hi) is a node of the tree.
    func isNode(_ tree: ShardTree, _ lo: Int, _ hi: Int) -> Bool {
        var stack = [tree.root]
        while let n = stack.popLast() {
            if n.lo == lo && n.hi == hi { return true }
            if !n.isLeaf { stack += [n.left, n.right] }
        }
        return false
    }

    @Test("the sum of any cover's partial sums has the bits of the whole tree", arguments: [2, 3, 4, 5, 6, 8])
    func sumIsIndependentOfTheCover(shards: Int) {
        let tree = ShardTree(shards: shards)
        let count = 37
        var rng = SystemRandomNumberGenerator()
        let leaves = (0..<shards).map { _ in (0..<count).map { _ in Float.random(in: -1e3...1e3, using: &rng) * Float.random(in: 0...1e-3, using: &rng) } }
        let scratch = (0..<8).map { _ in UnsafeMutablePointer<Float>.allocate(capacity: count) }
        defer { scratch.forEach { $0.deallocate() } }
        func total(_ known: [ShardTree.Node: UnsafePointer<Float>]) -> [Float] {
            [Float](unsafeUninitializedCapacity: count) { out, n in
                tree.sum(tree.root, known: known, count: count, into: out.baseAddress!, scratch: { scratch[$0] })
                n = count
            }
        }
        let pointers = leaves.map { l in UnsafeMutablePointer<Float>.allocate(capacity: count).initialized(from: l) }
        defer { pointers.forEach { $0.deallocate() } }
        let leafKnown = Dictionary(uniqueKeysWithValues: (0..<shards).map { (ShardTree.Node(lo: $0, hi: $0 + 1), UnsafePointer(pointers[$0])) })
        let reference = total(leafKnown)
        // Left to right: ((l0 + l1) + ...) would differ; the tree is the definition.
        for ranks in 1...shards where shards % ranks == 0 {
            let m = shards / ranks
            var frontier: [ShardTree.Node: UnsafePointer<Float>] = [:]
            var partials: [UnsafeMutablePointer<Float>] = []
            for r in 0..<ranks {
                for node in tree.cover(r * m, (r + 1) * m) {
                    let p = UnsafeMutablePointer<Float>.allocate(capacity: count)
                    tree.sum(node, known: leafKnown, count: count, into: p, scratch: { scratch[$0] })
                    partials.append(p)
                    frontier[node] = UnsafePointer(p)
                }
            }
            #expect(total(frontier).map(\.bitPattern) == reference.map(\.bitPattern), "\(shards) shards over \(ranks) ranks")
            partials.forEach { $0.deallocate() }
        }
    }
}

private extension UnsafeMutablePointer where Pointee == Float {
    func initialized(from values: [Float]) -> Self {
        initialize(from: values, count: values.count)
        return self
    }
}
