# interop.sh — sourced by tests/cli/interop_*.sh after common.sh: Debian's Python with protobuf,
# numpy, onnx and Pillow for writing Caffe files and checking exports, ONNX Runtime from PyPI in a
# venv in the tests' cache folder, build/cache/ (installed on first use), and the tests' Caffe schema compiled by
# protoc. Exits 77, which ctest counts as a skip, only when one of these cannot be had.
PY=/usr/bin/python3
# beside the PoCL cache, which the sanitizer build shares with the plain one: one install serves both
VENV="${POCL_CACHE_DIR:+$(dirname "$POCL_CACHE_DIR")}"
VENV="${VENV:-$BUILD}/interop-venv"
skip() { echo "SKIP $*"; exit 77; }
command -v protoc > /dev/null || skip "protoc is missing (setup.sh installs protobuf-compiler)"
"$PY" -c 'import google.protobuf, numpy, onnx, PIL' 2> /dev/null ||
    skip "Debian's python3-protobuf, python3-numpy, python3-onnx or python3-pil is missing (setup.sh installs them)"
# one test at a time installs; the others wait for it
(
    flock 9
    if ! "$VENV/bin/python" -c 'import onnxruntime' 2> /dev/null; then
        rm -rf "$VENV"
        "$PY" -m venv --system-site-packages "$VENV" && "$VENV/bin/pip" install -q onnxruntime
    fi
) 9> "$VENV.lock" > "$WORK/pip.log" 2>&1
# ONNX Runtime only: the venv's own protobuf may be newer than the one the Caffe schema is compiled for
ORT_PY="$VENV/bin/python"
"$ORT_PY" -c 'import onnxruntime' 2> /dev/null || { cat "$WORK/pip.log"; skip "onnxruntime could not be installed from PyPI"; }
protoc --python_out="$WORK" -I "$SRC/tests/interop" caffe_model.proto || { fail "protoc compiles tests/interop/caffe_model.proto"; finish; }
export PYTHONPATH="$WORK"
CAFFE_PY="$SRC/tests/interop/caffenet.py"
LOGITS="$BUILD/tests/interop_logits"
