import CBLAS
import CMathShim

/// Thread count of the compute engine: OpenBLAS's pool for matrix products, and the number of
/// chunks `parallelFor` splits element-wise work into. Bitwise determinism holds for equal thread
/// counts only (BLAS, and reductions split by `parallelFor`, sum in a thread-count-dependent order).
public enum ComputeThreads {
    /// OpenBLAS's own default (its thread count, from OPENBLAS_NUM_THREADS or the cores) until `set`.
    /// The compute pool starts with as many threads.
    @usableFromInline nonisolated(unsafe) static var current: Int = {
        let n = Int(openblas_get_num_threads())
        gan_pool_set_threads(Int32(n))
        return n
    }()

    /// Sets the number of threads every following matrix product and `parallelFor` may use (>= 1).
    public static func set(_ n: Int) {
        precondition(n >= 1, "thread count must be >= 1, got \(n)")
        openblas_set_num_threads(Int32(n))
        gan_pool_set_threads(Int32(n))
        current = n
    }

    public static var count: Int { current }

    /// Work below this many elements per chunk runs on the calling thread: handing a chunk to
    /// another thread costs a few microseconds (measured with `gan-bench --model parallel_for`).
    public static let minimumChunk = 16_384

    /// Runs `body` over `0..<count` split into at most `ComputeThreads.count` contiguous chunks,
    /// concurrently, each chunk at least `minimumChunk` elements (times `grain`, for callers
    /// whose unit of work is bigger than one element). The split depends only on `count`, `grain`
    /// and the thread count, so element-wise work gives the same bits for any thread count and
    /// chunked reductions give the same bits for the same thread count.
    @inlinable
    public static func parallelFor(_ count: Int, grain: Int = 1, _ body: (Range<Int>) -> Void) {
        let chunks = chunkCount(count, grain: grain)
        if chunks <= 1 {
            body(0..<count)
            return
        }
        forEachChunk(chunks) { c in body(chunkRange(c, of: chunks, count: count)) }
    }

    /// Runs `body(c)` for every c in `0..<chunks` concurrently on the compute threads (the caller
    /// among them) and returns when all are done; the chunks must touch disjoint memory. Which
    /// thread runs which chunk is not fixed. Called from inside a chunk, it runs in order there.
    @inlinable
    public static func forEachChunk(_ chunks: Int, _ body: (Int) -> Void) {
        if chunks <= 1 {
            if chunks == 1 { body(0) }
            return
        }
        withoutActuallyEscaping(body) { body in
            var job = PoolJob(run: body)
            withUnsafeMutablePointer(to: &job) { job in
                gan_pool_run(chunks, { context, c in
                    context!.assumingMemoryBound(to: PoolJob.self).pointee.run(c)
                }, job)
            }
        }
    }

    /// Overrides the number of chunks `parallelFor` splits into, for the current task only, without
    /// touching OpenBLAS's process-wide thread count: tests compare element-wise passes at 1 and 2
    /// chunks with `ComputeThreads.$chunksOverride.withValue(2) { ... }` while other tests run in the
    /// same process (changing the global count there would change their GEMM bits mid-test).
    @TaskLocal public static var chunksOverride: Int?

    /// Number of chunks `parallelFor(count, grain:)` uses.
    @inlinable
    public static func chunkCount(_ count: Int, grain: Int = 1) -> Int {
        let byWork = count * max(grain, 1) / minimumChunk
        if byWork < 2 { return 1 }   // small passes: no task-local lookup
        return max(1, min(chunksOverride ?? current, byWork))
    }

    /// Chunk `c` of `chunks` equal contiguous parts of `0..<count` (the first ones one longer).
    @inlinable
    public static func chunkRange(_ c: Int, of chunks: Int, count: Int) -> Range<Int> {
        let base = count / chunks, extra = count % chunks
        let start = c * base + min(c, extra)
        return start..<(start + base + (c < extra ? 1 : 0))
    }

    /// The OpenBLAS kernel chosen for this CPU, e.g. "SkylakeX" or "Haswell".
    public static var blasCoreName: String {
        guard let p = openblas_get_corename() else { return "unknown" }
        return String(cString: p)
    }

    /// OpenBLAS's build description, e.g. "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH ...".
    public static var blasConfig: String {
        guard let p = openblas_get_config() else { return "unknown" }
        return String(cString: p)
    }
}

/// `parallelFor`'s job handed to the compute pool's threads (`Sources/CMathShim/pool.c`: workers
/// that spin a while between jobs, since waking a sleeping thread costs tens of microseconds in a
/// VM); the caller guarantees the chunks touch disjoint memory.
@usableFromInline
struct PoolJob {
    @usableFromInline let run: (Int) -> Void
    @usableFromInline init(run: @escaping (Int) -> Void) { self.run = run }
}
