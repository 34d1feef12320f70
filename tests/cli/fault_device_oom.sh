#!/bin/bash
# fault_device_oom.sh — a batch too large for the device or the host is refused before training with
# exit 1 and a message naming the bytes it needs, never a crash or the kernel's OOM killer; nothing
# is written as a checkpoint. Small net on Fashion-MNIST (its buffers in all exceed any device's and
# any host's memory: the net plans every buffer before it allocates one) and CaffeNet on a 227×227
# pack (its prefetch buffers exceed the host's memory). Both sizes are far beyond any machine, so the
# outcome does not depend on what memory PoCL sees free when it starts.
. "$(dirname "$0")/lib/common.sh"
tiny_pack "$WORK/p" 5

refused() { # refused NAME PATTERN CONFIG [cltransfer args...]
    local what=$1 pattern=$2 cfg=$3; shift 3
    "$CLT" -c "$cfg" --quiet "$@" > "$WORK/out" 2> "$WORK/err"
    local rc=$?
    echo "  exit $rc: $(head -c 400 "$WORK/err")"
    check "$what: exit 1, not a crash (got $rc)" test $rc -eq 1
    check "$what: the message names the buffer and its bytes" grep -Eq "$pattern" "$WORK/err"
    check "$what: no checkpoint is written" bash -c "! compgen -G '$WORK/out_*/*.ckpt*' > /dev/null"
}

# batch 65536 of 28×28 images at widths 512..: conv1's activations alone are 105 GB, the net's
# buffers about 0.7 TB in all
tiny_config "$WORK/small.ini" "$WORK/p" "$WORK/out_small" "[net]" "widths = 512,512,768,768,512,4096,4096"
refused "small net, batch 65536" \
    "cannot allocate the net's buffers for a batch of 65536: [0-9]{12,} bytes in all \(the largest, [a-z ]+conv1, [0-9]{11,} bytes\)" \
    "$WORK/small.ini" -s data.batch=65536

# CaffeNet, batch 65536 of 3×227×227: 40 GB a batch on the host before the device is asked
mkdir -p "$WORK/tree/a" "$WORK/tree/b"
# a 2×2 JPEG, warped to 227×227 by the packer
jpeg='/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4UG1RV19iZ2hnPk1xeXBkeFxlZ2P/2wBDARESEhgVGC8aGi9jQjhCY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2P/wAARCAACAAIDASIAAhEBAxEB/8QAFQABAQAAAAAAAAAAAAAAAAAAAAX/xAAUEAEAAAAAAAAAAAAAAAAAAAAA/8QAFQEBAQAAAAAAAAAAAAAAAAAABQb/xAAUEQEAAAAAAAAAAAAAAAAAAAAA/9oADAMBAAIRAxEAPwCuAkTb/9k='
for f in a/1 a/2 b/1 b/2; do echo "$jpeg" | base64 -d > "$WORK/tree/$f.jpg"; done
"$CLTDATA" pack --folders "$WORK/tree" -o "$WORK/c.pack" --size 227 --no-progress 2> /dev/null ||
    fail "cannot pack the 227×227 JPEGs"
cat > "$WORK/caffenet.ini" <<INI
[run]
output = $WORK/out_caffenet
[data]
train = $WORK/c.pack
val = $WORK/c.pack
batch = 65536
val_batch = 4
threads = 1
[net]
arch = caffenet
[solver]
max_iter = 1
INI
refused "CaffeNet, batch 65536" "prefetch buffers of a 65536-image batch of 3×227×227 floats need [0-9]+ bytes" \
    "$WORK/caffenet.ini"
finish
