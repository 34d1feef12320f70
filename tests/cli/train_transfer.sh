#!/bin/bash
# train_transfer.sh — a small net's loss falls; a frozen transfer leaves layers 1..n bit-identical
# to its base and trains the rest; a fine-tuned one changes layers 1..n; random-frozen layers never
# change; a base of another shape is refused.
. "$(dirname "$0")/lib/common.sh"
tiny_pack "$WORK/p" 40

crcs() { "$CLT" --inspect "$1" | awk '$3 == "crc32" {print $1, $4}' | grep -v momentum | sort; }
layer_crcs() { crcs "$1" | grep -E "^($2)\." ; }  # layer_crcs CKPT 'conv1|conv2'

tiny_config "$WORK/base.ini" "$WORK/p" "$WORK/base"
"$CLT" -c "$WORK/base.ini" --quiet || fail "base run exits 0"
check "base run writes final.ckpt" test -f "$WORK/base/final.ckpt"
first=$(awk -F, '$2 == "train" {print $3; exit}' "$WORK/base/metrics.csv")
last=$(awk -F, '$2 == "train" {v = $3} END {print v}' "$WORK/base/metrics.csv")
top1=$(awk -F, '$2 == "val" {v = $4} END {print v}' "$WORK/base/metrics.csv")
check "the small net's training loss falls ($first -> $last)" awk -v a="$first" -v b="$last" 'BEGIN {exit !(b < 0.85 * a)}'
check "the small net learns: validation top-1 $top1 is well above chance (0.2)" awk -v t="$top1" 'BEGIN {exit !(t > 0.4)}'
check "metrics.csv has the documented columns" grep -q "^iter,phase,loss,top1,top5,lr,images_per_s,elapsed_s$" "$WORK/base/metrics.csv"
check "metrics.csv has validation rows" grep -q ",val," "$WORK/base/metrics.csv"
check "the effective config is saved" grep -q "^max_iter = 60" "$WORK/base/config.ini"
check "a log is written" grep -q "final validation" "$WORK/base/log.txt"

FROZEN='conv1|conv2|conv3'
tiny_config "$WORK/frozen.ini" "$WORK/p" "$WORK/frozen" "[transfer]" "base = $WORK/base/final.ckpt" "layers = 3" "mode = frozen"
"$CLT" -c "$WORK/frozen.ini" --quiet || fail "frozen run exits 0"
check "frozen n=3: layers 1..3 bit-identical to the base" \
    diff <(layer_crcs "$WORK/base/final.ckpt" "$FROZEN") <(layer_crcs "$WORK/frozen/final.ckpt" "$FROZEN")
check "frozen n=3: layers 4..8 trained (differ from the base)" \
    test -z "$(comm -12 <(layer_crcs "$WORK/base/final.ckpt" 'conv4|conv5|fc6|fc7|fc8') <(layer_crcs "$WORK/frozen/final.ckpt" 'conv4|conv5|fc6|fc7|fc8'))"
check "frozen run logs the copy" grep -q "copied layers 1..3" "$WORK/frozen/log.txt"

tiny_config "$WORK/ft.ini" "$WORK/p" "$WORK/ft" "[transfer]" "base = $WORK/base/final.ckpt" "layers = 3" "mode = finetune"
"$CLT" -c "$WORK/ft.ini" --quiet || fail "fine-tuned run exits 0"
check "fine-tuned n=3: layers 1..3 changed from the base" \
    test -z "$(comm -12 <(layer_crcs "$WORK/base/final.ckpt" "$FROZEN") <(layer_crcs "$WORK/ft/final.ckpt" "$FROZEN"))"

tiny_config "$WORK/rnd.ini" "$WORK/p" "$WORK/rnd" "[transfer]" "layers = 2" "mode = random"
"$CLT" -c "$WORK/rnd.ini" --quiet || fail "random-frozen run exits 0"
check "random frozen n=2: layers 1..2 the same at the first snapshot and at the end" \
    diff <(layer_crcs "$WORK/rnd/snapshot_iter_50.ckpt" 'conv1|conv2') <(layer_crcs "$WORK/rnd/final.ckpt" 'conv1|conv2')
check "random frozen n=2: layers 1..2 are not the base's" \
    test -z "$(comm -12 <(layer_crcs "$WORK/base/final.ckpt" 'conv1|conv2') <(layer_crcs "$WORK/rnd/final.ckpt" 'conv1|conv2'))"

# PyTorch's recipe: one mean per channel, the lr outside the momentum
tiny_config "$WORK/flat.ini" "$WORK/p" "$WORK/flat" "[data]" "mean_kind = channel" "[solver]" "momentum_form = pytorch"
"$CLT" -c "$WORK/flat.ini" --quiet || fail "a run with mean_kind = channel and momentum_form = pytorch exits 0"
mean_range() { "$CLT" --inspect "$1" | awk '$1 == "mean" {print $6, $8}'; }
read -r lo hi <<< "$(mean_range "$WORK/flat/final.ckpt")"
pack_mean=$("$CLTDATA" info "$WORK/p_train.mean" | awk '/^per channel:/ {print $3}')
check "mean_kind = channel: the stored mean is flat ($lo..$hi) at the pack mean's average ($pack_mean)" \
    awk -v lo="$lo" -v hi="$hi" -v m="$pack_mean" 'BEGIN {exit !(lo == hi && (lo - m) ^ 2 < 1e-4)}'
read -r blo bhi <<< "$(mean_range "$WORK/base/final.ckpt")"
check "mean_kind = image (the default) stores the mean image ($blo..$bhi)" awk -v lo="$blo" -v hi="$bhi" 'BEGIN {exit !(lo < hi)}'
check "the two recipes train different nets" test -n "$(comm -3 <(crcs "$WORK/base/final.ckpt") <(crcs "$WORK/flat/final.ckpt"))"

tiny_config "$WORK/bad.ini" "$WORK/p" "$WORK/bad" "[net]" "widths = 6,16,16,16,16,64,64" "[transfer]" "base = $WORK/base/final.ckpt" "layers = 2" "mode = frozen"
sed -i '0,/^widths = 8/{/^widths = 8/d}' "$WORK/bad.ini"
"$CLT" -c "$WORK/bad.ini" --quiet 2> "$WORK/err"
rc=$?
check "a base whose layers do not fit is refused (exit $rc: $(head -1 "$WORK/err"))" \
    sh -c "[ $rc -ne 0 ] && grep -q 'conv1.weight is 8x1x5x5 but this net' '$WORK/err' && [ ! -e '$WORK/bad/final.ckpt' ]"
finish
