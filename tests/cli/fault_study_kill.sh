#!/bin/bash
# fault_study_kill.sh — SIGKILL of `cltransfer study` (the real trainer and data tool, a tiny study on a
# cut-down Fashion-MNIST) at random moments, several times, each followed by a rerun: the study ends
# with every network's final.ckpt and results.csv equal to an uninterrupted study's. A rerun that
# starts while networks of the killed runner are still stopping must not start a second trainer on
# the same folder. FAULT_SEED=N replays one sequence of kill moments.
. "$(dirname "$0")/lib/common.sh"
SEED=${FAULT_SEED:-$(( $(date +%s) % 100000 ))}
echo "kill moments from seed $SEED (FAULT_SEED=$SEED replays them)"
FM=/usr/share/datasets/fashion-mnist
[ -f "$FM/train-images-idx3-ubyte.gz" ] || { echo "FAIL Debian's dataset-fashion-mnist is not installed"; exit 1; }

# The first N items of an idx file, with the count in its header set to N.
idx_head() { # idx_head IN.gz OUT.gz N HEADER_BYTES ITEM_BYTES
    { zcat "$1" | head -c 4
      printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($3 >> 24 & 255)) $(($3 >> 16 & 255)) $(($3 >> 8 & 255)) $(($3 & 255)))"
      zcat "$1" | head -c $(($4 + $3 * $5)) | tail -c +9
    } | gzip -1 > "$2"
}
mkdir -p "$WORK/fm"
idx_head "$FM/train-images-idx3-ubyte.gz" "$WORK/fm/train-images-idx3-ubyte.gz" 600 16 784
idx_head "$FM/train-labels-idx1-ubyte.gz" "$WORK/fm/train-labels-idx1-ubyte.gz" 600 8 1
idx_head "$FM/t10k-images-idx3-ubyte.gz" "$WORK/fm/t10k-images-idx3-ubyte.gz" 200 16 784
idx_head "$FM/t10k-labels-idx1-ubyte.gz" "$WORK/fm/t10k-labels-idx1-ubyte.gz" 200 8 1

cat > "$WORK/fault.ini" <<INI
[study]
name = fault
layers = 2
jobs = 2
[source]
kind = fmnist
input = $WORK/fm
[report]
best = 1
[data]
batch = 16
val_batch = 50
scale = 0.0111
threads = 1
[net]
arch = small
init = he
widths = 4,8,8,8,8,16,16
[solver]
max_iter = 24
stepsize = 16
test_interval = 8
snapshot = 4
display = 4
[split r]
a = 0 1 2 3 4
b = 5 6 7 8 9
base = A B
selffer = BnB
transfer = AnB
INI
study() { "$CLT" study -c "$WORK/fault.ini" --plain -j2 -o "$@"; }
# Processes training a network of run $1 (from /proc: procps may not be installed).
trainers_of() {
    for p in /proc/[0-9]*; do
        case "$(tr '\0' ' ' < "$p/cmdline" 2> /dev/null)" in *"-c $1/nets/"*) echo "${p#/proc/}" ;; esac
    done
}
NETS="r/base_a r/base_b r/b2b r/a2b"

t0=$(date +%s%N)
study "$WORK/straight" > "$WORK/straight.out" 2>&1 || { cat "$WORK/straight.out"; fail "the uninterrupted study exits 0"; }
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
for n in $NETS; do
    check "the uninterrupted study trains $n (${ms} ms in all)" test -f "$WORK/straight/nets/$n/final.ckpt"
done

run="$WORK/killed"
kills=0
for round in 1 2 3 4; do
    # each rerun has less left to do, so round r kills within the first 1/r of the whole time
    delay=$(awk -v s="$SEED" -v r="$round" -v ms="$ms" 'BEGIN { srand(s * 7 + r); printf "%.3f", rand() * ms / 1000 / r }')
    "$CLT" study -c "$WORK/fault.ini" --plain -j2 -o "$run" > "$WORK/round$round.out" 2>&1 &
    pid=$!
    sleep "$delay"
    if ! kill -KILL $pid 2>/dev/null; then
        wait $pid
        check "round $round: the study ended before the kill at ${delay}s and exited 0" test $? -eq 0
        break
    fi
    wait $pid 2>/dev/null
    kills=$((kills + 1))
    # The killed runner's networks get SIGTERM, snapshot and exit; until then they hold the run's
    # lock. A trainer seen alive after the lock was tried was alive while it was tried.
    trainers=$(trainers_of "$run")
    if [ -n "$trainers" ]; then
        flock -n "$run/.cltransfer.lock" true
        free=$?
        alive=0
        # a trainer that has exited but is not yet reaped (a zombie: its files, the lock among them,
        # are closed) answers kill -0, so its state is read instead
        for p in $trainers; do
            state=$(sed 's/.*) //' "/proc/$p/stat" 2> /dev/null | cut -d' ' -f1)
            [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ] && alive=1
        done
        [ $alive = 1 ] && check "kill $round: while networks of the killed runner still run, the run stays locked" \
            test $free -ne 0
    fi
    for _ in $(seq 1 600); do
        [ ! -e "$run/.cltransfer.lock" ] || flock -n "$run/.cltransfer.lock" true && break
        sleep 0.1
    done
    check "kill $round at ${delay}s: its networks stopped within a minute" flock -n "$run/.cltransfer.lock" true
done
echo "$kills kills"
study "$run" > "$WORK/last.out" 2>&1
check "the rerun after $kills kills completes the study (exit $?)" grep -q "all 4 networks done" "$WORK/last.out"
for n in $NETS; do
    check "$n: final.ckpt identical to the uninterrupted study's" \
        cmp -s "$WORK/straight/nets/$n/final.ckpt" "$run/nets/$n/final.ckpt"
done
check "results.csv equals the uninterrupted study's" cmp -s "$WORK/straight/results.csv" "$run/results.csv"
finish
