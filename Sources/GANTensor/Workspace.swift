import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Scratch memory for buffers that live only inside one layer call: im2col column matrices,
/// images transposed to batch-innermost order. Every layer used to keep its own, so a network
/// held the sum of them although only one is in use at a time; the workspace holds the largest.
/// (dcgan28 at batch 64: 48 MB of per-layer column and transpose buffers became one ~19 MB arena.)
///
/// One arena per thread (a layer call runs on one thread; the compute threads it fans out to
/// only see the pointers), so models trained concurrently on different threads never share
/// memory. Regions are taken in stack order: a nested `borrow` (a layer inside a wrapper that
/// also borrows) gets memory above its caller's. The arena grows to the largest total seen and
/// then allocates nothing: a nested borrow that does not fit gets a temporary block once and
/// the arena grows to hold both the next time it is empty.
///
/// Contents are unspecified on entry (whatever an earlier call left): callers write before they
/// read, as the GEMMs with beta = 0, im2col and col2im do.
public enum Workspace {
    /// Runs `body` with three regions of at least `a`, `b` and `c` floats (64-byte aligned, not
    /// overlapping), valid only inside `body`.
    public static func borrow<R>(_ a: Int, _ b: Int, _ c: Int = 0,
                                 _ body: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) throws -> R) rethrows -> R {
        let ra = Arena.rounded(a), rb = Arena.rounded(b), rc = Arena.rounded(c)
        let arena = Arena.current
        let (p, temporary) = arena.take(ra + rb + rc)
        defer { arena.give(p, ra + rb + rc, temporary: temporary) }
        return try body(p, p + ra, p + ra + rb)
    }

    /// Floats held by the calling thread's arena (for tests and benchmarks).
    public static var capacity: Int { Arena.current.capacity }

    /// The calling thread's arena and how many borrows it has served. Equal tokens before and
    /// after some work mean nothing borrowed in between: memory a caller wrote in its last borrow
    /// still holds what it wrote, at the same address if it borrows the same sizes at the same
    /// depth (a conv layer's backward reuses its forward's columns that way).
    public struct Token: Equatable {
        let arena: Int
        let borrows: Int
    }

    public static var token: Token {
        let arena = Arena.current
        return Token(arena: arena.serial, borrows: arena.borrows)
    }
}

private final class Arena {
    private var block: UnsafeMutablePointer<Float>?
    private(set) var capacity = 0
    private var top = 0
    private var wanted = 0   // the largest top + request seen: the size to grow to when empty
    private(set) var borrows = 0
    /// Unique per arena for the life of the process (an address could be reused after a thread exits).
    let serial = Arena.serials.add(1, ordering: .relaxed).newValue
    private static let serials = Atomic<Int>(0)

    /// Region sizes rounded up to 16 floats, so every region starts 64-byte aligned.
    static func rounded(_ n: Int) -> Int { (max(n, 0) + 15) & ~15 }

    func take(_ n: Int) -> (UnsafeMutablePointer<Float>, temporary: Bool) {
        borrows += 1
        wanted = max(wanted, top + n)
        if top == 0 && (block == nil || capacity < wanted) {
            block?.deallocate()
            block = UnsafeMutableRawPointer.allocate(byteCount: max(wanted, 16) * 4, alignment: 64)
                .bindMemory(to: Float.self, capacity: max(wanted, 16))
            capacity = wanted
        }
        if top + n <= capacity, let b = block {
            defer { top += n }
            return (b + top, false)
        }
        // Nested and too big for what is left: a block of its own, just this once.
        return (UnsafeMutableRawPointer.allocate(byteCount: max(n, 16) * 4, alignment: 64).bindMemory(to: Float.self, capacity: max(n, 16)), true)
    }

    func give(_ p: UnsafeMutablePointer<Float>, _ n: Int, temporary: Bool) {
        if temporary { p.deallocate() } else { top -= n }
    }

    deinit { block?.deallocate() }

    private static let key: pthread_key_t = {
        var k = pthread_key_t()
        let status = pthread_key_create(&k) { raw in
            guard let raw else { return }
            Unmanaged<Arena>.fromOpaque(raw).release()
        }
        precondition(status == 0, "Workspace: pthread_key_create failed (\(status))")
        return k
    }()

    /// The calling thread's arena, created on first use and freed when the thread exits.
    static var current: Arena {
        if let raw = pthread_getspecific(key) { return Unmanaged<Arena>.fromOpaque(raw).takeUnretainedValue() }
        let arena = Arena()
        pthread_setspecific(key, Unmanaged.passRetained(arena).toOpaque())
        return arena
    }
}
