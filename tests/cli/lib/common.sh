# common.sh — shared by the CLI tests: the build folder, a scratch folder, checks that print
# PASS/FAIL lines and a closing "N passed, N failed" line.
set -u
BUILD="$(cd "$1" && pwd)"
CLT="$BUILD/cltransfer"
CLTDATA="$BUILD/cltransfer-data"
SRC="${CLT_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
WORK="$(mktemp -d /tmp/clt_cli_XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
PASSED=0
FAILED=0

pass() { echo "PASS $*"; PASSED=$((PASSED + 1)); }
fail() { echo "FAIL $*"; FAILED=$((FAILED + 1)); }
check() { # check "name" command...
    name="$1"; shift
    if "$@"; then pass "$name"; else fail "$name"; fi
}
finish() {
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
    exit $?
}

# A tiny Fashion-MNIST pack: N training images per class of classes 0..4 (train and val both).
tiny_pack() { # tiny_pack PREFIX PER_CLASS
    "$CLTDATA" fmnist -o "$1" --classes 0,1,2,3,4 --per-class "$2" --seed 1 >/dev/null 2>&1 || {
        echo "FAIL cannot make a Fashion-MNIST pack (is dataset-fashion-mnist installed?)"; exit 1; }
}

# A tiny small-net config training on the pack at PREFIX_train.pack.
tiny_config() { # tiny_config FILE PREFIX OUTPUT [extra ini lines...]
    file="$1"; prefix="$2"; out="$3"; shift 3
    cat > "$file" <<INI
[run]
output = $out
seed = 5
[data]
train = ${prefix}_train.pack
val = ${prefix}_train.pack
scale = 0.0125
batch = 32
val_batch = 50
threads = 1
[net]
arch = small
widths = 8,16,16,16,16,64,64
[solver]
base_lr = 0.01
stepsize = 45
max_iter = 60
test_interval = 20
snapshot = 10
display = 5
INI
    # extra lines "[section]" "key = value"…: a key the config has takes the new value in place (a key
    # set twice is an error), others go under their section at the end
    local section="" line
    for line in "$@"; do
        case "$line" in
            \[*\]) section="$line" ;;
            *=*)
                local key="${line%%=*}"; key="${key%% }"
                if awk -v s="$section" -v k="$key" '/^\[/ {in_s = ($0 == s)} in_s && $1 == k {f = 1} END {exit !f}' "$file"; then
                    awk -v s="$section" -v k="$key" -v l="$line" \
                        '/^\[/ {in_s = ($0 == s)} in_s && $1 == k {print l; next} {print}' "$file" > "$file.new" && mv "$file.new" "$file"
                else
                    printf '%s\n%s\n' "$section" "$line" >> "$file"
                fi ;;
            *) echo "$line" >> "$file" ;;
        esac
    done
}
