#!/usr/bin/env bash
# study_slurm.sh — `cltransfer study --emit slurm`: the script's shape (one job array per stage, each
# after the one before with afterok), what it hands sbatch (a stand-in sbatch records the calls),
# and its array tasks run by hand in stage order completing the study with a stub trainer.
set -u
build=$(cd "${1:?usage: study_slurm.sh BUILD_DIR}" && pwd)
src=${CLT_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
stub=$src/tests/data/study
tmp=$(mktemp -d "${TMPDIR:-/tmp}/clt_study_slurm.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib/checks.sh"
export CLTRANSFER_TRAINER=$stub/stub_trainer CLTRANSFER_DATA=$stub/stub_data STUB_LOG=$tmp/log
run=$tmp/run
script=$run/study.slurm

check "--emit slurm writes RUN/study.slurm" "$build/cltransfer" study -c "$stub/tiny.ini" -o "$run" --emit slurm
check "it is a bash script" bash -n "$script"
check "one array of nodes per stage: 2 data, 5 base and data, 11 transfer and reduced" bash -c \
    "[ \$(sed -n '/^STAGE0=(/,/)/p' '$script' | grep -c ':/') = 2 ] &&
     [ \$(sed -n '/^STAGE1=(/,/)/p' '$script' | grep -c ':/') = 5 ] &&
     [ \$(sed -n '/^STAGE2=(/,/)/p' '$script' | grep -c ':/') = 11 ] && ! grep -q '^STAGE3' '$script'"
check "each stage after the one before" bash -c \
    "grep -q '^job0=\$(submit 0 \${#STAGE0\[@\]})\$' '$script' &&
     grep -q '^job1=\$(submit 1 \${#STAGE1\[@\]} \"\$job0\")\$' '$script' &&
     grep -q '^job2=\$(submit 2 \${#STAGE2\[@\]} \"\$job1\")\$' '$script'"

# A stand-in sbatch: records its arguments, answers as --parsable does ("jobid;cluster").
mkdir -p "$tmp/bin"
cat >"$tmp/bin/sbatch" <<'SB'
#!/bin/sh
n=$(cat "$SBATCH_CALLS" 2>/dev/null | wc -l)
echo "$*" >> "$SBATCH_CALLS"
echo "$((1000 + n));testcluster"
SB
chmod +x "$tmp/bin/sbatch"
export SBATCH_CALLS=$tmp/calls
check "submitting calls sbatch once per stage" env PATH="$tmp/bin:$PATH" SBATCH_OPTS="--partition=gpu --gres=gpu:1" bash "$script"
check "... 3 calls" test "$(wc -l <"$tmp/calls")" = 3
check "... stage 0: an array of 2, no dependency" bash -c \
    "sed -n 1p '$tmp/calls' | grep -q -- '--array=0-1 ' && ! sed -n 1p '$tmp/calls' | grep -q -- --dependency"
check "... stage 1: an array of 5 after job 1000" bash -c \
    "sed -n 2p '$tmp/calls' | grep -q -- '--array=0-4 --dependency=afterok:1000 --kill-on-invalid-dep=yes '"
check "... stage 2: an array of 11 after job 1001" bash -c \
    "sed -n 3p '$tmp/calls' | grep -q -- '--array=0-10 --dependency=afterok:1001 --kill-on-invalid-dep=yes '"
check "... each runs this script's task for its stage, with SBATCH_OPTS and a TERM before the limit" bash -c \
    "[ \$(grep -c -- \"--signal=B:TERM@300 .*--partition=gpu --gres=gpu:1 $script task [012]\$\" '$tmp/calls') = 3 ]"

# Run every array task by hand, stage by stage, as SLURM would.
ok=1
for st in 0 1 2; do
    n=$(sed -n "/^STAGE$st=(/,/)/p" "$script" | grep -c ':/')
    for ((i = 0; i < n; i++)); do
        SLURM_ARRAY_TASK_ID=$i bash "$script" task $st >>"$tmp/tasks.out" 2>&1 || ok=0
    done
done
check "every array task succeeds" test $ok = 1
check "... and the study is complete" test "$(find "$run/nets" -name final.ckpt | wc -l)" = 14
check "a task of a finished node does nothing" bash -c \
    "before=\$(grep -c '^start' '$STUB_LOG'); SLURM_ARRAY_TASK_ID=0 bash '$script' task 2 && [ \$(grep -c '^start' '$STUB_LOG') = \$before ]"


# The paper's whole study (147 networks): the script parses, every network is in exactly one stage, and the stand-in sbatch takes one array per stage, each after the one before.
paper=$tmp/paper
check "--emit slurm on conf/study/paper.ini" env -C "$tmp" "$build/cltransfer" study -c "$src/conf/study/paper.ini" -o "$paper" --emit slurm
check "... a bash script" bash -n "$paper/study.slurm"
check "... its stages hold 147 networks, each once" bash -c \
    "sed -n '/^STAGE[0-9]*=(/,/)/p' '$paper/study.slurm' | grep -o 'net:/[^ )]*' > '$tmp/paper.nets' &&
     [ \$(wc -l < '$tmp/paper.nets') = 147 ] && [ -z \"\$(sort '$tmp/paper.nets' | uniq -d)\" ]"
rm -f "$tmp/calls"
check "... submits" env PATH="$tmp/bin:$PATH" bash "$paper/study.slurm"
check "... one sbatch per stage, each after the last" bash -c \
    "n=\$(grep -c '^STAGE[0-9]*=(' '$paper/study.slurm'); [ \$(wc -l < '$tmp/calls') = \$n ] &&
     [ \$(grep -c -- '--dependency=afterok:' '$tmp/calls') = \$((n - 1)) ]"

checks_done
