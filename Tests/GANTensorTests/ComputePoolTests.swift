import Dispatch
import Foundation
import Testing
@_spi(Testing) import GANTensor

/// Counters shared with the pool's threads, behind an NSLock (a pthread mutex, which
/// ThreadSanitizer models; it does not see Synchronization.Mutex's futex as synchronisation).
private final class Counts: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Int]
    init(_ n: Int) { values = [Int](repeating: 0, count: n) }
    func add(_ amount: Int = 1, at i: Int) { lock.withLock { values[i] += amount } }
    var snapshot: [Int] { lock.withLock { values } }
}

/// The compute pool behind `ComputeThreads.parallelFor` (`Sources/CMathShim/pool.c`): every chunk
/// runs exactly once, jobs back to back never mix, nested and concurrent callers are served.
@Suite("compute pool")
struct ComputePoolTests {
    @Test("every chunk runs exactly once, over 2,000 jobs back to back")
    func everyChunkOnce() {
        for job in 0..<2_000 {
            let chunks = 2 + job % 7
            let runs = Counts(chunks)
            ComputeThreads.forEachChunk(chunks) { c in runs.add(at: c) }
            let seen = runs.snapshot
            if seen != [Int](repeating: 1, count: chunks) {
                Issue.record("job \(job): chunks ran \(seen) times")
                return
            }
        }
    }

    @Test("parallelFor's chunks cover 0..<count once")
    func parallelForCovers() {
        ComputeThreads.$chunksOverride.withValue(3) {
            let count = 100_000
            var seen = [UInt8](repeating: 0, count: count)
            seen.withUnsafeMutableBufferPointer { p in
                let base = p.baseAddress!
                ComputeThreads.parallelFor(count) { range in for i in range { base[i] &+= 1 } }
            }
            #expect(seen.allSatisfy { $0 == 1 })
        }
    }

    @Test("a chunk that starts a job runs it there, in order")
    func nested() {
        let total = Counts(1)
        ComputeThreads.forEachChunk(4) { _ in
            ComputeThreads.forEachChunk(5) { c in total.add(c + 1, at: 0) }
        }
        #expect(total.snapshot == [4 * 15])
    }

    @Test("several threads starting jobs at once each get all their chunks")
    func concurrentCallers() {
        let failures = Counts(1)
        DispatchQueue.concurrentPerform(iterations: 4) { caller in
            for job in 0..<500 {
                let chunks = 2 + (job + caller) % 5
                let sum = Counts(1)
                ComputeThreads.forEachChunk(chunks) { c in sum.add(1 << c, at: 0) }
                if sum.snapshot != [(1 << chunks) - 1] { failures.add(at: 0) }
            }
        }
        #expect(failures.snapshot == [0])
    }
}
