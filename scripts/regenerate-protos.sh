#!/bin/sh
# Regenerates the committed swift-protobuf Swift of the package's minimal .proto files:
#   Sources/GANExport/onnx-minimal.proto             (the ONNX export's messages)
#   Sources/GANTensorBoard/tensorboard-minimal.proto (TensorBoard's event-file messages)
# into NAME.pb.swift beside each. Run it only after changing a .proto; the generated Swift is
# committed, so neither a build nor `make test` needs protoc or the plugin.
#
# Needs Debian's protoc (`apt-get install protobuf-compiler`) and protoc-gen-swift of the
# swift-protobuf version Package.swift resolves (1.39.0), built once outside the repository:
#   git clone --branch 1.39.0 https://github.com/apple/swift-protobuf /tmp/swift-protobuf
#   (cd /tmp/swift-protobuf && swift build -c release --product protoc-gen-swift)   # ~2-10 minutes
#   PROTOC_GEN_SWIFT=/tmp/swift-protobuf/.build/release/protoc-gen-swift scripts/regenerate-protos.sh
set -eu
cd "$(dirname "$0")/.."
plugin="${PROTOC_GEN_SWIFT:-$(command -v protoc-gen-swift || true)}"
[ -x "$plugin" ] || { echo "regenerate-protos.sh: set PROTOC_GEN_SWIFT to a built protoc-gen-swift (see this script's header)" >&2; exit 2; }
command -v protoc >/dev/null || { echo "regenerate-protos.sh: protoc not found (apt-get install protobuf-compiler)" >&2; exit 2; }
for proto in Sources/GANExport/onnx-minimal.proto Sources/GANTensorBoard/tensorboard-minimal.proto; do
    dir=$(dirname "$proto")
    protoc --plugin=protoc-gen-swift="$plugin" --proto_path="$dir" \
           --swift_opt=Visibility=Internal --swift_out="$dir" "$(basename "$proto")"
    echo "wrote ${proto%.proto}.pb.swift"
done
