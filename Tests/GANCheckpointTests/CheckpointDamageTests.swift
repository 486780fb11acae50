import Foundation
import GANCheckpoint
import GANHDF5
import GANNN
import GANTestSupport
import Testing
@_spi(Testing) import GANTensor

/// Damaged and mismatching checkpoints: each gives a thrown one-line error naming the file.
@Suite("Checkpoint damage and mismatches")
struct CheckpointDamageTests {
    /// A checkpoint whose first generator weight ([64, 100] here) has a recognisable value pattern.
    static func writeCheckpoint(_ path: String) throws -> (TestGAN, [Float]) {
        let gan = try TestGAN(seed: 21, z: 100, hidden: 64)
        let w = gan.generator.parameters[0].value
        let pattern = (0..<w.count).map { Float($0) * 1e-4 + 0.5 }
        for i in 0..<w.count { w[i] = pattern[i] }
        try gan.checkpoint().write(to: path)
        try loadEverything(path, like: gan)   // the intact file loads
        return (gan, pattern)
    }

    @Test(arguments: [0.01, 0.3, 0.6, 0.95, 0.999])
    func truncatedFile(fraction: Double) throws {
        let dir = try TempDir()
        let good = dir.path("good.h5")
        let (gan, _) = try Self.writeCheckpoint(good)
        let bytes = try readBytes(good)
        let cut = dir.path("cut-\(fraction).h5")
        try writeBytes(bytes.prefix(Int(Double(bytes.count) * fraction)), cut)
        let e = #expect(throws: (any Error).self) { try loadEverything(cut, like: gan) }
        expectOneLineError(e, naming: cut)
        #expect(HDF5Diagnostics.openHandleCount(path: cut) == 0)
    }

    @Test func flippedByteInsideAWeightIsDetectedByTheChecksum() throws {
        let dir = try TempDir()
        let path = dir.path("flip.h5")
        let (gan, pattern) = try Self.writeCheckpoint(path)
        var bytes = try readBytes(path)
        let marker = pattern[3000..<3008].withUnsafeBytes { Data($0) }
        let at = try #require(bytes.range(of: marker)).lowerBound
        #expect(bytes.range(of: marker, in: (at + 1)..<bytes.count) == nil)
        bytes[at + 13] ^= 0x04
        try writeBytes(bytes, path)

        let r = try CheckpointReader(path: path)   // metadata is intact: opening works
        let g = Sequential(specs: gan.generator.specs!)
        let e = #expect(throws: HDF5Error.self) { try r.load("generator", into: g) }
        let text = expectOneLineError(e, naming: path)
        #expect(text.contains("/generator/0_linear/weight"))
        #expect(text.localizedCaseInsensitiveContains("fletcher32") || text.localizedCaseInsensitiveContains("checksum"))
        let v = #expect(throws: HDF5Error.self) { try r.verifyAllData() }
        expectOneLineError(v, naming: path)
        // The other network is unaffected.
        try r.load("discriminator", into: Sequential(specs: gan.discriminator.specs!))
        r.close()
        #expect(HDF5Diagnostics.openHandleCount(path: path) == 0)
    }

    @Test(arguments: ["generator/2_linear/bias", "discriminator/4_linear/weight",
                      "optimizer/generator/0_linear/weight/exp_avg_sq", "optimizer/discriminator/2_linear/bias/momentum_buffer",
                      "rng/noise", "discriminator", "data"])
    func missingObject(_ object: String) throws {
        let dir = try TempDir()
        let path = dir.path("missing.h5")
        let (gan, _) = try Self.writeCheckpoint(path)
        let f = try HDF5File.open(path, writable: true)
        try f.root.remove(object)
        try f.close()
        let e = #expect(throws: (any Error).self) { try loadEverything(path, like: gan) }
        let text = expectOneLineError(e, naming: path)
        #expect(text.contains("/\(object)"), "\(text)")
        if object.hasSuffix("bias") || object.hasSuffix("weight") || object.hasSuffix("_sq") {
            #expect(text.contains("missing tensor (expected shape"), "\(text)")
        }
    }

    @Test func networkWithoutALayerIsADifferentArchitecture() throws {
        let dir = try TempDir()
        let path = dir.path("short.h5")
        let gan = try TestGAN(seed: 3)
        var c = gan.checkpoint()
        let short = Sequential(Array(gan.generator.layers.prefix(3)))   // no Tanh
        c.networks[0] = NetworkEntry("generator", short)
        try c.write(to: path)
        let r = try CheckpointReader(path: path)
        defer { r.close() }
        let e = #expect(throws: CheckpointError.self) { try r.load("generator", into: gan.generator) }
        let text = expectOneLineError(e, naming: path)
        #expect(text.contains("/generator: different architecture: layer 3 expected 3_tanh, found nothing (4 vs 3 layers)"), "\(text)")
    }

    @Test func differentHiddenSizeNamesPathAndShapes() throws {
        let saved = try SavedTestGAN(seed: 4, name: "arch.h5")
        let (path, r) = (saved.path, saved.reader)
        defer { r.close() }
        let wider = makeTestGenerator(hidden: 17, seed: 4)
        let before = networkTensors(wider).map { ($0.0, $0.1.clone()) }
        let e = #expect(throws: CheckpointError.self) { try r.load("generator", into: wider) }
        let text = expectOneLineError(e, naming: path)
        #expect(e?.path == "/generator/0_linear/weight")
        #expect(text.hasSuffix("/generator/0_linear/weight: expected shape [17, 8], found [16, 8]"), "\(text)")
        expectBitwise(before, networkTensors(wider), "network left untouched")
        // Optimiser state of another shape, too.
        let o = Adam(parameters: wider.parameters, beta1: 0.5)
        let eo = #expect(throws: CheckpointError.self) { try r.loadOptimizer("generator", into: o, of: wider) }
        #expect(eo?.description.contains("/optimizer/generator/0_linear/weight/exp_avg: expected shape [17, 8], found [16, 8]") == true)
        #expect(o.stepCount == 0)
    }

    @Test func differentLayerKindsAndAttributesNameTheLayer() throws {
        let saved = try SavedTestGAN(seed: 5, name: "kinds.h5")
        let (path, gan, r) = (saved.path, saved.gan, saved.reader)
        defer { r.close() }
        var rng = RNG(seed: 1)
        let relu = Sequential(Linear(8, 16, rng: &rng), ReLU(), Linear(16, 12, rng: &rng), Tanh())
        let e = #expect(throws: CheckpointError.self) { try r.load("generator", into: relu) }
        let text = expectOneLineError(e, naming: path)
        #expect(text.contains("layer 1 expected 1_relu, found 1_leaky_relu"), "\(text)")
        // Same kinds, other slope: an architecture attribute.
        let slope = Sequential(Linear(8, 16, rng: &rng), LeakyReLU(alpha: 0.01), Linear(16, 12, rng: &rng), Tanh())
        let e2 = #expect(throws: CheckpointError.self) { try r.load("generator", into: slope) }
        #expect(e2?.path == "/generator/1_leaky_relu")
        #expect(e2?.message.contains("expected leakyReLU(alpha: 0.01), found leakyReLU(alpha: 0.2)") == true, "\(String(describing: e2))")
        // A Linear without bias where the file has one.
        let noBias = Sequential(Linear(8, 16, bias: false), LeakyReLU(alpha: 0.2), Linear(16, 12), Tanh())
        let e3 = #expect(throws: CheckpointError.self) { try r.load("generator", into: noBias) }
        #expect(e3?.path == "/generator/0_linear/bias" && e3?.message.contains("unexpected tensor") == true, "\(String(describing: e3))")
        // Another optimiser kind, or other hyper-parameters, for the stored state.
        let g = Sequential(specs: gan.generator.specs!)
        let e4 = #expect(throws: CheckpointError.self) { try r.loadOptimizer("generator", into: SGD(parameters: g.parameters, learningRate: 1), of: g) }
        #expect(e4?.description.contains("/optimizer/generator: optimizer kind: expected sgd, found adam") == true)
        let d = Sequential(specs: gan.discriminator.specs!)
        let plain = SGD(parameters: d.parameters, learningRate: 1)   // the file has momentum 0.9
        let e5 = #expect(throws: CheckpointError.self) { try r.loadOptimizer("discriminator", into: plain, of: d) }
        #expect(e5?.path == "/optimizer/discriminator@momentum" && e5?.message.contains("expected 0.0, found 0.9") == true, "\(String(describing: e5))")
    }

    /// A layer attribute that declares a billion-wide layer (damage, or a hostile file) is refused
    /// before anything is built: building would allocate what the file never stored.
    @Test(arguments: ["in_features", "out_features"])
    func anArchitectureLargerThanTheStoredWeightsIsRefused(_ attribute: String) throws {
        let dir = try TempDir()
        let path = dir.path("wide.h5")
        _ = try Self.writeCheckpoint(path)
        let w = try HDF5File.open(path, writable: true)
        try w.root.group("generator/0_linear").setAttribute(attribute, 1e9)
        try w.close()
        let r = try CheckpointReader(path: path)
        defer { r.close() }
        for body in [{ _ = try r.buildNetwork("generator") }, { _ = try r.specs(of: "generator") }] {
            let e = #expect(throws: CheckpointError.self) { try body() }
            #expect(e?.path == "/generator" && e?.message.contains("the architecture declares") == true, "\(String(describing: e))")
        }
        #expect(try r.buildNetwork("discriminator").parameterCount > 0)
    }

    @Test func notACheckpoint() throws {
        let dir = try TempDir()
        let text = dir.path("notes.h5"), empty = dir.path("empty.h5"), random = dir.path("random.h5")
        try writeBytes(Data("step: 10\nthis is not HDF5\n".utf8), text)
        try writeBytes(Data(), empty)
        var rng = RNG(seed: 8)
        try writeBytes(Data((0..<10_000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }), random)
        let hdf5 = dir.path("plain.h5")   // valid HDF5, no checkpoint attributes
        try writeSampleFile(hdf5)
        for path in [text, empty, random, hdf5, dir.path("absent.h5"), dir.url.path] {
            let e = #expect(throws: (any Error).self) { try CheckpointReader(path: path) }
            expectOneLineError(e, naming: path)
            #expect(HDF5Diagnostics.openHandleCount(path: path) == 0)
        }
        let e = #expect(throws: CheckpointError.self) { try CheckpointReader(path: hdf5) }
        #expect(e?.description == "\(hdf5): /@format: not a checkpoint: expected \"swiftgan-checkpoint\", found \"gan-checkpoint\"")
    }

    @Test func markerFormatAndVersionAreChecked() throws {
        let dir = try TempDir()
        // Written directly with the wrapper: the attributes a checkpoint starts with, no marker.
        let bare = dir.path("bare.h5")
        let f = try HDF5File.create(bare)
        try f.root.setAttribute("format", TrainingCheckpoint.format)
        try f.root.setAttribute("format_version", 1)
        try f.root.createGroup("generator")
        try f.close()
        expectError(try CheckpointReader(path: bare), bare, "/@complete: incomplete checkpoint (the write was interrupted)")

        _ = try Self.writeCheckpoint(dir.path("good.h5"))
        let cases: [(String, (HDF5Group) throws -> Void, String)] = [
            ("nomarker", { try $0.removeAttribute("complete") }, "/@complete: incomplete checkpoint"),
            ("marker0", { try $0.setAttribute("complete", 0) }, "/@complete: incomplete checkpoint"),
            ("format", { try $0.setAttribute("format", "keras-weights") }, "/@format: not a checkpoint: expected \"swiftgan-checkpoint\", found \"keras-weights\""),
            ("noformat", { try $0.removeAttribute("format") }, "/@format: not a checkpoint: attribute missing"),
            ("version", { try $0.setAttribute("format_version", 3) }, "/@format_version: unsupported version 3 (this build reads 1...2)"),
            ("version0", { try $0.setAttribute("format_version", 0) }, "/@format_version: unsupported version 0"),
            ("versionstring", { try $0.setAttribute("format_version", "1") }, "/@format_version: missing or not an integer"),
            ("nostep", { try $0.removeAttribute("step") }, "/ (attribute 'step'): no such attribute"),
            ("stage", { try $0.setAttribute("stage", "evaluate") }, "/@stage: unknown stage 'evaluate' (expected pretrain-d or train)"),
        ]
        for (name, damage, message) in cases {
            let path = dir.path("\(name).h5")
            try FileManager.default.copyItem(atPath: dir.path("good.h5"), toPath: path)
            let w = try HDF5File.open(path, writable: true)
            try damage(w.root)
            try w.close()
            expectError(try CheckpointReader(path: path), path, message)
        }
    }

    private func expectError(_ body: @autoclosure () throws -> CheckpointReader, _ path: String, _ message: String,
                             sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try body()
            Issue.record("expected an error for \(path)", sourceLocation: sourceLocation)
        } catch {
            let text = expectOneLineError(error, naming: path, sourceLocation: sourceLocation)
            #expect(text.hasPrefix(path) && text.contains(message), "\(text)", sourceLocation: sourceLocation)
        }
    }
}
