#!/bin/bash
# report_filters.sh — the report's Figure 1 from real checkpoints: conv1's filters of two base nets
# and of a fine-tuned transfer net beside the base it copied them from, one panel each, the image
# data the base's own weights; no Figure 1 when no checkpoint can be read.
. "$(dirname "$0")/lib/common.sh"
tiny_pack "$WORK/p" 40
command -v gnuplot >/dev/null || { echo "SKIP: no gnuplot on PATH"; finish; }

run=$WORK/run/nets/s
study() { printf '[study]\ntreatment = %s\nsplit = s\nbase = %s\ntarget = %s\nrepeat = 0\n' "$@"; }
tiny_config "$WORK/a.ini" "$WORK/p" "$run/base_a" "$(study base '' A)"
tiny_config "$WORK/b.ini" "$WORK/p" "$run/base_b" "[run]" "seed = 9" "$(study base '' B)"
sed -i '0,/^seed = 5/{/^seed = 5/d}' "$WORK/b.ini"
"$CLT" -c "$WORK/a.ini" --quiet && "$CLT" -c "$WORK/b.ini" --quiet || fail "base runs exit 0"
tiny_config "$WORK/ft.ini" "$WORK/p" "$run/a3b_plus" "[transfer]" "base = $run/base_a/final.ckpt" "layers = 3" \
    "mode = finetune" "$(study transfer_ft A B)"
"$CLT" -c "$WORK/ft.ini" --quiet || fail "fine-tuned run exits 0"

check "report runs" "$CLT" report -q "$WORK/run"
check "fig1.png is a PNG image" bash -c "head -c 8 '$WORK/run/fig1.png' | grep -q PNG"
check "three panels: base A, the fine-tuned net beside it, base B" bash -c \
    "grep '^set title' '$WORK/run/plots/fig1.gp' | tr '\n' '|' | grep -q '^set title \"base A: conv1, 8 grey 5x5 filters\" noenhanced|set title \"AnB+ (n = 3): conv1 copied from base A, fine-tuned on B\" noenhanced|set title \"base B: conv1, 8 grey 5x5 filters\" noenhanced|\$'"
check "report.md shows it" grep -q '^!\[Figure 1\](fig1.png)$' "$WORK/run/report.md"

# One pixel row per line: 8 filters of 5x5 in an 8-column grid with 1-pixel gaps are 49x7 pixels.
pixels=$(awk '/^\$filters0 << EOD$/ {on = 1; next} on && /^EOD$/ {exit} on' "$WORK/run/plots/fig1.gp" | wc -l)
check "panel 0 is base A's 8 filters in one row of the grid (49x7 = 343 pixels, got $pixels)" test "$pixels" = 343
check "each filter spans the whole grey range (its minimum 0, its maximum 255)" bash -c \
    "awk '/^\\\$filters0 << EOD\$/ {on = 1; next} on && /^EOD\$/ {exit} on && \$1 >= 1 && \$1 <= 5 && \$2 >= 1 && \$2 <= 5 {lo = (lo == \"\" || \$3 < lo) ? \$3 : lo; hi = \$3 > hi ? \$3 : hi} END {exit !(lo == 0 && hi == 255)}' '$WORK/run/plots/fig1.gp'"

rm -f "$run"/*/final.ckpt && for d in "$run"/*; do : > "$d/final.ckpt"; done
check "with unreadable checkpoints the report goes on without Figure 1" bash -c \
    "'$CLT' report -q '$WORK/run' 2>/dev/null; ! grep -q 'fig1.png' '$WORK/run/report.md'"
finish
