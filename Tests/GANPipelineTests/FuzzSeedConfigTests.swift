import Foundation
import GANCheckpoint
import GANPipeline
import GANTestSupport
import Testing

/// The config and checkpoint seeds of the fuzz targets (Fuzz/Corpus) are valid inputs, so the
/// fuzzers mutate real pipelines and real checkpoints.
@Suite("Fuzz seed corpus: configurations and checkpoints")
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

    @Test func everyCheckpointSeedReadsCompletely() throws {
        let seeds = try Self.corpus("checkpoint")
        #expect(seeds.count >= 2)
        for path in seeds {
            let r = try CheckpointReader(path: path)
            defer { r.close() }
            try r.verifyAllData()
            #expect(try r.buildNetwork("generator").parameterCount > 0 && r.buildNetwork("discriminator").parameterCount > 0)
        }
    }
}
