// swift-tools-version:6.0
import PackageDescription

let engineSettings: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "SwiftGAN",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "GANNN", targets: ["GANNN"]),
        .executable(name: "gan-bench", targets: ["gan-bench"]),
        .executable(name: "gan-sample", targets: ["gan-sample"]),
        .executable(name: "gan-pipeline", targets: ["gan-pipeline"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        // The runtime of the generated protobuf code (TensorBoard's event messages,
        // Sources/GANTensorBoard); only the library, never the protoc plugin, is built with the project.
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
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
        .target(name: "GANTensor", dependencies: ["CBLAS", "CMathShim"], swiftSettings: engineSettings),
        .target(name: "GANNN", dependencies: ["GANTensor", "CDNNL"], swiftSettings: engineSettings),
        // oneDNN's convolutions (Debian's libdnnl-dev; its OpenMP runtime, libgomp) behind the
        // convolution layers, in C: the C API's descriptor structs are awkward from Swift.
        .target(name: "CDNNL", linkerSettings: [.linkedLibrary("dnnl"), .linkedLibrary("gomp")]),
        .target(name: "GANData", dependencies: ["GANTensor", "CZlib", "GANFiles"]),
        // The one crash-safe file writer (AtomicFile) and its error type: every file the project writes.
        .target(name: "GANFiles"),
        // The HDF5 wrapper (files, groups, datasets, attributes, errors): no dependency on the engine.
        .target(name: "GANHDF5", dependencies: ["CHDF5"]),
        // Yams: the stored configuration is YAML, and the reader decodes the few typed fields a
        // served model needs from it (CheckpointReader.objective).
        .target(name: "GANCheckpoint", dependencies: ["GANHDF5", "GANNN", "GANFiles", "Yams"]),
        .target(name: "GANPlot", dependencies: ["CZlib", "GANFiles"]),
        // Image-GAN evaluation (issue 7): classifier features, FD, Parzen window, class histogram.
        .target(name: "GANEval", dependencies: ["GANNN", "GANData", "GANHDF5", "GANFiles", "CBLAS", "CLAPACK"]),
        // TensorBoard event files (issue 21): records with masked CRC-32C, Event messages generated
        // from tensorboard-minimal.proto by scripts/regenerate-tensorboard-proto.sh.
        .target(name: "GANTensorBoard", dependencies: ["GANFiles", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
                exclude: ["tensorboard-minimal.proto"]),
        .target(name: "GANPipeline", dependencies: ["GANNN", "GANData", "GANHDF5", "GANCheckpoint", "GANFiles", "GANPlot", "GANEval",
                                                   "GANDistributed", "GANTensorBoard", "Yams"]),
        // glibc's sincos for the RNG's Box-Muller transform.
        .target(name: "CMathShim"),
        // The command-line options the executables share (--threads, --seed, --quiet).
        .target(name: "GANCommandLine", dependencies: [
            "GANTensor", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // Operating-system probes in C (cross-memory attach for Open MPI's shared-memory transport).
        .target(name: "CPlatform"),
        // Data-parallel training over MPI: the job's communicator and the fixed-order shard sum.
        .target(name: "GANDistributed", dependencies: ["GANNN", "CMPI", "CPlatform"], swiftSettings: engineSettings),
        // Counts malloc calls when linked into an executable (gan-bench reports allocations per step).
        .target(name: "CMallocCount"),

        // MARK: Executables
        .executableTarget(name: "gan-bench", dependencies: [
            "GANNN", "GANData", "GANCheckpoint", "GANEval", "GANCommandLine", "GANDistributed", "CMallocCount",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .executableTarget(name: "gan-pipeline", dependencies: [
            "GANPipeline", "GANCommandLine", "GANDistributed",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "gan-sample", dependencies: [
            "GANCheckpoint", "GANHDF5", "GANFiles", "GANData", "GANPlot", "GANCommandLine",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // MARK: Tests
        .target(name: "GANTestSupport", dependencies: ["GANNN", "GANHDF5"], path: "Tests/GANTestSupport"),
        .testTarget(name: "GANTensorTests", dependencies: ["GANTensor", "GANTestSupport"]),
        .testTarget(name: "GANNNTests", dependencies: ["GANNN", "GANTestSupport"],
                    exclude: ["Reference"]),  // the PyTorch script that produced the optimiser references
        .testTarget(name: "GANDataTests", dependencies: ["GANData", "GANPlot", "GANTestSupport"]),
        .testTarget(name: "GANFilesTests", dependencies: ["GANFiles", "GANTestSupport"]),
        .testTarget(name: "GANHDF5Tests", dependencies: ["GANHDF5", "GANTestSupport"]),
        .testTarget(name: "GANCheckpointTests", dependencies: ["GANCheckpoint", "GANHDF5", "GANData", "GANTestSupport"]),
        .testTarget(name: "GANPipelineTests", dependencies: ["GANPipeline", "GANTestSupport"]),
        .testTarget(name: "GANPlotTests", dependencies: ["GANPlot", "GANFiles"]),
        .testTarget(name: "GANDistributedTests", dependencies: ["GANDistributed", "GANTestSupport"]),
        .testTarget(name: "GANEvalTests", dependencies: ["GANEval", "GANHDF5", "GANTestSupport"],
                    exclude: ["Reference"]),  // the numpy/scipy script behind the FD reference numbers
        .testTarget(name: "GANTensorBoardTests", dependencies: ["GANTensorBoard", "GANTestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["GANTestSupport", "GANCheckpoint", "GANHDF5", "GANNN", "GANPlot"]),
    ]
)
