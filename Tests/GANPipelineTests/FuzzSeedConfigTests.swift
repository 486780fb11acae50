import Foundation
import GANPipeline
import GANTestSupport
import Testing

/// The config seeds of the fuzz targets (Fuzz/Corpus) are valid inputs, so the fuzzer mutates real
/// pipelines. (The checkpoint seeds are written by the release binary: `FuzzCheckpointSeedTests`.)
@Suite("Fuzz seed corpus: configurations")
struct FuzzSeedConfigTests {
    static func corpus(_ target: String) throws -> [String] {
        let dir = packageRoot().appendingPathComponent("Fuzz/Corpus/\(target)").path
        return try FileManager.default.contentsOfDirectory(atPath: dir).sorted().map { "\(dir)/\($0)" }
    }

    @Test func everyConfigSeedLoads() throws {
        let seeds = try Self.corpus("config")
        #expect(seeds.count >= 4)
        for path in seeds { _ = try ConfigLoader.load(path: path) }
    }
}
