import ArgumentParser
import Foundation
import GANCheckpoint
import GANHDF5

/// `gan-sample`: serve any checkpoint the pipeline wrote. Exit codes: 0 done, 2 bad input (files,
/// values), 64 malformed command line (swift-argument-parser's convention; this includes option
/// values outside their range, such as `generate -n 0`), 74 an output could not be written (disk
/// full, I/O error, permissions). Every error is one line on stderr.
@main
struct GANSample: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gan-sample",
        abstract: "Serve a trained GAN checkpoint.",
        discussion: """
        CHECKPOINT is a checkpoint file, a stage directory (its latest complete file) or a run \
        directory (the latest of train/, else pretrain-d/).

        Examples:
          gan-sample info Checkpoints/fashion-mlp-sn
          gan-sample generate Checkpoints/fashion-mlp-sn -n 64 -o samples.png
          gan-sample score Checkpoints/ring8 points.csv -o scores.csv
          gan-sample export Checkpoints/fashion-mlp-sn -o generator.onnx
          gan-sample serve Checkpoints/fashion-mlp-sn --port 8080
          gan-sample generate Checkpoints/fashion-cgan --class sneaker -n 16 -o sneakers.png
          gan-sample interpolate Checkpoints/fashion-cgan --from-seed 1 --to-seed 2 -o strip.png
        """,
        subcommands: [Generate.self, Score.self, Info.self, Serve.self, Export.self, Interpolate.self])

    /// The parser's own `main`, except that a malformed command line (exit 64) is reported on one
    /// line like every other error: `gan-sample: MESSAGE (see gan-sample SUBCOMMAND --help)`.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            guard exitCode(for: error) == .validationFailure else { exit(withError: error) }
            let word = CommandLine.arguments.dropFirst().first ?? ""
            let help = "gan-sample " + (["generate", "score", "info", "serve", "export", "interpolate"].contains(word) ? word + " " : "") + "--help"
            let message = Self.message(for: error).split(whereSeparator: \.isNewline).first.map(String.init) ?? "malformed command line"
            FileHandle.standardError.write(Data("gan-sample: \(message) (see \(help))\n".utf8))
            Foundation.exit(ExitCode.validationFailure.rawValue)
        }
    }
}

/// Prints one line on stderr and exits with `code`: 2 (bad input) unless said.
func fail(_ message: String, code: Int32 = 2) -> ExitCode {
    FileHandle.standardError.write(Data("gan-sample: \(message)\n".utf8))
    return ExitCode(code)
}

func warn(_ message: String) {
    FileHandle.standardError.write(Data("gan-sample: warning: \(message)\n".utf8))
}

/// Opens CHECKPOINT, printing fallback warnings; user errors become one line + exit 2.
func openCheckpoint(_ path: String) throws -> CheckpointReader {
    do {
        let (reader, warnings) = try CheckpointLocator.open(path)
        warnings.forEach(warn)
        return reader
    } catch let e as CheckpointError {
        throw fail("\(e)")
    } catch let e as HDF5Error {
        throw fail("\(e)")
    }
}
