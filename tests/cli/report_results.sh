#!/usr/bin/env bash
# report_results.sh — `cltransfer report` on a hand-made run folder: results.csv exactly as expected
# (metric = mean of the 2 best validations, unfinished and unstarted nets listed), report.md with its
# findings and the paper's columns, the figures with gnuplot and a report without it.
set -u
build=${1:?usage: report_results.sh BUILD_DIR}
src=${CLT_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
data=$src/tests/data/study
tmp=$(mktemp -d "${TMPDIR:-/tmp}/clt_report.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib/checks.sh"
export CLTRANSFER_REFERENCE=$src/conf/reference/yosinski2014_networks.csv

cp -r "$data/report_run" "$tmp/run"
check "report runs" "$build/cltransfer" report "$tmp/run"
check "results.csv is exactly the expected one" diff "$data/report_expected.csv" "$tmp/run/results.csv"
check "report.md names every finding" bash -c "[ \$(grep -c '^| ([1-7])' '$tmp/run/report.md') = 7 ]"
check "report.md: BnB+ recovery reproduced, AnB+ boost not (by construction)" bash -c \
    "grep -q '^| (3) .*| \*\*reproduced\*\*' '$tmp/run/report.md' && grep -q '^| (5) .*| \*\*not reproduced\*\*' '$tmp/run/report.md'"
check "report.md states the verdict plainly" grep -q '^\*\*Verdict:\*\* this run reproduces 3 of the paper.s 7 findings; reproduced: (3), (6), (7); not reproduced: (5); not tested: (1), (2), (4)\.$' "$tmp/run/report.md"
check "report.md: the noise beside the verdicts (one repeat, no packs: neither spread measured)" bash -c \
    "grep -q '^\*\*Noise.\*\* Seed spread: not measured' '$tmp/run/report.md' && grep -q 'Validation spread: unknown' '$tmp/run/report.md'"
check "report.md: a run with unfinished nets says how much of each repeat finished" \
    grep -q '^The metric .* Networks finished by repeat: 11 of 13 in repeat 0\.$' "$tmp/run/report.md"
check "report.md: the margin column" grep -q '^| finding | this run | margin | the paper.s data, same rule |$' "$tmp/run/report.md"
check "report.md: untested findings say so" grep -q '^| (1) .*| not tested' "$tmp/run/report.md"
check "report.md: the paper's findings hold under the same rules" bash -c "[ \$(grep -c '| holds: ' '$tmp/run/report.md') = 7 ]"
check "report.md: Table 1 beside the paper's" grep -q '^| 1–7 | +2.00 | +1.60 | -1.00 | +1.38 |' "$tmp/run/report.md"
check "report.md: the metric is the study's K" grep -q 'mean of its 2 highest' "$tmp/run/report.md"
if command -v gnuplot >/dev/null; then
    check "fig2.png and fig3.png are PNG images" bash -c \
        "head -c 8 '$tmp/run/fig2.png' | grep -q PNG && head -c 8 '$tmp/run/fig3.png' | grep -q PNG"
    check "the gnuplot scripts stay in plots/" test -s "$tmp/run/plots/fig2.gp" -a -s "$tmp/run/plots/fig3.gp"
else
    echo "SKIP figures: no gnuplot on PATH"
fi

cp -r "$data/report_run" "$tmp/nognuplot"
check "without gnuplot the report still writes" "$build/cltransfer" report --gnuplot /nonexistent/gnuplot "$tmp/nognuplot"
check "... results.csv" diff "$data/report_expected.csv" "$tmp/nognuplot/results.csv"
check "... and report.md, saying the figures were skipped" grep -q 'Figures skipped: /nonexistent/gnuplot not found' "$tmp/nognuplot/report.md"
check "... with no figures" test ! -e "$tmp/nognuplot/fig2.png"

cp -r "$data/report_run" "$tmp/best3"
check "--best 3 changes the metric" bash -c \
    "'$build/cltransfer' report -q --best 3 '$tmp/best3' && grep -q '^r/base_a,base,r,,A,0,0,0.87667,' '$tmp/best3/results.csv'"
check "--partial takes unfinished nets in" bash -c \
    "'$build/cltransfer' report -q --partial '$tmp/best3' && grep -q '13 networks, 11 finished; 12 enter' '$tmp/best3/report.md'"
mkdir -p "$tmp/empty"
exits 1 "a folder without networks is an error" "$build/cltransfer" report "$tmp/empty"
exits 2 "report without a folder is a usage error" "$build/cltransfer" report
check "report --help" bash -c "'$build/cltransfer' report --help | grep -q '^usage: cltransfer report'"

checks_done
