#!/bin/bash
# fault_train_kill.sh — SIGKILL at random moments of a training run (start-up, mid-iteration, while a
# snapshot is written), several times over, each followed by --resume: after every kill each
# checkpoint under its real name loads, and the run finally ends with the uninterrupted run's
# final.ckpt, bit for bit, and its metrics.csv. FAULT_SEED=N replays one sequence of kill moments.
. "$(dirname "$0")/lib/common.sh"
SEED=${FAULT_SEED:-$(( $(date +%s) % 100000 ))}
echo "kill moments from seed $SEED (FAULT_SEED=$SEED replays them)"
tiny_pack "$WORK/p" 40
config() { tiny_config "$1" "$WORK/p" "$2" "[solver]" "max_iter = 40" "snapshot = 5" "test_interval = 15"; }

config "$WORK/straight.ini" "$WORK/straight"
t0=$(date +%s%N)
"$CLT" -c "$WORK/straight.ini" --quiet || fail "the uninterrupted run exits 0"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "the uninterrupted run finishes (${ms} ms)" test -f "$WORK/straight/final.ckpt"

# every checkpoint with a real name must be whole: a kill may only leave *.tmp.PID behind
all_load() {
    for f in "$1"/*.ckpt; do
        [ -e "$f" ] || continue
        "$CLT" --inspect "$f" > /dev/null 2>&1 || { echo "$f does not load"; return 1; }
    done
}

# First a fixed moment that random ones reach only now and then: right after the snapshot of an
# iteration that also validates, so the resumed run starts just after a validation pass.
out="$WORK/at_val"
config "$WORK/v.ini" "$out"
"$CLT" -c "$WORK/v.ini" --quiet &
pid=$!
for _ in $(seq 1 2400); do [ -e "$out/snapshot_iter_15.ckpt" ] && break; sleep 0.05; done
kill -KILL $pid 2>/dev/null
wait $pid 2>/dev/null
"$CLT" -c "$WORK/v.ini" --quiet --resume || fail "resume after the kill at validation iteration 15 exits 0"
check "SIGKILL after the snapshot of validation iteration 15, then --resume: final.ckpt identical" \
    cmp -s "$WORK/straight/final.ckpt" "$out/final.ckpt"

out="$WORK/killed"
config "$WORK/k.ini" "$out"
kills=0
for round in 1 2 3 4 5; do
    # a moment anywhere in an uninterrupted run's time, so early rounds hit start-up and snapshots alike
    delay=$(awk -v s="$SEED" -v r="$round" -v ms="$ms" 'BEGIN { srand(s * 7 + r); printf "%.3f", rand() * ms / 1000 }')
    "$CLT" -c "$WORK/k.ini" --quiet --resume 2> "$WORK/err" &
    pid=$!
    sleep "$delay"
    if kill -KILL $pid 2>/dev/null; then
        wait $pid 2>/dev/null
        kills=$((kills + 1))
        check "kill $round at ${delay}s: every checkpoint left under its real name loads" all_load "$out"
    else
        wait $pid
        rc=$?
        check "round $round: the run ended before the kill at ${delay}s and exited 0 (exit $rc)" test $rc -eq 0
        break
    fi
done
echo "$kills kills"
if [ ! -f "$out/final.ckpt" ]; then
    "$CLT" -c "$WORK/k.ini" --quiet --resume || fail "the last --resume exits 0"
fi
check "after $kills random SIGKILLs and --resume: final.ckpt identical to the uninterrupted run's" \
    cmp -s "$WORK/straight/final.ckpt" "$out/final.ckpt"
check "metrics.csv keeps one row per (iter, phase)" test -z "$(cut -d, -f1,2 "$out/metrics.csv" | sort | uniq -d)"
check "metrics.csv has the uninterrupted run's losses and accuracies" \
    diff <(cut -d, -f1-6 "$WORK/straight/metrics.csv") <(cut -d, -f1-6 "$out/metrics.csv")
finish
