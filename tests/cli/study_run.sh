#!/usr/bin/env bash
# study_run.sh — `cltransfer study` running a tiny study locally with a stub trainer and data tool:
# every network once, a rerun that trains nothing, a failed base whose dependents are skipped (with
# the log path printed and a non-zero exit), the graph listing, configs emission and usage errors.
set -u
build=${1:?usage: study_run.sh BUILD_DIR}
src=${CLT_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
stub=$src/tests/data/study
tmp=$(mktemp -d "${TMPDIR:-/tmp}/clt_study_run.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib/checks.sh"
export CLTRANSFER_DATA=$stub/stub_data STUB_LOG=$tmp/log CLTRANSFER_REFERENCE=$src/conf/reference/yosinski2014_networks.csv
# The study command as a program, so env and bash -c can run it too.
study=$tmp/study
printf '#!/bin/sh\nexec %s study -c %s --trainer %s "$@"\n' "$build/cltransfer" "$stub/tiny.ini" "$stub/stub_trainer" > "$study"
chmod +x "$study"
run=$tmp/run

check "the study runs to the end (-j2)" bash -c "'$study' -o '$run' -j2 2>'$tmp/run.out'"
check "... every network once" test "$(grep -c '^start' "$tmp/log")" = 14
check "... one process each, POCL_MAX_PTHREAD_COUNT set" grep -q '2 at a time, POCL_MAX_PTHREAD_COUNT=1 each' "$tmp/run.out"
check "... the networks' configs are in the run folder" test -s "$run/nets/r/a2b_plus/net.ini"
check "... and the report at the end" test -s "$run/report.md" -a -s "$run/results.csv"
check "... results.csv has every network" test "$(tail -n +2 "$run/results.csv" | wc -l)" = 14
check "a rerun trains nothing" bash -c "'$study' -o '$run' >/dev/null 2>&1; [ \$(grep -c '^start' '$tmp/log') = 14 ]"
check "--list shows them done" bash -c "'$study' -o '$run' --list | grep -q '^r/a1b  *2 done  *40  *[0-9]*  data/r r/base_a\$'"

rm -f "$tmp/log"
check "repeats run in order: a study stopped part-way holds whole repeats" bash -c \
    "'$study' -o '$tmp/rep' -j2 -s study.repeats=2 --no-report --plain >/dev/null 2>'$tmp/rep.out'"
# the runner's own start lines: two children started together may log in either order
check "... every network of repeat 0 starts before any of repeat 1" bash -c \
    "grep '\] start ' '$tmp/rep.out' | grep -v ' data/' > '$tmp/rep.starts' && [ \$(wc -l < '$tmp/rep.starts') = 28 ] && [ \$(grep -n -v -- '-r1\$' '$tmp/rep.starts' | tail -1 | cut -d: -f1) -lt \$(grep -n -- '-r1\$' '$tmp/rep.starts' | head -1 | cut -d: -f1) ]"

rm -f "$tmp/log"
check "the most work first: with one job, every fine-tuned network starts before any frozen one" bash -c \
    "'$study' -o '$tmp/order' -j1 --no-report >/dev/null 2>&1 && [ \$(grep -n '^start .*/r/[ab][12][ab]_plus ' '$tmp/log' | tail -1 | cut -d: -f1) -lt \$(grep -n '^start .*/r/[ab][12][ab] ' '$tmp/log' | head -1 | cut -d: -f1) ]"

rm -f "$tmp/log"
exits 1 "a failing base makes the study fail" env STUB_FAIL=/r/base_b "$study" -o "$tmp/fail" -j2 --plain
cp "$tmp/out" "$tmp/fail.out"
check "... naming the failure and its logs" grep -q "FAILED  r/base_b after .*: exit 1; see $tmp/fail/nets/r/base_b/log.txt and $tmp/fail/nets/r/base_b/stderr.log" "$tmp/fail.out"
check "... the child's stderr is in its log" grep -q 'failing on purpose' "$tmp/fail/nets/r/base_b/stderr.log"
check "... skipping its dependents" bash -c "for n in b1b b2b b1a b2a; do grep -q \"skip    r/\$n (needs r/base_b)\" '$tmp/fail.out' || exit 1; done"
check "... which never started" bash -c "! grep -q 'nets/r/b[12][ab] ' '$tmp/log'"
check "... while the rest finished" bash -c "[ \$(find '$tmp/fail/nets' -name final.ckpt | wc -l) = 9 ]"
check "... and says how many" grep -q 'study tiny: 9/14 networks done in .*; 1 failed, 4 skipped' "$tmp/fail.out"
before=$(grep -c '^start' "$tmp/log")
check "rerun without the fault: only the failed base and its 4 dependents train" bash -c \
    "'$study' -o '$tmp/fail' >/dev/null 2>&1 && [ \$(grep -c '^start' '$tmp/log') = $((before + 5)) ]"

exits 1 "a failing data folder fails its networks" env CLTRANSFER_DATA=/bin/false "$study" -o "$tmp/nodata" --no-report --plain
cp "$tmp/out" "$tmp/nodata.out"
check "... naming prepare.log" grep -q "FAILED  data/r after .*: exit 1; see $tmp/nodata/data/r/prepare.log" "$tmp/nodata.out"
check "... and skipping everything after it" grep -q 'study tiny: 0/14 networks done in .*; 2 failed, 14 skipped (data preparation failed)' "$tmp/nodata.out"

check "--data-only prepares the data and trains nothing" bash -c \
    "'$study' -o '$tmp/dataonly' --data-only >/dev/null 2>&1 && [ -e '$tmp/dataonly/data/reduced0005/.done' ] && [ ! -e '$tmp/dataonly/nets/r/base_a/metrics.csv' ]"

check "--emit configs writes the study's names" "$study" --emit configs -o "$tmp/conf" --split r
check "... for split r and the whole dataset" bash -c \
    "cd '$tmp/conf' && ls | tr '\n' ' ' | grep -qx 'a1a_plus.ini a1b.ini a2a_plus.ini a2b.ini a2b_plus.ini b1a.ini b1b.ini b2a.ini b2b.ini base_a.ini base_b.ini random1.ini reduced0002.ini reduced0005.ini '"
check "... with the study file's relative paths" grep -q '^base = runs/tiny/nets/r/base_a/final.ckpt$' "$tmp/conf/a1b.ini"
check "... loadable by the trainer" "$build/cltransfer" -c "$tmp/conf/a2b_plus.ini" --print-config

exits 2 "no -c is a usage error" "$build/cltransfer" study
exits 2 "a bad study file exits 2" "$study" -s 'split r.transfer=AnA'
exits 2 "--emit configs needs -o" "$study" --emit configs
exits 2 "an unknown --emit" "$study" --emit docker
check "study --help documents the study file" bash -c "'$build/cltransfer' study --help | grep -q '\[split NAME\]'"

checks_done
