/// Non-cryptographic hashing shared by the modules (RNG stream names, data-set identifiers,
/// cache file names).
public enum Hashing {
    /// FNV-1a, 64-bit.
    @inlinable
    public static func fnv1a64<S: Sequence>(_ bytes: S) -> UInt64 where S.Element == UInt8 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        return h
    }
}
