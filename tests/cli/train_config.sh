#!/bin/bash
# train_config.sh — every kind of config error exits 2 with the file and line (or the -s option)
# named, before anything is written; the effective config round-trips through --print-config.
. "$(dirname "$0")/lib/common.sh"

base() { # a valid config whose output folder must never appear
    cat > "$WORK/c.ini" <<INI
[run]
output = $WORK/out
[data]
train = $WORK/none_train.pack
val = $WORK/none_train.pack
[solver]
max_iter = 10
INI
}

expect_error() { # expect_error NAME PATTERN cltransfer-args...
    name="$1"; pattern="$2"; shift 2
    "$CLT" "$@" > "$WORK/stdout" 2> "$WORK/stderr"
    rc=$?
    if [ $rc -eq 2 ] && grep -q -- "$pattern" "$WORK/stderr" && [ ! -e "$WORK/out" ]; then
        pass "config error: $name (exit 2, says: $(head -1 "$WORK/stderr"))"
    else
        fail "config error: $name: exit $rc, stderr: $(cat "$WORK/stderr"), output folder exists: $([ -e "$WORK/out" ] && echo yes || echo no)"
    fi
}

base; echo "[bogus]" >> "$WORK/c.ini"; echo "x = 1" >> "$WORK/c.ini"
expect_error "unknown section" "c.ini:8: unknown section \[bogus\]" -c "$WORK/c.ini"

base; sed -i 's/^max_iter = 10/max_itr = 10/' "$WORK/c.ini"
expect_error "unknown key" "c.ini:7: unknown key 'max_itr' in \[solver\]" -c "$WORK/c.ini"

base; sed -i 's/^max_iter = 10/max_iter = ten/' "$WORK/c.ini"
expect_error "value not a number" "c.ini:7: solver.max_iter: 'ten' is not a number" -c "$WORK/c.ini"

base; sed -i 's/^max_iter = 10/max_iter = 2.5/' "$WORK/c.ini"
expect_error "value not whole" "c.ini:7: solver.max_iter: '2.5' is not a whole number" -c "$WORK/c.ini"

base; echo "momentum = 1.5" >> "$WORK/c.ini"
expect_error "value out of range" "c.ini:8: solver.momentum: 1.5 is out of range" -c "$WORK/c.ini"

base; printf '[net]\narch = vgg\n' >> "$WORK/c.ini"
expect_error "value not a choice" "c.ini:9: net.arch: 'vgg' is not one of caffenet|small" -c "$WORK/c.ini"

base; printf '[net]\nwidths = 1,2,3\n' >> "$WORK/c.ini"
expect_error "widths malformed" "c.ini:9: net.widths" -c "$WORK/c.ini"

base; sed -i '/^val = /d' "$WORK/c.ini"
expect_error "missing required key" "c.ini: \[data\] needs both 'train' and 'val'" -c "$WORK/c.ini"

base; printf '[transfer]\nmode = frozen\nlayers = 3\n' >> "$WORK/c.ini"
expect_error "frozen transfer without a base" "needs 'base'" -c "$WORK/c.ini"

base; printf '[transfer]\nmode = finetune\nbase = x.ckpt\nlayers = 8\n' >> "$WORK/c.ini"
expect_error "transfer layers out of range" "c.ini:11: transfer.layers: 8 is out of range 0..7" -c "$WORK/c.ini"

base; printf 'garbage line\n' >> "$WORK/c.ini"
expect_error "a line that is no key" "c.ini:8: cannot parse" -c "$WORK/c.ini"

base; echo "max_iter = 20" >> "$WORK/c.ini"
expect_error "duplicate key" "c.ini:8: 'max_iter' is set again in \[solver\] (first at line 7)" -c "$WORK/c.ini"

base; sed -i 's/^max_iter = 10/max_iter = 1e309/' "$WORK/c.ini"
expect_error "a number too large for a double" "c.ini:7: solver.max_iter: 1e309 is out of range" -c "$WORK/c.ini"

base; printf '[data]\nmean = a\001x\n' >> "$WORK/c.ini"
expect_error "a control character in a value" "c.ini:9: data.mean: .* holds a control character" -c "$WORK/c.ini"

# a file that is not an INI at all costs no memory: /dev/zero under an address-space limit (which
# AddressSanitizer's shadow memory cannot live under: there the bound is checked without it)
lim() { if [ -n "${ASAN_OPTIONS:-}" ]; then "$@"; else (ulimit -v "$LIMIT_KB"; "$@"); fi; }
LIMIT_KB=200000 lim "$CLT" -c /dev/zero > "$WORK/stdout" 2> "$WORK/stderr"; rc=$?
check "-c /dev/zero under ulimit -v is refused at the INI bound with exit 2 (exit $rc: $(head -c 300 "$WORK/stderr"))" \
    sh -c "[ $rc -eq 2 ] && grep -q '/dev/zero is larger than 1048576 bytes' '$WORK/stderr'"

LIMIT_KB=200000 lim "$CLT" study -c /dev/zero > "$WORK/stdout" 2> "$WORK/stderr"; rc=$?
check "study -c /dev/zero under ulimit -v is refused at the INI bound with exit 2 (exit $rc)" \
    sh -c "[ $rc -eq 2 ] && grep -q '/dev/zero is larger than 1048576 bytes' '$WORK/stderr'"

LIMIT_KB=400000 lim "$CLT" --inspect /dev/zero > "$WORK/stdout" 2> "$WORK/stderr"; rc=$?
check "--inspect /dev/zero under ulimit -v is refused at its magic (exit $rc)" \
    sh -c "[ $rc -eq 1 ] && grep -q 'not a cltransfer checkpoint (bad magic)' '$WORK/stderr'"

# the command line: a misspelt command gets a suggestion, a missing option value no page of help
expect_error "a misspelt subcommand" "unknown command 'stduy'; did you mean 'cltransfer study'" stduy
"$CLTDATA" pak > "$WORK/stdout" 2> "$WORK/stderr"; rc=$?
check "cltransfer-data pak: a suggestion (exit $rc)" sh -c "[ $rc -eq 2 ] && grep -q \"did you mean 'cltransfer-data pack'\" '$WORK/stderr'"
expect_error "-c without a value" "requires an argument" -c
check "... and no page of help after the error" sh -c "[ \$(wc -l < '$WORK/stderr') -le 3 ]"
"$BUILD/cltransfer-bench" train --batch 0 > "$WORK/stdout" 2> "$WORK/stderr"; rc=$?
check "cltransfer-bench train --batch 0 is refused, not run at 128 (exit $rc)" \
    sh -c "[ $rc -eq 2 ] && grep -q 'batch wants an integer in 1..65536' '$WORK/stderr'"

# inline '#' comments are comments, like ';'; a CR-only file reads as lines
base; sed -i 's/^max_iter = 10/max_iter = 10 # ten/' "$WORK/c.ini"
"$CLT" -c "$WORK/c.ini" --print-config > "$WORK/eff.ini" 2> "$WORK/stderr"
check "an inline '#' comment is a comment" grep -q "^max_iter = 10$" "$WORK/eff.ini"
base; tr '\n' '\r' < "$WORK/c.ini" > "$WORK/cr.ini"
"$CLT" -c "$WORK/cr.ini" --print-config > "$WORK/eff.ini" 2> "$WORK/stderr"
check "a CR-only config loads like its LF twin ($(head -c 200 "$WORK/stderr"))" grep -q "^max_iter = 10$" "$WORK/eff.ini"

base
expect_error "-s unknown key" "\-s solver.nope=1: unknown key 'nope' in \[solver\]" -c "$WORK/c.ini" -s solver.nope=1
expect_error "-s unknown section" "\-s foo.bar=1: unknown section 'foo'" -c "$WORK/c.ini" -s foo.bar=1
expect_error "-s without =" "\-s solver.max_iter: expected section.key=value" -c "$WORK/c.ini" -s solver.max_iter
expect_error "-s bad value" "\-s solver.base_lr=-1: solver.base_lr: -1 is out of range" -c "$WORK/c.ini" -s solver.base_lr=-1
expect_error "no config" "no config" --quiet
expect_error "missing config file" "cannot open $WORK/absent.ini" -c "$WORK/absent.ini"

# the effective config is complete and loads back to itself
"$CLT" -c "$WORK/c.ini" -s solver.base_lr=0.02 --print-config > "$WORK/eff.ini" 2>&1
check "--print-config shows overrides" grep -q "^base_lr = 0.02" "$WORK/eff.ini"
check "--print-config shows defaults" grep -q "^momentum = 0.9" "$WORK/eff.ini"
"$CLT" -c "$WORK/eff.ini" --print-config > "$WORK/eff2.ini" 2>&1
check "the effective config loads back to itself" cmp -s "$WORK/eff.ini" "$WORK/eff2.ini"
check "--help documents the config keys" sh -c "'$CLT' --help | grep -q test_interval"
check "--help documents both lr policies" sh -c "'$CLT' --help | grep -q 'lr_policy .*step: .*fixed: lr = base_lr'"
# README's schema block is the --help text, so the documentation cannot drift from the code
"$CLT" --help | sed -n '/^Config schema/,$p' | tail -n +3 > "$WORK/schema_help"
awk '/^### Config schema/ {on = 1} on && /^```$/ {n++; next} on && n == 1 {print} n == 2 {exit}' "$SRC/README.md" > "$WORK/schema_readme"
check "README's config schema matches cltransfer --help" diff "$WORK/schema_help" "$WORK/schema_readme"
finish
