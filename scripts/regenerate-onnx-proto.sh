#!/bin/sh
# Regenerates Sources/GANExport/onnx-minimal.pb.swift from Sources/GANExport/onnx-minimal.proto.
# Run it only after changing the .proto; the generated Swift is committed, so neither a build nor
# `make test` needs protoc or the plugin.
#
# Needs Debian's protoc (`apt-get install protobuf-compiler`) and protoc-gen-swift of the
# swift-protobuf version Package.swift resolves (1.39.0), built once outside the repository:
#   git clone --branch 1.39.0 https://github.com/apple/swift-protobuf /tmp/swift-protobuf
#   (cd /tmp/swift-protobuf && swift build -c release --product protoc-gen-swift)   # ~2-10 minutes
#   PROTOC_GEN_SWIFT=/tmp/swift-protobuf/.build/release/protoc-gen-swift scripts/regenerate-onnx-proto.sh
set -eu
cd "$(dirname "$0")/.."
plugin="${PROTOC_GEN_SWIFT:-$(command -v protoc-gen-swift || true)}"
[ -x "$plugin" ] || { echo "regenerate-onnx-proto.sh: set PROTOC_GEN_SWIFT to a built protoc-gen-swift (see this script's header)" >&2; exit 2; }
command -v protoc >/dev/null || { echo "regenerate-onnx-proto.sh: protoc not found (apt-get install protobuf-compiler)" >&2; exit 2; }
protoc --plugin=protoc-gen-swift="$plugin" --proto_path=Sources/GANExport \
       --swift_opt=Visibility=Internal --swift_out=Sources/GANExport onnx-minimal.proto
echo "wrote Sources/GANExport/onnx-minimal.pb.swift"
