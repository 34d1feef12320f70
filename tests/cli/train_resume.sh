#!/bin/bash
# train_resume.sh — exact resume: a run killed with SIGKILL (at several moments) and restarted
# with --resume ends with the same final checkpoint, bit for bit, as an uninterrupted run;
# SIGTERM and SIGINT write a snapshot and exit 143 / 130; an output folder that holds a run is not
# overwritten without --resume.
. "$(dirname "$0")/lib/common.sh"
tiny_pack "$WORK/p" 40

tiny_config "$WORK/straight.ini" "$WORK/p" "$WORK/straight" "[solver]" "snapshot = 7"
"$CLT" -c "$WORK/straight.ini" --quiet || fail "the uninterrupted run exits 0"
check "the uninterrupted run finishes" test -f "$WORK/straight/final.ckpt"

wait_for() { # wait_for FILE-GLOB SECONDS
    for _ in $(seq 1 $(($2 * 20))); do
        compgen -G "$1" > /dev/null && return 0
        sleep 0.05
    done
    return 1
}

# SIGKILL after the first snapshot, after a later one, and at once (before any snapshot)
for when in 7 21 0; do
    out="$WORK/killed_$when"
    tiny_config "$WORK/k.ini" "$WORK/p" "$out" "[solver]" "snapshot = 7"
    "$CLT" -c "$WORK/k.ini" --quiet &
    pid=$!
    if [ "$when" -gt 0 ]; then wait_for "$out/snapshot_iter_$when.ckpt" 120; else sleep 0.3; fi
    kill -KILL $pid 2>/dev/null
    wait $pid 2>/dev/null
    "$CLT" -c "$WORK/k.ini" --quiet --resume || fail "resume after SIGKILL at snapshot $when exits 0"
    check "SIGKILL after snapshot $when, then --resume: final checkpoint identical to the uninterrupted run" \
        cmp -s "$WORK/straight/final.ckpt" "$out/final.ckpt"
    check "SIGKILL after snapshot $when: metrics.csv keeps one row per (iter, phase)" \
        test -z "$(cut -d, -f1,2 "$out/metrics.csv" | sort | uniq -d)"
    check "SIGKILL after snapshot $when: metrics.csv has the uninterrupted run's losses" \
        diff <(cut -d, -f1-6 "$WORK/straight/metrics.csv") <(cut -d, -f1-6 "$out/metrics.csv")
done

for sig in TERM INT; do
    out="$WORK/sig_$sig"
    tiny_config "$WORK/s.ini" "$WORK/p" "$out" "[solver]" "snapshot = 1000"
    "$CLT" -c "$WORK/s.ini" --quiet &
    pid=$!
    wait_for "$out/metrics.csv" 120
    sleep 0.5
    kill -$sig $pid
    wait $pid
    rc=$?
    want=$([ $sig = TERM ] && echo 143 || echo 130)
    if [ -f "$out/final.ckpt" ]; then
        pass "SIG$sig arrived after the run finished (machine too fast to interrupt it)"
    else
        check "SIG$sig: exit status $rc is $want" test "$rc" -eq "$want"
        check "SIG$sig: a snapshot is written before exiting" bash -c "compgen -G '$out/snapshot_iter_*.ckpt' > /dev/null"
        "$CLT" -c "$WORK/s.ini" --quiet --resume || fail "resume after SIG$sig exits 0"
    fi
    check "SIG$sig then --resume: final checkpoint identical to the uninterrupted run" \
        cmp -s "$WORK/straight/final.ckpt" "$out/final.ckpt"
done

# Validation runs through the training input buffers: a pass after every iteration must leave the
# weights exactly as a run that validates only at its end.
tiny_config "$WORK/v.ini" "$WORK/p" "$WORK/every" "[solver]" "snapshot = 7" "test_interval = 1"
"$CLT" -c "$WORK/v.ini" --quiet || fail "the run validating every iteration exits 0"
tiny_config "$WORK/v60.ini" "$WORK/p" "$WORK/end" "[solver]" "snapshot = 7" "test_interval = 60"
"$CLT" -c "$WORK/v60.ini" --quiet || fail "the run validating at its end exits 0"
check "validating every iteration trains exactly as validating once at the end" \
    cmp -s "$WORK/every/final.ckpt" "$WORK/end/final.ckpt"

"$CLT" -c "$WORK/straight.ini" --quiet 2> "$WORK/err"
rc=$?
check "rerunning into a used output folder without --resume is refused (exit $rc)" \
    sh -c "[ $rc -eq 2 ] && grep -q 'already holds a run' '$WORK/err'"
( cd "$WORK/straight" && md5sum * ) > "$WORK/before.md5"
"$CLT" -c "$WORK/straight.ini" --quiet --resume
check "--resume of a finished run changes nothing" cmp -s "$WORK/straight/final.ckpt" "$WORK/killed_7/final.ckpt"
check "... not a byte of any of its files (metrics.csv, log, snapshots)" \
    bash -c "cd '$WORK/straight' && md5sum -c --quiet '$WORK/before.md5' && [ \$(ls | wc -l) = \$(wc -l < '$WORK/before.md5') ]"
finish
