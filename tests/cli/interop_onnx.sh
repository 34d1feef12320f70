#!/bin/bash
# interop_onnx.sh — `cltransfer export-onnx` of a small net cltransfer trained (Fashion-MNIST, input
# scale folded in) and of an imported small Caffe model: onnx.checker accepts the model, its
# initializers are the checkpoint's weights bit for bit, and ONNX Runtime's logits on a pack's images
# match cltransfer's own forward pass (tests/interop/logits.c). Bad checkpoints are refused and
# leave no model behind.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/interop.sh"

check "export-onnx --help documents the command" \
    sh -c "'$CLT' export-onnx --help | grep -q 'usage: cltransfer export-onnx CHECKPOINT -o NET.onnx'"

tiny_pack "$WORK/p" 20
tiny_config "$WORK/base.ini" "$WORK/p" "$WORK/base"
"$CLT" -c "$WORK/base.ini" -s solver.max_iter=20 --quiet > "$WORK/train.log" 2>&1 || { cat "$WORK/train.log"; fail "the small run trains"; }
check "export of a trained small net exits 0" "$CLT" export-onnx "$WORK/base/final.ckpt" --scale 0.0125 -o "$WORK/small.onnx"
check "onnx.checker accepts it; initializers bit for bit; MaxPool rounds up" \
    "$PY" "$CAFFE_PY" check-onnx "$WORK/small.onnx" "$WORK/base/final.ckpt"
"$LOGITS" "$WORK/base/final.ckpt" "$WORK/p_train.pack" 16 "$WORK/small.f32" 0.0125 > "$WORK/logits.log" 2>&1 ||
    { cat "$WORK/logits.log"; fail "cltransfer's logits of the trained small net"; }
check "trained small net: ONNX Runtime's logits are cltransfer's (16 images)" \
    "$ORT_PY" "$CAFFE_PY" compare "$WORK/small.onnx" "$WORK/p_train.pack" "$WORK/small.f32" 16

# an imported Caffe model of the small net, its mean folded into the ONNX model
"$PY" "$CAFFE_PY" model --arch small --form layer --widths 8,16,16,16,16,64,64 --classes 5 --seed 9 \
    -o "$WORK/small.caffemodel" && "$PY" "$CAFFE_PY" mean --channels 1 --side 28 -o "$WORK/mean.binaryproto" &&
    "$CLT" import-caffe "$WORK/small.caffemodel" --arch small --mean "$WORK/mean.binaryproto" \
        -o "$WORK/imported.ckpt" || fail "importing a small Caffe model"
check "export of an imported net exits 0" "$CLT" export-onnx "$WORK/imported.ckpt" -o "$WORK/imported.onnx"
check "imported: onnx.checker accepts it; initializers bit for bit" \
    "$PY" "$CAFFE_PY" check-onnx "$WORK/imported.onnx" "$WORK/imported.ckpt"
"$LOGITS" "$WORK/imported.ckpt" "$WORK/p_train.pack" 16 "$WORK/imported.f32" > "$WORK/logits.log" 2>&1 ||
    { cat "$WORK/logits.log"; fail "cltransfer's logits of the imported net"; }
check "imported: ONNX Runtime's logits are cltransfer's" \
    "$ORT_PY" "$CAFFE_PY" compare "$WORK/imported.onnx" "$WORK/p_train.pack" "$WORK/imported.f32" 16

check "--no-mean leaves the mean out: the input is the mean-subtracted tensor, the first node conv1" \
    sh -c "'$CLT' export-onnx '$WORK/imported.ckpt' --no-mean -o '$WORK/nomean.onnx' &&
           '$PY' '$CAFFE_PY' check-onnx '$WORK/nomean.onnx' '$WORK/imported.ckpt' | grep -q '^opset 13, ir 7, ops Conv '"

size=$(stat -c %s "$WORK/base/final.ckpt")
head -c $((size - 100)) "$WORK/base/final.ckpt" > "$WORK/cut.ckpt"
"$CLT" export-onnx "$WORK/cut.ckpt" -o "$WORK/cut.onnx" > "$WORK/out" 2>&1
rc=$?
check "a truncated checkpoint is refused (exit $rc: $(head -1 "$WORK/out")) and no model written" \
    sh -c "[ $rc = 1 ] && grep -q 'truncated or corrupt checkpoint' '$WORK/out' && ! ls '$WORK'/cut.onnx* > /dev/null 2>&1"
"$CLT" export-onnx "$WORK/small.caffemodel" -o "$WORK/wrong.onnx" > "$WORK/out" 2>&1
rc=$?
check "a file that is not a checkpoint is refused (exit $rc)" \
    sh -c "[ $rc = 1 ] && grep -q 'not a cltransfer checkpoint' '$WORK/out' && [ ! -e '$WORK/wrong.onnx' ]"
"$CLT" export-onnx "$WORK/base/final.ckpt" > "$WORK/out" 2>&1
check "no -o is a usage error (exit 2)" test $? = 2
finish
