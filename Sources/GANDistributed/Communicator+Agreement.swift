import Foundation

/// A failure every rank of a job agrees on: which rank failed first, its exit code and its
/// one-line message. Thrown on every rank by `Communicator.everyRank` and `rootOnly`, so that all
/// ranks stop together with the same exit code, and only one of them needs to print the line.
public struct RankFailure: Error, CustomStringConvertible {
    public let rank: Int
    public let code: Int32
    public let message: String

    /// The message, naming the rank unless it is rank 0 (whose messages a single process would
    /// print the same way).
    public var description: String { rank == 0 ? message : "rank \(rank): \(message)" }
}

extension Communicator {
    /// Runs `body` on every rank, then agrees: if it threw anywhere, every rank throws the
    /// `RankFailure` of the lowest failing rank (`describe` turns an error into its exit code and
    /// line). A step every rank must pass before the next collective: reading the data, opening a
    /// checkpoint, building the networks.
    public func everyRank<T>(_ describe: (Error) -> (code: Int32, message: String), _ body: () throws -> T) throws -> T {
        var result: Result<T, Error>
        do { result = .success(try body()) } catch { result = .failure(error) }
        let mine: [UInt8]
        if case .failure(let error) = result {
            let (code, message) = describe(error)
            mine = Self.encode(code, message)
        } else {
            mine = []
        }
        let all = try allgather(bytes: mine)
        if let failed = all.firstIndex(where: { !$0.isEmpty }) {
            let (code, message) = Self.decode(all[failed])
            throw RankFailure(rank: failed, code: code, message: message)
        }
        return try result.get()
    }

    /// Runs `body` on rank 0 only (writing into the run directory, evaluating); the others wait
    /// and receive its outcome: a failure there is a `RankFailure` of rank 0 on every rank. Returns
    /// the body's value on rank 0 and nil elsewhere.
    public func rootOnly<T>(_ describe: (Error) -> (code: Int32, message: String), _ body: () throws -> T) throws -> T? {
        var value: T?
        var status: [UInt8] = []
        if isRoot {
            do { value = try body() } catch {
                let (code, message) = describe(error)
                status = Self.encode(code, message)
            }
        }
        let outcome = try broadcast(bytes: status)
        if !outcome.isEmpty {
            let (code, message) = Self.decode(outcome)
            throw RankFailure(rank: 0, code: code, message: message)
        }
        return value
    }

    private static func encode(_ code: Int32, _ message: String) -> [UInt8] {
        withUnsafeBytes(of: code.littleEndian) { Array($0) } + Array(message.utf8)
    }

    private static func decode(_ bytes: [UInt8]) -> (Int32, String) {
        let code = bytes.prefix(4).enumerated().reduce(Int32(0)) { $0 | Int32($1.element) << (8 * $1.offset) }
        return (code, String(decoding: bytes.dropFirst(4), as: UTF8.self))
    }
}
