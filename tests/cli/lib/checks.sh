# checks.sh — PASS/FAIL checks for the CLI tests that keep each command's output quiet unless it
# fails. Source it after setting $tmp (a scratch folder); end the script with checks_done.
fails=0
check() { # check NAME COMMAND...: passes when the command succeeds
    local name=$1; shift
    if "$@" >"$tmp/out" 2>&1; then echo "PASS $name"; else echo "FAIL $name"; sed 's/^/  | /' "$tmp/out"; fails=$((fails + 1)); fi
}
exits() { # exits CODE NAME COMMAND...: passes when the command exits with CODE
    local code=$1 name=$2; shift 2
    "$@" >"$tmp/out" 2>&1; local got=$?
    if [ "$got" = "$code" ]; then echo "PASS $name"; else echo "FAIL $name (exit $got, want $code)"; sed 's/^/  | /' "$tmp/out"; fails=$((fails + 1)); fi
}
checks_done() {
    [ $fails = 0 ] && echo "all passed" || echo "$fails failed"
    exit $((fails > 0))
}
