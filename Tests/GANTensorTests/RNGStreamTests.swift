@_spi(Testing) import GANTensor
import Testing

/// The named streams keep the purpose strings of the literals they replaced, and so their bits:
/// runs, checkpoints (`/rng/noise`, `/rng/data`, `/rng/pretrain`) and samples of earlier builds
/// stay reproducible.
@Suite("RNG streams")
struct RNGStreamTests {
    /// Every stream with its name: the purpose string of the literal it replaced (all but
    /// "random-features", which came with the evaluation benchmark).
    static let names: [(RNGStream, String)] = [
        (.initialization, "init"), (.data, "data"), (.noise, "noise"), (.prep, "prep"), (.pretrain, "pretrain"),
        (.fixedNoise, "fixed-noise"), (.referenceNoise, "reference-noise"), (.referenceData, "reference-data"),
        (.spectralNorm, "spectral_norm"), (.eval, "eval"), (.eval(step: 0), "eval-0"), (.eval(step: 2500), "eval-2500"),
        (.plot, "plot"), (.sample, "sample"), (.classifierInitialization, "classifier-init"),
        (.classifierData, "classifier-data"), (.randomImages, "random-images"), (.gemm, "gemm"),
        (.randomFeatures, "random-features"),
    ]

    @Test("each stream's name is the purpose string it replaced")
    func namesAreTheOldStrings() {
        for (stream, old) in Self.names { #expect(stream.name == old) }
        #expect(Set(Self.names.map(\.0)).count == Self.names.count, "two constants name the same stream")
    }

    /// The old derivation, written out independently: SplitMix64 of (seed XOR FNV-1a-64(name))
    /// seeds the generator.
    static func oldPurposeStream(seed: UInt64, purpose: String) -> RNG {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in purpose.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        var x = seed ^ h
        x &+= 0x9e37_79b9_7f4a_7c15
        var z = x
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return RNG(seed: z ^ (z >> 31))
    }

    @Test("RNG(seed:stream:) is the old RNG(seed:purpose:) bit for bit", arguments: [0, 1, 42, UInt64.max])
    func sameBits(_ seed: UInt64) {
        for (stream, old) in Self.names {
            var a = RNG(seed: seed, stream: stream), b = Self.oldPurposeStream(seed: seed, purpose: old)
            #expect((0..<8).map { _ in a.next() } == (0..<8).map { _ in b.next() }, "\(old)")
        }
    }
}
