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

# CLBlast parameters for this machine's default OpenCL device: tuned once (a few minutes, with
# progress) when no database holds lines for exactly this device and driver, and stored in the
# user's database (~/.cache/cltransfer/tuning.txt), which every later run loads. Without it the
# nearest fallback of conf/clblast-tuning.txt applies. CLTRANSFER_TUNE=skip skips it (.ci/run
# does); CLTRANSFER_TUNE_BUDGET sets the seconds (default 300). On a CPU the default study trains
# two networks at a time on half the cores each, and parameters that win with every core can lose
# there (bench/RESULTS.md), so the tuner runs with that many PoCL threads unless the caller set
# POCL_MAX_PTHREAD_COUNT (other drivers ignore it).
tune_threads=$(( $(nproc) / 2 ))
[ "$tune_threads" -ge 1 ] || tune_threads=1
if [ "${CLTRANSFER_TUNE:-}" = skip ]; then
    echo "setup: CLBlast tuning skipped (CLTRANSFER_TUNE=skip)"
elif ! POCL_MAX_PTHREAD_COUNT="${POCL_MAX_PTHREAD_COUNT:-$tune_threads}" \
        build/cltransfer-bench tune --if-untuned --time-budget "${CLTRANSFER_TUNE_BUDGET:-300}"; then
    echo "setup: CLBlast tuning failed (above); cltransfer runs with the fallback parameters" >&2
fi
