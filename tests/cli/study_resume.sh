#!/usr/bin/env bash
# study_resume.sh — stopping a study midway and running it again, with a stub trainer that takes a
# few tenths of a second per network: SIGTERM reaches every running network, which snapshots and
# exits, the runner exits 130; SIGKILL of the runner still stops its networks (parent-death
# signal); each rerun skips finished networks, resumes interrupted ones and completes the study.
set -u
build=${1:?usage: study_resume.sh BUILD_DIR}
src=${CLT_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
stub=$src/tests/data/study
tmp=$(mktemp -d "${TMPDIR:-/tmp}/clt_study_resume.XXXXXX")
runner=""
trap '[ -n "$runner" ] && kill -9 "$runner" 2>/dev/null; rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib/checks.sh"
export CLTRANSFER_DATA=$stub/stub_data
args=(study -c "$stub/tiny.ini" --trainer "$stub/stub_trainer" --no-report --plain -j2)
nets() { find "$1/nets" -name final.ckpt 2>/dev/null | wc -l; }
# Waits (up to 30 s) until at least $2 networks of run $1 have finished.
wait_nets() { for _ in $(seq 300); do [ "$(nets "$1")" -ge "$2" ] && return 0; sleep 0.1; done; return 1; }
# Waits until network $2 of run $1 is midway: a snapshot written, final.ckpt not yet.
wait_midway() {
    for _ in $(seq 300); do
        for d in "$1/nets/$2"; do
            ls "$d"/snapshot_iter_* >/dev/null 2>&1 && [ ! -e "$d/final.ckpt" ] && return 0
        done
        sleep 0.02
    done
    return 1
}
# The snapshots and metrics of a run, to see that nothing is still writing.
state() { find "$1/nets" -type f \( -name 'snapshot_*' -o -name metrics.csv \) -printf '%p %s\n' | sort; }

for sig in TERM KILL; do
    run=$tmp/run-$sig
    export STUB_LOG=$tmp/log-$sig STUB_SLEEP=0.15
    # base_b steps slowly (1 s), so it is surely midway, not just finishing, when the signal comes
    STUB_SLOW=/r/base_b "$build/cltransfer" "${args[@]}" -o "$run" >"$tmp/first-$sig.out" 2>&1 &
    runner=$!
    check "SIG$sig: some networks finish first" wait_nets "$run" 3
    check "SIG$sig: and one is midway" wait_midway "$run" r/base_b
    kill -$sig "$runner"
    { wait "$runner"; } 2>/dev/null
    rc=$?
    runner=""
    done_first=$(nets "$run")
    if [ $sig = TERM ]; then
        check "SIGTERM: the runner exits 130" test "$rc" = 130
        check "SIGTERM: it forwarded the signal and waited" grep -q 'stopping on signal 15: waiting for [12] running' "$tmp/first-$sig.out"
        check "SIGTERM: the running networks stopped at a snapshot" grep -q 'stopped r/.* (resumes from its last snapshot)' "$tmp/first-$sig.out"
    else
        check "SIGKILL: the runner died" test "$rc" = 137
    fi
    sleep 0.5
    state "$run" >"$tmp/state1"
    sleep 0.6
    state "$run" >"$tmp/state2"
    check "SIG$sig: no network trains on after the runner stopped" cmp "$tmp/state1" "$tmp/state2"
    check "SIG$sig: the study was left unfinished" test "$done_first" -lt 14
    finished=$(find "$run/nets" -name final.ckpt | sed 's|/final.ckpt$||' | sort)
    : >"$STUB_LOG.2"
    check "SIG$sig: a rerun completes the study" env STUB_LOG="$STUB_LOG.2" STUB_SLEEP=0 \
        "$build/cltransfer" "${args[@]}" -o "$run"
    check "SIG$sig: all 14 networks finished" test "$(nets "$run")" = 14
    check "SIG$sig: no network finished before was trained again" bash -c \
        "for d in $(echo $finished); do grep -q \"^start \$d \" '$STUB_LOG.2' && exit 1; done; exit 0"
    check "SIG$sig: the rerun trained the other $((14 - done_first))" test "$(grep -c '^start' "$STUB_LOG.2")" = $((14 - done_first))
    check "SIG$sig: an interrupted network resumed from its snapshot" grep -q '^start .* from [1-9][0-9]* ' "$STUB_LOG.2"
done

checks_done
