import Foundation
import Testing

/// End-to-end tests of the built `gan-bench` (tiny iteration counts; speed is never asserted here).
@Suite struct GANBenchTests {
    let bench = CLI.binary("gan-bench")

    /// The peers' RESULT fields (see ../shared/peers/common.py `report`).
    static let peerFields = ["framework", "version", "model", "threads", "iters", "batch", "wall_s", "it_per_s",
                             "samples_per_s", "cpu_util", "foreign_load", "peak_rss_mb"]

    @Test func toy1DPrintsPeerResultAndLearns() throws {
        let bench = try #require(bench, "build gan-bench first (make test does)")
        let r = try CLI.run(bench, ["--model", "toy_1d", "--iters", "300", "--warmup", "0", "--threads", "1"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let json = try #require(CLI.resultJSON(r.stdout), "no RESULT line in: \(r.stdout)")
        for f in Self.peerFields { #expect(json[f] != nil, "missing field \(f)") }
        #expect(json["framework"] as? String == "swift")
        #expect(json["model"] as? String == "toy_1d")
        #expect(json["iters"] as? Int == 300)
        #expect(json["batch"] as? Int == 100)
        let itPerS = try #require(json["it_per_s"] as? Double)
        let wall = try #require(json["wall_s"] as? Double)
        #expect(itPerS > 0 && wall > 0)
        // Both fields are rounded to 3 decimals; at ~6,000 G steps/s the 300 steps take ~50 ms, so
        // wall_s's half-millisecond of rounding alone is ~1 % of the product. Allow exactly the
        // rounding of each factor, plus 0.1 %.
        let rounding = itPerS * 0.0005 + wall * 0.0005 + 0.3
        #expect(abs(itPerS * wall - 300) <= rounding, "it_per_s x wall_s must equal iters (within the rounding of each)")
        // The engine allocates nothing per step once buffers exist (counted by interposing malloc).
        #expect(json["allocs_per_iter"] as? Double == 0, "allocations per iteration: \(json["allocs_per_iter"] ?? "missing")")
        // 300 G steps (6,000 D steps) already move G's mean most of the way from ~0 towards 4.
        let mean = try #require(json["g_mean"] as? Double)
        #expect(mean > 2.0, "G's mean \(mean) did not move towards the target 4")
    }

    @Test func mlpGANOnFashionMNIST() throws {
        let bench = try #require(bench)
        guard FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz") else {
            Issue.record("Fashion-MNIST missing: run make deps")
            return
        }
        let r = try CLI.run(bench, ["--model", "mlp_gan", "--iters", "5", "--warmup", "1", "--log-every", "1"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let json = try #require(CLI.resultJSON(r.stdout))
        for f in Self.peerFields + ["gflop_per_iter", "achieved_gflops"] { #expect(json[f] != nil, "missing field \(f)") }
        // Same analytic count as common.mlp_gan_flops: 834.4 MFLOP.
        #expect(json["gflop_per_iter"] as? Double == 0.8344)
        #expect(json["batch"] as? Int == 128)
        #expect(json["data"] as? String == "fashion-mnist streamed")   // read per batch, not loaded
        let allocations = try #require(json["allocs_per_iter"] as? Double)
        if json["gemm"] as? String == "openblas" {
            #expect(allocations == 0, "allocations per iteration: \(allocations)")
        } else {
            // oneDNN's products (AVX-512 CPUs) allocate its execution arguments on every call, about
            // 7 per call (16 products an iteration, a call per product and thread); the engine itself
            // allocates nothing, as the same run on OpenBLAS shows.
            #expect((json["gemm"] as? String ?? "").hasPrefix("onednn"))
            let threads = try #require(json["threads"] as? Int)
            #expect(allocations <= Double(8 * 16 * threads), "allocations per iteration with oneDNN's products: \(allocations)")
            let blas = try CLI.run(bench, ["--model", "mlp_gan", "--iters", "5", "--warmup", "1"], environment: ["SWIFTGAN_GEMM": "openblas"])
            let blasJSON = try #require(CLI.resultJSON(blas.stdout), "no RESULT line in: \(blas.stdout) \(blas.stderr)")
            #expect(blasJSON["gemm"] as? String == "openblas")
            #expect(blasJSON["allocs_per_iter"] as? Double == 0, "allocations per iteration on OpenBLAS: \(blasJSON["allocs_per_iter"] ?? "missing")")
        }
        let lossD = try #require(json["final_lossD"] as? Double)
        #expect(lossD.isFinite && lossD > 0)
        #expect(r.stderr.contains("iter 5: lossD"))
    }

    @Test func normalFillChecksItsBitsAndTimesBothTransforms() throws {
        let bench = try #require(bench)
        let r = try CLI.run(bench, ["--model", "normal_fill", "--iters", "100", "--warmup", "1"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let json = try #require(CLI.resultJSON(r.stdout))
        #expect(json["batch"] as? Int == 100)
        let vector = try #require(json["ns_per_pair"] as? Double), scalar = try #require(json["scalar_ns_per_pair"] as? Double)
        #expect(vector > 0 && scalar > 0)
        #expect(r.stderr.contains("same bits"))
    }

    @Test func gemmCeilingRuns() throws {
        let bench = try #require(bench)
        let r = try CLI.run(bench, ["--model", "mlp_gan_gemms", "--iters", "3", "--warmup", "1"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let json = try #require(CLI.resultJSON(r.stdout))
        // The 21 GEMMs of common.mlp_gan_gemm_shapes add up to the same 834.4 MFLOP.
        #expect(json["gflop_per_iter"] as? Double == 0.8344)
    }

    @Test func checkpointSaveAndLoadBenchmark() throws {
        let bench = try #require(bench)
        let r = try CLI.run(bench, ["--model", "checkpoint", "--iters", "2", "--warmup", "1"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let json = try #require(CLI.resultJSON(r.stdout))
        let save = try #require(json["save_ms_median"] as? Double), load = try #require(json["load_ms_median"] as? Double)
        #expect(save > 0 && load > 0)
        // 0.67 M parameters + 1.34 M Adam state as float32 = 8.03 MB of tensors; chunking and
        // metadata may add little (an uneven chunk split once made this 13 MB).
        let mb = try #require(json["file_mb"] as? Double)
        #expect(mb > 8.0 && mb < 8.5, "checkpoint file is \(mb) MB")
    }

    @Test func missingDataIsOneLineExit2() throws {
        let bench = try #require(bench)
        let r = try CLI.run(bench, ["--model", "mlp_gan", "--iters", "1"], environment: ["FASHION_MNIST_DIR": "/nonexistent"])
        #expect(r.status == 2)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1, "expected one line, got: \(r.stderr)")
        #expect(r.stderr.contains("/nonexistent/train-images-idx3-ubyte.gz: no such file"))
        #expect(r.stdout.isEmpty)
    }

    @Test(arguments: [["--threads", "0"], ["--iters", "-1"], ["--model", "vae"], ["--bogus"]])
    func malformedCommandLineExits64(_ args: [String]) throws {
        let bench = try #require(bench)
        let r = try CLI.run(bench, args)
        #expect(r.status == 64, "\(args): status \(r.status), stderr \(r.stderr)")
        #expect(!r.stderr.isEmpty)
    }

    @Test func helpHasExamplesAndNoStraySpaces() throws {
        #expect(try CLI.helpProblems(try #require(bench), []) == [])
    }

    /// swift-argument-parser validates option names only in debug builds (platform notes §5).
    @Test func helpWorksInDebugBuild() throws {
        guard let debug = CLI.binary("gan-bench", configuration: "debug") else { return }
        let r = try CLI.run(debug, ["--help"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(r.stdout.contains("--model"))
    }
}
