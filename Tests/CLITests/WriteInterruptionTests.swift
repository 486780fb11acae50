import Foundation
import GANCheckpoint
import GANTestSupport
import Testing

/// No lost work, no partial checkpoint, at the exact moments that matter: the test seam
/// `SWIFTGAN_PAUSE_WRITE` stops the background writer halfway through a checkpoint file, and the
/// process is killed (or interrupted twice) right there. Random-timing kills
/// (`GANPipelineCLITests`) may never hit that window; these hit it every time.
@Suite("Interrupted writes: SIGKILL and a second SIGINT in the middle of a checkpoint")
struct WriteInterruptionTests {
    let bin = CLI.binary("gan-pipeline")

    /// Waits until the child announces the pause (`WriteFaults`); returns its stderr.
    static func waitForPause(_ child: Child, timeout: TimeInterval = 120) -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline && child.isRunning {
            let err = child.errorOutput()
            if err.contains("test seam: paused writing") { return err }
            usleep(20_000)
        }
        return child.errorOutput()
    }

    static func listing(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
    }

    @Test func sigkillHalfwayThroughACheckpointResumesFromThePreviousOneBitIdentically() throws {
        let bin = try #require(bin, "build gan-pipeline first (make test does)")
        let (yaml, dir) = try GANPipelineCLITests.setUp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let straight = dir.appendingPathComponent("straight").path, killed = dir.appendingPathComponent("killed").path
        let args = ["--set", "train.steps=1000", "--set", "train.checkpoint_every=100", "--set", "train.eval_every=0",
                    "--set", "checkpoint.keep_last=20", "--quiet", "--stages", "prep,pretrain-d,train"]
        #expect(try CLI.run(bin, ["run", yaml, "--run-dir", straight] + args).status == 0)

        let child = try Child(bin.path, ["run", yaml, "--run-dir", killed] + args,
                              environment: ["SWIFTGAN_PAUSE_WRITE": "1@step-00000300.h5"])
        let err = Self.waitForPause(child)
        #expect(err.contains("test seam: paused writing \(killed)/train/.step-00000300.h5.tmp after "), "\(err)")
        let train = "\(killed)/train"
        let partial = try #require(FileManager.default.attributesOfItem(atPath: "\(train)/.step-00000300.h5.tmp")[.size] as? Int)
        let whole = try #require(FileManager.default.attributesOfItem(atPath: "\(straight)/train/step-00000300.h5")[.size] as? Int)
        #expect(partial > 0 && partial < whole, "halfway: \(partial) of \(whole) bytes")
        #expect(!Self.listing(train).contains("step-00000300.h5"))
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: "\(train)/latest.h5") == "step-00000200.h5")
        child.signal(SIGKILL)
        #expect(child.exitCode == 128 + SIGKILL)

        let resumed = try CLI.run(bin, ["run", yaml, "--run-dir", killed] + args)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("train: resuming from step 200 of 1000"), "\(resumed.stderr)")
        #expect(try GANPipelineCLITests.sameState("\(straight)/train/step-00001000.h5", "\(train)/step-00001000.h5"))
        #expect(!Self.listing(train).contains { $0.hasSuffix(".tmp") }, "the next save removes the leftover")
    }

    /// Ctrl-C asks for a checkpoint; a second Ctrl-C while it is being written exits 130 at once,
    /// and what is left is the previous complete checkpoint plus an ignored `.tmp`, from which a
    /// rerun resumes.
    @Test func aSecondSIGINTWhileTheInterruptCheckpointIsWrittenLeavesNoPartialCheckpoint() throws {
        let bin = try #require(bin)
        let (yaml, dir) = try GANPipelineCLITests.setUp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = dir.appendingPathComponent("run").path, train = "\(run)/train"
        let args = ["--set", "train.checkpoint_every=100000", "--set", "train.eval_every=0", "--quiet", "--stages", "prep,pretrain-d,train"]
        // The second checkpoint written in train/ is the interrupt's (the first is step 0).
        let child = try Child(bin.path, ["run", yaml, "--run-dir", run, "--set", "train.steps=200000"] + args,
                              environment: ["SWIFTGAN_PAUSE_WRITE": "2@/train/step-"])
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && !FileManager.default.fileExists(atPath: "\(train)/latest.h5") { usleep(20_000) }
        usleep(200_000)
        child.signal(SIGINT)
        let err = Self.waitForPause(child)
        #expect(err.contains("stopping after the current step") && err.contains("test seam: paused writing \(train)/.step-"), "\(err)")
        let started = Date()
        child.signal(SIGINT)
        #expect(child.exitCode == 130)
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(child.errorOutput().contains("second signal, exiting now"))

        let files = Self.listing(train)
        #expect(files.filter { $0.hasPrefix("step-") } == ["step-00000000.h5"], "\(files)")
        #expect(files.contains { $0.hasPrefix(".step-") && $0.hasSuffix(".h5.tmp") }, "the half-written file is only a .tmp: \(files)")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: "\(train)/latest.h5") == "step-00000000.h5")
        let reader = try CheckpointReader(path: "\(train)/latest.h5")
        try reader.verifyAllData()
        reader.close()

        let resumed = try CLI.run(bin, ["run", yaml, "--run-dir", run, "--set", "train.steps=300"] + args)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("train: resuming from step 0 of 300"), "\(resumed.stderr)")
        #expect(!Self.listing(train).contains { $0.hasSuffix(".tmp") })
    }
}
