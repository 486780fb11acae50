import Foundation
import GANCheckpoint
import GANNN
import GANTestSupport
import Testing
@_spi(Testing) import GANTensor

/// The documentation is checked against the files: `h5dump -H` shows the layout
/// Checkpoints/README.md describes, and the README's h5py snippet (extracted from the README, so the
/// two cannot drift) runs the generator of a checkpoint with the same results as SwiftGAN.
@Suite("Checkpoint documentation")
struct CheckpointReadmeTests {
    static let readme = packageRoot().appendingPathComponent("Checkpoints/README.md")

    /// The first ```python block of the README.
    static func pythonSnippet() throws -> String {
        let text = try String(contentsOf: readme, encoding: .utf8)
        let start = try #require(text.range(of: "```python\n"), "no ```python block in \(readme.path)")
        let end = try #require(text.range(of: "\n```", range: start.upperBound..<text.endIndex))
        return String(text[start.upperBound..<end.lowerBound])
    }

    /// `H5PY_PYTHON`, else `<package>/.build/h5py-venv/bin/python`, when it imports h5py and numpy.
    static let python: String? = {
        let candidates: [String?] = [ProcessInfo.processInfo.environment["H5PY_PYTHON"],
                                     packageRoot().appendingPathComponent(".build/h5py-venv/bin/python").path]
        for case let p? in candidates where FileManager.default.isExecutableFile(atPath: p) {
            if let r = try? run(p, ["-c", "import h5py, numpy"]), r.status == 0 { return p }
        }
        return nil
    }()

    static func run(_ tool: String, _ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Read stderr on another thread so neither pipe can fill up and block the child.
        let errData = Mutex2<Data>(Data())
        let reader = Thread { errData.set(err.fileHandleForReading.readDataToEndOfFile()) }
        reader.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        while !reader.isFinished { usleep(1000) }
        return (p.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData.get(), as: UTF8.self))
    }

    /// An mlp_gan-shaped generator (ReLU, sigmoid, data in [0, 255]) and the test GAN's
    /// (LeakyReLU, tanh, data in [-1, 1]).
    static func generators() -> [(Sequential, DataDescription)] {
        var rng = RNG(seed: 77)
        let mlp = Sequential(Linear(10, 32, weightInit: .xavierNormal(), rng: &rng), ReLU(),
                             Linear(32, 18, weightInit: .xavierNormal(), rng: &rng), Sigmoid())
        return [(mlp, DataDescription(sampleShape: [2, 3, 3], scale: 1 / 255, noiseDimension: 10)),
                (makeTestGenerator(seed: 78), DataDescription(sampleShape: [1, 3, 4], scale: 1 / 127.5, offset: -1, noiseDimension: 8))]
    }

    @Test(.enabled(if: python != nil, "no Python with h5py + numpy (H5PY_PYTHON or .build/h5py-venv)"))
    func readmeSnippetRunsTheGeneratorLikeSwiftGAN() throws {
        let python = try #require(Self.python)
        let dir = try TempDir()
        let script = dir.path("load_generator.py")
        // The snippet, plus a check line with what it computed.
        let check = """

            import json
            print("SWIFTGAN-CHECK " + json.dumps({"z": z.ravel().tolist(), "x": x.ravel().tolist(),
                                                 "shape": list(images.shape), "pixels_max": float(pixels.max())}))

            """
        try (try Self.pythonSnippet() + check).write(toFile: script, atomically: true, encoding: .utf8)

        for (i, (g, data)) in Self.generators().enumerated() {
            let path = dir.path("g\(i).h5")
            let d = makeTestDiscriminator(input: data.sampleShape.reduce(1, *), seed: 1)
            try TrainingCheckpoint(stage: .train, step: 1, data: data,
                                   networks: [NetworkEntry("generator", g), NetworkEntry("discriminator", d)]).write(to: path)
            let r = try Self.run(python, [script, path])
            #expect(r.status == 0, "python failed: \(r.err)")
            let lines = r.out.split(separator: "\n").map(String.init)
            #expect(lines.first?.hasPrefix("(16, \(data.sampleShape.map(String.init).joined(separator: ", "))) float32 ") == true,
                    "snippet printed \(lines)")
            let json = try #require(lines.first { $0.hasPrefix("SWIFTGAN-CHECK ") }?.dropFirst("SWIFTGAN-CHECK ".count))
            struct Check: Decodable { var z: [Double]; var x: [Double]; var shape: [Int]; var pixels_max: Double }
            let c = try JSONDecoder().decode(Check.self, from: Data(json.utf8))
            #expect(c.shape == [16] + data.sampleShape)
            let z = Tensor(shape: [16, data.noiseDimension], values: c.z.map { Float($0) })   // float32 values, exact
            let y = g.forward(z, training: false).array
            let numpy = c.x.map { Float($0) }
            #expect(closeness(numpy, y, rtol: 1e-5, atol: 1e-6) <= 1, "numpy and SwiftGAN disagree")
            let pixelsMax = (Double(y.max()!) - Double(data.offset)) / Double(data.scale)
            #expect(abs(c.pixels_max - pixelsMax) <= 1e-3 * max(1, abs(pixelsMax)))
        }
    }

    @Test(.enabled(if: findTool("h5dump") != nil, "h5dump (hdf5-tools) is not installed"))
    func h5dumpShowsTheDocumentedLayout() throws {
        let dir = try TempDir()
        let path = dir.path("step-00000003.h5")
        try TestGAN(seed: 9).checkpoint().write(to: path)
        let h5dump = findTool("h5dump")!
        let header = try runTool(h5dump, ["-H", path])
        var needles = ["GROUP \"generator\"", "GROUP \"discriminator\"", "GROUP \"optimizer\"", "GROUP \"rng\"",
                       "GROUP \"history\"", "GROUP \"data\"", "DATASET \"fixed_noise\"",
                       "GROUP \"0_linear\"", "GROUP \"1_leaky_relu\"", "GROUP \"3_maxout\"", "GROUP \"5_clamp\"",
                       "DATASET \"weight\"", "DATASET \"exp_avg_sq\"", "DATASET \"momentum_buffer\"", "DATASET \"noise\"",
                       "DATASET \"d_loss\"", "H5T_IEEE_F32LE", "H5T_STD_U64LE", "H5T_IEEE_F64LE", "CSET H5T_CSET_UTF8"]
        needles += ["format", "format_version", "stage", "step", "epoch", "position", "created_utc", "tool_version",
                    "threads", "config", "complete", "sample_shape", "scale", "offset", "noise_dimension", "noise_prior",
                    "noise_parameters", "layers", "parameter_count", "kind", "in_features", "out_features", "alpha",
                    "pieces", "min", "max", "lr", "beta1", "beta2", "eps", "weight_decay", "momentum", "dampening",
                    "nesterov", "clip_value", "algorithm"].map { "ATTRIBUTE \"\($0)\"" }
        for needle in needles { #expect(header.contains(needle), "h5dump -H lacks \(needle)") }

        // One dataset in detail: path, type, [out, in] shape, chunked with Fletcher-32.
        let weight = try runTool(h5dump, ["-H", "-p", "-d", "/generator/0_linear/weight", path])
        for needle in ["DATASET \"/generator/0_linear/weight\"", "DATATYPE  H5T_IEEE_F32LE",
                       "DATASPACE  SIMPLE { ( 16, 8 ) / ( 16, 8 ) }", "CHUNKED ( 16, 8 )", "CHECKSUM FLETCHER32"] {
            #expect(weight.contains(needle), "h5dump of the weight lacks \(needle): \(weight)")
        }
        let state = try runTool(h5dump, ["-H", "-d", "/optimizer/generator/2_linear/weight/exp_avg", path])
        #expect(state.contains("SIMPLE { ( 12, 16 ) / ( 12, 16 ) }"))
        // Attribute values print as documented.
        let attrs = try runTool(h5dump, ["-A", "-g", "/generator/0_linear", path])
        #expect(attrs.contains("\"linear\"") && attrs.contains("(0): 8") && attrs.contains("(0): 16"), "\(attrs)")
        let format = try runTool(h5dump, ["-a", "/format", path])
        #expect(format.contains("\"swiftgan-checkpoint\""))
    }
}
