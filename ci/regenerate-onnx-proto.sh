#!/usr/bin/env bash
# Regenerates Sources/HubInference/ONNX/onnx.pb.swift, the swift-protobuf types for ONNX's
# ModelProto and friends.
#
# The output is committed and CI never runs this: building protoc-gen-swift takes about
# 90 s on two cores, and protoc is not on every CI image. Run it by hand only when moving
# to another ONNX or swift-protobuf version (bump the pins below, then commit the new
# file together with the Package.swift change).
#
# Needs: protoc (Debian: `apt-get install -y protobuf-compiler`; 3.21.12 made the
# committed file), python3 with pip, git and a Swift toolchain.
#
# Environment overrides:
#   SWIFT_PROTOBUF_GIT  where to clone swift-protobuf from (default: GitHub; a local
#                       mirror such as /opt/swift-packages/apple/swift-protobuf.git works)
#   PROTOC_GEN_SWIFT    an already built protoc-gen-swift of the pinned version (skips
#                       the clone and build)
#   WORK                scratch directory (default: a fresh temporary one)
set -euo pipefail

ONNX_VERSION=1.23.2
# onnx/onnx.proto inside that wheel: proto2, package onnx. The plain file, not
# onnx-ml.proto — the hub runs no ai.onnx.ml operators.
ONNX_PROTO_SHA256=547214dd049486a4d5ecbae593e9c72d90b5e8d603944b722eff469e0b5a9cc9
# Must equal the version Package.swift resolves: the generated file checks the runtime's
# API version at compile time.
SWIFT_PROTOBUF_VERSION=1.39.0

root=$(cd "$(dirname "$0")/.." && pwd)
work=${WORK:-$(mktemp -d)}
mkdir -p "$work"

command -v protoc >/dev/null || { echo "protoc not found (apt-get install -y protobuf-compiler)" >&2; exit 1; }

# 1. onnx.proto, from the same wheel `pip install onnx` would use.
python3 -m pip download --quiet --no-deps "onnx==$ONNX_VERSION" -d "$work/wheel"
python3 - "$work" <<'EOF'
import glob, pathlib, sys, zipfile
work = pathlib.Path(sys.argv[1])
wheel = sorted(glob.glob(str(work / "wheel" / "onnx-*.whl")))[0]
(work / "proto").mkdir(exist_ok=True)
(work / "proto" / "onnx.proto").write_bytes(zipfile.ZipFile(wheel).read("onnx/onnx.proto"))
EOF
echo "$ONNX_PROTO_SHA256  $work/proto/onnx.proto" | sha256sum --check --quiet

# 2. protoc-gen-swift at the pinned version.
plugin=${PROTOC_GEN_SWIFT:-}
if [[ -z "$plugin" ]]; then
    git clone --quiet "${SWIFT_PROTOBUF_GIT:-https://github.com/apple/swift-protobuf}" "$work/swift-protobuf"
    git -C "$work/swift-protobuf" checkout --quiet "$SWIFT_PROTOBUF_VERSION"
    swift build -c release --product protoc-gen-swift --package-path "$work/swift-protobuf"
    plugin="$work/swift-protobuf/.build/release/protoc-gen-swift"
fi

# 3. Generate. Visibility=Internal keeps the protobuf types out of HubInference's public
# API: callers see ONNXModel and ModelError only.
mkdir -p "$work/out"
protoc --plugin=protoc-gen-swift="$plugin" \
    --swift_opt=Visibility=Internal \
    --swift_out="$work/out" \
    -I "$work/proto" onnx.proto
cp "$work/out/onnx.pb.swift" "$root/Sources/HubInference/ONNX/onnx.pb.swift"
echo "wrote Sources/HubInference/ONNX/onnx.pb.swift ($(wc -c < "$root/Sources/HubInference/ONNX/onnx.pb.swift") bytes)"
