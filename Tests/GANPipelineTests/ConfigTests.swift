import Foundation
@testable import GANPipeline
import Testing
import Yams

/// The smallest valid pipeline: every other key takes its default. Line numbers matter to the
/// error tests: `generator_optimizer:` is line 10, its `learning_rate` line 11.
let minimalYAML = """
name: t
data:
  source: gaussian
noise:
  dimension: 1
generator:
  hidden: [4]
discriminator:
  hidden: [4]
generator_optimizer:
  learning_rate: 0.001
discriminator_optimizer:
  learning_rate: 0.001

"""

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

func pipelinePath(_ name: String) -> String {
    repositoryRoot.appendingPathComponent("Pipelines/\(name).yaml").path
}

let shippedPipelines = ["gaussian-1d", "parabola-2d", "ring8", "grid25"]

@Suite struct ConfigLoadingTests {
    @Test(arguments: shippedPipelines)
    func shippedPipelineLoadsAndRoundTrips(_ name: String) throws {
        let config = try ConfigLoader.load(path: pipelinePath(name))
        #expect(config.name == name)
        let again = try ConfigLoader.parse(yaml: config.encodeYAML(), file: "stored.yaml")
        #expect(again == config)
        #expect(config.changedKeys(from: again).isEmpty)
    }

    @Test func shippedPipelinesMatchTheirDescriptions() throws {
        let g = try ConfigLoader.load(path: pipelinePath("gaussian-1d"))
        #expect(g.data.source == .gaussian && g.data.mean == 4 && g.data.std == 0.5)
        #expect(g.discriminator.clipProbability == [0.01, 0.99])
        #expect(g.noise.stratified && g.noise.prior == .uniform && g.pretrainD != nil)
        #expect(g.generatorOptimizer.kind == .sgd && g.generatorOptimizer.momentum > 0)
        #expect(g.discriminatorOptimizer.kind == .sgd && g.discriminatorOptimizer.momentum == g.generatorOptimizer.momentum && g.train.dStepsPerGStep == 1)

        let p = try ConfigLoader.load(path: pipelinePath("parabola-2d"))
        #expect(p.generator.hidden == [10, 10, 10] && p.discriminator.hidden == [10, 10, 10])
        #expect(p.generator.activation == .leakyReLU && p.generator.leakyAlpha == 0.2)
        #expect(p.train.dStepsPerGStep == 20 && p.train.batchSize == 100)
        #expect(p.generatorOptimizer.kind == .rmsprop && p.generatorOptimizer.learningRate == 1e-3)

        let r = try ConfigLoader.load(path: pipelinePath("ring8"))
        #expect(r.data.source == .ring && r.data.modes == 8 && r.data.radius == 1 && r.data.std == 0.01)
        let q = try ConfigLoader.load(path: pipelinePath("grid25"))
        #expect(q.data.source == .grid && q.data.gridSize == 5 && q.data.spacing == 2 && q.data.std == 0.05)
        #expect(r.generatorOptimizer.kind == .adam && q.generatorOptimizer.kind == .adam)
    }

    @Test func defaultsFillIn() throws {
        let yaml = minimalYAML.replacingOccurrences(of: "name: t\n", with: "")
        let c = try ConfigLoader.parse(yaml: yaml, file: "some/dir/minimal.yaml", overrides: [])
        #expect(c.name == "minimal")
        #expect(c.seed == 0)
        #expect(c.data.mean == 4 && c.data.std == 0.5 && c.data.size == 100_000 && c.data.path == nil)
        #expect(c.data.modes == 8 && c.data.radius == 1 && c.data.gridSize == 5 && c.data.spacing == 2)
        #expect(c.data.parabolaA == 1 && c.data.dataset == "samples" && c.data.normalize == .none)
        #expect(c.noise.prior == .normal && c.noise.mean == 0 && c.noise.std == 1)
        #expect(c.noise.low == -1 && c.noise.high == 1 && !c.noise.stratified)
        #expect(c.generator.activation == .leakyReLU && c.generator.leakyAlpha == 0.2)
        #expect(c.generator.maxoutPieces == 2 && c.generator.output == .linear)
        #expect(c.generator.initialization == .pytorch && c.generator.initStd == 0.02)
        #expect(c.discriminator.clipProbability == nil)
        #expect(c.loss.objective == .nonSaturating && c.loss.realLabel == 1)
        let o = c.generatorOptimizer
        #expect(o.kind == .adam && o.learningRate == 0.001 && o.momentum == 0 && !o.nesterov)
        #expect(o.dampening == 0 && o.alpha == 0.99 && !o.centered && o.beta1 == 0.9 && o.beta2 == 0.999)
        #expect(o.eps == 1e-8 && o.weightDecay == 0 && o.clipValue == nil && o.decayEvery == 0 && o.decayFactor == 1)
        #expect(c.pretrainD == nil)
        #expect(c.train.steps == 1000 && c.train.batchSize == 64 && c.train.dStepsPerGStep == 1)
        #expect(c.train.checkpointEvery == 500 && c.train.evalEvery == 0 && c.train.logEvery == 100)
        #expect(c.checkpoint.keepLast == 3 && c.evaluate.samples == 10_000)

        let pretrain = try ConfigLoader.parse(yaml: minimalYAML + "pretrain_d: {}\n", file: "t.yaml")
        #expect(pretrain.pretrainD == PretrainConfig())
        #expect(pretrain.pretrainD?.steps == 1000 && pretrain.pretrainD?.batchSize == 100)
        #expect(pretrain.pretrainD?.learningRate == 0.01 && pretrain.pretrainD?.momentum == 0.9)
    }

    @Test(arguments: [("gaussian", 0.5), ("parabola", 0.02), ("ring", 0.01), ("grid", 0.05)])
    func stdDefaultsBySource(_ source: String, _ std: Double) throws {
        let c = try ConfigLoader.parse(yaml: minimalYAML, file: "t.yaml", overrides: ["data.source=\(source)"])
        #expect(c.data.std == std)
    }

    @Test func roundTripKeepsEveryValueExactly() throws {
        let c = try ConfigLoader.parse(yaml: minimalYAML, file: "t.yaml", overrides: [
            "data.mean=0.30000000000000004", "generator_optimizer.learning_rate=0.0002",
            "discriminator.clip_probability=[0.01, 0.99]", "pretrain_d.steps=7", "seed=18446744073709551615",
            "generator_optimizer.eps=1e-12", "name='123'",
        ])
        let yaml = c.encodeYAML()
        #expect(yaml.contains("learning_rate: 0.0002\n"))
        #expect(yaml.contains("mean: 0.30000000000000004\n"))
        #expect(yaml.contains("clip_probability: [0.01, 0.99]\n"))
        #expect(yaml.contains("hidden: [4]\n"))
        #expect(yaml.contains("clip_value: null\n") && yaml.contains("path: null\n"))
        let back = try ConfigLoader.parse(yaml: yaml, file: "stored.yaml")
        #expect(back == c)
        #expect(back.name == "123" && back.seed == .max && back.data.mean == 0.30000000000000004)
    }

    /// Every key of the schema, except the ones added after the first stored configurations,
    /// which are written only when set (`train.shards` > 1, `data.resize`, dcgan64's `features`):
    /// an older run's stored text stays what it was.
    @Test func resolvedYAMLListsEveryKeyOfTheSchema() throws {
        let c = try ConfigLoader.parse(yaml: minimalYAML + "pretrain_d: {}\n", file: "t.yaml", overrides: ["train.steps=4", "train.batch_size=8",
                                                                                                          "train.shards=2"])
        let root = try #require(try Yams.compose(yaml: c.encodeYAML()))
        let storedOnlyWhenSet: Set = [".data.resize", ".generator.features", ".discriminator.features",
                                      ".conditioning", ".data.label_column", ".data.class_names", ".loss.auxiliary_weight"]
        func check(_ node: Node, _ schema: ConfigSchema, _ path: String) {
            let keys = node.mapping?.keys.compactMap(\.string) ?? []
            #expect(keys == schema.keys.filter { !storedOnlyWhenSet.contains(path + "." + $0) }, "\(path)")
            for (k, v) in node.mapping ?? [:] {
                let name = k.string ?? ""
                if let sub = schema.sections[name] { check(v, sub, path + "." + name) }
                else { #expect(v.mapping == nil, "\(path).\(name) is a mapping but not a schema section") }
            }
        }
        check(root, PipelineConfig.schema, "")
    }

    @Test func mergeKeysAndAliases() throws {
        let yaml = minimalYAML.replacingOccurrences(of: "generator:\n  hidden: [4]\ndiscriminator:\n  hidden: [4]\n", with: """
            generator: &net
              hidden: [5, 6]
              activation: relu
            discriminator:
              <<: *net
              hidden: [7]
              clip_probability: [0.1, 0.9]

            """)
        let c = try ConfigLoader.parse(yaml: yaml, file: "t.yaml")
        #expect(c.generator.hidden == [5, 6] && c.discriminator.hidden == [7])
        #expect(c.discriminator.activation == .relu && c.discriminator.clipProbability == [0.1, 0.9])
    }

    @Test func dataPathResolvesAgainstTheFileOrTheCurrentDirectory() throws {
        let fromFile = try ConfigLoader.parse(
            yaml: minimalYAML.replacingOccurrences(of: "source: gaussian", with: "source: csv\n  path: ../data/x.csv"),
            file: "/tmp/pipes/p.yaml")
        #expect(fromFile.data.path == "/tmp/data/x.csv")
        let fromOverride = try ConfigLoader.parse(yaml: minimalYAML, file: "/tmp/pipes/p.yaml",
                                                  overrides: ["data.source=npy", "data.path=y.npy"])
        let cwd = FileManager.default.currentDirectoryPath
        #expect(fromOverride.data.path == URL(fileURLWithPath: cwd).appendingPathComponent("y.npy").standardizedFileURL.path)
        let absolute = try ConfigLoader.parse(yaml: minimalYAML, file: "p.yaml", overrides: ["data.source=h5", "data.path=/d/z.h5"])
        #expect(absolute.data.path == "/d/z.h5")
    }
}

@Suite struct ConfigOverrideTests {
    @Test func scalarListAndNewSection() throws {
        let c = try ConfigLoader.parse(yaml: minimalYAML, file: "t.yaml", overrides: [
            "train.steps=10", "generator.hidden=[20,20]", "pretrain_d.steps=10", "loss.objective=wasserstein",
        ])
        #expect(c.train.steps == 10 && c.train.batchSize == 64)
        #expect(c.generator.hidden == [20, 20] && c.discriminator.hidden == [4])
        #expect(c.pretrainD?.steps == 10 && c.pretrainD?.batchSize == 100)
        #expect(c.loss.objective == .wasserstein)
    }

    @Test func laterOverridesWinAndCanReplaceWholeSections() throws {
        let c = try ConfigLoader.parse(yaml: minimalYAML, file: "t.yaml", overrides: [
            "train.steps=10", "train.steps=20", "generator={hidden: [3], activation: tanh}", "pretrain_d=null",
        ])
        #expect(c.train.steps == 20 && c.generator.hidden == [3] && c.generator.activation == .tanh)
        #expect(c.pretrainD == nil)
    }

    @Test func overrideCanFixAnInvalidFileValue() throws {
        let yaml = minimalYAML + "train:\n  steps: -5\n"
        #expect(throws: ConfigError.self) { try ConfigLoader.parse(yaml: yaml, file: "t.yaml") }
        let c = try ConfigLoader.parse(yaml: yaml, file: "t.yaml", overrides: ["train.steps=5"])
        #expect(c.train.steps == 5)
    }
}

@Suite struct ConfigResumeTests {
    @Test func changedKeys() throws {
        let stored = try ConfigLoader.parse(yaml: minimalYAML, file: "t.yaml")
        #expect(stored.changedKeys(from: stored).isEmpty)

        var c = stored
        c.train.steps = 5000
        c.checkpoint.keepLast = 10
        c.evaluate.samples = 5
        c.train.logEvery = 7
        #expect(c.changedKeys(from: stored) == ["train.steps", "train.log_every", "checkpoint.keep_last", "evaluate.samples"])
        #expect(c.resumeConflicts(with: stored).isEmpty)

        c.generator.hidden = [8]
        c.discriminatorOptimizer.learningRate = 0.5
        c.pretrainD = PretrainConfig()
        c.data.source = .ring
        c.seed = 3
        #expect(c.changedKeys(from: stored) == [
            "seed", "data.source", "generator.hidden", "discriminator_optimizer.learning_rate", "pretrain_d",
            "train.steps", "train.log_every", "checkpoint.keep_last", "evaluate.samples",
        ])
        #expect(c.resumeConflicts(with: stored) == [
            "seed", "data.source", "generator.hidden", "discriminator_optimizer.learning_rate", "pretrain_d",
        ])
        var d = c
        d.pretrainD?.steps = 3
        #expect(d.changedKeys(from: c) == ["pretrain_d.steps"])
    }

    @Test func changeableKeys() {
        for key in ["train.steps", "train.checkpoint_every", "train.log_every", "train.eval_every",
                    "checkpoint.keep_last", "evaluate.samples", "name"] {
            #expect(PipelineConfig.isChangeableOnResume(key), "\(key)")
        }
        for key in ["train.batch_size", "train.d_steps_per_g_step", "generator.hidden", "data.std", "seed",
                    "generator_optimizer.learning_rate", "pretrain_d", "pretrain_d.steps", "trainx", "train"] {
            #expect(!PipelineConfig.isChangeableOnResume(key), "\(key)")
        }
    }
}
