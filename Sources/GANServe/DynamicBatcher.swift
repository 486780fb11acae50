import Foundation

/// Collects concurrent work and hands it to one compute thread in batches.
///
/// The engine's networks own their activation buffers, so a network runs one forward pass at a
/// time; one thread runs them all (with `--threads` engine threads inside each pass). Work waits
/// at most `maxDelay` after the oldest item arrived for more to join, and only while the oldest
/// item can still be merged with more rows (`canGrow`): work that cannot be merged is not delayed.
/// A batch holds at most `maxRows` rows (a single larger item goes alone). Which items of a batch
/// share a forward pass is the executor's decision (`execute`), since only it knows which merges
/// keep every answer bit-identical.
public final class DynamicBatcher<Work: AnyObject>: @unchecked Sendable {
    public struct Limits: Sendable {
        public var maxRows: Int
        /// Seconds.
        public var maxDelay: Double
        public init(maxRows: Int, maxDelay: Double) {
            self.maxRows = maxRows
            self.maxDelay = maxDelay
        }
    }

    struct Queued {
        var work: Work
        var rows: Int
        var arrival: Date
    }

    private let condition = NSCondition()
    private var queue: [Queued] = []
    private var queuedRows = 0
    private var stopping = false
    private var finished = false
    private let limits: Limits
    private let canGrow: (Work) -> Bool
    private let execute: ([Work]) -> Void

    /// - Parameters:
    ///   - canGrow: whether waiting for more work could let this item share a forward pass.
    ///   - execute: runs a batch on the compute thread; it must answer every item (it cannot throw).
    public init(limits: Limits, canGrow: @escaping (Work) -> Bool, execute: @escaping ([Work]) -> Void) {
        self.limits = limits
        self.canGrow = canGrow
        self.execute = execute
    }

    /// Starts the compute thread (with a stack large enough for deep networks' recursion-free
    /// but frame-heavy forward passes).
    public func start() {
        let thread = Thread { [self] in loop() }
        thread.name = "gan-serve-compute"
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Queues `work`; false once `stop` was called (the caller answers 503).
    public func enqueue(_ work: Work, rows: Int) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { return false }
        queue.append(Queued(work: work, rows: rows, arrival: Date()))
        queuedRows += rows
        condition.broadcast()
        return true
    }

    /// Items waiting for the compute thread (a gauge).
    public var depth: Int {
        condition.lock()
        defer { condition.unlock() }
        return queue.count
    }

    /// Runs what is queued, then ends the compute thread; returns when it has ended.
    public func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }

    private func loop() {
        while let batch = next() { execute(batch) }
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    /// The next batch, or nil when stopping and nothing is left.
    private func next() -> [Work]? {
        condition.lock()
        defer { condition.unlock() }
        while queue.isEmpty {
            if stopping { return nil }
            condition.wait()
        }
        let deadline = queue[0].arrival.addingTimeInterval(limits.maxDelay)
        while !stopping, queuedRows < limits.maxRows, canGrow(queue[0].work), Date() < deadline {
            _ = condition.wait(until: deadline)
        }
        var rows = 0, taken = 0
        while taken < queue.count, taken == 0 || rows + queue[taken].rows <= limits.maxRows {
            rows += queue[taken].rows
            taken += 1
        }
        let batch = queue.prefix(taken).map(\.work)
        queue.removeFirst(taken)
        queuedRows -= rows
        return batch
    }
}
