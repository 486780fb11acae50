import Synchronization

/// Memory for request bodies, kept from one request for the next.
///
/// A 64-row score request's body is 527 KB. `serve` keeps glibc's mmap threshold low (256 KiB, so
/// the resident set does not grow with the largest burst seen), and every such body was a fresh
/// mapping, faulted in page by page while the body was copied and unmapped after: ~130 page faults
/// per request, most of the kernel's third of the request's CPU (perf, session 12). A pooled block
/// is already resident.
///
/// Bounded: blocks over `largest` are never kept, and at most `keptBytes` are kept in all, so the
/// pool holds no more than the bodies of a burst already in flight held at once.
final class BodyPool: Sendable {
    /// A block of `capacity` bytes, `count` of them in use.
    struct Block: @unchecked Sendable {
        let base: UnsafeMutableRawPointer
        let capacity: Int
        var count: Int
        var bytes: UnsafeMutableRawBufferPointer { UnsafeMutableRawBufferPointer(start: base, count: count) }
    }

    let keptBytes: Int, largest: Int
    /// Sizes are rounded up to this, so that bodies of nearly one size share blocks.
    static let granule = 64 << 10
    private let free = Mutex<(blocks: [Block], bytes: Int)>(([], 0))

    init(keptBytes: Int = 16 << 20, largest: Int = 4 << 20) {
        (self.keptBytes, self.largest) = (keptBytes, largest)
    }

    deinit {
        free.withLock { for b in $0.blocks { b.base.deallocate() } }
    }

    /// A block of at least `count` bytes: the smallest kept one that fits, or a new one.
    func take(_ count: Int) -> Block {
        let kept: Block? = free.withLock { state in
            guard let k = state.blocks.indices.filter({ state.blocks[$0].capacity >= count })
                .min(by: { state.blocks[$0].capacity < state.blocks[$1].capacity }) else { return nil }
            state.bytes -= state.blocks[k].capacity
            return state.blocks.remove(at: k)
        }
        if var block = kept {
            block.count = count
            return block
        }
        let capacity = (count + Self.granule - 1) / Self.granule * Self.granule
        return Block(base: .allocate(byteCount: capacity, alignment: 64), capacity: capacity, count: count)
    }

    /// Gives `block` back: kept when it fits the bounds, freed otherwise.
    func give(_ block: Block) {
        let keep = block.capacity <= largest && free.withLock { state in
            guard state.bytes + block.capacity <= keptBytes else { return false }
            state.blocks.append(block)
            state.bytes += block.capacity
            return true
        }
        if !keep { block.base.deallocate() }
    }
}
