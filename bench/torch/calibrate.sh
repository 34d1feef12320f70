#!/bin/bash
# calibrate.sh — cltransfer against the PyTorch trainer of the same net (bench/torch/train.py) at the
# calibration's budget (bench/results/calibration/calib_{A,B}.ini), over seeds, and PyTorch once
# more with cltransfer's own initial weights, batch order and dropout masks: the controlled
# experiment of bench/RESULTS.md. Prints one line per run, the score being the mean of the last two
# of four validations (docs/fmnist-calibration.md).
# Usage: bench/torch/calibrate.sh [-s "1 2 3"] [-h "A B"] [-t torch|cltransfer|all] [-x "SEC.KEY=VAL ..."] WORKDIR
#   -x: settings for both trainers (a quick trial: -x "solver.max_iter=20 solver.test_interval=10")
#   WORKDIR gets calib/ (the packs), cltransfer/HALF-sSEED/ and torch*/HALF-sSEED/ (each run's metrics.csv).
# Each run uses one thread (POCL_MAX_PTHREAD_COUNT=1, OMP_NUM_THREADS=1); runs are sequential.
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${CLTRANSFER_BUILD:-$src/build}
seeds="1 2 3" halves="A B" which=all extra=()
while getopts "s:h:t:x:" o; do
    case $o in
    s) seeds=$OPTARG ;;
    h) halves=$OPTARG ;;
    t) which=$OPTARG ;;
    x) for kv in $OPTARG; do extra+=(-s "$kv"); done ;;
    *) echo "usage: $0 [-s SEEDS] [-h HALVES] [-t torch|cltransfer|all] [-x SETTINGS] WORKDIR" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || { echo "usage: $0 [-s SEEDS] [-h HALVES] [-t torch|cltransfer|all] [-x SETTINGS] WORKDIR" >&2; exit 2; }
mkdir -p "$1" && cd "$1"
declare -A CLASSES=([A]=1,2,4,8,9 [B]=0,3,5,6,7)
score() { awk -F, '$2 == "val" {v[n++] = $4} END {if (n < 2) print "none"; else printf "%.4f\n", (v[n-2] + v[n-1]) / 2}' "$1"; }
export POCL_MAX_PTHREAD_COUNT=1 OMP_NUM_THREADS=1
for h in $halves; do
    mkdir -p calib
    [ -f "calib/${h}_train.pack" ] || "$build/cltransfer-data" fmnist -o "calib/$h" --classes "${CLASSES[$h]}" >/dev/null
    cfg=$src/bench/results/calibration/calib_$h.ini
    for s in $seeds; do
        if [ "$which" != torch ]; then
            [ -f "cltransfer/$h-s$s/final.ckpt" ] ||
                "$build/cltransfer" -c "$cfg" -s run.output="cltransfer/$h-s$s" -s run.seed="$s" "${extra[@]}" --quiet
            echo "cltransfer $h seed $s: $(score "cltransfer/$h-s$s/metrics.csv")"
        fi
        if [ "$which" != cltransfer ]; then
            "$src/bench/torch/train.py" -c "$cfg" -o "torch/$h-s$s" -s run.seed="$s" "${extra[@]}" >/dev/null
            echo "PyTorch $h seed $s: $(score "torch/$h-s$s/metrics.csv")"
            # cltransfer's initial weights: a run of one iteration at lr 0
            "$build/cltransfer" -c "$cfg" -s run.output="init/$h-s$s" -s run.seed="$s" -s solver.base_lr=0 \
                -s solver.max_iter=1 -s solver.test_interval=1 --quiet
            "$src/bench/torch/train.py" -c "$cfg" -o "torch-cltransfer-streams/$h-s$s" -s run.seed="$s" "${extra[@]}" \
                --init-from "init/$h-s$s/final.ckpt" --order cltransfer --masks cltransfer >/dev/null
            echo "PyTorch with cltransfer's init, order and masks $h seed $s: $(score "torch-cltransfer-streams/$h-s$s/metrics.csv")"
        fi
    done
done
