// swift-tools-version:6.0
import PackageDescription

let engineSettings: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "SwiftGAN",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "GANNN", targets: ["GANNN"]),
        // The readers the fuzz targets exercise (Fuzz/Package.swift).
        .library(name: "GANData", targets: ["GANData"]),
        .library(name: "GANCheckpoint", targets: ["GANCheckpoint"]),
        .library(name: "GANPipeline", targets: ["GANPipeline"]),
        .library(name: "GANServe", targets: ["GANServe"]),
        .executable(name: "gan-bench", targets: ["gan-bench"]),
        .executable(name: "gan-sample", targets: ["gan-sample"]),
        .executable(name: "gan-pipeline", targets: ["gan-pipeline"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        // The runtime of the generated protobuf code (the ONNX export, Sources/GANExport, and
        // TensorBoard's event messages, Sources/GANTensorBoard); only the library, never the protoc
        // plugin, is built with the project.
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        // `gan-sample serve` (issue 19): the HTTP server, its lifecycle (graceful shutdown), metrics
        // in Prometheus' text format and access logs (swift-log).
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        // Hummingbird's own dependencies, named for what `serve` uses directly: its one-thread
        // event loop (NIOPosix) and the channel handler that answers `Expect: 100-continue`
        // (NIOCore, NIOHTTPTypes, HTTPTypes).
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
    ],
    targets: [
        // MARK: System libraries (Debian packages; `make deps` installs them)
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5", providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // LAPACK symbols (dsyevd_) exported by Debian's libopenblas; prototypes in Sources/CLAPACK/shim.h.
        .systemLibrary(name: "CLAPACK", providers: [.apt(["libopenblas-dev"])]),
        // Open MPI's C API (Debian's libopenmpi-dev); shim.h wraps the predefined handles.
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),

        // MARK: Libraries
        // The engine's hot paths touch class properties on every layer call; release builds skip the
        // dynamic exclusivity checks there (~5 % of a toy_1d step in swift_beginAccess). Debug
        // builds, and so the unit tests' debug run, keep them.
        .target(name: "GANTensor", dependencies: ["CBLAS", "CMathShim", "CDNNL"], swiftSettings: engineSettings),
        .target(name: "GANNN", dependencies: ["GANTensor", "CDNNL"], swiftSettings: engineSettings),
        // oneDNN's convolutions (Debian's libdnnl-dev; its OpenMP runtime, libgomp) behind the
        // convolution layers, in C: the C API's descriptor structs are awkward from Swift.
        .target(name: "CDNNL", linkerSettings: [.linkedLibrary("dnnl"), .linkedLibrary("gomp")]),
        .target(name: "GANData", dependencies: ["GANTensor", "CZlib", "GANFiles"]),
        // The one crash-safe file writer (AtomicFile) and its error type: every file the project writes.
        .target(name: "GANFiles"),
        // The HDF5 wrapper (files, groups, datasets, attributes, errors): no dependency on the engine.
        // GANFiles: files it writes reach the disk as FileDescriptor writes with FileWriteErrors.
        .target(name: "GANHDF5", dependencies: ["CHDF5", "GANFiles"]),
        // Yams: the stored configuration is YAML, and the reader decodes the few typed fields a
        // served model needs from it (CheckpointReader.objective).
        .target(name: "GANCheckpoint", dependencies: ["GANHDF5", "GANNN", "GANFiles", "Yams"]),
        .target(name: "GANPlot", dependencies: ["CZlib", "GANFiles"]),
        // Image-GAN evaluation (issue 7): classifier features, FD, Parzen window, class histogram.
        .target(name: "GANEval", dependencies: ["GANNN", "GANData", "GANHDF5", "GANFiles", "CBLAS", "CLAPACK"]),
        // TensorBoard event files (issue 21): records with masked CRC-32C, Event messages generated
        // from tensorboard-minimal.proto by scripts/regenerate-protos.sh.
        .target(name: "GANTensorBoard", dependencies: ["GANFiles", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
                exclude: ["tensorboard-minimal.proto"]),
        .target(name: "GANPipeline", dependencies: ["GANNN", "GANData", "GANHDF5", "GANCheckpoint", "GANFiles", "GANPlot", "GANEval",
                                                   "GANDistributed", "GANTensorBoard", "Yams"]),
        // glibc's sincos for the RNG's Box-Muller transform.
        .target(name: "CMathShim"),
        // The command-line options the executables share (--threads, --seed, --quiet).
        .target(name: "GANCommandLine", dependencies: [
            "GANTensor", "CPlatform", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // Operating-system probes and settings in C (cross-memory attach for Open MPI's shared-memory
        // transport; glibc's malloc retention for gan-sample serve).
        .target(name: "CPlatform"),
        // Data-parallel training over MPI: the job's communicator and the fixed-order shard sum.
        .target(name: "GANDistributed", dependencies: ["GANNN", "CMPI", "CPlatform"], swiftSettings: engineSettings),
        // Counts malloc calls when linked into an executable (gan-bench reports allocations per step).
        .target(name: "CMallocCount"),

        // Exports a served network to ONNX (protobuf messages generated from onnx-minimal.proto by
        // scripts/regenerate-protos.sh) and to safetensors with PyTorch's state_dict names.
        .target(name: "GANExport", dependencies: ["GANNN", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
                exclude: ["onnx-minimal.proto"]),

        // MARK: Executables
        .executableTarget(name: "gan-bench", dependencies: [
            "GANNN", "GANData", "GANCheckpoint", "GANEval", "GANCommandLine", "GANDistributed", "GANFiles", "GANServe", "CMallocCount",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .executableTarget(name: "gan-pipeline", dependencies: [
            "GANPipeline", "GANCommandLine", "GANDistributed",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // The Open Inference Protocol's messages and the dynamic batcher, without a network stack
        // (unit-tested without building Hummingbird).
        .target(name: "GANServe"),
        .executableTarget(name: "gan-sample", dependencies: [
            "GANCheckpoint", "GANHDF5", "GANFiles", "GANData", "GANPlot", "GANCommandLine", "GANExport", "GANServe", "CPlatform",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
        ]),

        // MARK: Tests
        .target(name: "GANTestSupport", dependencies: ["GANNN", "GANHDF5"], path: "Tests/GANTestSupport"),
        .testTarget(name: "GANTensorTests", dependencies: ["GANTensor", "GANTestSupport"]),
        .testTarget(name: "GANNNTests", dependencies: ["GANNN", "GANTestSupport"],
                    exclude: ["Reference"]),  // the PyTorch script that produced the optimiser references
        .testTarget(name: "GANDataTests", dependencies: ["GANData", "GANPlot", "GANTestSupport"]),
        .testTarget(name: "GANFilesTests", dependencies: ["GANFiles", "GANTestSupport"]),
        .testTarget(name: "GANHDF5Tests", dependencies: ["GANHDF5", "GANFiles", "CHDF5", "GANTestSupport"]),
        .testTarget(name: "GANCheckpointTests", dependencies: ["GANCheckpoint", "GANHDF5", "GANData", "GANFiles", "GANTestSupport"]),
        .testTarget(name: "GANPipelineTests", dependencies: ["GANPipeline", "GANTestSupport"]),
        .testTarget(name: "GANPlotTests", dependencies: ["GANPlot", "GANFiles"]),
        .testTarget(name: "GANDistributedTests", dependencies: ["GANDistributed", "GANTestSupport"]),
        .testTarget(name: "GANExportTests", dependencies: ["GANExport", "GANNN", "GANTestSupport",
                                                           .product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        .testTarget(name: "GANEvalTests", dependencies: ["GANEval", "GANHDF5", "GANFiles", "GANTestSupport"],
                    exclude: ["Reference"]),  // the numpy/scipy script behind the FD reference numbers
        .testTarget(name: "GANTensorBoardTests", dependencies: ["GANTensorBoard", "GANTestSupport"]),
        .testTarget(name: "GANServeTests", dependencies: ["GANServe"]),
        .testTarget(name: "CLITests", dependencies: ["GANTestSupport", "GANCheckpoint", "GANData", "GANHDF5", "GANNN", "GANPlot", "CZlib"],
                    exclude: ["export_check.py"]),  // the Python side of ExportTests (onnxruntime, PyTorch)
    ]
)
