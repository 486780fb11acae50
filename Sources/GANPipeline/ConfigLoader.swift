import Foundation
import Yams

/// Reads pipeline files. Every error is a `ConfigError` on one line (`FILE:LINE:COL: KEY: message`):
/// YAML syntax, unknown keys (with a did-you-mean), wrong types and values, missing required keys,
/// out-of-range values, and bad `--set` overrides (`--set KEY=VALUE: KEY: message`).
public enum ConfigLoader {
    /// Loads `path`, applies `overrides` (`key.path=value`, value parsed as YAML, in order, each
    /// over the file and the previous ones) and validates the result.
    public static func load(path: String, overrides: [String] = []) throws -> PipelineConfig {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot read the file" : "no such file"
            throw ConfigError(origin: .unlocated(path), key: nil, message: reason)
        }
        return try parse(yaml: text, file: path, overrides: overrides)
    }

    /// Parses YAML text as if read from `file` (used in messages, for the default `name`, and to
    /// resolve relative `data` paths: against `file`'s directory, or the current directory when the
    /// path came from an override). Overrides are applied to the node tree before decoding, so they
    /// are checked exactly like the file.
    public static func parse(yaml: String, file: String, overrides: [String] = []) throws -> PipelineConfig {
        var document = try ConfigDocument(yaml: yaml, file: file)
        for override in overrides { try document.apply(override: override) }
        try document.checkUnknownKeys()

        var config: PipelineConfig
        do {
            config = try YAMLDecoder().decode(PipelineConfig.self, from: document.root,
                                              userInfo: [PipelineConfig.defaultNameKey: defaultName(forFile: file)])
        } catch let issue as ConfigIssue {
            throw document.error(issue.path, issue.message)
        } catch let error as DecodingError {
            throw document.error(for: error)
        } catch {
            throw document.error([], "\(error)")
        }

        // Relative data paths: against the file's directory, or the current directory for overrides.
        func resolve(_ path: String?, _ key: String) -> String? {
            guard let path, !path.isEmpty, !path.hasPrefix("/") else { return path }
            let base = document.overrideOwner(of: [.key("data"), .key(key)]) == nil
                ? URL(fileURLWithPath: file).deletingLastPathComponent()
                : URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true)
            return URL(fileURLWithPath: path, relativeTo: base).standardizedFileURL.path
        }
        config.data.path = resolve(config.data.path, "path")
        config.data.labels = resolve(config.data.labels, "labels")
        config.data.testPath = resolve(config.data.testPath, "test_path")
        config.data.testLabels = resolve(config.data.testLabels, "test_labels")
        if let issue = config.validationIssues().first {
            throw document.error(issue.path, issue.message)
        }
        return config
    }

    /// The default run name for a file: its name without `.yaml` / `.yml`.
    public static func defaultName(forFile file: String) -> String {
        let base = URL(fileURLWithPath: file).lastPathComponent
        for ext in [".yaml", ".yml"] where base.hasSuffix(ext) && base.count > ext.count {
            return String(base.dropLast(ext.count))
        }
        return base
    }
}
