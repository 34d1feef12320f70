#!/bin/sh
# run.sh — one fuzz ctest: replay the committed corpus, then fuzz for a fixed time; any crash, leak,
# sanitizer report, timeout or out-of-memory fails the test and leaves the input in ARTIFACTS/.
# usage: run.sh FUZZ_TARGET CORPUS_DIR SECONDS ARTIFACTS_DIR
# The mutations follow a fixed seed, $CLT_FUZZ_SEED (default 1), so a run is a prefix of the same
# input sequence on every machine and the suite passes or fails alike for everyone; CLT_FUZZ_SEED=0
# draws a new seed each run, for a developer hunting new crashes (with a larger CLT_FUZZ_SECONDS).
set -eu
target=$1 corpus=$2 seconds=$3 artifacts=$4 seed=${CLT_FUZZ_SEED:-1}
mkdir -p "$artifacts"
# new inputs go to a scratch folder, so the committed corpus changes only by hand
work=$(mktemp -d "${TMPDIR:-/tmp}/clt_fuzz_XXXXXX")
trap 'rm -rf "$work"' EXIT
# -close_fd_mask=2 silences the readers' error messages; libFuzzer and the sanitizers still report
"$target" -seed="$seed" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2560 -malloc_limit_mb=2560 -max_len=65536 \
    -close_fd_mask=2 -print_final_stats=1 -artifact_prefix="$artifacts/$(basename "$target")-" "$work" "$corpus"
