#!/bin/bash
# interop_example.sh — the README's worked example, on a generated folder of JPEGs and a CaffeNet
# model of the published one's size and V1 form with random weights: import it with its mean,
# fine-tune it on the JPEGs, export the result as ONNX and classify a JPEG with it in Python. On the
# way, ONNX Runtime's logits of the fine-tuned CaffeNet must match cltransfer's own forward pass
# (the check that conv1's BGR -> RGB turn, the mean's crop and the grouped layers agree). The import
# is also checked bit for bit against the weights written, conv1 against Caffe's convention itself
# (Caffe's weights on BGR pixels minus the BGR mean), and a truncated copy refused.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/interop.sh"
cd "$WORK" || exit 1
# what the user brings: a folder of JPEGs per class, Caffe's model and mean (here random, same size)
"$PY" "$CAFFE_PY" jpegs photos/train 3 4 300 && "$PY" "$CAFFE_PY" jpegs photos/val 3 2 300 &&
    "$PY" "$CAFFE_PY" model --arch caffenet --form v1 --seed 5 --weights weights.npz -o bvlc_reference_caffenet.caffemodel &&
    "$PY" "$CAFFE_PY" mean --channels 3 --side 256 --npy mean.npy -o imagenet_mean.binaryproto || { fail "making the inputs"; finish; }

# the README's commands, with the tests' build folder for build/
check "import the Caffe model and its mean" \
    "$CLT" import-caffe bvlc_reference_caffenet.caffemodel --mean imagenet_mean.binaryproto -o caffenet.ckpt
check "CaffeNet at its real size, V1 form: every weight bit for bit (conv1's channels BGR -> RGB), the mean's planes reversed" \
    "$PY" "$CAFFE_PY" check-import weights.npz mean.npy caffenet.ckpt
check "the checkpoint is CaffeNet with its groups and crop" \
    sh -c "'$CLT' --inspect caffenet.ckpt | grep -q 'arch caffenet, input 3x227x227, fc 4096,4096,1000' &&
           '$CLT' --inspect caffenet.ckpt | grep -q '^conv2.weight  *256x48x5x5 '"
head -c $(($(stat -c %s bvlc_reference_caffenet.caffemodel) / 2)) bvlc_reference_caffenet.caffemodel > cut.caffemodel
"$CLT" import-caffe cut.caffemodel -o cut.ckpt > out 2>&1
rc=$?
check "a CaffeNet cut in half is refused (exit $rc: $(head -1 out)), no checkpoint written" \
    sh -c "[ $rc = 1 ] && grep -q 'does not parse' out && ! ls cut.ckpt* > /dev/null 2>&1"
rm -f bvlc_reference_caffenet.caffemodel cut.caffemodel
check "pack the training and validation folders" sh -c \
    "'$CLTDATA' pack --folders photos/train --raw --no-progress -o photos_train.pack > /dev/null &&
     '$CLTDATA' pack --folders photos/val --raw --no-progress -o photos_val.pack > /dev/null"
check "conv1 of the imported, exported net on RGB pixels is Caffe's conv1 on them as BGR minus Caffe's mean" \
    sh -c "'$CLT' export-onnx caffenet.ckpt -o caffenet.onnx > /dev/null &&
           '$ORT_PY' '$CAFFE_PY' check-caffe weights.npz mean.npy caffenet.onnx photos_val.pack 6"
rm -f weights.npz caffenet.onnx
cat > finetune.ini <<INI
[data]
train = photos_train.pack
val = photos_val.pack
crop = 227
mirror = true
batch = 32
[net]
arch = caffenet
[solver]
base_lr = 0.001
stepsize = 2000
max_iter = 5000
test_interval = 500
snapshot = 1000
[transfer]
base = caffenet.ckpt
layers = 7
mode = finetune
INI
# the example's run, shortened: a few iterations of a small batch
check "fine-tune layers 1..7 of the imported CaffeNet and a new 3-class fc8" "$CLT" -c finetune.ini --quiet \
    -s data.batch=3 -s data.val_batch=6 -s data.threads=1 -s solver.max_iter=2 -s solver.test_interval=2 \
    -s solver.snapshot=2 -s solver.display=1
check "the run copied layers 1..7 from the import" grep -q "copied layers 1..7 from caffenet.ckpt" runs/finetune/log.txt
check "export the fine-tuned net as ONNX" "$CLT" export-onnx runs/finetune/final.ckpt -o photos.onnx
check "onnx.checker accepts it; its weights are the checkpoint's bit for bit" \
    "$PY" "$CAFFE_PY" check-onnx photos.onnx runs/finetune/final.ckpt
"$LOGITS" runs/finetune/final.ckpt photos_val.pack 6 ours.f32 > logits.log 2>&1 ||
    { cat logits.log; fail "cltransfer's logits of the fine-tuned CaffeNet"; }
check "fine-tuned CaffeNet: ONNX Runtime's logits are cltransfer's (6 images)" \
    "$ORT_PY" "$CAFFE_PY" compare photos.onnx photos_val.pack ours.f32 6
"$ORT_PY" "$SRC/tests/interop/classify.py" photos.onnx photos_train.classes.txt photos/val/class01/000.jpg > classify.out 2>&1
check "classify a JPEG in Python with ONNX Runtime ($(cat classify.out))" \
    grep -qP '^photos/val/class01/000.jpg\tclass0[0-2]\t[01]\.\d{3}$' classify.out
finish
