import Foundation
import GANCheckpoint
import GANData
import GANPipeline
import GANServe

/// libFuzzer targets for every reader of user input. One binary serves them all:
/// `SWIFTGAN_FUZZ_TARGET` (set by scripts/fuzz.sh) picks the reader that gets each input. A target
/// hands the bytes to the reader exactly as the commands do and drops the thrown error: every
/// input must end in a value or a one-line error, never a trap, a leak, a hang, or more memory
/// than libFuzzer's limits (`-malloc_limit_mb`) allow.
enum FuzzTarget: String, CaseIterable {
    case idx, csv, npy, png, config, checkpoint, infer

    func run(_ bytes: UnsafeRawBufferPointer) {
        switch self {
        case .idx:
            let path = Scratch.write(bytes, ".idx")
            _ = try? IDXArray.read(path)
            _ = try? IDXFile(path)   // gan-bench's reader: gzip is copied to a temporary file
        case .csv:
            let path = Scratch.write(bytes, ".csv")
            _ = try? CSVTable.read(path)
            _ = try? CSVTable.read(path, hasHeader: false)
        case .npy:
            let path = Scratch.write(bytes, ".npy")
            _ = try? NPYArray.read(path)
            _ = try? NPYArray.readBytes(path)
        case .png:
            _ = try? PNGImage.decode([UInt8](bytes), name: "fuzz.png")
        case .config:
            _ = try? ConfigLoader.parse(yaml: String(decoding: bytes, as: UTF8.self), file: Scratch.directory + "/fuzz.yaml")
        case .checkpoint:
            Self.readCheckpoint(Scratch.write(bytes, ".h5"))
        case .infer:
            // A request body as `serve` reads it: all JSON, then (first byte = the header's
            // length) the rest as the binary tensor extension's JSON header and raw tensors.
            _ = try? InferRequest.decode(bytes, headerLength: nil)
            if let first = bytes.first {
                _ = try? InferRequest.decode(UnsafeRawBufferPointer(rebasing: bytes.dropFirst()), headerLength: Int(first))
            }
        }
    }

    /// Everything `gan-sample` and a resuming `gan-pipeline` read from a checkpoint.
    static func readCheckpoint(_ path: String) {
        guard let reader = try? CheckpointReader(path: path) else { return }
        defer { reader.close() }
        _ = try? reader.dataDescription()
        _ = reader.objective
        for name in ["generator", "generator_ema", "discriminator"] where reader.hasNetwork(name) {
            _ = try? reader.buildNetwork(name)
        }
        _ = try? reader.history()
        for purpose in (try? reader.rngPurposes()) ?? [] { _ = try? reader.rng(purpose) }
        _ = try? reader.fixedNoise()
        _ = try? reader.verifyAllData()
    }
}

/// The file a path-based reader gets its input from: one per process, rewritten for each input.
enum Scratch {
    static let directory = ProcessInfo.processInfo.environment["SWIFTGAN_FUZZ_SCRATCH"] ?? NSTemporaryDirectory()

    static func write(_ bytes: UnsafeRawBufferPointer, _ suffix: String) -> String {
        let path = "\(directory)/swiftgan-fuzz-\(getpid())\(suffix)"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        precondition(fd >= 0, "fuzz: cannot write \(path): \(String(cString: strerror(errno)))")
        var done = 0
        while done < bytes.count {
            let n = Foundation.write(fd, bytes.baseAddress! + done, bytes.count - done)
            precondition(n > 0, "fuzz: cannot write \(path)")
            done += n
        }
        close(fd)
        return path
    }
}

nonisolated(unsafe) private var selected: FuzzTarget?

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> Int32 {
    let name = ProcessInfo.processInfo.environment["SWIFTGAN_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
        let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
        FileHandle.standardError.write(Data("gan-fuzz: set SWIFTGAN_FUZZ_TARGET to one of \(names)\n".utf8))
        exit(64)
    }
    selected = target
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    selected?.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
