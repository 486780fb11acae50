import GANHDF5

/// A small "checkpoint" file with groups, several dataset types and attributes.
public func writeSampleFile(_ path: String) throws {
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
