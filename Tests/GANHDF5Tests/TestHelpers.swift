import Foundation
import GANHDF5
import GANTestSupport
import Testing

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
        try d.verifyData()
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
