import Foundation
import GANCheckpoint
import Logging
import ServiceLifecycle

/// Hot reload: watches each served source and, when the run writes a newer checkpoint, loads it
/// in the background and swaps it in (`ServedRun.swap`); requests in flight keep the checkpoint
/// they started with. Loading goes through `CheckpointLocator` as `generate` does: every dataset's
/// checksum is verified, a damaged newest file falls back to the previous complete one, and a
/// checkpoint that does not load is logged and the old one keeps serving. Only a later (stage,
/// step) replaces the served one. Polling (a directory listing per interval) needs nothing from
/// the writer and works on every file system.
struct CheckpointReloader: Service {
    let runs: [ServedRun]
    let service: InferenceService
    /// Seconds between looks.
    let interval: Double
    let logger: Logger

    func run() async throws {
        var seen: [String: String] = [:]
        for run in runs { seen[run.name] = Self.signature(run.source) }
        while !Task.isCancelledOrShuttingDown {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(Int(interval * 1000))) }
            if Task.isCancelledOrShuttingDown { break }
            for run in runs {
                let now = Self.signature(run.source)
                guard now != seen[run.name] else { continue }
                seen[run.name] = now
                reload(run)
            }
        }
    }

    func reload(_ run: ServedRun) {
        let old = run.current
        do {
            let (reader, warnings) = try CheckpointLocator.open(run.source)
            for w in warnings { logger.warning("reload \(run.name): \(w)") }
            guard Self.rank(reader.stage, reader.step) > Self.rank(Stage(rawValue: old.stage) ?? .train, old.step) else {
                if reader.path != old.path {
                    logger.info("reload \(run.name): \(reader.path) (step \(reader.step)) is not newer than the served step \(old.step); keeping it")
                }
                reader.close()
                return
            }
            let loaded = try LoadedCheckpoint(reader)
            run.swap(to: loaded)
            service.publishStep(run)
            service.metrics.reload(run: run.name, result: "loaded")
            logger.info("reload \(run.name): now serving \(loaded.path) (\(loaded.stage) step \(loaded.step)); was step \(old.step)")
        } catch {
            service.metrics.reload(run: run.name, result: "failed")
            logger.warning("reload \(run.name): \(error); still serving \(old.path) (step \(old.step))")
        }
    }

    /// (stage, step) order: any train checkpoint is later than any pretrain-d one.
    static func rank(_ stage: Stage, _ step: Int) -> (Int, Int) {
        (Stage.checkpointed.firstIndex(of: stage) ?? 0, step)
    }

    /// What changes when a checkpoint is written: the names, sizes and times of the checkpoint
    /// files (and `latest.h5`'s target) of the source and its stage directories.
    static func signature(_ source: String) -> String {
        let fm = FileManager.default
        var dirs = [source] + Stage.checkpointed.map { (source as NSString).appendingPathComponent($0.rawValue) }
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: source, isDirectory: &isDir), !isDir.boolValue { dirs = [] }
        var parts: [String] = []
        if dirs.isEmpty { parts.append(describe(source)) }
        for dir in dirs {
            guard let names = try? fm.contentsOfDirectory(atPath: dir) else { continue }
            for name in names.sorted() where name.hasSuffix(".h5") && !name.hasPrefix(".") {
                parts.append(describe((dir as NSString).appendingPathComponent(name)))
            }
        }
        return parts.joined(separator: "\n")
    }

    static func describe(_ path: String) -> String {
        var st = stat()
        guard stat(path, &st) == 0 else { return path + " missing" }
        let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? ""
        return "\(path) \(target) \(st.st_ino) \(st.st_size) \(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)"
    }
}

extension Task where Success == Never, Failure == Never {
    /// Cancelled, or the service group is shutting down gracefully.
    static var isCancelledOrShuttingDown: Bool { isCancelled || isShuttingDownGracefully }
}
