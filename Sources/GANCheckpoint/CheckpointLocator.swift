import Foundation

/// Resolves what a user names as CHECKPOINT: a file, a stage directory (its latest complete file)
/// or a run directory (the latest of `train`, else `pretrain-d`).
///
/// Through a directory, a damaged newest file falls back to the previous complete one with a
/// warning; a damaged file named directly is an error (no silent substitution).
public enum CheckpointLocator {
    /// Stages searched in a run directory, most trained first.
    public static let servingStages: [Stage] = Stage.checkpointed.reversed()

    public static func open(_ path: String) throws -> (reader: CheckpointReader, warnings: [String]) {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw CheckpointError(path, "/", "no such file or directory")
        }
        if !isDir.boolValue {
            let reader = try CheckpointReader(path: path)
            try reader.verifyAllData()  // a flipped bit anywhere is reported now, not mid-use
            return (reader, [])
        }
        let url = URL(fileURLWithPath: path)
        let stageDir = CheckpointDirectory(url)
        if !stageDir.stepFiles().isEmpty || FileManager.default.fileExists(atPath: stageDir.latestLink.path) {
            return try stageDir.openLatest()
        }
        for stage in servingStages {
            let d = CheckpointDirectory(url.appendingPathComponent(stage.rawValue))
            if !d.stepFiles().isEmpty { return try d.openLatest() }
        }
        throw CheckpointError(path, "/", "no checkpoint here: expected step-*.h5 files, or a run directory with \(servingStages.map { $0.rawValue + "/" }.joined(separator: " or "))")
    }
}
