#!/bin/bash
# torch_trainer.sh — bench/torch/train.py, the PyTorch trainer the calibration is measured against,
# computes what cltransfer computes: with nothing random (dropout 0, the whole pack as the batch,
# cltransfer's initial weights) the two end four steps across an lr drop at the same weights, in
# Caffe's recipe and in PyTorch's (mean_kind = channel, momentum_form = pytorch), and the two
# recipes end apart. Skipped where /usr/bin/python3 has no PyTorch (Debian's python3-torch).
. "$(dirname "$0")/lib/common.sh"
PY=/usr/bin/python3
TORCH_TRAIN="$SRC/bench/torch/train.py"
"$PY" -c "import torch, numpy" 2>/dev/null || { echo "SKIP: $PY has no PyTorch (Debian's python3-torch)"; finish; }
export OMP_NUM_THREADS=1
tiny_pack "$WORK/p" 20

# worst_blob LOG: the largest "max |torch − cltransfer| / max |cltransfer|" over the blobs
worst_blob() { awk '/max \|torch/ {v = $NF + 0; if (v > m) m = v} END {printf "%g\n", m}' "$1"; }

for recipe in caffe pytorch; do
    extra=()
    [ "$recipe" = pytorch ] && extra=("[data]" "mean_kind = channel" "[solver]" "momentum_form = pytorch")
    tiny_config "$WORK/$recipe.ini" "$WORK/p" "$WORK/$recipe" "[data]" "batch = 100" "[net]" "dropout = 0" \
        "[solver]" "max_iter = 4" "stepsize = 2" "test_interval = 4" "snapshot = 4" "display = 1" "${extra[@]}"
    # cltransfer's initial weights: one iteration at lr 0
    "$CLT" -c "$WORK/$recipe.ini" -s run.output="$WORK/$recipe-init" -s solver.base_lr=0 -s solver.max_iter=1 \
        -s solver.test_interval=1 --quiet || fail "$recipe: the initial-weights run exits 0"
    "$CLT" -c "$WORK/$recipe.ini" --quiet || fail "$recipe: cltransfer exits 0"
    "$PY" "$TORCH_TRAIN" -c "$WORK/$recipe.ini" -o "$WORK/$recipe-torch" --init-from "$WORK/$recipe-init/final.ckpt" \
        --compare "$WORK/$recipe/final.ckpt" > "$WORK/$recipe-torch.log" 2>&1 ||
        fail "$recipe: bench/torch/train.py exits 0: $(tail -1 "$WORK/$recipe-torch.log")"
    check "$recipe: the PyTorch trainer writes cltransfer's metrics columns" \
        grep -q "^iter,phase,loss,top1,top5,lr,images_per_s,elapsed_s$" "$WORK/$recipe-torch/metrics.csv"
    worst=$(worst_blob "$WORK/$recipe-torch.log")
    check "$recipe recipe: PyTorch and cltransfer end at the same weights after 4 steps across an lr drop (worst blob $worst of its scale)" \
        awk -v w="$worst" 'BEGIN {exit !(w > 0 && w < 1e-3)}'
done
check "the two recipes end at different weights" \
    test -n "$(comm -3 <("$CLT" --inspect "$WORK/caffe/final.ckpt" | awk '$3 == "crc32" {print $1, $4}' | sort) \
                       <("$CLT" --inspect "$WORK/pytorch/final.ckpt" | awk '$3 == "crc32" {print $1, $4}' | sort))"
finish
