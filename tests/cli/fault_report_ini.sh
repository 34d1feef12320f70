#!/bin/bash
# fault_report_ini.sh — `cltransfer report` reads every network's config with the project's one INI
# reader (src/util/ini.c): inih, which it used before, cut lines at 200 bytes and parsed the rest as
# a line of its own, so a network with a long path in its config dropped out of results.csv; a
# config that is no INI at all (a NUL byte, /dev/zero's size) costs nothing and drops only itself.
. "$(dirname "$0")/lib/common.sh"
export CLTRANSFER_REFERENCE=$SRC/conf/reference/yosinski2014_networks.csv
data=$SRC/tests/data/study

cp -r "$data/report_run" "$WORK/run"
long=$(printf 'x%.0s' $(seq 1 300))
sed -i "s|^name = r-a1a_plus$|name = r-a1a_plus\noutput = /data/$long|" "$WORK/run/nets/r/a1a_plus/config.ini"
"$CLT" report -q "$WORK/run" > "$WORK/out" 2>&1
check "a net whose config has a 300-byte line stays in results.csv ($(head -c 200 "$WORK/out"))" \
    diff "$data/report_expected.csv" "$WORK/run/results.csv"

cp -r "$data/report_run" "$WORK/nul"
printf '[study]\ntreatment = base\0x\n' > "$WORK/nul/nets/r/base_b/config.ini"
"$CLT" report -q "$WORK/nul" > "$WORK/out" 2>&1
check "a config holding a NUL byte is skipped, the others reported" \
    sh -c "grep -q 'NUL byte' '$WORK/out' && [ -s '$WORK/nul/results.csv' ] && ! grep -q '^r/base_b,' '$WORK/nul/results.csv'"
finish
