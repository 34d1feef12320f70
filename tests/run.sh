#!/bin/sh
# tests/run.sh — the whole test suite: every ctest of build/ (setup.sh makes it), then every ctest again
# under AddressSanitizer + UndefinedBehaviorSanitizer with leak checking, plus a short run of each
# libFuzzer target, from build-asan/ (configured and built here: clang where it links libFuzzer, else
# the default compiler, whose build reports the fuzz tests skipped). build-asan/ uses build/'s PoCL and
# kernel caches, so no kernel compiles twice. Arguments go to both ctest runs (e.g. -R fault);
# CLT_SKIP_ASAN=1 runs build/ only. Exit status 1 if any test of either build failed.
set -eu
cd "$(dirname "$0")/.."
jobs=$(nproc)
status=0
ctest --test-dir build --output-on-failure -j"$jobs" "$@" || status=1
[ "${CLT_SKIP_ASAN:-0}" = 1 ] && exit $status

if [ ! -f build-asan/CMakeCache.txt ]; then
    probe=$(mktemp -d)
    printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { return d && n; }\n' > "$probe/f.c"
    if clang -fsanitize=fuzzer,address,undefined "$probe/f.c" -o "$probe/f" 2> /dev/null; then
        export CC=clang CXX=clang++
    else
        echo "tests/run.sh: clang with libFuzzer not found (setup.sh installs clang and libclang-rt-14-dev):"
        echo "  the sanitizer build uses the default compiler and the fuzz tests are skipped"
    fi
    rm -rf "$probe"
    cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCLT_SANITIZE=ON \
        -DCLT_TEST_CACHE_DIR="$PWD/build/cache" > /dev/null
fi
cmake --build build-asan -j"$jobs"
echo "tests/run.sh: the same tests under AddressSanitizer + UndefinedBehaviorSanitizer, and the fuzz targets"
ctest --test-dir build-asan --output-on-failure -j"$jobs" "$@" || status=1
exit $status
