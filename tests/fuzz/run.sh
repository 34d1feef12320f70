#!/bin/sh
# run.sh — one fuzz ctest: replay the committed corpus, then fuzz for a fixed time; any crash, leak,
# sanitizer report, timeout or out-of-memory fails the test and leaves the input in ARTIFACTS/.
# usage: run.sh FUZZ_TARGET CORPUS_DIR SECONDS ARTIFACTS_DIR
set -eu
target=$1 corpus=$2 seconds=$3 artifacts=$4
mkdir -p "$artifacts"
# new inputs go to a scratch folder, so the committed corpus changes only by hand
work=$(mktemp -d "${TMPDIR:-/tmp}/clt_fuzz_XXXXXX")
trap 'rm -rf "$work"' EXIT
# -close_fd_mask=2 silences the readers' error messages; libFuzzer and the sanitizers still report
"$target" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2560 -malloc_limit_mb=2560 -max_len=65536 \
    -close_fd_mask=2 -print_final_stats=1 -artifact_prefix="$artifacts/$(basename "$target")-" "$work" "$corpus"
