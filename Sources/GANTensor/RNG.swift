import CMathShim
import Foundation

/// A seeded, serialisable pseudo-random generator: xoshiro256** (Blackman & Vigna 2018), seeded
/// through SplitMix64. Its whole state is four 64-bit words (`state`), so saving and restoring it
/// continues the exact stream. The project uses one generator per named stream (initialisation,
/// data order, noise, ...: `RNGStream`), derived from one seed with `RNG(seed:stream:)`, so that
/// for example drawing more noise never shifts the data order.
///
/// Streams are part of the checkpoint format: changing any algorithm below changes results for a
/// given seed and needs a format-version bump.
public struct RNG: Sendable, Equatable {
    @usableFromInline var state: (UInt64, UInt64, UInt64, UInt64)

    /// The generator of a run's `seed` for one stream: the only way the project creates one.
    public init(seed: UInt64, stream: RNGStream) {
        // FNV-1a of the stream's name, mixed with the seed.
        var sm = seed ^ Hashing.fnv1a64(stream.name.utf8)
        self.init(seed: RNG.splitMix(&sm))
    }

    /// A generator seeded directly, outside any stream: the base of `init(seed:stream:)`, and for
    /// tests of the generator itself and of code that takes any generator.
    @_spi(Testing) public init(seed: UInt64) {
        var sm = seed
        state = (RNG.splitMix(&sm), RNG.splitMix(&sm), RNG.splitMix(&sm), RNG.splitMix(&sm))
    }

    /// Restores a state captured with `stateWords`. Fails on the all-zero state (invalid for xoshiro).
    public init?(stateWords w: [UInt64]) {
        guard w.count == 4, w.contains(where: { $0 != 0 }) else { return nil }
        state = (w[0], w[1], w[2], w[3])
    }

    /// The state as four words, for checkpoints.
    public var stateWords: [UInt64] { [state.0, state.1, state.2, state.3] }

    public static func == (l: RNG, r: RNG) -> Bool { l.stateWords == r.stateWords }

    private static func splitMix(_ x: inout UInt64) -> UInt64 {
        x &+= 0x9e37_79b9_7f4a_7c15
        var z = x
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    @inlinable @inline(__always)
    static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// Next 64 random bits.
    @inlinable @inline(__always)
    public mutating func next() -> UInt64 {
        let result = RNG.rotl(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = RNG.rotl(state.3, 45)
        return result
    }

    /// Uniform Float in [0, 1) with 24 random bits.
    @inlinable public mutating func uniform() -> Float { Float(next() >> 40) * 0x1p-24 }

    /// Uniform Double in [0, 1) with 53 random bits.
    @inlinable public mutating func uniformDouble() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Uniform integer in 0..<bound, unbiased (Lemire's multiply-and-reject).
    public mutating func int(below bound: Int) -> Int {
        precondition(bound > 0, "RNG.int(below:) needs a positive bound")
        let b = UInt64(bound)
        var m = next().multipliedFullWidth(by: b)
        if m.low < b {
            let threshold = (0 &- b) % b
            while m.low < threshold { m = next().multipliedFullWidth(by: b) }
        }
        return Int(m.high)
    }

    /// One standard normal sample (Box-Muller; uses two uniforms, discards the sine branch).
    public mutating func normal() -> Float {
        var pair: (Float, Float) = (0, 0)
        normalPair(&pair)
        return pair.0
    }

    @inline(__always)
    mutating func normalPair(_ out: inout (Float, Float)) {
        let b1 = next(), b2 = next()
        out = RNG.boxMuller(b1, b2)
    }

    /// The Box-Muller transform of two draws: u1 = ((b1 >> 11) + 1) · 2^-53 in (0, 1] (so log never
    /// sees 0), u2 = (b2 >> 11) · 2^-53 in [0, 1); (r cos θ, r sin θ) with r = √(-2 ln u1), θ = 2π u2.
    @inline(__always)
    static func boxMuller(_ b1: UInt64, _ b2: UInt64) -> (Float, Float) {
        let u1 = Double((b1 >> 11) + 1) * 0x1p-53
        let u2 = Double(b2 >> 11) * 0x1p-53
        let r = (-2 * log(u1)).squareRoot()
        var s = 0.0, c = 0.0
        gan_sincos(2 * Double.pi * u2, &s, &c)
        return (Float(r * c), Float(r * s))
    }

    /// Fills `count` values with N(mean, std^2). Values come in Box-Muller pairs; for an odd count
    /// the last pair's second value is dropped, so the stream position depends only on `count`.
    /// The pairs are transformed eight (AVX-512) or four at a time by `gan_box_muller`
    /// (CMathShim/boxmuller.c), whose floats are those of `boxMuller` bit for bit. Large fills draw
    /// the random words in order first and transform the pairs on `ComputeThreads.count` threads:
    /// the same values again.
    public mutating func fillNormal(_ p: UnsafeMutablePointer<Float>, count: Int, mean: Float = 0, std: Float = 1) {
        let pairs = count / 2
        if ComputeThreads.chunkCount(pairs, grain: RNG.boxMullerGrain) > 1 {
            fillNormalParallel(p, count: count, pairs: pairs, mean: mean, std: std)
        } else {
            withUnsafeTemporaryAllocation(of: UInt64.self, capacity: 2 * RNG.pairsPerBlock) { words in
                var done = 0
                while done < pairs {
                    let n = Swift.min(RNG.pairsPerBlock, pairs - done)
                    for i in 0..<(2 * n) { words[i] = next() }
                    RNG.transformPairs(words.baseAddress!, pairs: n, into: p + 2 * done, mean: mean, std: std)
                    done += n
                }
            }
        }
        if count & 1 == 1 {
            var pair: (Float, Float) = (0, 0)
            normalPair(&pair)
            p[count - 1] = mean + std * pair.0
        }
    }

    /// Pairs transformed per block of words drawn in the serial path: 128 words, 1 KiB, which
    /// `withUnsafeTemporaryAllocation` keeps on the stack (at 2 KiB it went to the heap: 41
    /// allocations per toy_1d iteration).
    static let pairsPerBlock = 64

    /// Work of one Box-Muller pair in units of `parallelFor`'s element (a log, a sincos, a sqrt
    /// in four-wide vectors: about 8 simple element-wise operations).
    static let boxMullerGrain = 8

    /// `pairs` pairs of words -> 2 `pairs` values mean + std z at `out`.
    @inline(__always)
    static func transformPairs(_ words: UnsafePointer<UInt64>, pairs: Int, into out: UnsafeMutablePointer<Float>,
                               mean: Float, std: Float) {
        gan_box_muller(words, pairs, out)
        for i in 0..<(2 * pairs) { out[i] = mean + std * out[i] }
    }

    /// The pairs that make whole values (the odd tail is the caller's) on `ComputeThreads.count` threads.
    private mutating func fillNormalParallel(_ p: UnsafeMutablePointer<Float>, count: Int, pairs: Int, mean: Float, std: Float) {
        let words = UnsafeMutablePointer<UInt64>.allocate(capacity: 2 * pairs)
        defer { words.deallocate() }
        for i in 0..<(2 * pairs) { words[i] = next() }
        ComputeThreads.parallelFor(pairs, grain: RNG.boxMullerGrain) { range in   // disjoint pairs of p per chunk
            RNG.transformPairs(words + 2 * range.lowerBound, pairs: range.count, into: p + 2 * range.lowerBound,
                               mean: mean, std: std)
        }
    }

    /// Fills `count` values uniformly in [low, high).
    public mutating func fillUniform(_ p: UnsafeMutablePointer<Float>, count: Int, low: Float = 0, high: Float = 1) {
        let width = high - low, top = high.nextDown
        // low + width·u can round up to `high`; keep the interval half-open as documented.
        for i in 0..<count { p[i] = min(low + width * uniform(), top) }
    }

    /// Stratified uniform values: [low, high) split into `count` equal strata, value i one uniform
    /// point of stratum i, low + (high - low)·(i + u_i)/count (kept below `high`), so the values
    /// are sorted and cover the interval evenly. Draws one `uniform()` per value, in order.
    public mutating func fillStratified(_ p: UnsafeMutablePointer<Float>, count: Int, low: Float, high: Float) {
        let width = (high - low) / Float(count), top = high.nextDown
        for i in 0..<count { p[i] = min(low + width * (Float(i) + uniform()), top) }
    }

    public mutating func fillNormal(_ t: Tensor, mean: Float = 0, std: Float = 1) {
        fillNormal(t.data, count: t.count, mean: mean, std: std)
    }

    public mutating func fillUniform(_ t: Tensor, low: Float = 0, high: Float = 1) {
        fillUniform(t.data, count: t.count, low: low, high: high)
    }

    /// A uniformly random permutation of 0..<n (Fisher-Yates).
    public mutating func permutation(_ n: Int) -> [Int] {
        var p = Array(0..<n)
        shuffle(&p)
        return p
    }

    /// Shuffles in place (Fisher-Yates, deterministic for a given state).
    public mutating func shuffle<T>(_ a: inout [T]) {
        if a.count < 2 { return }
        for i in stride(from: a.count - 1, to: 0, by: -1) {
            let j = int(below: i + 1)
            if i != j { a.swapAt(i, j) }
        }
    }
}
