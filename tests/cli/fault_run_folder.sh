#!/bin/bash
# fault_run_folder.sh — a hostile user's run folder: two trainers (or a resume) in one folder, damaged
# snapshots, a resume that would shorten the run or change its settings, a lost or replaced
# metrics.csv, leftover temporary files, class counts that cannot work, and the messages and log
# lines such runs leave. Each case says how the trainer must now behave (issue 11, items 2, 4, 5, 6,
# 8, 9).
. "$(dirname "$0")/lib/common.sh"
tiny_pack "$WORK/p" 40

expect() { # expect NAME EXIT PATTERN cltransfer-args...: exit status and a line of stderr
    local name="$1" want="$2" pattern="$3"; shift 3
    "$CLT" "$@" > "$WORK/stdout" 2> "$WORK/stderr"
    local rc=$?
    if [ $rc -eq "$want" ] && grep -q -- "$pattern" "$WORK/stderr"; then
        pass "$name (exit $rc: $(grep -m1 -- "$pattern" "$WORK/stderr" | cut -c1-160))"
    else
        fail "$name: exit $rc (want $want), stderr: $(head -c 600 "$WORK/stderr")"
    fi
}

# ---- item 2: one trainer per run folder ----
tiny_config "$WORK/long.ini" "$WORK/p" "$WORK/shared" "[solver]" "max_iter = 100000" "snapshot = 100000"
"$CLT" -c "$WORK/long.ini" --quiet &
first=$!
for _ in $(seq 1 600); do [ -s "$WORK/shared/metrics.csv" ] && break; sleep 0.05; done
expect "a second trainer in a live run's folder is refused, naming the holder" 1 "in use by process $first" \
    -c "$WORK/long.ini" -s solver.base_lr=0.001 --quiet
expect "a --resume beside the live run is refused too" 1 "in use by process $first" -c "$WORK/long.ini" --resume --quiet
check "the live run's config.ini is its own (base_lr 0.01)" grep -q "^base_lr = 0.01$" "$WORK/shared/config.ini"
kill -TERM $first
wait $first
check "the live run, left alone, stops on SIGTERM with a snapshot" \
    bash -c "compgen -G '$WORK/shared/snapshot_iter_*.ckpt' > /dev/null"

# the lock is the one a study holds on its run folder: a trainer there is refused too
mkdir -p "$WORK/held"
flock "$WORK/held/.cltransfer.lock" "$CLT" -c "$WORK/long.ini" -s run.output="$WORK/held" --quiet > "$WORK/stdout" 2> "$WORK/stderr"
rc=$?
check "a folder locked as a study locks its run folder refuses a trainer (exit $rc)" \
    sh -c "[ $rc -eq 1 ] && grep -q 'held is in use by process' '$WORK/stderr' && [ ! -e '$WORK/held/config.ini' ]"

# ---- item 4: a damaged newest snapshot falls back to the previous one ----
tiny_config "$WORK/straight.ini" "$WORK/p" "$WORK/straight" "[solver]" "max_iter = 30" "snapshot = 10"
"$CLT" -c "$WORK/straight.ini" --quiet || fail "the uninterrupted 30-iteration run exits 0"
tiny_config "$WORK/r25.ini" "$WORK/p" "$WORK/r25" "[solver]" "max_iter = 25" "snapshot = 10"
"$CLT" -c "$WORK/r25.ini" --quiet || fail "the 25-iteration run exits 0"
check "the 25-iteration run kept snapshots 10 and 20" test -f "$WORK/r25/snapshot_iter_10.ckpt" -a -f "$WORK/r25/snapshot_iter_20.ckpt"
copy() { rm -rf "$WORK/$1"; cp -r "$WORK/r25" "$WORK/$1"; rm -f "$WORK/$1/final.ckpt"; }
for damage in truncated flipped empty; do
    copy "d_$damage"
    s="$WORK/d_$damage/snapshot_iter_20.ckpt"
    case $damage in
        truncated) truncate -s 3000 "$s" ;;
        flipped) printf '\x55' | dd of="$s" bs=1 seek=4000 conv=notrunc status=none ;;
        empty) : > "$s" ;;
    esac
    expect "a $damage newest snapshot: the resume falls back to the previous one, saying so" 0 \
        "snapshot_iter_20.ckpt is damaged (above); falling back to snapshot_iter_10.ckpt" \
        -c "$WORK/straight.ini" -s run.output="$WORK/d_$damage" --resume --quiet
    check "... and ends bit-identical to the uninterrupted run ($damage)" \
        cmp -s "$WORK/straight/final.ckpt" "$WORK/d_$damage/final.ckpt"
    check "... with the uninterrupted run's metrics rows ($damage)" \
        diff <(cut -d, -f1-6 "$WORK/straight/metrics.csv") <(cut -d, -f1-6 "$WORK/d_$damage/metrics.csv")
done
copy d_named
mv "$WORK/d_named/snapshot_iter_20.ckpt" "$WORK/d_named/snapshot_iter_999999.ckpt"
expect "a snapshot whose name says 999999 but whose header says 20 is damaged: falls back" 0 \
    "says iteration 20 .* not the 999999 of its name" -c "$WORK/straight.ini" -s run.output="$WORK/d_named" --resume --quiet
check "... and ends bit-identical to the uninterrupted run (renamed)" cmp -s "$WORK/straight/final.ckpt" "$WORK/d_named/final.ckpt"

# a finished run that never snapshotted (snapshot > max_iter): raising max_iter continues from
# final.ckpt, not from scratch over its metrics
tiny_config "$WORK/nosnap.ini" "$WORK/p" "$WORK/nosnap" "[solver]" "max_iter = 20" "snapshot = 1000"
"$CLT" -c "$WORK/nosnap.ini" --quiet || fail "the 20-iteration run without snapshots exits 0"
expect "raising max_iter of a run with only final.ckpt resumes from it" 0 "resuming from .*final.ckpt at iteration 20" \
    -c "$WORK/nosnap.ini" -s solver.max_iter=30 --resume
check "... and ends bit-identical to the uninterrupted 30-iteration run" cmp -s "$WORK/straight/final.ckpt" "$WORK/nosnap/final.ckpt"
check "... with its metrics rows" diff <(cut -d, -f1-6 "$WORK/straight/metrics.csv") <(cut -d, -f1-6 "$WORK/nosnap/metrics.csv")

# ---- item 5: nothing invented or silently changed on resume ----
copy shorter
expect "--resume with max_iter below the newest snapshot is a config error" 2 "past solver.max_iter = 15" \
    -c "$WORK/straight.ini" -s run.output="$WORK/shorter" -s solver.max_iter=15 --resume --quiet
check "... and writes no final.ckpt" test ! -e "$WORK/shorter/final.ckpt"
expect "--resume of a finished run with a smaller max_iter is a config error" 2 "cannot be shortened" \
    -c "$WORK/r25.ini" -s solver.max_iter=15 --resume --quiet
copy other_batch
cp "$WORK/other_batch/config.ini" "$WORK/config.before"
expect "--resume with another batch size is refused, naming it" 2 "data.batch = 16 (the run has 32)" \
    -c "$WORK/straight.ini" -s run.output="$WORK/other_batch" -s data.batch=16 --resume --quiet
expect "--resume with another learning rate is refused, naming it" 2 "solver.base_lr = 0.02 (the run has 0.01)" \
    -c "$WORK/straight.ini" -s run.output="$WORK/other_batch" -s solver.base_lr=0.02 --resume --quiet
expect "--resume of a finished run with another learning rate is refused, not reported finished" 2 \
    "solver.base_lr = 0.02 (the run has 0.01)" -c "$WORK/r25.ini" -s solver.base_lr=0.02 --resume --quiet
check "... and config.ini is left as the run wrote it" cmp -s "$WORK/config.before" "$WORK/other_batch/config.ini"
check "... and the refusal is in log.txt" grep -q "error: --resume would continue the run" "$WORK/other_batch/log.txt"

# ---- item 9: leftovers and a lost history ----
copy leftovers
: > "$WORK/leftovers/snapshot_iter_15.ckpt.tmp.99999"
: > "$WORK/leftovers/final.ckpt.tmp.99998"
"$CLT" -c "$WORK/straight.ini" -s run.output="$WORK/leftovers" --resume --quiet 2> "$WORK/stderr"
check "temporary files of killed writers are removed under the run's lock" \
    test ! -e "$WORK/leftovers/snapshot_iter_15.ckpt.tmp.99999" -a ! -e "$WORK/leftovers/final.ckpt.tmp.99998"
copy no_metrics
rm "$WORK/no_metrics/metrics.csv"
expect "--resume without metrics.csv is refused, not restarted silently" 1 "metrics.csv is missing" \
    -c "$WORK/straight.ini" -s run.output="$WORK/no_metrics" --resume --quiet
copy no_config
rm "$WORK/no_config/config.ini"
expect "--resume without the run's config.ini is refused: its settings cannot be checked" 1 "config.ini is missing" \
    -c "$WORK/straight.ini" -s run.output="$WORK/no_config" --resume --quiet
copy garbage_metrics
printf 'this is not\na metrics file\n' > "$WORK/garbage_metrics/metrics.csv"
expect "--resume over a garbage metrics.csv is refused, naming the line" 1 "metrics.csv:1: not a line of a metrics file" \
    -c "$WORK/straight.ini" -s run.output="$WORK/garbage_metrics" --resume --quiet
tiny_config "$WORK/progress.ini" "$WORK/p" "$WORK/progress" "[solver]" "max_iter = 10" "test_interval = 10"
"$CLT" -c "$WORK/progress.ini" > /dev/null 2> "$WORK/stderr"
check "the progress line shows no validation top-1 before there is one" grep -q "^iter 5/10 loss .* val top-1 - " "$WORK/stderr"
check "... and no invented 0.0000" sh -c "! grep -q 'iter 5/10 .*val top-1 0.0000' '$WORK/stderr'"

# ---- item 6: class counts that cannot work are config errors before the first iteration ----
tiny_config "$WORK/c3.ini" "$WORK/p" "$WORK/c3"
expect "data.classes = 3 on a 5-class pack is a config error" 2 "data.classes = 3, but the training pack" \
    -c "$WORK/c3.ini" -s data.classes=3 --quiet
check "... before any iteration (no metrics rows)" sh -c "[ ! -s '$WORK/c3/metrics.csv' ]"
check "... and its log.txt says why" grep -q "error: .*data.classes = 3" "$WORK/c3/log.txt"
"$CLTDATA" fmnist -o "$WORK/six" --classes 0,1,2,3,4,5 --per-class 10 --test-per-class 10 --seed 1 > /dev/null 2>&1
tiny_config "$WORK/v6.ini" "$WORK/p" "$WORK/v6" "[data]" "val = $WORK/six_test.pack"
expect "a 6-class validation pack for a 5-class net is a config error" 2 "validation pack .*six_test.pack has 6 classes" \
    -c "$WORK/v6.ini" --quiet

# ---- item 1: a base that is no checkpoint costs no memory (AddressSanitizer cannot live under ulimit -v) ----
tiny_config "$WORK/zero.ini" "$WORK/p" "$WORK/zero" "[transfer]" "mode = frozen" "layers = 2" "base = /dev/zero"
if [ -n "${ASAN_OPTIONS:-}" ]; then "$CLT" -c "$WORK/zero.ini" --quiet 2> "$WORK/stderr"; rc=$?
else (ulimit -v 400000; "$CLT" -c "$WORK/zero.ini" --quiet 2> "$WORK/stderr"); rc=$?; fi
check "transfer.base = /dev/zero is refused at its magic under ulimit -v (exit $rc)" \
    sh -c "[ $rc -eq 1 ] && grep -q '/dev/zero: not a cltransfer checkpoint (bad magic)' '$WORK/stderr'"

# ---- item 8: messages name what the user named ----
tiny_config "$WORK/missing.ini" "$WORK/p" "$WORK/missing" "[data]" "train = $WORK/nonexistent.pack"
expect "a missing training pack is named, not its mean" 1 "cannot open pack $WORK/nonexistent.pack" -c "$WORK/missing.ini" --quiet
check "... and no .mean is blamed" sh -c "! grep -q 'nonexistent.mean' '$WORK/stderr'"
mkdir -p "$WORK/folder.pack"
tiny_config "$WORK/dir.ini" "$WORK/p" "$WORK/dir" "[data]" "train = $WORK/folder.pack"
expect "a folder given as the pack is named as the pack" 1 "pack $WORK/folder.pack" -c "$WORK/dir.ini" --quiet
finish
