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
    /// resolve a relative `data.path`: against `file`'s directory, or the current directory when the
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

        if let path = config.data.path, !path.isEmpty, !path.hasPrefix("/") {
            let pathKey: [PathKey] = [.key("data"), .key("path")]
            let base = document.overrideOwner(of: pathKey) == nil
                ? URL(fileURLWithPath: file).deletingLastPathComponent()
                : URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true)
            config.data.path = URL(fileURLWithPath: path, relativeTo: base).standardizedFileURL.path
        }
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
