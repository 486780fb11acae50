import Foundation
import GANServe
import Testing

/// A unit of work that records the batch it was run in.
final class Item: @unchecked Sendable {
    let rows: Int
    let mergeable: Bool
    var batch: [Int] = []
    let done = DispatchSemaphore(value: 0)
    let id: Int

    init(id: Int, rows: Int, mergeable: Bool = true) {
        self.id = id
        self.rows = rows
        self.mergeable = mergeable
    }
}

/// The batches the compute thread ran, in order.
final class BatchLog: @unchecked Sendable {
    private let lock = NSLock()
    private var batches: [[Int]] = []
    func append(_ ids: [Int]) { lock.withLock { batches.append(ids) } }
    var all: [[Int]] { lock.withLock { batches } }
}

@Suite struct DynamicBatcherTests {
    func batcher(maxRows: Int, delay: Double, log: BatchLog) -> DynamicBatcher<Item> {
        DynamicBatcher(limits: .init(maxRows: maxRows, maxDelay: delay), canGrow: { $0.mergeable }) { batch in
            let ids = batch.map(\.id)
            log.append(ids)
            for item in batch {
                item.batch = ids
                item.done.signal()
            }
        }
    }

    /// Items queued together within the delay come out as one batch, in arrival order.
    @Test func concurrentItemsShareABatchWithinTheDelay() {
        let log = BatchLog()
        let b = batcher(maxRows: 100, delay: 0.5, log: log)
        b.start()
        let items = (0..<5).map { Item(id: $0, rows: 2) }
        for item in items { #expect(b.enqueue(item, rows: item.rows)) }
        for item in items { item.done.wait() }
        b.stop()
        #expect(log.all == [[0, 1, 2, 3, 4]])
    }

    /// A batch holds at most maxRows rows (a larger single item goes alone), and filling it ends
    /// the wait at once.
    @Test func batchesStopAtMaxRows() {
        let log = BatchLog()
        let b = batcher(maxRows: 4, delay: 5, log: log)
        let items = [Item(id: 0, rows: 3), Item(id: 1, rows: 1), Item(id: 2, rows: 2), Item(id: 3, rows: 9)]
        for item in items { #expect(b.enqueue(item, rows: item.rows)) }
        let start = Date()
        b.start()
        for item in items { item.done.wait() }
        b.stop()
        #expect(Date().timeIntervalSince(start) < 4)  // never waited out the 5 s delay: every batch was full
        #expect(log.all == [[0, 1], [2], [3]])
    }

    /// Work that cannot merge is not delayed.
    @Test func unmergeableWorkDoesNotWait() {
        let log = BatchLog()
        let b = batcher(maxRows: 100, delay: 10, log: log)
        b.start()
        let item = Item(id: 7, rows: 1, mergeable: false)
        let start = Date()
        #expect(b.enqueue(item, rows: 1))
        item.done.wait()
        #expect(Date().timeIntervalSince(start) < 5)
        b.stop()
        #expect(item.batch == [7])
    }

    /// `stop` runs what is queued, then refuses new work.
    @Test func stopFinishesQueuedWorkThenRefuses() {
        let log = BatchLog()
        let b = batcher(maxRows: 1, delay: 0, log: log)
        let items = (0..<3).map { Item(id: $0, rows: 1) }
        for item in items { #expect(b.enqueue(item, rows: 1)) }
        b.start()
        b.stop()
        #expect(log.all == [[0], [1], [2]])
        #expect(!b.enqueue(Item(id: 9, rows: 1), rows: 1))
    }
}
