/// The toolkit's version, recorded in checkpoints and benchmark results. A change of the minor
/// version marks a change of results: 0.2.0 computes convolutions with oneDNN (other bits of
/// convolutional networks than 0.1.0; MLP and toy runs are unchanged).
public enum SwiftGANVersion {
    public static let string = "0.2.0"
}
