#!/usr/bin/env bash
# data_cli.sh — cltransfer-data's command line: every subcommand's --help, usage errors (exit 2), split
# output files against the committed NumPy/study lists, and a per-class list reduction.
set -u
build=${1:?usage: data_cli.sh BUILD_DIR}
tool=$build/cltransfer-data
data=${CLT_TEST_DATA:-$(dirname "$0")/../data}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/clt_data_cli.XXXXXX")
. "$(dirname "$0")/lib/checks.sh"

check "cltransfer-data --help" "$tool" --help
for cmd in split pack fmnist mean info; do
    check "$cmd --help" bash -c "'$tool' $cmd --help | grep -q '^usage: cltransfer-data $cmd'"
    exits 2 "$cmd with an unknown option exits 2" "$tool" $cmd --no-such-option
done
exits 2 "no command exits 2" "$tool"
exits 2 "unknown command exits 2" "$tool" frobnicate
exits 2 "split without a mode exits 2" "$tool" split -o "$tmp/x"
exits 2 "split --random without --seed exits 2" "$tool" split --random -o "$tmp/x"
exits 2 "split --seed out of range exits 2" "$tool" split --random --seed -1 -o "$tmp/x"
exits 2 "pack without an input exits 2" "$tool" pack -o "$tmp/x.pack"
exits 1 "info on a missing file exits 1" "$tool" info "$tmp/none.pack"

for s in 0 1 2 3; do
    check "split --random --seed $s equals NumPy's halves" bash -c \
        "'$tool' split --random --seed $s -o '$tmp/r$s' && cmp '$tmp/r${s}_A.txt' '$data/split_random_k1000_seed${s}_A.txt' && cmp '$tmp/r${s}_B.txt' '$data/split_random_k1000_seed${s}_B.txt'"
    check "split --random --seed $s --classes 10 equals NumPy's halves" bash -c \
        "'$tool' split --random --seed $s --classes 10 -o '$tmp/k$s' && cmp '$tmp/k${s}_A.txt' '$data/split_random_k10_seed${s}_A.txt' && cmp '$tmp/k${s}_B.txt' '$data/split_random_k10_seed${s}_B.txt'"
done
if [ -f /usr/share/wordnet/data.noun ]; then
    check "split --natman: A natural, B man-made, as the study's lists" bash -c \
        "'$tool' split --natman -o '$tmp/nm' && cmp '$tmp/nm_A.txt' '$data/natman_nat.txt' && cmp '$tmp/nm_B.txt' '$data/natman_man.txt'"
else
    echo "SKIP split --natman: /usr/share/wordnet/data.noun not installed (Debian package wordnet-base)"
fi

printf 'a/1.JPEG 0\na/2.JPEG 0\nb/1.JPEG 1\na/3.JPEG 0\nnot a line\nb/2 x.JPEG 1\n' >"$tmp/list.txt"
check "split --per-class 2 over a list keeps 2 per class in order" bash -c \
    "'$tool' split --per-class 2 --seed 0 --list '$tmp/list.txt' -o '$tmp/red.txt' && [ \$(grep -c ' 0\$' '$tmp/red.txt') = 2 ] && [ \$(grep -c ' 1\$' '$tmp/red.txt') = 2 ] && grep -q '^b/2 x.JPEG 1\$' '$tmp/red.txt'"
check "split --per-class is deterministic" bash -c \
    "'$tool' split --per-class 2 --seed 0 --list '$tmp/list.txt' -o '$tmp/red2.txt' && cmp '$tmp/red.txt' '$tmp/red2.txt'"

rm -rf "$tmp"
checks_done
