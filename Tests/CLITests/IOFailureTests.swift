import Foundation
import GANCheckpoint
import GANTestSupport
import Testing

/// I/O failures are errors, never crashes: every writer turns a failed write into one line naming
/// the file and the cause, removes its temporary file, keeps the previous complete file, and the
/// command exits 74 (EX_IOERR) without a signal. Two ways to fail a write: a real full disk (a
/// 3 MB tmpfs; needs root and mount) and the `SWIFTGAN_FAIL_WRITE` seam, which fails the N-th
/// write of a chosen file with a chosen errno.
@Suite("I/O failures: exit 74, one line, nothing partial")
struct IOFailureTests {
    let pipeline = CLI.binary("gan-pipeline")

    /// Root with a working mount(8): a tmpfs can be mounted (CI runs as root).
    static let canMountTmpfs: Bool = {
        guard getuid() == 0, let dir = try? TempDir() else { return false }
        let mounted = (try? CLI.run(URL(fileURLWithPath: "/bin/mount"), ["-t", "tmpfs", "-o", "size=1m", "tmpfs", dir.url.path]))?.status == 0
        if mounted { _ = try? CLI.run(URL(fileURLWithPath: "/bin/umount"), [dir.url.path]) }
        return mounted
    }()

    static func leftovers(_ dir: String) -> [String] {
        (FileManager.default.enumerator(atPath: dir)?.compactMap { $0 as? String } ?? []).filter { $0.hasSuffix(".tmp") }
    }

    /// The crash: ring8 on a 3 MB tmpfs died with SIGSEGV inside libhdf5 once a checkpoint
    /// no longer fit. Now: exit 74, the message, the last complete checkpoint intact; with more
    /// room the run resumes and ends with the state of a run that never hit the wall.
    @Test(.enabled(if: IOFailureTests.canMountTmpfs, "needs root and mount(8) for a full tmpfs"))
    func aFullDiskStopsTrainingWithExit74AndTheRunResumes() throws {
        let bin = try #require(pipeline, "build gan-pipeline first (make test does)")
        let yaml = packageRoot().appendingPathComponent("Pipelines/ring8.yaml").path
        let dir = try TempDir()
        let mountPoint = dir.path("full")
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        #expect(try CLI.run(URL(fileURLWithPath: "/bin/mount"), ["-t", "tmpfs", "-o", "size=3m", "tmpfs", mountPoint]).status == 0)
        defer { _ = try? CLI.run(URL(fileURLWithPath: "/bin/umount"), [mountPoint]) }
        let args = ["--quiet", "--stages", "prep,train", "--set", "train.steps=3000", "--set", "train.checkpoint_every=200",
                    "--set", "checkpoint.keep_last=100", "--set", "data.size=20000"]
        let run = "\(mountPoint)/run", straight = dir.path("straight")
        let full = try CLI.run(bin, ["run", yaml, "--run-dir", run] + args)
        #expect(full.status == 74, "\(full.stderr)")
        let line = full.stderr.split(separator: "\n").last.map(String.init) ?? ""
        #expect(line.hasPrefix("gan-pipeline: \(run)/train/step-") && line.contains(": cannot write: No space left on device; free space and rerun to resume"),
                "\(full.stderr)")
        #expect(!full.stderr.contains("HDF5") && !full.stderr.contains("crashed"), "\(full.stderr)")
        #expect(Self.leftovers(run).isEmpty, "\(Self.leftovers(run))")
        let latest = try CheckpointReader(path: "\(run)/train/latest.h5")
        try latest.verifyAllData()
        #expect(latest.step > 0 && latest.step < 3000)
        latest.close()

        #expect(try CLI.run(URL(fileURLWithPath: "/bin/mount"), ["-o", "remount,size=64m", mountPoint]).status == 0)
        let resumed = try CLI.run(bin, ["run", yaml, "--run-dir", run] + args)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try CLI.run(bin, ["run", yaml, "--run-dir", straight] + args).status == 0)
        #expect(try GANPipelineCLITests.sameState("\(straight)/train/step-00003000.h5", "\(run)/train/step-00003000.h5"))
    }

    /// Every writer of a pipeline run, failed by the seam with the four errnos the issue names:
    /// exit 74 with one line naming the file (never its `.tmp`), nothing partial left, and a rerun
    /// without the fault finishes the run.
    @Test(arguments: [("1:ENOSPC@config.yaml", "config.yaml"), ("1:EIO@data.h5", "data.h5"),
                      ("2:ENOSPC@pretrain-d/step-", "pretrain-d/step-"), ("3:EROFS@/train/step-", "train/step-"),
                      ("1:EACCES@distributions.png", "eval/distributions.png"), ("1:ENOSPC@metrics.json", "eval/metrics.json")])
    func everyPipelineWriterFailsCleanly(fault: String, file: String) throws {
        let bin = try #require(pipeline)
        let (yaml, dir) = try GANPipelineCLITests.setUp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = dir.appendingPathComponent("run").path
        let child = try Child(bin.path, ["run", yaml, "--run-dir", run, "--quiet"], environment: ["SWIFTGAN_FAIL_WRITE": fault])
        #expect(child.exitCode == 74, "\(fault): \(child.errorOutput())")
        let err = child.errorOutput()
        let line = err.split(separator: "\n").last.map(String.init) ?? ""   // after the stages' progress lines
        #expect(line.hasPrefix("gan-pipeline: \(run)/\(file)") && line.contains(": cannot write: ") && line.hasSuffix("and rerun to resume (the last complete checkpoint is kept)"),
                "\(fault): \(err)")
        #expect(!err.contains(".tmp") && !err.contains("HDF5"), "\(err)")
        #expect(Self.leftovers(run).isEmpty, "\(fault): \(Self.leftovers(run))")
        let again = try CLI.run(bin, ["run", yaml, "--run-dir", run, "--quiet"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(FileManager.default.fileExists(atPath: "\(run)/eval/metrics.json"))
    }

    /// gan-sample's outputs: a failed write exits 74, removes the temporary file and leaves an
    /// earlier output as it was.
    @Test(arguments: ["samples.csv", "samples.npy", "samples.h5"])
    func aFailedSampleOutputKeepsThePreviousFile(_ name: String) throws {
        let sample = try #require(ImageFixture.binary)
        let dir = try TempDir()
        let checkpoint = try ImageFixture.makeCheckpoint(dir.url, ImageFixture.grey)
        let out = dir.path(name)
        #expect(try CLI.run(sample, ["generate", checkpoint.path, "-n", "3", "-o", out]).status == 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: out))
        let child = try Child(sample.path, ["generate", checkpoint.path, "-n", "5", "-o", out],
                              environment: ["SWIFTGAN_FAIL_WRITE": "1:ENOSPC@\(name)"])
        #expect(child.exitCode == 74)
        #expect(child.errorOutput() == "gan-sample: \(out): cannot write: No space left on device\n")
        #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == before)
        #expect(Self.leftovers(dir.url.path).isEmpty)
    }
}
