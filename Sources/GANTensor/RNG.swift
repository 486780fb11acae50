import Foundation

/// A seeded, serialisable pseudo-random generator: xoshiro256** (Blackman & Vigna 2018), seeded
/// through SplitMix64. Its whole state is four 64-bit words (`state`), so saving and restoring it
/// continues the exact stream. The project uses one generator per purpose (initialisation, data
/// order, noise), derived from one seed with `RNG(seed:purpose:)`, so that for example drawing
/// more noise never shifts the data order.
///
/// Streams are part of the checkpoint format: changing any algorithm below changes results for a
/// given seed and needs a format-version bump.
public struct RNG: Sendable, Equatable {
    @usableFromInline var state: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var sm = seed
        state = (RNG.splitMix(&sm), RNG.splitMix(&sm), RNG.splitMix(&sm), RNG.splitMix(&sm))
    }

    /// An independent stream for a named purpose ("init", "data", "noise", ...).
    public init(seed: UInt64, purpose: String) {
        // FNV-1a of the purpose name, mixed with the seed.
        var sm = seed ^ Hashing.fnv1a64(purpose.utf8)
        self.init(seed: RNG.splitMix(&sm))
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
        // u1 in (0, 1] so log never sees 0.
        let u1 = Double((next() >> 11) + 1) * 0x1p-53
        let u2 = uniformDouble()
        let r = (-2 * log(u1)).squareRoot()
        let theta = 2 * Double.pi * u2
        out = (Float(r * cos(theta)), Float(r * sin(theta)))
    }

    /// Fills `count` values with N(mean, std^2). Values come in Box-Muller pairs; for an odd count
    /// the last pair's second value is dropped, so the stream position depends only on `count`.
    public mutating func fillNormal(_ p: UnsafeMutablePointer<Float>, count: Int, mean: Float = 0, std: Float = 1) {
        var pair: (Float, Float) = (0, 0)
        var i = 0
        while i + 1 < count {
            normalPair(&pair)
            p[i] = mean + std * pair.0
            p[i + 1] = mean + std * pair.1
            i += 2
        }
        if i < count {
            normalPair(&pair)
            p[i] = mean + std * pair.0
        }
    }

    /// Fills `count` values uniformly in [low, high).
    public mutating func fillUniform(_ p: UnsafeMutablePointer<Float>, count: Int, low: Float = 0, high: Float = 1) {
        let width = high - low, top = high.nextDown
        // low + width·u can round up to `high`; keep the interval half-open as documented.
        for i in 0..<count { p[i] = min(low + width * uniform(), top) }
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
