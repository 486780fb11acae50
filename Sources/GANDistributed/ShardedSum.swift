import Foundation

/// The mean over K shards of one flat Float32 vector per shard (gradients, buffers, losses of a
/// training step), computed in `ShardTree`'s fixed order, so that it has the same bits on one
/// process or on any number of ranks that divides K.
///
/// Each rank owns the contiguous shards `[rank · K/R, (rank + 1) · K/R)` and writes their vectors
/// into `leaf(_:)`. `mean(count:into:)` then, on one process, sums the tree; on R ranks, it is a
/// reduce-scatter followed by an all-gather: rank r sends every other rank s the partial sums of
/// its cover nodes restricted to s's slice of the vector (`MPI_Alltoallv`), s completes the tree on
/// its slice and divides by K, and the slices are gathered on every rank (`MPI_Allgatherv`). Each
/// rank sends and receives about 2·(R-1)/R of the vector, like a ring all-reduce, but the
/// summation order is fixed.
public final class ShardedSum {
    public let tree: ShardTree
    public let communicator: Communicator?
    /// The shards this process computes.
    public let localShards: Range<Int>
    private let ranks: Int
    private let rank: Int
    private var capacity = 0
    private var leaves: [UnsafeMutablePointer<Float>] = []
    private var scratch: [UnsafeMutablePointer<Float>] = []
    private var send: UnsafeMutablePointer<Float>?
    private var receive: UnsafeMutablePointer<Float>?
    /// Every rank's cover of its shards, indexed by rank.
    private let covers: [[ShardTree.Node]]
    /// What this rank has sent to and received from the other ranks (bytes), and the wall time of
    /// `mean` including the exchange (seconds), since creation: the communication cost per step.
    public private(set) var bytesSent = 0
    public private(set) var bytesReceived = 0
    public private(set) var seconds = 0.0

    /// Starts the communication counters (`bytesSent`, `bytesReceived`, `seconds`) from zero, e.g.
    /// after warm-up iterations, whose first exchanges also wait for the other ranks' set-up.
    public func resetCounters() {
        bytesSent = 0
        bytesReceived = 0
        seconds = 0
    }

    /// `shards` must be a multiple of the communicator's size (one process: any K >= 1).
    public init(shards: Int, communicator: Communicator?) {
        tree = ShardTree(shards: shards)
        self.communicator = communicator
        ranks = communicator?.size ?? 1
        rank = communicator?.rank ?? 0
        precondition(shards % ranks == 0, "ShardedSum: \(shards) shards over \(ranks) ranks")
        let m = shards / ranks
        localShards = (rank * m)..<((rank + 1) * m)
        covers = (0..<ranks).map { r in ShardTree(shards: shards).cover(r * m, (r + 1) * m) }
    }

    deinit { release() }

    private func release() {
        for p in leaves + scratch { p.deallocate() }
        send?.deallocate()
        receive?.deallocate()
        leaves = []
        scratch = []
    }

    /// Makes room for vectors of `count` values (reallocates only when growing).
    private func reserve(_ count: Int) {
        guard count > capacity else { return }
        release()
        capacity = count
        let alloc = { UnsafeMutablePointer<Float>.allocate(capacity: count) }
        leaves = localShards.map { _ in alloc() }
        var depth = 1, n = tree.shards
        while n > 1 { depth += 1; n = (n + 1) / 2 }
        scratch = (0..<depth).map { _ in alloc() }
        if ranks > 1 {
            let most = covers.map(\.count).max()!
            send = .allocate(capacity: covers[rank].count * count)
            receive = .allocate(capacity: most * ranks * (count / ranks + 1))
        }
    }

    /// Where shard `shard`'s vector of `count` values goes (a local shard; valid until the next
    /// call with a larger count).
    public func leaf(_ shard: Int, count: Int) -> UnsafeMutablePointer<Float> {
        precondition(localShards.contains(shard), "ShardedSum: shard \(shard) is not one of this rank's \(localShards)")
        reserve(count)
        return leaves[shard - localShards.lowerBound]
    }

    /// The slice `[start, start + length)` of the vector that rank `r` completes.
    private func slice(_ r: Int, count: Int) -> (start: Int, length: Int) {
        let base = count / ranks, extra = count % ranks
        return (r * base + min(r, extra), base + (r < extra ? 1 : 0))
    }

    /// The mean over all K shards of the leaves' first `count` values, on every rank, into `out`.
    public func mean(count: Int, into out: UnsafeMutablePointer<Float>) throws {
        var start = timespec()
        clock_gettime(CLOCK_MONOTONIC, &start)
        defer {
            var end = timespec()
            clock_gettime(CLOCK_MONOTONIC, &end)
            seconds += Double(end.tv_sec - start.tv_sec) + Double(end.tv_nsec - start.tv_nsec) * 1e-9
        }
        reserve(count)
        let k = Float(tree.shards)
        let scratchAt = { [scratch] (depth: Int) in scratch[depth] }
        func known(offset: Int) -> [ShardTree.Node: UnsafePointer<Float>] {
            Dictionary(uniqueKeysWithValues: localShards.map { (ShardTree.Node(lo: $0, hi: $0 + 1), UnsafePointer(leaves[$0 - localShards.lowerBound] + offset)) })
        }
        guard let communicator, ranks > 1, let send, let receive else {
            tree.sum(tree.root, known: known(offset: 0), count: count, into: out, scratch: scratchAt)
            for i in 0..<count { out[i] = out[i] / k }
            return
        }
        // Reduce-scatter: my cover nodes' partial sums, each rank's slice to that rank. With one
        // cover node (every aligned layout: K/R a power of two) its whole vector goes out in place,
        // slice s to rank s, straight from the leaf when the node is one shard.
        let mine = covers[rank]
        let slices = (0..<ranks).map { slice($0, count: count) }
        var source = UnsafePointer(send)
        var sendCounts: [Int32] = [], sendOffsets: [Int32] = []
        if mine.count == 1 {
            let node = mine[0]
            if node.isLeaf {
                source = UnsafePointer(leaves[node.lo - localShards.lowerBound])
            } else {
                tree.sum(node, known: known(offset: 0), count: count, into: send, scratch: scratchAt)
            }
            sendCounts = slices.map { Int32($0.length) }
            sendOffsets = slices.map { Int32($0.start) }
        } else {
            var position = 0
            for (start, length) in slices {
                sendOffsets.append(Int32(position))
                for node in mine {
                    tree.sum(node, known: known(offset: start), count: length, into: send + position, scratch: scratchAt)
                    position += length
                }
                sendCounts.append(Int32(position) - sendOffsets.last!)
            }
        }
        let (myStart, myLength) = slice(rank, count: count)
        var receiveCounts: [Int32] = [], receiveOffsets: [Int32] = []
        var frontier: [ShardTree.Node: UnsafePointer<Float>] = [:]
        var position = 0
        for q in 0..<ranks {
            receiveOffsets.append(Int32(position))
            for node in covers[q] {
                frontier[node] = UnsafePointer(receive + position)
                position += myLength
            }
            receiveCounts.append(Int32(position) - receiveOffsets.last!)
        }
        // Bytes that cross to other ranks: the reduce-scatter minus my own slice, then the gather.
        bytesSent += 4 * (Int(sendCounts.reduce(0, +)) - Int(sendCounts[rank]) + myLength * (ranks - 1))
        bytesReceived += 4 * (Int(receiveCounts.reduce(0, +)) - Int(receiveCounts[rank]) + (count - myLength))
        try communicator.alltoallv(source, counts: sendCounts, displacements: sendOffsets,
                                   into: receive, receiveCounts: receiveCounts, receiveDisplacements: receiveOffsets)
        // My slice of the total, then everyone's slices everywhere.
        tree.sum(tree.root, known: frontier, count: myLength, into: out + myStart, scratch: scratchAt)
        for i in myStart..<(myStart + myLength) { out[i] = out[i] / k }
        try communicator.allgatherv(inPlace: out, counts: slices.map { Int32($0.length) }, displacements: slices.map { Int32($0.start) })
    }
}
