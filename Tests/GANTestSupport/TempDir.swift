import Foundation

/// A temporary directory removed when the value is released (one per test).
public final class TempDir: Sendable {
    public let url: URL
    public init() throws { url = try makeTemporaryDirectory("gan-h5") }
    deinit { try? FileManager.default.removeItem(at: url) }
    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }
}
