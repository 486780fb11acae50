import Foundation
import GANTensor
import Testing

@Suite struct WorkspaceTests {
    /// Regions of one borrow and of nested borrows are 64-byte aligned and never overlap; a
    /// nested borrow too big for what is left still works, and the arena then grows to hold both.
    @Test func nestedRegionsAreDisjointAndAligned() throws {
        func aligned(_ p: UnsafeMutablePointer<Float>) -> Bool { Int(bitPattern: p) % 64 == 0 }
        Workspace.borrow(100, 3, 17) { a, b, c in
            #expect(aligned(a) && aligned(b) && aligned(c))
            #expect(b >= a + 100 && c >= b + 3)
            for i in 0..<100 { a[i] = 1 }
            Workspace.borrow(1 << 20, 5) { d, e, _ in   // larger than the arena: a block of its own
                #expect(aligned(d) && aligned(e))
                #expect(d + (1 << 20) <= a || d >= c + 17)
                d.update(repeating: 2, count: 1 << 20)
                e.update(repeating: 3, count: 5)
            }
            #expect((0..<100).allSatisfy { a[$0] == 1 })
        }
        // The next outermost borrow grows the arena to the largest nesting seen; that nesting then fits.
        Workspace.borrow(50, 0) { a, _, _ in
            let capacity = Workspace.capacity
            #expect(capacity >= 100 + 3 + 17 + (1 << 20) + 5)
            Workspace.borrow(1 << 20, 0) { d, _, _ in #expect(d >= a + 50 && d + (1 << 20) <= a + capacity) }
        }
    }

    /// The token changes with every borrow and only then.
    @Test func tokenMarksBorrows() {
        let before = Workspace.token
        #expect(Workspace.token == before)
        Workspace.borrow(8, 0) { _, _, _ in }
        #expect(Workspace.token != before)
    }

    /// Each thread has its own arena: concurrent borrows never see each other's writes.
    @Test func threadsHaveTheirOwnArenas() async throws {
        let ok = await withTaskGroup(of: Bool.self) { group in
            for t in 0..<4 {
                group.addTask {
                    let done = DispatchSemaphore(value: 0)
                    nonisolated(unsafe) var result = true
                    let thread = Thread {
                        for round in 0..<200 {
                            let value = Float(t * 1000 + round)
                            Workspace.borrow(4096, 0) { a, _, _ in
                                a.update(repeating: value, count: 4096)
                                usleep(10)
                                if !(0..<4096).allSatisfy({ a[$0] == value }) { result = false }
                            }
                        }
                        done.signal()
                    }
                    thread.start()
                    done.wait()
                    return result
                }
            }
            var all = true
            for await r in group { all = all && r }
            return all
        }
        #expect(ok)
    }
}
