#!/bin/bash
# make_corpus.sh — regenerates the seed inputs of tests/fuzz/corpus/ (seed-* files; crash-* and
# regress-* files are inputs found by fuzzing and stay as they are). Needs a plain build (cltransfer,
# cltransfer-data), ImageMagick's convert and python3. usage: tests/fuzz/make_corpus.sh BUILD_DIR
set -euo pipefail
B="$(cd "$1" && pwd)"
SRC="$(cd "$(dirname "$0")/../.." && pwd)"
C="$SRC/tests/fuzz/corpus"
T="$(mktemp -d /tmp/clt_corpus_XXXXXX)"
trap 'rm -rf "$T"' EXIT
mkdir -p "$C"/{fuzz_config,fuzz_checkpoint,fuzz_pack,fuzz_jpeg,fuzz_study}
rm -f "$C"/*/seed-*
prefix() { # prefix MODE-BYTE FILE OUT: the harness's mode byte, then the file
    { printf "\\x$(printf %02x "$1")"; cat "$2"; } > "$3"
}

# JPEG: the colour spaces, samplings and codings the decoder handles, and two that it refuses
J="$C/fuzz_jpeg"
convert -size 8x8 gradient:red-blue -quality 90 -sampling-factor 2x2 "$J/seed-rgb420.jpg"
convert -size 8x8 gradient:red-blue -quality 50 -sampling-factor 2x1 "$J/seed-rgb422.jpg"
convert -size 8x16 gradient:green-yellow -quality 95 -sampling-factor 1x1 "$J/seed-rgb444.jpg"
convert -size 16x8 gradient:white-black -colorspace Gray -quality 80 "$J/seed-grey.jpg"
convert -size 16x16 gradient:red-green -interlace JPEG -quality 70 "$J/seed-progressive.jpg"
convert -size 8x8 gradient:cyan-magenta -colorspace CMYK -quality 90 "$J/seed-cmyk.jpg"
convert -size 24x16 gradient:blue-yellow -define jpeg:restart-interval=1 -quality 60 "$J/seed-restart.jpg"
convert -size 9x7 gradient:red-blue -define jpeg:arithmetic-coding=true "$J/seed-arith.jpg"
convert -size 8x8 gradient:white-black -define jpeg:optimize-coding=true -quality 100 "$J/seed-optimized.jpg"
head -c 200 "$J/seed-progressive.jpg" > "$J/seed-truncated.jpg"
printf '\x89PNG\r\n\x1a\n\0\0\0\rIHDR' > "$J/seed-png"

# packs: JPEG colour and grey, raw colour, raw Fashion-MNIST; with and without checksum repair,
# with and without the reader; and mean images
P="$C/fuzz_pack"
mkdir -p "$T/tree/a" "$T/tree/b"
cp "$J/seed-rgb420.jpg" "$T/tree/a/1.jpg"; cp "$J/seed-cmyk.jpg" "$T/tree/a/2.jpg"
cp "$J/seed-rgb444.jpg" "$T/tree/b/1.jpg"; cp "$J/seed-grey.jpg" "$T/tree/b/2.jpg"
"$B/cltransfer-data" pack --folders "$T/tree" -o "$T/jpeg3.pack" --size 8 --no-progress 2>/dev/null
"$B/cltransfer-data" pack --folders "$T/tree" -o "$T/jpeg1.pack" --height 6 --width 5 --gray --quality 50 --no-progress 2>/dev/null
"$B/cltransfer-data" pack --folders "$T/tree" -o "$T/raw3.pack" --size 4 --raw --no-progress 2>/dev/null
"$B/cltransfer-data" fmnist -o "$T/fm" --classes 0,1 --per-class 1 --seed 1 2>/dev/null
for p in jpeg3 jpeg1 raw3 fm_train; do
    prefix 0 "$T/$p.pack" "$P/seed-$p-asis"
    prefix 3 "$T/$p.pack" "$P/seed-$p-repair-reader"
    prefix $((1 | 2 | 8 | 16 | 64)) "$T/$p.pack" "$P/seed-$p-repair-reader-crop-mirror"
done
prefix 4 "$T/raw3.mean" "$P/seed-raw3-mean"
prefix 4 "$T/jpeg1.mean" "$P/seed-jpeg1-mean"

# checkpoints: a real one of a tiny small net (as is, and without its footer for the repair mode)
# and a minimal hand-made one
K="$C/fuzz_checkpoint"
cat > "$T/t.ini" <<INI
[run]
output = $T/run
seed = 3
[data]
train = $T/fm_train.pack
val = $T/fm_train.pack
batch = 2
val_batch = 2
threads = 1
[net]
arch = small
widths = 2,2,2,2,2,2,2
[solver]
max_iter = 2
test_interval = 2
snapshot = 1
display = 1
INI
"$B/cltransfer" -c "$T/t.ini" --quiet
prefix 0 "$T/run/final.ckpt" "$K/seed-small-asis"
head -c -12 "$T/run/final.ckpt" > "$T/body"
prefix 1 "$T/body" "$K/seed-small-repair"
python3 - "$K/seed-minimal-repair" <<'PY'
import struct, sys
header = b"format=cltransfer-checkpoint\nversion=1\narch=small\ninput=1,2,2\niter=3\nseed=1\nbatch=2\nimages_seen=6\nblobs=2\n"
def blob(name, dims, values):
    b = struct.pack("<I", len(name)) + name + struct.pack("<I", len(dims))
    b += b"".join(struct.pack("<I", d) for d in dims) + struct.pack("<Q", len(values))
    return b + b"".join(struct.pack("<f", v) for v in values)
body = b"CLTCKPT\n" + struct.pack("<II", 1, len(header)) + header
body += blob(b"mean", [1, 2, 2], [1, 2, 3, 4]) + blob(b"solver.loss_window", [2], [0.5, 0.25])
open(sys.argv[1], "wb").write(b"\x01" + body)
PY

# configs: the committed ones and the dialect's corners
F="$C/fuzz_config"
cp "$SRC/conf/fmnist/base_a.ini" "$F/seed-fmnist-base_a.ini"
cp "$SRC/conf/a7b.ini" "$F/seed-a7b.ini"
cp "$T/run/config.ini" "$F/seed-effective.ini"
printf '\xef\xbb\xbf[run]\nname: x ; inline comment\n# comment\n  [net]\nwidths = 1, 2,3 ,4,5,6,7\ninit=\n[solver]\nbase_lr = 1e-3\nmax_iter = 2.0\n[data]\nmirror = on\r\n' > "$F/seed-dialect.ini"
printf 'net.widths=8,16,16,16,16,64,64' > "$F/seed-override"

# studies: the committed ones
S="$C/fuzz_study"
cp "$SRC/conf/study/fmnist.ini" "$S/seed-fmnist.ini"
cp "$SRC/tests/data/study/tiny.ini" "$S/seed-tiny.ini"
cp "$SRC/conf/study/paper.ini" "$S/seed-paper.ini"
# Caffe models: a tiny small net in both forms and a mean image, written by Google's protobuf
M="$C/fuzz_caffe"
mkdir -p "$M"
rm -f "$M"/seed-*
protoc --python_out="$T" -I "$SRC/tests/interop" caffe_model.proto
for form in layer v1; do
    PYTHONPATH="$T" python3 "$SRC/tests/interop/caffenet.py" model --arch small --form $form \
        --widths 2,2,2,2,2,3,3 --classes 2 -o "$T/m.caffemodel"
    prefix 2 "$T/m.caffemodel" "$M/seed-small-$form"
done
PYTHONPATH="$T" python3 "$SRC/tests/interop/caffenet.py" mean --channels 1 --side 28 -o "$T/mean.binaryproto"
prefix 3 "$T/mean.binaryproto" "$M/seed-mean-small"
du -sh "$C"/*
