#!/usr/bin/env bash
# study_conf.sh — the committed per-network configs are what the committed study files emit:
# conf/*.ini from conf/study/caffenet.ini, conf/fmnist/*.ini from conf/study/fmnist.ini; and
# every committed study file expands.
set -u
build=${1:?usage: study_conf.sh BUILD_DIR}
src=${CLT_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/clt_study_conf.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib/checks.sh"
cd "$src" || exit 1
for f in conf/study/*.ini; do
    check "$f expands" "$build/cltransfer" study -c "$f" --list
done
# same DIR EMITTED: every emitted file is committed unchanged, and DIR has no stale network config
same() {
    local f
    for f in "$2"/*.ini; do cmp "$f" "$1/$(basename "$f")" || return 1; done
    for f in "$1"/*.ini; do [ -e "$2/$(basename "$f")" ] || { echo "stale: $f"; return 1; }; done
}
check "conf/*.ini are caffenet.ini's configs" bash -c \
    "'$build/cltransfer' study -c conf/study/caffenet.ini --emit configs -o '$tmp/caffenet' && $(declare -f same); same conf '$tmp/caffenet'"
check "conf/fmnist/*.ini are fmnist.ini's configs" bash -c \
    "'$build/cltransfer' study -c conf/study/fmnist.ini --emit configs -o '$tmp/fmnist' && $(declare -f same); same conf/fmnist '$tmp/fmnist'"
check "conf/reference holds the published networks" test "$(tail -n +2 conf/reference/yosinski2014_networks.csv | wc -l)" = 147

checks_done
