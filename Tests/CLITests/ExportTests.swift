import Foundation
import GANTestSupport
import Testing

/// `gan-sample export` checked by the tools its users run: for a shrunk run of every shipped
/// pipeline (plus variants that reach the layer kinds no shipped file uses: batch norm in an MLP,
/// spectral norm, virtual batch norm on vectors and images), onnxruntime on the ONNX files and
/// PyTorch on the safetensors files (in the module Checkpoints/README.md's snippet builds) must
/// give what `gan-sample generate --noise` and `gan-sample score` give, to 1e-5 absolute.
/// `export_check.py` does the Python side in a private venv from PyPI (`make export-env`).
@Suite struct ExportCLITests {
    /// The venv's Python when it has onnx, onnxruntime, numpy and safetensors (`EXPORT_PYTHON`
    /// overrides the path).
    static let python: String? = {
        let candidates: [String?] = [ProcessInfo.processInfo.environment["EXPORT_PYTHON"],
                                     packageRoot().appendingPathComponent(".build/export-venv/bin/python").path]
        for case let p? in candidates where FileManager.default.isExecutableFile(atPath: p) {
            if let r = try? CLI.run(URL(fileURLWithPath: p), ["-c", "import onnx, onnxruntime, numpy, safetensors"]), r.status == 0 {
                return p
            }
        }
        return nil
    }()

    static let hasTorch: Bool = {
        guard let python else { return false }
        return (try? CLI.run(URL(fileURLWithPath: python), ["-c", "import torch"]))?.status == 0
    }()

    /// Largest absolute difference accepted between an exported model and gan-sample.
    static let tolerance = 1e-5

    /// Every shipped pipeline, shrunk (2 G steps, small networks), and the variants.
    static let cases: [(name: String, pipeline: String, args: [String])] = {
        let toy = ["--set", "data.size=2000", "--set", "generator.hidden=[16,16]", "--set", "discriminator.hidden=[16,16]"]
        let mlp = ["--set", "generator.hidden=[32]", "--set", "discriminator.hidden=[16]"]
        let dcgan = ["--set", "generator.channels=[8,4]", "--set", "discriminator.channels=[4,8]", "--set", "train.batch_size=16"]
        let vbn = ["--set", "generator.batch_norm=false", "--set", "generator.virtual_batch_norm=true", "--set", "discriminator.batch_norm=false",
                   "--set", "discriminator.virtual_batch_norm=true", "--set", "discriminator.spectral_norm=true",
                   "--set", "train.reference_batch_size=16"]
        return [
            ("gaussian-1d", "gaussian-1d", ["--set", "data.size=2000", "--set", "pretrain_d.steps=20"]),
            ("parabola-2d", "parabola-2d", toy),
            ("ring8", "ring8", toy),
            ("grid25", "grid25", toy),
            ("fashion-mlp", "fashion-mlp", mlp),
            ("fashion-maxout", "fashion-maxout", mlp),
            ("fashion-dcgan", "fashion-dcgan", dcgan),
            ("fashion-wgan", "fashion-wgan", mlp),
            ("fashion-tricks", "fashion-tricks", mlp),
            ("fashion-dcgan64", "fashion-dcgan64", ["--set", "data.resize=16", "--set", "generator.features=4", "--set", "discriminator.features=4",
                                                    "--set", "train.batch_size=8"]),
            ("parabola-2d+batch-norm", "parabola-2d", toy + ["--set", "generator.batch_norm=true", "--set", "discriminator.batch_norm=true"]),
            ("ring8+sn+vbn", "ring8", toy + ["--set", "generator.virtual_batch_norm=true", "--set", "discriminator.virtual_batch_norm=true",
                                            "--set", "discriminator.spectral_norm=true", "--set", "train.reference_batch_size=16"]),
            ("fashion-dcgan+sn+vbn", "fashion-dcgan", dcgan + vbn),
            // Class-conditional (issue 22): a `class` input; ACGAN's D also outputs class logits.
            ("fashion-cgan", "fashion-cgan", mlp),
            ("fashion-cgan+projection", "fashion-cgan", mlp + ["--set", "conditioning=projection"]),
            ("fashion-cgan+dcgan+concat", "fashion-cgan", dcgan + ["--set", "conditioning=concat", "--set", "generator.architecture=dcgan",
                                                                  "--set", "discriminator.architecture=dcgan"]),
        ]
    }()

    /// The trained runs and the JSON spec `export_check.py` reads; `prepare` (the references from
    /// gan-sample) has run when Python is there. Built once for both tests, under .build.
    struct Fixture: Sendable {
        var spec: String
        var names: [String]
    }

    static let fixture: Result<Fixture, any Error> = Result {
        guard let pipeline = CLI.binary("gan-pipeline"), let sample = CLI.binary("gan-sample") else {
            throw CheckError("build gan-pipeline and gan-sample first (make test does)")
        }
        let root = packageRoot().appendingPathComponent(".build/export-check")
        try? FileManager.default.removeItem(at: root)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        var specCases: [[String: String]] = []
        for c in cases {
            let dir = root.appendingPathComponent(c.name), run = dir.appendingPathComponent("run").path
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let yaml = packageRoot().appendingPathComponent("Pipelines/\(c.pipeline).yaml").path
            let stages = c.pipeline == "gaussian-1d" ? "prep,pretrain-d,train" : "prep,train"
            let r = try CLI.run(pipeline, ["run", yaml, "--run-dir", run, "--quiet", "--threads", "1", "--stages", stages,
                                           "--set", "train.steps=2", "--set", "train.checkpoint_every=2"] + c.args)
            guard r.status == 0 else { throw CheckError("\(c.name): gan-pipeline exited \(r.status): \(r.stderr)") }
            specCases.append(["name": c.name, "run": run, "dir": dir.path])
        }
        let spec: [String: Any] = ["gan_sample": sample.path, "readme": packageRoot().appendingPathComponent("Checkpoints/README.md").path,
                                   "main_readme": packageRoot().appendingPathComponent("README.md").path,
                                   "opsets": [13, 17, 21], "cases": specCases]
        let specPath = root.appendingPathComponent("spec.json").path
        try JSONSerialization.data(withJSONObject: spec, options: [.prettyPrinted]).write(to: URL(fileURLWithPath: specPath))
        if python != nil {
            let prepared = try check("prepare", specPath)
            for (name, result) in prepared where result["error"] != nil { throw CheckError("\(name): prepare: \(result["error"]!)") }
        }
        return Fixture(spec: specPath, names: cases.map(\.name))
    }

    struct CheckError: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    /// Runs `export_check.py MODE SPEC` and returns its per-case results.
    static func check(_ mode: String, _ spec: String) throws -> [String: [String: Any]] {
        let script = packageRoot().appendingPathComponent("Tests/CLITests/export_check.py").path
        let r = try CLI.run(URL(fileURLWithPath: python!), [script, mode, spec])
        guard r.status == 0, let line = r.stdout.split(separator: "\n").last(where: { $0.hasPrefix("EXPORT-CHECK ") }),
              let json = try JSONSerialization.jsonObject(with: Data(line.dropFirst("EXPORT-CHECK ".count).utf8)) as? [String: Any],
              let results = json["cases"] as? [String: [String: Any]] else {
            throw CheckError("export_check.py \(mode) exited \(r.status): \(r.stderr.suffix(2000))")
        }
        return results
    }

    /// Expects every difference of every case within the tolerance and prints them (the report's
    /// per-pipeline table).
    static func expectWithinTolerance(_ results: [String: [String: Any]], names: [String], what: String) {
        for name in names {
            guard let r = results[name] else {
                Issue.record("\(name): no \(what) result")
                continue
            }
            if let error = r["error"] {
                Issue.record("\(name): \(error)")
                continue
            }
            #expect(!r.isEmpty, "\(name): nothing compared")
            for (key, value) in r.sorted(by: { $0.key < $1.key }) {
                let diff = (value as? Double) ?? .infinity
                #expect(diff <= tolerance, "\(name) \(key): max |difference| \(diff) > \(tolerance)")
            }
            let worst = r.values.compactMap { $0 as? Double }.max() ?? .nan
            print("export check \(what) \(name): max abs difference \(worst) over \(r.keys.sorted().joined(separator: ", "))")
        }
    }

    @Test(.enabled(if: python != nil, "no Python with onnx + onnxruntime + numpy + safetensors (EXPORT_PYTHON or .build/export-venv; make export-env installs them from PyPI)"))
    func onnxModelsMatchGenerateAndScoreInOnnxruntime() throws {
        let f = try Self.fixture.get()
        Self.expectWithinTolerance(try Self.check("onnx", f.spec), names: f.names, what: "onnx")
    }

    @Test(.enabled(if: hasTorch, "torch is not installed in .build/export-venv (make export-env installs the CPU wheel from PyPI when it can): the safetensors files are not checked in PyTorch"))
    func safetensorsInTheReadmesPyTorchModuleMatchGenerateAndScore() throws {
        let f = try Self.fixture.get()
        // The README's PyTorch module takes no class labels: conditional models are checked in onnxruntime only.
        Self.expectWithinTolerance(try Self.check("torch", f.spec), names: f.names.filter { !$0.hasPrefix("fashion-cgan") }, what: "torch")
    }
}
