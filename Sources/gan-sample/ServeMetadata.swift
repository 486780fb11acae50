import Foundation
import GANServe

/// `GET /v2/models/{model}`: the protocol's model metadata (inputs and outputs with datatype and
/// shape, -1 for the batch dimension) plus, in `parameters`, the checkpoint being served.
enum ModelMetadata {
    static func json(_ service: InferenceService, model name: String) throws -> [UInt8] {
        let (run, network) = try service.model(name)
        let c = run.current
        let sample = c.space.data.sampleShape
        var w = JSONWriter()
        w.raw("{\"name\":")
        w.string(name)
        w.raw(",\"versions\":[\"\(c.step)\"],\"platform\":\"swiftgan\",\"inputs\":[")
        func tensor(_ name: String, _ datatype: String, _ shape: [Int]) {
            w.raw("{\"name\":")
            w.string(name)
            w.raw(",\"datatype\":\"\(datatype)\",\"shape\":")
            w.integers(shape)
            w.raw("}")
        }
        switch network {
        case .generator:
            tensor("seed", "INT64", [1])
            w.raw(",")
            tensor("count", "INT64", [1])
            w.raw(",")
            tensor("z", "FP32", [-1, c.space.data.noiseDimension])
            if c.classes != nil {   // optional: one label per sample (default: sample i is class i mod K)
                w.raw(",")
                tensor("class", "INT64", [-1])
            }
            w.raw("],\"outputs\":[")
            tensor("samples", "FP32", [-1] + sample)
        case .discriminator:
            tensor("x", "FP32", [-1] + sample)
            if c.discriminatorTakesLabels {
                w.raw(",")
                tensor("class", "INT64", [-1])
            }
            w.raw("],\"outputs\":[")
            tensor(c.isCritic ? "critic" : "probability", "FP32", [-1])
        }
        w.raw("],\"parameters\":{\"stage\":")
        w.string(c.stage)
        w.raw(",\"step\":\(c.step),\"checkpoint\":")
        w.string(c.path)
        w.raw(",\"max_count\":\(service.limits.maxCount)")
        if network == .generator {
            w.raw(",\"noise_prior\":")
            w.string("\(c.space.data.noisePrior)")
            if c.generatorIsUntrained { w.raw(",\"untrained\":true") }
        }
        if let classes = c.classes {
            w.raw(",\"classes\":[")
            for (i, name) in classes.names.enumerated() {
                if i > 0 { w.raw(",") }
                w.string(name)
            }
            w.raw("],\"conditioning\":")
            w.string(classes.conditioning)
        }
        w.raw(",\"merge_rows\":\(network == .generator ? c.generatorMergeLimit : c.discriminatorMergeLimit)}}")
        return w.bytes
    }
}
