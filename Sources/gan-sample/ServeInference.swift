import Foundation
import GANCheckpoint
import GANData
import GANNN
import GANServe

/// The limits `serve` enforces on every request.
struct ServeLimits: Sendable {
    /// Most samples or rows per request (`--max-count`).
    var maxCount: Int
    /// Most body bytes (`--max-body-mb`).
    var maxBodyBytes: Int
    /// Rows per forward pass of one request: the `--batch` default of `generate` and `score`, so
    /// that a request is cut into the passes those commands make and gets their bits.
    static let passRows = 1024
}

/// What the HTTP routes do, without HTTP: models by name, inference, metadata.
final class InferenceService: Sendable {
    let runs: [ServedRun]
    let batcher: DynamicBatcher<ForwardJob>
    let limits: ServeLimits
    let metrics: ServeMetrics
    /// Request bodies' memory, reused from request to request.
    let bodies = BodyPool()

    init(runs: [ServedRun], limits: ServeLimits, batchLimits: DynamicBatcher<ForwardJob>.Limits, metrics: ServeMetrics) {
        self.runs = runs
        self.limits = limits
        self.metrics = metrics
        let runner = PassRunner(metrics: metrics)
        batcher = DynamicBatcher(limits: batchLimits, canGrow: { $0.rows < $0.mergeLimit }, execute: { runner.run($0) })
        for run in runs { publishStep(run) }
    }

    var modelNames: [String] { runs.flatMap { [$0.name + "-g", $0.name + "-d"] } }

    func publishStep(_ run: ServedRun) {
        let step = run.current.step
        metrics.servedStep(model: run.name + "-g", step: step)
        metrics.servedStep(model: run.name + "-d", step: step)
    }

    /// `NAME-g` or `NAME-d` of a served run; 404 otherwise.
    func model(_ name: String) throws -> (run: ServedRun, network: ForwardJob.Network) {
        for run in runs {
            if name == run.name + "-g" { return (run, .generator) }
            if name == run.name + "-d" { return (run, .discriminator) }
        }
        throw InferenceError(404, "no model named \"\(name)\" (served: \(modelNames.joined(separator: ", ")))")
    }

    // MARK: - Inference

    /// `POST /v2/models/{model}/infer`.
    func infer(model name: String, _ request: InferRequest) async throws -> InferResponse {
        let (run, network) = try model(name)
        let c = run.current  // the whole request is answered by this checkpoint, even across a reload
        let outputName = network == .generator ? "samples" : c.isCritic ? "critic" : "probability"
        if let wanted = request.requestedOutputs, let other = wanted.first(where: { $0 != outputName }) {
            throw InferenceError.badRequest("\(name) has no output \"\(other)\" (its output is \"\(outputName)\")")
        }
        let output: InferOutput
        switch network {
        case .generator:
            let (rows, z, labels) = try generatorInput(request, c, model: name)
            output = InferOutput(name: "samples", shape: [rows] + c.space.data.sampleShape,
                                 values: try await samples(c, model: name, noise: z, rows: rows, labels: labels))
        case .discriminator:
            output = try await scores(request, c, model: name)
        }
        return InferResponse(modelName: name, modelVersion: String(c.step), id: request.id,
                             parameters: [("stage", c.stage), ("step", String(c.step))], outputs: [output])
    }

    /// The noise of a generator request: `seed` and `count` (the stream of `gan-sample generate
    /// --seed S -n COUNT`), or explicit `z` [n, noise dimension]; for a class-conditional model
    /// the optional `class` INT64 [n] (one label per sample; without it sample i is class i mod K,
    /// as `generate` without --class).
    func generatorInput(_ request: InferRequest, _ c: LoadedCheckpoint, model: String) throws -> (rows: Int, z: [Float], labels: [Int]?) {
        let zDim = c.space.data.noiseDimension
        var inputs: [String: InferTensor] = [:]
        for t in request.inputs {
            guard ["seed", "count", "z"].contains(t.name) || (t.name == "class" && c.classes != nil) else {
                throw InferenceError.badRequest("\(model) has no input \"\(t.name)\": it takes seed and count (INT64 [1]), or z (FP32 [n, \(zDim)])"
                                                + (c.classes != nil ? ", and class (INT64 [n])" : ""))
            }
            guard inputs.updateValue(t, forKey: t.name) == nil else { throw InferenceError.badRequest("input \"\(t.name)\" is given twice") }
        }
        let classInput = inputs.removeValue(forKey: "class")
        let (rows, z) = try noiseInput(inputs, c, model: model)
        return (rows, z, try labels(classInput, c, rows: rows))
    }

    /// The labels of a conditional model's `rows` rows: the `class` input (INT64 [rows], each in
    /// 0..<K) or, without it, i mod K; nil for an unconditional model.
    func labels(_ t: InferTensor?, _ c: LoadedCheckpoint, rows: Int) throws -> [Int]? {
        guard let classes = c.classes else { return nil }
        guard let t else { return classes.cyclingLabels(rows) }
        guard case .int64(let v) = t.values else { throw InferenceError.badRequest("input \"class\" must be INT64, got \(t.values.datatype)") }
        guard t.shape == [rows] else { throw InferenceError.badRequest("input \"class\" must have shape [\(rows)] (one label per row), got \(t.shape)") }
        if let bad = v.firstIndex(where: { $0 < 0 || $0 >= Int64(classes.count) }) {
            throw InferenceError.badRequest("input \"class\" element \(bad) is \(v[bad]); expected a class number in 0..<\(classes.count)")
        }
        return v.map { Int($0) }
    }

    /// `z`, or `seed` and `count`, of a generator request.
    private func noiseInput(_ inputs: [String: InferTensor], _ c: LoadedCheckpoint, model: String) throws -> (rows: Int, z: [Float]) {
        let zDim = c.space.data.noiseDimension
        if let z = inputs["z"] {
            guard inputs.count == 1 else { throw InferenceError.badRequest("give either z or seed and count, not both") }
            guard case .fp32(let values) = z.values else { throw InferenceError.badRequest("input \"z\" must be FP32, got \(z.values.datatype)") }
            guard z.shape.count == 2, z.shape[1] == zDim else {
                throw InferenceError.badRequest("input \"z\" must have shape [n, \(zDim)] (the noise dimension), got \(z.shape)")
            }
            try checkCount(z.shape[0], what: "z's rows")
            try checkFinite(values, input: "z")
            return (z.shape[0], values)
        }
        let seed = try scalar(inputs["seed"], "seed", model: model)
        let count = try scalar(inputs["count"], "count", model: model)
        guard seed >= 0 else { throw InferenceError.badRequest("seed must be between 0 and \(Int64.max), got \(seed)") }
        try checkCount(Int(clamping: count), what: "count")
        return (Int(count), noise(c, seed: seed, count: Int(count)))
    }

    /// z of `gan-sample generate --seed S -n COUNT`: the whole stream drawn at once, which gives
    /// the values `generate` draws pass by pass (`NoiseStream` carries odd counts over).
    func noise(_ c: LoadedCheckpoint, seed: Int64, count: Int) -> [Float] {
        var z = [Float](repeating: 0, count: count * c.space.data.noiseDimension)
        var stream = NoiseStream(seed: UInt64(seed), prior: c.space.data.noisePrior)
        z.withUnsafeMutableBufferPointer { stream.fill($0.baseAddress!, count: $0.count) }
        return z
    }

    func scalar(_ t: InferTensor?, _ name: String, model: String) throws -> Int64 {
        guard let t else { throw InferenceError.badRequest("\(model) needs the input \"\(name)\" (INT64 [1]), or z instead of seed and count") }
        guard case .int64(let v) = t.values else { throw InferenceError.badRequest("input \"\(name)\" must be INT64, got \(t.values.datatype)") }
        guard t.shape == [1] else { throw InferenceError.badRequest("input \"\(name)\" must have shape [1], got \(t.shape)") }
        return v[0]
    }

    func checkCount(_ n: Int, what: String) throws {
        guard n >= 1, n <= limits.maxCount else {
            throw InferenceError.badRequest("\(what) must be between 1 and \(limits.maxCount) (--max-count), got \(n)")
        }
    }

    func checkFinite(_ values: [Float], input: String) throws {
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw InferenceError.badRequest("input \"\(input)\" element \(bad) is \(values[bad]); only finite values are allowed")
        }
    }

    /// D's answer for `x` [n, sample shape] (or [n, features]) in data units: `probability`, or
    /// `critic` for a WGAN critic, as `gan-sample score` writes them.
    func scores(_ request: InferRequest, _ c: LoadedCheckpoint, model: String) async throws -> InferOutput {
        let sample = c.space.data.sampleShape, f = c.space.features
        // A concat or projection D judges each row with its class: "class" INT64 [n], required.
        let wanted = c.discriminatorTakesLabels ? ["x", "class"] : ["x"]
        guard request.inputs.map(\.name).sorted() == wanted.sorted(), let x = request.inputs.first(where: { $0.name == "x" }) else {
            let names = request.inputs.map { "\"\($0.name)\"" }.joined(separator: ", ")
            let shape = sample.map(String.init).joined(separator: ", ")
            throw InferenceError.badRequest(c.discriminatorTakesLabels
                ? "\(model) takes two inputs, \"x\" (FP32 [n, \(shape)]) and \"class\" (INT64 [n]); got \(names.isEmpty ? "none" : names)"
                : "\(model) takes one input, \"x\" (FP32 [n, \(shape)]); got \(names.isEmpty ? "none" : names)")
        }
        guard case .fp32(let values) = x.values else { throw InferenceError.badRequest("input \"x\" must be FP32, got \(x.values.datatype)") }
        guard let n = x.shape.first, Array(x.shape.dropFirst()) == sample || x.shape.dropFirst().elementsEqual([f]) else {
            throw InferenceError.badRequest("input \"x\" must have shape [n] + \(sample) (or [n, \(f)]), got \(x.shape)")
        }
        try checkCount(n, what: "x's rows")
        try checkFinite(values, input: "x")
        let labels = c.discriminatorTakesLabels ? try self.labels(request.inputs.first { $0.name == "class" }, c, rows: n) : nil
        var out = try await run(.discriminator, c, model: model, rows: n, input: values, width: f, labels: labels)
        if !c.isCritic {
            for i in out.indices { out[i] = sigmoid(out[i]) }
        }
        return InferOutput(name: c.isCritic ? "critic" : "probability", shape: [n], values: out)
    }

    /// G's samples (data units) of `rows` noise vectors (with their labels, conditional G).
    func samples(_ c: LoadedCheckpoint, model: String, noise z: [Float], rows: Int, labels: [Int]? = nil) async throws -> [Float] {
        try await run(.generator, c, model: model, rows: rows, input: z, width: c.space.data.noiseDimension, labels: labels)
    }

    /// Cuts `rows` rows into passes of at most `passRows` (as `generate` and `score` do), queues
    /// them all and joins their outputs in order.
    func run(_ network: ForwardJob.Network, _ c: LoadedCheckpoint, model: String, rows: Int, input: [Float], width: Int,
             labels: [Int]? = nil) async throws -> [Float] {
        var jobs: [ForwardJob] = []
        var start = 0
        while start < rows {
            let b = min(ServeLimits.passRows, rows - start)
            // One pass takes the request's array itself (shared, not copied: 200 KB for 64 rows of 784).
            let part = b == rows ? input : Array(input[start * width ..< (start + b) * width])
            jobs.append(ForwardJob(network, model: model, checkpoint: c, rows: b, input: part,
                                   labels: labels.map { b == rows ? $0 : Array($0[start..<(start + b)]) }))
            start += b
        }
        let outputs = await withTaskGroup(of: (Int, [Float]?).self) { group in
            for (k, job) in jobs.enumerated() { group.addTask { (k, await job.submit(to: self.batcher)) } }
            var parts = [[Float]?](repeating: nil, count: jobs.count)
            for await (k, out) in group { parts[k] = out }
            return parts
        }
        guard outputs.allSatisfy({ $0 != nil }) else { throw InferenceError(503, "the server is shutting down") }
        return outputs.flatMap { $0! }
    }

    // MARK: - Convenience route

    enum FileFormat: String, CaseIterable { case png, npy, csv }

    /// `GET /v2/models/NAME-g/generate?count=&seed=&format=`: the samples of `generate --seed S
    /// -n COUNT` as a file (PNG grid for image models), with its content type.
    func generateFile(model name: String, query: [String: String]) async throws -> (bytes: [UInt8], contentType: String) {
        let (run, network) = try model(name)
        guard network == .generator else { throw InferenceError.badRequest("\(name) is a discriminator; generate is served by \(run.name)-g") }
        let c = run.current
        for key in query.keys where !["count", "seed", "format", "class"].contains(key) {
            throw InferenceError.badRequest("unknown query parameter \"\(key)\" (count, seed, format, class)")
        }
        func integer(_ key: String, _ fallback: Int) throws -> Int {
            guard let text = query[key] else { return fallback }
            guard let v = Int(text) else { throw InferenceError.badRequest("\(key) must be an integer, got \"\(text)\"") }
            return v
        }
        let count = try integer("count", c.space.isImage ? 64 : 1), seed = try integer("seed", 0)
        try checkCount(count, what: "count")
        guard seed >= 0 else { throw InferenceError.badRequest("seed must be between 0 and \(Int64.max), got \(seed)") }
        let formatName = query["format"] ?? (c.space.isImage ? "png" : "csv")
        guard let format = FileFormat(rawValue: formatName) else { throw InferenceError.badRequest("format must be png, npy or csv, got \"\(formatName)\"") }
        if format == .png {
            guard c.space.isImage, [1, 3].contains(c.space.data.sampleShape[0]) else {
                throw InferenceError.badRequest("format=png needs a grey or RGB image model; \(name)'s samples have shape \(c.space.shapeText): use npy or csv")
            }
        }
        // class=N|NAME: every sample of that class (a class-conditional model), as generate --class.
        var labels = try self.labels(nil, c, rows: count)
        if let text = query["class"] {
            guard let classes = c.classes else { throw InferenceError.badRequest("class=\(text): \(name) is not a class-conditional model") }
            guard let label = classes.label(for: text) else {
                throw InferenceError.badRequest("class=\(text): expected a class number in 0..<\(classes.count) or one of the names "
                                                + classes.names.map { "\"\($0)\"" }.joined(separator: ", "))
            }
            labels = [Int](repeating: label, count: count)
        }
        let z = noise(c, seed: Int64(seed), count: count)
        let table = SampleTable(rowShape: c.space.data.sampleShape, count: count,
                                values: try await samples(c, model: name, noise: z, rows: count, labels: labels))
        do {
            switch format {
            case .png: return (try ImageFormats.gridImage(table, grid: nil, name: name).pngData(), "image/png")
            case .npy: return (try NPYArray.encoded(shape: [count] + table.rowShape, values: table.values), "application/octet-stream")
            case .csv: return (try CSVTable.encoded(values: table.values, columns: table.features), "text/csv")
            }
        } catch let e as SampleError {
            throw InferenceError.badRequest(e.description)
        }
    }
}

/// The batcher's executor, on the compute thread: merges a batch's jobs into forward passes as
/// far as `RowMerging` allows, runs each pass and answers every job.
struct PassRunner: Sendable {
    let metrics: ServeMetrics

    func run(_ batch: [ForwardJob]) {
        var passes: [[ForwardJob]] = [], rows: [Int] = []
        for job in batch {
            if let k = passes.indices.first(where: { passes[$0][0].canShare(with: job) && rows[$0] + job.rows <= job.mergeLimit }) {
                passes[k].append(job)
                rows[k] += job.rows
            } else {
                passes.append([job])
                rows.append(job.rows)
            }
        }
        for pass in passes { run(pass: pass) }
    }

    func run(pass jobs: [ForwardJob]) {
        let first = jobs[0], c = first.checkpoint
        let rows = jobs.reduce(0) { $0 + $1.rows }, width = first.outputWidth
        let input = jobs.count == 1 ? first.input : jobs.flatMap(\.input)
        let labels: [Int]? = first.labels == nil ? nil : jobs.flatMap { $0.labels ?? [] }
        var out = [Float](repeating: 0, count: rows * width)
        input.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                switch first.network {
                case .generator:
                    let z = c.noiseScratch
                    z.resize([rows, c.space.data.noiseDimension])
                    z.data.update(from: src.baseAddress!, count: src.count)
                    Generate.forward(c.generator, z: z, space: c.space, labels: labels, into: dst.baseAddress!)
                case .discriminator:
                    Score.forward(c.discriminator, rows: rows, from: src.baseAddress!, x: c.dataScratch, space: c.space,
                                  inputShape: c.discriminatorInputShape, labels: labels, into: dst.baseAddress!)
                }
            }
        }
        metrics.pass(model: first.modelName, rows: rows, requests: jobs.count)
        if jobs.count == 1 { return first.finish(out) }
        var start = 0
        for job in jobs {
            job.finish(Array(out[start * width ..< (start + job.rows) * width]))
            start += job.rows
        }
    }
}
