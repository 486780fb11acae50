import ArgumentParser
import Foundation
import GANDistributed
import GANNN

extension GANBench {
    /// `shard_sum`: the exchange of data-parallel training alone. Each of K shards (`--shards`,
    /// default one per rank) holds a vector of `--size` floats drawn from its own stream; every
    /// iteration computes their mean in the fixed tree order (`ShardedSum`), on one process or
    /// across the ranks of `mpirun`. Prints the RESULT line on rank 0 (`batch` = the vector's
    /// length; `it_per_s` = exchanges per second, `exchange_mb` = its size) and, on stderr, an
    /// FNV-1a hash of the result's bits, which must not depend on the number of ranks.
    func benchShardSum(_ communicator: Communicator?) throws -> BenchResult {
        let ranks = communicator?.size ?? 1
        let k = shards ?? ranks
        guard k % ranks == 0 else { throw ValidationError("--shards \(k) is not a multiple of the \(ranks) ranks") }
        let count = size
        let sum = ShardedSum(shards: k, communicator: communicator)
        for s in sum.localShards {
            var rng = RNG(seed: seed, stream: .shardSum(shard: s))
            rng.fillNormal(sum.leaf(s, count: count), count: count)
        }
        let out = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer { out.deallocate() }
        for _ in 0..<warmup { try sum.mean(count: count, into: out) }
        try communicator?.barrier()
        var failure: Error?
        let m = Measurement.run {
            do { for _ in 0..<iters { try sum.mean(count: count, into: out) } } catch { failure = error }
        }
        if let failure { throw failure }
        let hash = Hashing.fnv1a64(UnsafeRawBufferPointer(start: out, count: count * 4))
        if communicator?.isRoot ?? true {
            FileHandle.standardError.write(Data("shard_sum: \(k) shards on \(ranks) rank(s), \(count) floats, result hash \(String(hash, radix: 16))\n".utf8))
        }
        return BenchResult(model: model.rawValue, threads: threads, iters: iters, batch: count, measurement: m,
                           extra: [("ranks", ranks), ("shards", k), ("exchange_mb", round2(Double(count * 4) / 1e6)),
                                   ("result_hash", String(hash, radix: 16))])
    }
}
