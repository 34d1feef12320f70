#!/bin/bash
# train_prefix_cache.sh — frozen prefixes computed once (src/net/prefix_cache.h): frozen and
# random-frozen nets trained over many epochs with the cache end with the same final.ckpt, byte for
# byte, and the same metrics (all but the timing columns) as with CLTRANSFER_PREFIX_CACHE=off, at
# every cut from block 1 (conv part) to block 6 (dropout after fc6 and fc7 reapplied per iteration;
# with layers 1..7 frozen the cache holds block 6's output, since block 7 opens with a dropout),
# with validation passes between; a cached run resumed half-way ends as the uninterrupted one; the
# cache stays off with mirroring, for fine-tuning and when the budget is too small.
. "$(dirname "$0")/lib/common.sh"
tiny_pack "$WORK/p" 40   # 200 images; 60 iterations of 32 = 9.6 epochs

tiny_config "$WORK/base.ini" "$WORK/p" "$WORK/base"
"$CLT" -c "$WORK/base.ini" --quiet || fail "base run exits 0"

metrics() { cut -d, -f1-6 "$1"; }  # the timing columns (images_per_s, elapsed_s) differ run to run

# same_as_recomputing NAME MODE N [CUT]: the cached and the uncached run agree byte for byte; the
# cache holds block CUT's output (default N)
same_as_recomputing() {
    local net=$1 mode=$2 n=$3 cut=${4:-$3}  # not "name": check() keeps its own there
    local extra=("[transfer]" "layers = $n" "mode = $mode")
    [ "$mode" = frozen ] && extra+=("base = $WORK/base/final.ckpt")
    tiny_config "$WORK/$net.ini" "$WORK/p" "$WORK/$net" "${extra[@]}"
    tiny_config "$WORK/$net-off.ini" "$WORK/p" "$WORK/$net-off" "${extra[@]}"
    "$CLT" -c "$WORK/$net.ini" --quiet || fail "$net: run with the cache exits 0"
    CLTRANSFER_PREFIX_CACHE=off "$CLT" -c "$WORK/$net-off.ini" --quiet || fail "$net: run without the cache exits 0"
    check "$net: the cache is used (log: $(grep -o 'prefix cache[^;]*' "$WORK/$net/log.txt" | head -1))" \
        grep -q "prefix cache: block $cut's output for 200 images" "$WORK/$net/log.txt"
    check "$net: recomputing is what the run without it did" grep -q "prefix cache off" "$WORK/$net-off/log.txt"
    check "$net: final.ckpt byte for byte the same with and without the cache" \
        cmp "$WORK/$net/final.ckpt" "$WORK/$net-off/final.ckpt"
    check "$net: metrics the same with and without the cache" \
        diff <(metrics "$WORK/$net/metrics.csv") <(metrics "$WORK/$net-off/metrics.csv")
}
same_as_recomputing frozen1 frozen 1
same_as_recomputing frozen3 frozen 3
same_as_recomputing frozen5 frozen 5
same_as_recomputing frozen6 frozen 6
same_as_recomputing frozen7 frozen 7 6   # fc6's dropout, new every iteration, opens block 7
same_as_recomputing random2 random 2

# Resume: stop at iteration 30 (a snapshot), continue to 60 with the cache filled afresh.
tiny_config "$WORK/resumed.ini" "$WORK/p" "$WORK/resumed" "[transfer]" "layers = 3" "mode = frozen" \
    "base = $WORK/base/final.ckpt"
"$CLT" -c "$WORK/resumed.ini" -s solver.max_iter=30 --quiet || fail "first half exits 0"
"$CLT" -c "$WORK/resumed.ini" --resume --quiet || fail "resumed half exits 0"
check "a cached run resumed at iteration 30 ends byte for byte as the uninterrupted one" \
    cmp "$WORK/resumed/final.ckpt" "$WORK/frozen3/final.ckpt"
# the first half's closing validation at iteration 30 is a row the uninterrupted run does not have
# (a resume may continue from that final.ckpt and keep it)
check "... with the same metrics (but the first half's closing validation row)" \
    diff <(metrics "$WORK/resumed/metrics.csv" | grep -v '^30,val,') <(metrics "$WORK/frozen3/metrics.csv")

tiny_config "$WORK/mirror.ini" "$WORK/p" "$WORK/mirror" "[transfer]" "layers = 3" "mode = frozen" \
    "base = $WORK/base/final.ckpt" "[data]" "mirror = yes"
"$CLT" -c "$WORK/mirror.ini" -s solver.max_iter=5 --quiet || fail "mirrored run exits 0"
check "no cache with mirroring" grep -q "prefix cache off: random crops or mirroring" "$WORK/mirror/log.txt"

tiny_config "$WORK/ft.ini" "$WORK/p" "$WORK/ft" "[transfer]" "layers = 3" "mode = finetune" \
    "base = $WORK/base/final.ckpt"
"$CLT" -c "$WORK/ft.ini" -s solver.max_iter=5 --quiet || fail "fine-tuned run exits 0"
check "no cache when every layer trains" sh -c "! grep -q 'prefix cache' '$WORK/ft/log.txt'"

tiny_config "$WORK/small.ini" "$WORK/p" "$WORK/small" "[transfer]" "layers = 1" "mode = frozen" \
    "base = $WORK/base/final.ckpt"
CLTRANSFER_PREFIX_CACHE=0.5 "$CLT" -c "$WORK/small.ini" -s solver.max_iter=5 --quiet || fail "small-budget run exits 0"
check "no cache over the budget, named in the log" grep -q "prefix cache off: block 1's output for 200 images is .* over the budget of 0.5 MiB" "$WORK/small/log.txt"
finish
