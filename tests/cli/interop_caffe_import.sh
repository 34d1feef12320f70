#!/bin/bash
# interop_caffe_import.sh — `cltransfer import-caffe` on model files that Google's protobuf wrote
# with Caffe's field numbers (tests/interop/caffe_model.proto): the small net in the current `layer`
# form and the old V1 `layers` form, every weight bit for bit (CaffeNet at its real size, with conv1
# and the mean turned from BGR to RGB, is imported and checked in interop_example.sh). Truncated
# files, models that are not CaffeNet and shape mismatches are refused with the layer named, and
# leave no checkpoint behind.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/interop.sh"
WIDTHS=8,16,16,16,16,64,64

check "import-caffe --help documents the command" \
    sh -c "'$CLT' import-caffe --help | grep -q 'usage: cltransfer import-caffe MODEL.caffemodel'"
check "cltransfer --help names import-caffe" sh -c "'$CLT' --help | grep -q 'import-caffe'"
"$PY" "$CAFFE_PY" mean --channels 1 --side 28 --npy "$WORK/small_mean.npy" -o "$WORK/small_mean.binaryproto"
for form in layer v1; do
    "$PY" "$CAFFE_PY" model --arch small --form $form --widths $WIDTHS --classes 5 --seed 3 \
        --weights "$WORK/small_$form.npz" -o "$WORK/small_$form.caffemodel" || fail "writing the small $form model"
    check "small net, $form form: import exits 0" "$CLT" import-caffe "$WORK/small_$form.caffemodel" --arch small \
        --mean "$WORK/small_mean.binaryproto" -o "$WORK/small_$form.ckpt"
    check "small net, $form form: every weight and the mean bit for bit, zero momentum" \
        "$PY" "$CAFFE_PY" check-import "$WORK/small_$form.npz" "$WORK/small_mean.npy" "$WORK/small_$form.ckpt"
done
check "small net: the checkpoint declares the model's widths" \
    sh -c "'$CLT' --inspect '$WORK/small_layer.ckpt' | grep -q 'arch small, input 1x28x28, fc 64,64,5'"
check "both forms give the same checkpoint" cmp "$WORK/small_layer.ckpt" "$WORK/small_v1.ckpt"

# refused: each names the file or the layer, exits 1, and writes nothing
refused() { # refused NAME PATTERN MODEL [import options]
    local name=$1 pattern=$2 model=$3; shift 3
    "$CLT" import-caffe "$model" "$@" -o "$WORK/refused.ckpt" > "$WORK/out" 2>&1
    local rc=$?
    if [ $rc = 1 ] && grep -q -- "$pattern" "$WORK/out" && ! ls "$WORK"/refused.ckpt* > /dev/null 2>&1; then
        pass "$name ($(head -1 "$WORK/out"))"
    else
        fail "$name (exit $rc, want 1 and '$pattern'):"; sed 's/^/  | /' "$WORK/out"
    fi
}
size=$(stat -c %s "$WORK/small_layer.caffemodel")
head -c $((size - 1000)) "$WORK/small_layer.caffemodel" > "$WORK/truncated.caffemodel"
refused "a truncated model" "does not parse" "$WORK/truncated.caffemodel" --arch small
: > "$WORK/empty.caffemodel"
refused "an empty file" "holds no layers" "$WORK/empty.caffemodel"
refused "a file that is not there" "missing.caffemodel" "$WORK/missing.caffemodel"
refused "a mean file that is a model" "mean" "$WORK/small_layer.caffemodel" --arch small --mean "$WORK/small_layer.caffemodel"
"$PY" "$CAFFE_PY" mean --channels 3 --side 256 -o "$WORK/caffenet_mean.binaryproto"
refused "CaffeNet's mean for the small net" "the mean is 3x256x256" "$WORK/small_layer.caffemodel" --arch small \
    --mean "$WORK/caffenet_mean.binaryproto"
for alter in alexnet bad-shape extra leaky; do
    for form in layer v1; do
        [ $alter = extra ] || [ $form = layer ] || continue
        "$PY" "$CAFFE_PY" model --arch small --form $form --widths $WIDTHS --classes 5 --alter $alter \
            -o "$WORK/$alter.caffemodel" || fail "writing the $alter model"
        case $alter in
        alexnet) refused "AlexNet's order (LRN before the pool) is not CaffeNet" "layer norm1 (LRN) comes where CaffeNet has pool1" "$WORK/$alter.caffemodel" --arch small ;;
        bad-shape) refused "a conv2 blob of another shape than its layer declares" "layer conv2: the weight blob is 16x8x5x5, but the net the model declares needs 16x4x5x5" "$WORK/$alter.caffemodel" --arch small ;;
        extra) refused "a layer CaffeNet has not ($form form)" "layer concat3 has \(type Concat\|V1 type number 3\)" "$WORK/$alter.caffemodel" --arch small ;;
        leaky) refused "a leaky ReLU" "layer relu2: leaky ReLU" "$WORK/$alter.caffemodel" --arch small ;;
        esac
    done
done
exits_usage() { "$CLT" import-caffe "$@" > "$WORK/out" 2>&1; [ $? = 2 ]; }
check "no output path is a usage error (exit 2)" exits_usage "$WORK/small_layer.caffemodel"
check "an unknown --arch is a usage error (exit 2)" exits_usage "$WORK/small_layer.caffemodel" --arch vgg -o "$WORK/x.ckpt"
finish
