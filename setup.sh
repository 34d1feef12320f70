#!/bin/sh
# setup.sh — installs the Debian packages cltransfer needs (only those missing), configures and
# builds into build/. Safe to rerun: it does only what is not yet done.
set -eu
cd "$(dirname "$0")"

PACKAGES="cmake make gcc g++ pkg-config ocl-icd-opencl-dev opencl-headers pocl-opencl-icd
libclblast-dev libturbojpeg0-dev zlib1g-dev dataset-fashion-mnist wordnet-base
gnuplot-nox clang libclang-rt-14-dev
libprotobuf-c-dev protobuf-c-compiler protobuf-compiler python3-protobuf python3-numpy python3-onnx
python3-pil python3-venv"

missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "setup: installing$missing"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi

BUILD_TYPE="${BUILD_TYPE:-Release}"
if [ ! -f build/CMakeCache.txt ]; then
    cmake -S . -B build -DCMAKE_BUILD_TYPE="$BUILD_TYPE" >/dev/null
fi
cmake --build build -j"$(nproc)"
