/// The toolkit's version, recorded in checkpoints and benchmark results.
public enum SwiftGANVersion {
    public static let string = "0.1.0"
}
