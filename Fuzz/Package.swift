// swift-tools-version:6.0
// libFuzzer targets for SwiftGAN's input readers (issue 20). Not part of the product: built by
// scripts/fuzz.sh (make fuzz, and a bounded run in make test) into .build-fuzz with
// -sanitize=fuzzer,address over every Swift module, then linked with libFuzzer's main.
import PackageDescription

let package = Package(
    name: "SwiftGANFuzz",
    dependencies: [.package(name: "SwiftGAN", path: "..")],
    targets: [
        .target(name: "GANFuzz", dependencies: [
            .product(name: "GANData", package: "SwiftGAN"),
            .product(name: "GANCheckpoint", package: "SwiftGAN"),
            .product(name: "GANPipeline", package: "SwiftGAN"),
            .product(name: "GANServe", package: "SwiftGAN"),
        ]),
    ]
)
