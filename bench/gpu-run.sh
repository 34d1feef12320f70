#!/bin/bash
# bench/gpu-run.sh [STAGE ...] — on a machine with an NVIDIA GPU, through NVIDIA's OpenCL: the
# checks of issue 16 in bounded stages, each leaving $OUT/STAGE.tar.gz (default OUT ./gpu-out). Here, first:
#   bash bench/gpu-pack.sh            (builds and packs .gpu/: binaries, libraries, Fashion-MNIST)
# then on the device machine, one call per group of stages that fits its limit:
#   bash bench/gpu-run.sh suite bench             (carry .gpu)
#   bash bench/gpu-run.sh tune study
# Stages (suite bench tune study when none is named):
#   suite   the whole ctest suite on the GPU                      suite.log, suite.xml   ~5 min
#   bench   CaffeNet and small-net training speed, the per-layer
#           profile, and bench/compare against PyTorch on the same
#           GPU, fp32 (TF32 off) and PyTorch's defaults           bench.log, *.json      ~4 min
#   tune    CLBlast tuned for this GPU (cltransfer-bench tune, $TUNE_S s), and CaffeNet's speed
#           with CLBlast's parameters and with the tuned ones     tuning.txt, *.json     ~5 min
#   study   the default study (conf/study/fmnist.ini), -j $STUDY_JOBS networks at a time; its
#           wall time, report.md and results.csv                  study.log, study-*     ~5 min
#   full    the long study (conf/study/fmnist-full.ini, 222 networks) for $FULL_S s (540), -j
#           $FULL_JOBS (12); its report and every network's metrics  full.log, nets.tar.gz  ~9 min
# Numbers: bench/RESULTS.md, section "NVIDIA H200".
set -u
OUT=${OUT:-$PWD/gpu-out}
mkdir -p "$OUT"
. "$(dirname "$0")/gpu-env.sh" || exit 1
stages=${*:-suite bench tune study}
nvidia-smi -L 2>/dev/null
"$B/cltransfer" --list-devices

ctest_program() {
    command -v ctest && return
    python3 -c 'import cmake, os; print(os.path.join(cmake.CMAKE_BIN_DIR, "ctest"))' 2>/dev/null
}

stage_suite() {
    local ctest
    ctest=$(ctest_program) || { echo "no ctest here (neither on PATH nor pip's cmake)"; return 1; }
    # SUITE_ARGS: more ctest arguments (-R NAME for a dry run of the mechanics on a CPU machine)
    (cd "$B" && timeout 480 "$ctest" -j4 --timeout 300 --output-on-failure --output-junit "$D/suite.xml" ${SUITE_ARGS:-})
    echo "suite exit $?"
}

stage_bench() {
    echo "== caffenet batch 256"
    "$B/cltransfer-bench" train --arch caffenet --batch 256 --iters 10 --json | tee "$D/caffenet256.json"
    echo "== caffenet batch 256 layers (over 3 ms)"
    "$B/cltransfer-bench" train --arch caffenet --batch 256 --iters 3 --layers | awk 'NR<=2 || $(NF-1)+0 > 3'
    echo "== caffenet frozen 1..5"
    "$B/cltransfer-bench" train --arch caffenet --batch 256 --iters 10 --lowest 6 | tail -1
    echo "== small batch 128"
    "$B/cltransfer-bench" train --arch small --batch 128 --iters 20 --json | tee "$D/small128.json"
    echo "== compare caffenet (fp32 and PyTorch's TF32 default)"
    timeout 150 python3 "$R/bench/compare" --arch caffenet --batch 256 --rounds 3 --iters 10 --torch-device cuda \
        --bench "$B/cltransfer-bench" --json | tee "$D/compare-caffenet.json"
    echo "== compare small"
    timeout 60 python3 "$R/bench/compare" --arch small --batch 128 --rounds 3 --iters 20 --torch-device cuda \
        --bench "$B/cltransfer-bench" --json | tee "$D/compare-small.json"
}

stage_tune() {
    echo "== CLBlast tuned for this GPU on CaffeNet's GEMMs at batch 256, ${TUNE_S:-240} s"
    "$B/cltransfer-bench" tune --arch caffenet --batch 256 --time-budget "${TUNE_S:-240}" --quiet --store "$D/tuning.txt"
    echo "== caffenet batch 256: CLBlast's own parameters, then the tuned ones"
    CLTRANSFER_TUNING=off "$B/cltransfer-bench" train --arch caffenet --batch 256 --iters 10 --json | tee "$D/caffenet256-untuned.json"
    CLTRANSFER_TUNING=$D/tuning.txt "$B/cltransfer-bench" train --arch caffenet --batch 256 --iters 10 --json | tee "$D/caffenet256-tuned.json"
}

stage_study() {
    local t0 rc
    t0=$(date +%s)
    timeout 540 "$B/cltransfer" study -c "$R/conf/study/fmnist.ini" -o /tmp/clt-study -j "${STUDY_JOBS:-8}" --threads 0 --plain
    rc=$?
    echo "study exit $rc after $(($(date +%s) - t0)) s"
    cp /tmp/clt-study/report.md "$D/study-report.md" 2>/dev/null
    cp /tmp/clt-study/results.csv "$D/study-results.csv" 2>/dev/null
}

stage_full() {
    local t0 rc run=/tmp/clt-full
    t0=$(date +%s)
    timeout "${FULL_S:-540}" "$B/cltransfer" study -c "$R/conf/study/fmnist-full.ini" -o "$run" -j "${FULL_JOBS:-12}" \
        --threads 0 --plain
    rc=$?
    echo "full study exit $rc after $(($(date +%s) - t0)) s"
    # What the report reads, without the checkpoints (2-3 MB a network): results.csv and report.md
    # of the finished networks, and every network's metrics and config to read again here.
    [ $rc = 0 ] || "$B/cltransfer" report --quiet "$run"
    cp "$run/report.md" "$run/results.csv" "$D/" 2>/dev/null
    (cd "$run" && find nets -name metrics.csv -o -name config.ini -o -name log.txt | tar -czf "$D/nets.tar.gz" -T -)
}

for s in $stages; do
    case $s in
    suite | bench | tune | study | full)
        # One archive a stage: the tool brings back at most 8 files a call. A stage cut short
        # leaves its loose files in $OUT/STAGE/, which come back as they are.
        D=$OUT/$s
        mkdir -p "$D"
        echo "=== stage $s ($(date -u +%T))"
        "stage_$s" 2>&1 | tee "$D/$s.log"
        tar -C "$OUT" -czf "$OUT/$s.tar.gz" "$s" && rm -rf "$D" ;;
    *) echo "gpu-run: unknown stage '$s' (suite, bench, tune, study, full)" >&2; exit 2 ;;
    esac
done
