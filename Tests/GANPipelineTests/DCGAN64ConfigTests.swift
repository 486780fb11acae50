import Foundation
@testable import GANPipeline
import GANTestSupport
import Testing

/// `architecture: dcgan64` (pytorch/examples' DCGAN) and `data.resize`.
@Suite struct DCGAN64ConfigTests {
    static let shipped = packageRoot().appendingPathComponent("Pipelines/fashion-dcgan64.yaml").path

    @Test func shippedFileLoadsAndStoresItsNewKeys() throws {
        let c = try ConfigLoader.load(path: Self.shipped)
        #expect(c.generator.architecture == .dcgan64 && c.discriminator.architecture == .dcgan64)
        #expect(c.generator.features == 64 && c.data.resize == 64 && c.data.normalize == .symmetric)
        let yaml = c.encodeYAML()
        #expect(yaml.contains("resize: 64\n") && yaml.components(separatedBy: "features: 64\n").count == 3)
        #expect(try ConfigLoader.parse(yaml: yaml, file: "stored.yaml") == c)
        // Other pipelines store neither key.
        let dcgan = try ConfigLoader.load(path: packageRoot().appendingPathComponent("Pipelines/fashion-dcgan.yaml").path)
        #expect(!dcgan.encodeYAML().contains("resize") && !dcgan.encodeYAML().contains("features"))
    }

    @Test func validation() throws {
        let text = try String(contentsOfFile: Self.shipped, encoding: .utf8)
        func error(_ overrides: [String]) -> String? {
            do { _ = try ConfigLoader.parse(yaml: text, file: "f.yaml", overrides: overrides); return nil } catch { return "\(error)" }
        }
        #expect(error([]) == nil)
        #expect(error(["data.normalize=none"])?.contains("data.normalize: the `dcgan64` generator ends in tanh") == true)
        #expect(error(["generator.features=0"])?.contains("generator.features: must be >= 1, got 0") == true)
        #expect(error(["discriminator.spectral_norm=true"])?.contains("discriminator.architecture: `dcgan64` is pytorch/examples' network") == true)
        #expect(error(["train.pack=2"])?.contains("PacGAN packing (train.pack) is for `mlp` discriminators") == true)
        #expect(error(["loss.feature_matching_layer=1"])?.contains("loss.feature_matching_layer: not with a `dcgan64` discriminator") == true)
        #expect(error(["data.resize=0"])?.contains("data.resize: must be an image side in 1...4096 pixels, got 0") == true)
        let toy = minimalYAML + "data: {source: gaussian, resize: 64}\n"
        #expect(configError(toy.replacingOccurrences(of: "data:\n  source: gaussian\n", with: ""))?
                    .contains("data.resize: only image sources (idx, png_folder) are resized") == true)
    }

    @Test func imageSizesTheNetworksCannotTakeAreOneLineErrors() throws {
        let c = try ConfigLoader.load(path: Self.shipped)
        #expect(ModelFactory.shapeProblem(c, sampleShape: [1, 64, 64]) == nil)
        #expect(ModelFactory.shapeProblem(c, sampleShape: [1, 28, 28])?
                    .hasPrefix("generator.architecture: dcgan64 needs square images with a power-of-two side >= 16") == true)
        let dcgan = try ConfigLoader.load(path: packageRoot().appendingPathComponent("Pipelines/fashion-dcgan.yaml").path)
        #expect(ModelFactory.shapeProblem(dcgan, sampleShape: [1, 28, 28]) == nil)
        #expect(ModelFactory.shapeProblem(dcgan, sampleShape: [1, 30, 30]) ==
                    "generator.channels: 2 levels halve the image 2 times, so its sides must be multiples of 4; the data's images are 30x30")
    }
}
