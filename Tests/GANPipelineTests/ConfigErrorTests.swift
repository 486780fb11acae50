import Foundation
@testable import GANPipeline
import Testing

/// The one-line message of the error `parse` throws (nil if it succeeds).
func configError(_ yaml: String, file: String = "t.yaml", overrides: [String] = []) -> String? {
    do {
        _ = try ConfigLoader.parse(yaml: yaml, file: file, overrides: overrides)
        return nil
    } catch let error as ConfigError {
        return error.description
    } catch {
        return "not a ConfigError: \(error)"
    }
}

/// `minimalYAML` with its `generator_optimizer` section (lines 10-11) replaced.
func withGeneratorOptimizer(_ body: String) -> String {
    minimalYAML.replacingOccurrences(of: "generator_optimizer:\n  learning_rate: 0.001\n", with: body)
}

@Suite struct ConfigErrorTests {
    @Test func syntaxErrorsCarryLineAndColumn() {
        #expect(configError(minimalYAML + "train: [1, 2\n")
                == "t.yaml:15:1: YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence at line 14, column 8)")
        #expect(configError(minimalYAML + "train:\n  steps: 1: 2\n")
                == "t.yaml:15:11: YAML syntax error: mapping values are not allowed in this context")
        #expect(configError(minimalYAML + "seed: 1\nseed: 2\n") == "t.yaml:14:1: YAML syntax error: duplicate key `seed` in one mapping")
        #expect(configError("- a\n- b\n") == "t.yaml:1:1: a pipeline file is a mapping of sections (data:, noise:, generator:, ...)")
    }

    @Test func unknownKeysAtAnyDepthWithSuggestions() {
        #expect(configError(withGeneratorOptimizer("generator_optimizer:\n  learning_rat: 0.001\n"))
                == "t.yaml:11:3: generator_optimizer.learning_rat: unknown key (did you mean `learning_rate`?)")
        #expect(configError(withGeneratorOptimizer("generator_optimizer:\n  learningRate: 0.001\n"))
                == "t.yaml:11:3: generator_optimizer.learningRate: unknown key (did you mean `learning_rate`?)")
        #expect(configError(minimalYAML + "trian:\n  steps: 3\n")
                == "t.yaml:14:1: trian: unknown key (did you mean `train`?)")
        #expect(configError(minimalYAML + "train:\n  stpes: 3\n")
                == "t.yaml:15:3: train.stpes: unknown key (did you mean `steps`?)")
        #expect(configError(minimalYAML + "checkpoint:\n  frequency: 3\n")
                == "t.yaml:15:3: checkpoint.frequency: unknown key; expected one of: keep_last")
        // Inside a flow mapping, and inside an anchor merged elsewhere (reported where it is written).
        #expect(configError(minimalYAML + "evaluate: {samples: 5, plots: true}\n")
                == "t.yaml:14:24: evaluate.plots: unknown key; expected one of: samples")
        let merged = minimalYAML + "loss: &l\n  objective: minimax\n  labell: 0.9\nx: *l\n"
        #expect(configError(merged) == "t.yaml:16:3: loss.labell: unknown key; expected one of: objective, real_label, feature_matching_layer, auxiliary_weight")
    }

    @Test func typeMismatchesPointAtTheValue() {
        #expect(configError(minimalYAML + "train:\n  steps: abc\n") == "t.yaml:15:10: train.steps: expected an integer")
        #expect(configError(minimalYAML + "train:\n  steps: 1.5\n") == "t.yaml:15:10: train.steps: expected an integer")
        #expect(configError(minimalYAML.replacingOccurrences(of: "hidden: [4]\ndiscriminator", with: "hidden: [4, x]\ndiscriminator"))
                == "t.yaml:7:15: generator.hidden[1]: expected an integer")
        #expect(configError(minimalYAML.replacingOccurrences(of: "hidden: [4]\ndiscriminator", with: "hidden: 4\ndiscriminator"))
                == "t.yaml:7:11: generator.hidden: expected a list")
        #expect(configError(minimalYAML + "train: 5\n") == "t.yaml:14:8: train: expected a mapping (a section of keys)")
        #expect(configError(minimalYAML + "seed: -1\n") == "t.yaml:14:7: seed: expected a non-negative integer")
        #expect(configError(minimalYAML + "loss: [minimax]\n") == "t.yaml:14:7: loss: expected a mapping (a section of keys)")
        #expect(configError(minimalYAML + "loss:\n  real_label: '0.9'\n") == "t.yaml:15:15: loss.real_label: expected a number")
        #expect(configError(minimalYAML + "train:\n  steps: [1]\n")
                == "t.yaml:15:10: train.steps: expected a single value, not a list or mapping")
    }

    @Test func invalidEnumValuesListTheChoices() {
        #expect(configError(withGeneratorOptimizer("generator_optimizer:\n  kind: adamw\n  learning_rate: 1\n"))
                == "t.yaml:11:9: generator_optimizer.kind: invalid value `adamw`; expected one of: sgd, rmsprop, adam")
        #expect(configError(minimalYAML.replacingOccurrences(of: "source: gaussian", with: "source: mnist"))
                == "t.yaml:3:11: data.source: invalid value `mnist`; expected one of: gaussian, parabola, ring, grid, csv, npy, h5, idx, png_folder")
    }

    @Test func missingRequiredKeysPointAtTheParent() {
        #expect(configError(withGeneratorOptimizer("generator_optimizer:\n  kind: sgd\n"))
                == "t.yaml:10:1: generator_optimizer.learning_rate: missing required key")
        #expect(configError(minimalYAML.replacingOccurrences(of: "noise:\n  dimension: 1\n", with: ""))
                == "t.yaml:1:1: noise: missing required key")
        #expect(configError("# nothing yet\n") == "t.yaml:1:1: data: missing required key")
        #expect(configError(minimalYAML + "train:\n  batch_size: 3\n") == "t.yaml:14:1: train.steps: missing required key")
        #expect(configError(minimalYAML.replacingOccurrences(of: "  source: gaussian\n", with: "  mean: 1\n"))
                == "t.yaml:2:1: data.source: missing required key")
    }

    @Test func semanticValidationNamesKeyAndPosition() {
        #expect(configError(withGeneratorOptimizer("generator_optimizer:\n  learning_rate: -0.1\n"))
                == "t.yaml:11:18: generator_optimizer.learning_rate: must be > 0, got -0.1")
        #expect(configError(minimalYAML + "loss:\n  real_label: 1.5\n") == "t.yaml:15:15: loss.real_label: must be in (0, 1], got 1.5")
        #expect(configError(minimalYAML + "train:\n  steps: 3\n  d_steps_per_g_step: 0\n")
                == "t.yaml:16:23: train.d_steps_per_g_step: must be >= 1, got 0")
        #expect(configError(minimalYAML + "checkpoint: {keep_last: 0}\n") == "t.yaml:14:25: checkpoint.keep_last: must be >= 1, got 0")
        #expect(configError(minimalYAML.replacingOccurrences(of: "  hidden: [4]\ngenerator_optimizer", with: "  hidden: [4]\n  clip_probability: [0.99, 0.01]\ngenerator_optimizer"))
                == "t.yaml:10:21: discriminator.clip_probability: must be two probabilities [lo, hi] with 0 < lo < hi < 1, got [0.99, 0.01]")
        #expect(configError(minimalYAML.replacingOccurrences(of: "source: gaussian", with: "source: csv"))
                == "t.yaml:2:1: data.path: required for source `csv`")
        #expect(configError(minimalYAML.replacingOccurrences(of: "dimension: 1", with: "dimension: 2\n  stratified: true"))
                == "t.yaml:6:15: noise.stratified: stratified noise is the 1-D trick: needs noise.dimension 1, got 2")
        #expect(configError(minimalYAML.replacingOccurrences(of: "dimension: 1", with: "dimension: 0"))
                == "t.yaml:5:14: noise.dimension: must be >= 1, got 0")
        #expect(configError(minimalYAML.replacingOccurrences(of: "hidden: [4]\ndiscriminator", with: "hidden: [4]\n  activation: maxout\n  maxout_pieces: 1\ndiscriminator"))
                == "t.yaml:9:18: generator.maxout_pieces: must be >= 2, got 1")
        #expect(configError(minimalYAML.replacingOccurrences(of: "hidden: [4]\ndiscriminator", with: "hidden: [4]\n  leaky_alpha: 1\ndiscriminator"))
                == "t.yaml:8:16: generator.leaky_alpha: must be in [0, 1), got 1.0")
        #expect(configError(minimalYAML, overrides: ["discriminator.output=sigmoid"])
                == "--set discriminator.output=sigmoid: discriminator.output: the discriminator's output is always a logit: must be `linear`, got `sigmoid`")
        #expect(configError(minimalYAML, overrides: ["generator.clip_probability=[0.1, 0.9]"])
                == "--set generator.clip_probability=[0.1, 0.9]: generator.clip_probability: only the discriminator's output can be clipped")
        #expect(configError(minimalYAML, overrides: ["discriminator_optimizer.kind=sgd", "discriminator_optimizer.nesterov=true"])
                == "--set discriminator_optimizer.nesterov=true: discriminator_optimizer.nesterov: Nesterov momentum needs momentum > 0 and dampening 0 (momentum 0.0, dampening 0.0)")
        #expect(configError(minimalYAML, file: "a/b.yaml", overrides: ["name=x/y"])
                == "--set name=x/y: name: must be a non-empty name without `/` (it names the run directory), got `x/y`")
    }

    @Test func badOverrides() {
        #expect(configError(minimalYAML, overrides: ["train.steps=abc"]) == "--set train.steps=abc: train.steps: expected an integer")
        #expect(configError(minimalYAML, overrides: ["train.stpes=3"]) == "--set train.stpes=3: train.stpes: unknown key (did you mean `steps`?)")
        #expect(configError(minimalYAML, overrides: ["trian.steps=3"]) == "--set trian.steps=3: trian: unknown key (did you mean `train`?)")
        #expect(configError(minimalYAML, overrides: ["train.steps.x=3"])
                == "--set train.steps.x=3: train.steps: not a section; set the whole value (`train.steps=...`)")
        #expect(configError(minimalYAML, overrides: ["train.steps"]) == "--set train.steps: expected KEY.PATH=VALUE")
        #expect(configError(minimalYAML, overrides: ["train..steps=1"]) == "--set train..steps=1: train..steps: empty key in KEY.PATH")
        #expect(configError(minimalYAML, overrides: ["generator.hidden=[1, 2"])?
            .hasPrefix("--set generator.hidden=[1, 2: YAML syntax error: did not find expected ',' or ']'") == true)
        #expect(configError(minimalYAML, overrides: ["train={steps: 3, stpes: 4}"])
                == "--set train={steps: 3, stpes: 4}: train.stpes: unknown key (did you mean `steps`?)")
        #expect(configError(minimalYAML, overrides: ["train.steps=5", "train.batch_size=0"])
                == "--set train.batch_size=0: train.batch_size: must be >= 1, got 0")
        // A section created by an override is missing a required key: the override is the place.
        #expect(configError(minimalYAML, overrides: ["train.batch_size=8", "train.steps=null"])
                == "--set train.steps=null: train.steps: expected an integer")
        let noOptimizer = withGeneratorOptimizer("")
        #expect(configError(noOptimizer, overrides: ["generator_optimizer.kind=sgd"])
                == "--set generator_optimizer.kind=sgd: generator_optimizer.learning_rate: missing required key")
        #expect(configError(minimalYAML + "train: null\n", overrides: ["train.batch_size=8"])
                == "--set train.batch_size=8: train.steps: missing required key")
        // A file error elsewhere is still reported at its file position.
        #expect(configError(minimalYAML + "train:\n  steps: x\n", overrides: ["train.batch_size=3"])
                == "t.yaml:15:10: train.steps: expected an integer")
    }

    @Test func unreadableFile() {
        #expect(throws: ConfigError(origin: .unlocated("/nonexistent/p.yaml"), key: nil, message: "no such file")) {
            try ConfigLoader.load(path: "/nonexistent/p.yaml")
        }
        #expect(ConfigError(origin: .unlocated("f"), key: nil, message: "two\nlines").description == "f: two lines")
    }

    @Test func suggestionDistance() {
        #expect(KeySuggestion.distance("stpes", "steps") == 1)
        #expect(KeySuggestion.distance("learning_rat", "learning_rate") == 1)
        #expect(KeySuggestion.closest(to: "lr", in: OptimizerConfig.schema.keys) == nil)
        #expect(KeySuggestion.closest(to: "batchsize", in: TrainConfig.schema.keys) == "batch_size")
        #expect(KeySuggestion.closest(to: "d-steps-per-g-step", in: TrainConfig.schema.keys) == "d_steps_per_g_step")
    }
}
