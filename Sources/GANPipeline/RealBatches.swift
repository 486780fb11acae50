import GANData
import GANNN

/// The real data set, batched in model units: float vectors (toy and table data) or uint8 images
/// converted inside the step (no float copy of the image set).
enum RealBatches {
    case vectors(FloatBatcher)
    case images(ByteBatcher, sampleShape: [Int], scale: Float, offset: Float)

    init(_ data: PreparedData, inputShape: [Int], batchSize: Int, rng: RNG) {
        if data.isImage {
            // Model units from bytes: scale · (byte / 255) + offset.
            self = .images(ByteBatcher(samples: data.images, sampleSize: data.dimension, batchSize: min(batchSize, data.count), rng: rng),
                           sampleShape: inputShape, scale: data.scale / 255, offset: data.offset)
        } else {
            self = .vectors(FloatBatcher(samples: data.modelUnits(), sampleSize: data.dimension, batchSize: min(batchSize, data.count), rng: rng))
        }
    }

    var batchSize: Int {
        switch self {
        case .vectors(let b): b.batchSize
        case .images(let b, _, _, _): b.batchSize
        }
    }

    var cursor: EpochOrder.Cursor {
        switch self {
        case .vectors(let b): b.cursor
        case .images(let b, _, _, _): b.cursor
        }
    }

    func restore(_ c: EpochOrder.Cursor) {
        switch self {
        case .vectors(let b): b.restore(c)
        case .images(let b, _, _, _): b.restore(c)
        }
    }

    /// The labels (of `all`, one per sample) of the batch the latest `next(into:)` returned, into
    /// `labels` (keeping its capacity).
    func labels(of all: [UInt8], into labels: inout [Int]) {
        let order: EpochOrder
        switch self {
        case .vectors(let b): order = b.order
        case .images(let b, _, _, _): order = b.order
        }
        labels.removeAll(keepingCapacity: true)
        let end = order.position, start = end - order.batchSize
        for i in start..<end { labels.append(Int(all[order.order[i]])) }
    }

    func next(into t: Tensor) {
        switch self {
        case .vectors(let b): b.next(into: t)
        case .images(let b, let shape, let scale, let offset): b.next(into: t, sampleShape: shape, scale: scale, offset: offset)
        }
    }
}
