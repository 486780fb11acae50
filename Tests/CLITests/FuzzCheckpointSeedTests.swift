import Foundation
import GANCheckpoint
import GANTestSupport
import Testing

/// The checkpoint target's fuzz seeds (`scripts/fuzz.sh seeds DIR`, two tiny runs of the release
/// gan-pipeline; checkpoints are not committed) are valid inputs, so the fuzzer mutates real
/// checkpoints.
@Suite struct FuzzCheckpointSeedTests {
    @Test func everyCheckpointSeedReadsCompletely() throws {
        _ = try #require(CLI.binary("gan-pipeline"))
        let dir = try TempDir()
        let r = try CLI.run(URL(fileURLWithPath: "/bin/bash"),
                            [packageRoot().appendingPathComponent("scripts/fuzz.sh").path, "seeds", dir.url.path])
        try #require(r.status == 0, "\(r.stderr)")
        let seeds = try FileManager.default.contentsOfDirectory(atPath: dir.url.path).sorted().map { "\(dir.url.path)/\($0)" }
        #expect(seeds.count >= 2)
        for path in seeds {
            let r = try CheckpointReader(path: path)
            defer { r.close() }
            try r.verifyAllData()
            #expect(try r.buildNetwork("generator").parameterCount > 0 && r.buildNetwork("discriminator").parameterCount > 0)
        }
    }
}
