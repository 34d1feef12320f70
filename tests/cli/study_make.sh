#!/usr/bin/env bash
# study_make.sh — `cltransfer study --emit make` on a tiny study, run by make -j2 with a stub trainer
# and data tool (no OpenCL, seconds): every network finishes after its data and its base, a second
# make has nothing to do, an interrupted network resumes, and DEVICES hands out a device pool.
set -u
build=$(cd "${1:?usage: study_make.sh BUILD_DIR}" && pwd)
src=${CLT_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
stub=$src/tests/data/study
tmp=$(mktemp -d "${TMPDIR:-/tmp}/clt_study_make.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib/checks.sh"
export CLTRANSFER_TRAINER=$stub/stub_trainer CLTRANSFER_DATA=$stub/stub_data STUB_LOG=$tmp/log
run=$tmp/run
nets() { find "$run/nets" -name final.ckpt | wc -l; }

check "--emit make writes RUN/Makefile" "$build/cltransfer" study -c "$stub/tiny.ini" -o "$run" --emit make
check "a target per network, waiting for its base and its data" bash -c \
    "grep -q '^$run/nets/r/a2b/final.ckpt: $run/data/r/.done $run/nets/r/base_a/final.ckpt\$' '$run/Makefile' &&
     grep -q '^$run/nets/r/base_a/final.ckpt: $run/data/r/.done\$' '$run/Makefile' &&
     grep -q '^$run/nets/whole/reduced0005/final.ckpt: $run/data/reduced0005/.done\$' '$run/Makefile' &&
     grep -q '^$run/data/reduced0005/.done: $run/data/whole/.done\$' '$run/Makefile'"
check "make -j2 runs the study" make -s -j2 -f "$run/Makefile"
check "all 14 networks finished" test "$(nets)" = 14
# The stub trainer exits 1 when its base or packs are missing, so finishing proves the order; the
# log shows it too.
first() { grep -n -- "$1" "$tmp/log" | head -1 | cut -d: -f1; }
check "split r's data came before its networks" test "$(first 'split_B.txt -o B')" -lt "$(first "start $run/nets/r/")"
check "a reduced set came after the whole set, before its network" bash -c \
    "[ $(first '^data fmnist.* -o all') -lt $(first 'per-class 5 ') ] && [ $(first 'per-class 5 ') -lt $(first 'start .*reduced0005') ]"
starts=$(grep -c '^start' "$tmp/log")
check "a second make has nothing to do" make -q -f "$run/Makefile"
rm "$run/nets/r/a1b/final.ckpt"
check "make retrains a network whose final.ckpt is gone" make -s -j2 -f "$run/Makefile"
check "... resuming it from its last snapshot" grep -q "^start $run/nets/r/a1b from 40 " "$tmp/log"
check "... and only it" test "$(grep -c '^start' "$tmp/log")" = $((starts + 1))

rm -rf "$run/nets" "$tmp/log"
check "--emit make again (data kept)" "$build/cltransfer" study -c "$stub/tiny.ini" -o "$run" --emit make
check "make -j2 DEVICES='d0 d1' THREADS=1" make -s -j2 -f "$run/Makefile" DEVICES="d0 d1" THREADS=1
check "all networks finished on the pool" test "$(nets)" = 14
check "every network ran on a device of the pool, both used" bash -c \
    "! grep '^start' '$tmp/log' | grep -v -q ' device d[01]\$' && grep -q ' device d0\$' '$tmp/log' && grep -q ' device d1\$' '$tmp/log'"
check "no data was prepared twice" test "$(grep -c '^data' "$tmp/log")" = 0


# The paper's whole study (its data folders go under $tmp, the working directory): make -n lists
# every network's training once, and each transfer net after the base net it copies from.
paper=$tmp/paper
check "--emit make on conf/study/paper.ini" env -C "$tmp" "$build/cltransfer" study -c "$src/conf/study/paper.ini" -o "$paper" --emit make
make -n -f "$paper/Makefile" > "$tmp/paper.n" 2> "$tmp/paper.err"
check "... make -n accepts it" test ! -s "$tmp/paper.err"
check "... 147 networks, each once" bash -c \
    "[ \$(grep -c 'net.ini --resume' '$tmp/paper.n') = 147 ] && [ -z \"\$(grep -o 'nets/[^ ]*/net.ini' '$tmp/paper.n' | sort | uniq -d)\" ]"
check "... each net of split 0 after its base" bash -c \
    "base_a=\$(grep -n 'nets/0/base_a/net.ini' '$tmp/paper.n' | cut -d: -f1) &&
     a3b=\$(grep -n 'nets/0/a3b/net.ini' '$tmp/paper.n' | cut -d: -f1) &&
     b3a=\$(grep -n 'nets/0/b3a/net.ini' '$tmp/paper.n' | cut -d: -f1) &&
     base_b=\$(grep -n 'nets/0/base_b/net.ini' '$tmp/paper.n' | cut -d: -f1) &&
     [ \$base_a -lt \$a3b ] && [ \$base_b -lt \$b3a ]"

checks_done
