import Foundation
import GANStore
import GANTestSupport
import Testing

/// A temporary directory removed when the value is released (one per test).
final class TempDir: Sendable {
    let url: URL
    init() throws { url = try makeTemporaryDirectory("gan-h5") }
    deinit { try? FileManager.default.removeItem(at: url) }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
}

/// Opens `path` and reads every group, dataset and attribute in it (to provoke any corruption error).
func readEverything(_ path: String) throws {
    let file = try HDF5File.open(path)
    defer { try? file.close() }
    try readGroup(file.root)
}

private func readGroup(_ group: HDF5Group) throws {
    for name in try group.attributeNames() { _ = try group.attribute(name) }
    for child in try group.childNames() {
        if let sub = try? group.group(child) {
            try readGroup(sub)
            continue
        }
        let d = try group.dataset(child)
        for name in try d.attributeNames() { _ = try d.attribute(name) }
        switch try d.elementKind() {
        case .float32: _ = try d.read(as: Float.self)
        case .float64: _ = try d.read(as: Double.self)
        case .int64: _ = try d.read(as: Int64.self)
        case .uint64: _ = try d.read(as: UInt64.self)
        case .uint8: _ = try d.read(as: UInt8.self)
        }
    }
}

/// Checks an error from a bad file: an HDF5Error, one line, naming the file.
func checkFileError(_ error: (any Error)?, path: String, sourceLocation: SourceLocation = #_sourceLocation) {
    guard let error else {
        Issue.record("expected an error for \(path)", sourceLocation: sourceLocation)
        return
    }
    guard let e = error as? HDF5Error else {
        Issue.record("expected HDF5Error, got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
        return
    }
    #expect(e.description.contains(path), sourceLocation: sourceLocation)
    #expect(!e.description.contains("\n"), sourceLocation: sourceLocation)
    #expect(!e.message.isEmpty, sourceLocation: sourceLocation)
}

/// A small "checkpoint" file with groups, several dataset types and attributes.
func writeSampleFile(_ path: String) throws {
    let file = try HDF5File.create(path)
    try file.root.setAttribute("format", "gan-checkpoint")
    try file.root.setAttribute("step", 1234)
    let g = try file.root.createGroup("generator")
    try g.write("w1", shape: [64, 100], values: (0..<6400).map { Float($0) * 0.001 })
    try g.write("b1", shape: [64], values: [Float](repeating: 0.5, count: 64))
    try g.setAttribute("lr", 2e-4)
    let r = try file.root.createGroup("rng")
    try r.write("state", values: [UInt64](arrayLiteral: 1, 2, 3, .max))
    try file.root.write("history/loss", values: (0..<2000).map { Double($0).squareRoot() })
    try file.root.write("images", shape: [4, 28, 28], values: (0..<3136).map { UInt8(truncatingIfNeeded: $0) })
    try file.close()
}
