#!/bin/bash
# bench/gpu-pack.sh — run here, before a device call: packs what a machine with an NVIDIA GPU needs
# to run the whole ctest suite and the benches (bench/gpu-run.sh) into .gpu/ in
# the repository root. The device machine is bare and has no OpenCL, CLBlast or protobuf-c
# headers, so the binaries are built here and carried with the shared libraries they load:
#   .gpu/build/   every executable and CTestTestfile of a Release build configured in REPO/build-gpu,
#                 no object files; the binaries' own paths name REPO (cl/, conf/), which
#                 bench/gpu-env.sh maps onto the device's checkout
#   .gpu/lib/     libclblast, libturbojpeg, libprotobuf-c and the OpenCL ICD loader
#   .gpu/fashion-mnist/  Debian's dataset-fashion-mnist files, which the study and some tests read
#   .gpu/root     REPO as this machine spells it, for bench/gpu-env.sh to map onto the device's path
# Then: run(command="bash bench/gpu-run.sh STAGE ...", carry=[".gpu"]). Under 64 MiB, the tool's limit.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
pack=$repo/.gpu
src_build=$repo/build-gpu
fmnist=${FMNIST_DIR:-/usr/share/datasets/fashion-mnist}
jobs=${JOBS:-$(nproc)}

cmake -S "$repo" -B "$src_build" -DCMAKE_BUILD_TYPE=Release -DCLT_TEST_CACHE_DIR=/tmp/clt-gpu-cache >/dev/null
cmake --build "$src_build" -j"$jobs" >/dev/null

rm -rf "$pack/build" "$pack/lib" "$pack/fashion-mnist"
mkdir -p "$pack/build" "$pack/lib"
# The tree as ctest and the tests see it: executables and test files at their places, paths inside
# them rewritten from the configure folder to .gpu/build.
(cd "$src_build" && find . -name CMakeFiles -prune -o -type f \( -perm -u+x -o -name CTestTestfile.cmake \) -print) |
    while read -r f; do
        case "$f" in *.so | *.a | */Makefile) continue ;; esac
        mkdir -p "$pack/build/$(dirname "$f")"
        cp "$src_build/$f" "$pack/build/$f"
    done
find "$pack/build" -name CTestTestfile.cmake -exec sed -i "s#$src_build#$pack/build#g" {} +
# Executables name the configure folder only through CLT_BUILD_DIR, which ctest sets; check that.
if grep -rlF "$src_build" "$pack/build" >/dev/null; then
    echo "gpu-pack: these still name $src_build:" >&2
    grep -rlF "$src_build" "$pack/build" >&2
    exit 1
fi

for so in libclblast.so.1 libturbojpeg.so.0 libprotobuf-c.so.1 libOpenCL.so.1; do
    path=$(ldconfig -p | awk -v n="$so" '$1 == n && /x86-64/ && !found++ {print $NF}')
    [ -n "$path" ] || { echo "gpu-pack: $so not found by ldconfig" >&2; exit 1; }
    cp -L "$path" "$pack/lib/$so"
done
if [ -d "$fmnist" ]; then
    cp -r "$fmnist" "$pack/fashion-mnist"
else
    echo "gpu-pack: no $fmnist: the study and the tests that read Fashion-MNIST will fail there" >&2
fi
echo "$repo" > "$pack/root"
size=$(du -sm "$pack/build" "$pack/lib" "$pack/fashion-mnist" "$pack/root" 2>/dev/null | awk '{s += $1} END {print s}')
echo "gpu-pack: .gpu holds ${size} MiB to carry (the configure folder build-gpu/ stays here)"
[ "$size" -lt 60 ] || { echo "gpu-pack: over the 60 MiB that leaves room for the tree" >&2; exit 1; }
