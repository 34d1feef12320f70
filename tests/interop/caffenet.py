#!/usr/bin/env python3
"""caffenet.py — the interop tests' Python side: writes Caffe CaffeNet model and mean files with
Google's protobuf (schema tests/interop/caffe_model.proto, compiled by protoc into PYTHONPATH),
reads cltransfer checkpoints and raw packs, and checks imports and ONNX exports against them.

  model  --arch caffenet|small --form layer|v1 [--widths W1,...,W7] [--classes K] [--seed S]
         [--alter KIND] -o MODEL.caffemodel [--weights W.npz]
  mean   --channels C --side S [--seed S] [--npy MEAN.npy] -o MEAN.binaryproto
  check-import MODEL_WEIGHTS.npz MEAN.npy|- CKPT             bit for bit, conv1 and mean BGR -> RGB
  check-onnx NET.onnx CKPT                                   onnx.checker, initializers bit for bit
  compare NET.onnx PACK LOGITS.f32 N                         ONNX Runtime vs cltransfer logits
  check-caffe MODEL_WEIGHTS.npz MEAN.npy NET.onnx PACK N     conv1 as Caffe computes it on BGR
  jpegs DIR CLASSES PER_CLASS SIDE                           a folder tree of JPEGs (Pillow)
"""
import argparse
import math
import struct
import sys

import numpy as np

ARCHS = {
    # input (c, side), conv (k, stride, pad, group) for conv1..5, default widths, fc8
    "caffenet": ((3, 227), [(11, 4, 0, 1), (5, 1, 2, 2), (3, 1, 1, 1), (3, 1, 1, 2), (3, 1, 1, 2)],
                 [96, 256, 384, 384, 256, 4096, 4096], 1000),
    "small": ((1, 28), [(5, 1, 2, 1), (5, 1, 2, 2), (3, 1, 1, 1), (3, 1, 1, 2), (3, 1, 1, 2)],
              [32, 64, 96, 96, 64, 256, 256], 10),
}
POOL_K, POOL_S = 3, 2
LRN = dict(local_size=5, alpha=1e-4, beta=0.75, k=1.0)


def pool_out(side):
    return int(math.ceil((side - POOL_K) / POOL_S)) + 1


def layer_shapes(arch, widths, classes):
    """[(name, weight shape, bias count)] for conv1..fc8 in Caffe's layout."""
    (c, side), convs, _, _ = ARCHS[arch]
    out = []
    for i, (k, s, p, g) in enumerate(convs):
        m = widths[i]
        out.append(("conv%d" % (i + 1), (m, c // g, k, k), m))
        side = (side + 2 * p - k) // s + 1
        if i in (0, 1, 4):
            side = pool_out(side)
        c = m
    fan = c * side * side
    for i, m in enumerate([widths[5], widths[6], classes]):
        out.append(("fc%d" % (i + 6), (m, fan), m))
        fan = m
    return out


def random_weights(arch, widths, classes, seed):
    rng = np.random.default_rng(seed)
    weights = {}
    for name, shape, nb in layer_shapes(arch, widths, classes):
        fan_in = int(np.prod(shape[1:]))
        w = rng.standard_normal(int(np.prod(shape)), dtype=np.float32)
        w *= np.float32(math.sqrt(1.0 / fan_in))  # activations stay near their scale through the net
        if name == "conv1" and shape[1] == 3:
            w /= np.float32(64)  # from pixels of ±64 or so about the mean to values of about 1
        weights[name + ".weight"] = w.reshape(shape)
        weights[name + ".bias"] = (rng.standard_normal(nb, dtype=np.float32) * np.float32(0.1))
    return weights


def cmd_model(a):
    import caffe_model_pb2 as pb
    (in_c, side), convs, default_widths, default_classes = ARCHS[a.arch]
    widths = [int(x) for x in a.widths.split(",")] if a.widths else default_widths
    classes = a.classes or default_classes
    weights = random_weights(a.arch, widths, classes, a.seed)
    if a.weights:
        np.savez(a.weights, **weights)
    v1 = a.form == "v1"
    net = pb.NetParameter(name="CaffeNet")
    T = pb.V1LayerParameter
    v1_type = {"Convolution": T.CONVOLUTION, "ReLU": T.RELU, "Pooling": T.POOLING, "LRN": T.LRN,
               "InnerProduct": T.INNER_PRODUCT, "Dropout": T.DROPOUT, "Data": T.DATA,
               "Accuracy": T.ACCURACY, "SoftmaxWithLoss": T.SOFTMAX_LOSS, "Softmax": T.SOFTMAX,
               "Concat": T.CONCAT}

    def add(name, type_, bottom, top):
        if v1:
            if type_ not in v1_type:
                raise SystemExit("no V1 type for " + type_)
            L = net.layers.add(name=name, type=v1_type[type_])
        else:
            L = net.layer.add(name=name, type=type_)
        L.bottom.extend(bottom if isinstance(bottom, list) else [bottom])
        L.top.extend(top if isinstance(top, list) else [top])
        return L

    def put_blob(L, array, legacy_shape):
        b = L.blobs.add()
        if v1:  # the old files' 4-D num/channels/height/width
            n, c, h, w = legacy_shape
            b.num, b.channels, b.height, b.width = n, c, h, w
        else:
            b.shape.dim.extend(array.shape)
        b.data.extend(array.ravel())

    def learned(L, name, legacy):
        if v1:
            L.blobs_lr.extend([1, 2])
            L.weight_decay.extend([1, 0])
        else:
            L.param.add(lr_mult=1, decay_mult=1)
            L.param.add(lr_mult=2, decay_mult=0)
        w, b = weights[name + ".weight"], weights[name + ".bias"]
        if a.alter == "bad-shape" and name == "conv2":  # the blob of an ungrouped conv2
            w = np.concatenate([w, w], axis=1)
        put_blob(L, w, w.shape if len(w.shape) == 4 else (1, 1) + w.shape)
        put_blob(L, b, (1, 1, 1, b.shape[0]))

    if a.arch == "caffenet":
        for phase in (0, 1):  # train_val's two data layers, with what the importer skips
            L = add("data", "Data", [], ["data", "label"])
            L.include.add(phase=phase)
            L.transform_param.crop_size = side
            L.transform_param.mirror = phase == 0
            L.transform_param.mean_file = "data/ilsvrc12/imagenet_mean.binaryproto"
            L.data_param.source = "examples/imagenet/ilsvrc12_%s_lmdb" % ("train", "val")[phase]
            L.data_param.batch_size = 256 if phase == 0 else 50
    elif v1:
        net.input.append("data")
        net.input_dim.extend([10, in_c, side, side])
    else:
        L = add("data", "Input", [], "data")
        L.input_param.shape.add().dim.extend([10, in_c, side, side])

    x = "data"
    for i, (k, s, p, g) in enumerate(convs):
        n = i + 1
        name = "conv%d" % n
        L = add(name, "Convolution", x, name)
        cp = L.convolution_param
        cp.num_output = widths[i]
        cp.kernel_size.append(k)
        if s != 1:
            cp.stride.append(s)
        if p:
            cp.pad.append(p)
        if g != 1:
            cp.group = g
        cp.weight_filler.type, cp.weight_filler.std = "gaussian", 0.01
        cp.bias_filler.type, cp.bias_filler.value = "constant", 0
        learned(L, name, None)
        x = name
        if a.alter == "extra" and n == 3:
            add("concat3", "Concat", [x, x], "concat3")
            x = "concat3"
        relu = add("relu%d" % n, "ReLU", x, x)
        if a.alter == "leaky" and n == 2:
            relu.relu_param.negative_slope = 0.1
        stages = []
        if n in (1, 2):
            stages = ["norm", "pool"] if a.alter == "alexnet" else ["pool", "norm"]
        elif n == 5:
            stages = ["pool"]
        for st in stages:
            lname = "%s%d" % (st, n)
            if st == "pool":
                L = add(lname, "Pooling", x, lname)
                L.pooling_param.pool = 0
                L.pooling_param.kernel_size, L.pooling_param.stride = POOL_K, POOL_S
            else:
                L = add(lname, "LRN", x, lname)
                for key, value in LRN.items():
                    setattr(L.lrn_param, key, value)
            x = lname
    for i, m in enumerate([widths[5], widths[6], classes]):
        n = i + 6
        name = "fc%d" % n
        L = add(name, "InnerProduct", x, name)
        L.inner_product_param.num_output = m
        L.inner_product_param.weight_filler.type = "gaussian"
        learned(L, name, None)
        x = name
        if n < 8:
            add("relu%d" % n, "ReLU", x, x)
            L = add("drop%d" % n, "Dropout", x, x)
            L.dropout_param.dropout_ratio = 0.5
    if a.arch == "caffenet":
        L = add("accuracy", "Accuracy", [x, "label"], "accuracy")
        L.include.add(phase=1)
        add("loss", "SoftmaxWithLoss", [x, "label"], "loss")
    else:
        add("prob", "Softmax", x, "prob")
    with open(a.output, "wb") as f:
        f.write(net.SerializeToString())


def mean_image(channels, side, seed):
    """A mean whose planes differ clearly, in Caffe's BGR order: [1][c][side][side]."""
    rng = np.random.default_rng(seed)
    base = np.array([104.0, 117.0, 123.0][:channels] if channels == 3 else [33.0], np.float32)
    m = base[:, None, None] + rng.uniform(-20, 20, (channels, side, side)).astype(np.float32)
    return m[None].astype(np.float32)


def cmd_mean(a):
    import caffe_model_pb2 as pb
    m = mean_image(a.channels, a.side, a.seed)
    b = pb.BlobProto(num=1, channels=a.channels, height=a.side, width=a.side)
    b.data.extend(m.ravel())
    with open(a.output, "wb") as f:
        f.write(b.SerializeToString())
    if a.npy:
        np.save(a.npy, m)


def read_ckpt(path):
    """A cltransfer checkpoint (README, 'Checkpoint format'): header dict and blobs by name."""
    raw = open(path, "rb").read()
    assert raw[:8] == b"CLTCKPT\n", "bad magic"
    version, hlen = struct.unpack_from("<II", raw, 8)
    header = dict(line.split("=", 1) for line in raw[16:16 + hlen].decode().splitlines())
    pos, blobs = 16 + hlen, {}
    for _ in range(int(header["blobs"])):
        (nlen,) = struct.unpack_from("<I", raw, pos)
        name = raw[pos + 4:pos + 4 + nlen].decode()
        pos += 4 + nlen
        (ndims,) = struct.unpack_from("<I", raw, pos)
        dims = struct.unpack_from("<%dI" % ndims, raw, pos + 4)
        pos += 4 + 4 * ndims
        (count,) = struct.unpack_from("<Q", raw, pos)
        pos += 8
        blobs[name] = np.frombuffer(raw, np.float32, count, pos).reshape(dims)
        pos += 4 * count
    return header, blobs


def same_bits(name, got, want, failures):
    got, want = np.ascontiguousarray(got, np.float32), np.ascontiguousarray(want, np.float32)
    if got.size != want.size or not np.array_equal(got.ravel().view(np.uint32), want.ravel().view(np.uint32)):
        failures.append("%s: %s values differ from the expected %s" % (name, got.shape, want.shape))


def cmd_check_import(a):
    weights = np.load(a.weights)
    header, blobs = read_ckpt(a.ckpt)
    failures = []
    for name in weights.files:
        want = weights[name]
        if name == "conv1.weight" and want.shape[1] == 3:
            want = want[:, ::-1]  # Caffe's BGR input channels, cltransfer's RGB
        got = blobs.get(name)
        if got is None:
            failures.append("checkpoint lacks " + name)
            continue
        same_bits(name, got, want, failures)
        if np.any(blobs[name + ".momentum"] != 0):
            failures.append(name + ".momentum is not zero")
    if a.mean != "-":
        want = np.load(a.mean)[0]
        if want.shape[0] == 3:
            want = want[::-1]
        same_bits("mean", blobs["mean"], want, failures)
    for f in failures:
        print("FAIL " + f)
    print("checked %d blobs of %s (arch %s, fc %s)" % (len(weights.files), a.ckpt, header["arch"], header["fc"]))
    sys.exit(1 if failures else 0)


def cmd_check_onnx(a):
    import onnx
    from onnx import numpy_helper
    onnx.checker.check_model(a.onnx)
    model = onnx.load(a.onnx)
    _, blobs = read_ckpt(a.ckpt)
    failures = []
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    for name, value in blobs.items():
        if name.endswith((".weight", ".bias")):
            if name not in inits:
                failures.append("model lacks " + name)
            else:
                same_bits(name, inits[name], value, failures)
    ops = [n.op_type for n in model.graph.node]
    pools = [n for n in model.graph.node if n.op_type == "MaxPool"]
    if any(next(x.i for x in p.attribute if x.name == "ceil_mode") != 1 for p in pools) or len(pools) != 3:
        failures.append("MaxPool nodes without ceil_mode=1")
    print("opset %d, ir %d, ops %s" % (model.opset_import[0].version, model.ir_version, " ".join(ops)))
    for f in failures:
        print("FAIL " + f)
    sys.exit(1 if failures else 0)


def read_pack_images(path, n, side):
    """The first n images of a raw pack as float NCHW 0..255, centre-cropped to side (the reader's crop)."""
    raw = open(path, "rb").read()
    assert raw[:8] == b"CLTPACK\x00"
    enc, c, h, w = struct.unpack_from("<4I", raw, 16)
    assert enc == 1, "the comparison reads raw packs (cltransfer-data pack --raw)"
    (data_off,) = struct.unpack_from("<Q", raw, 48)
    (index_off,) = struct.unpack_from("<Q", raw, 64)
    y0, x0 = (h - side) // 2, (w - side) // 2
    out = np.empty((n, c, side, side), np.float32)
    for i in range(n):
        off, size = struct.unpack_from("<QI", raw, index_off + 24 * i)
        img = np.frombuffer(raw, np.uint8, size, data_off + off).reshape(h, w, c)
        out[i] = img[y0:y0 + side, x0:x0 + side].transpose(2, 0, 1)
    return out


def cmd_compare(a):
    import onnxruntime as ort
    sess = ort.InferenceSession(a.onnx, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    side = inp.shape[2]
    images = read_pack_images(a.pack, a.n, side)
    logits, prob = sess.run(["logits", "prob"], {inp.name: images})
    ours = np.fromfile(a.logits, np.float32).reshape(logits.shape)
    scale = max(1.0, float(np.abs(ours).max()))
    err = float(np.abs(logits - ours).max())
    same_top1 = bool(np.array_equal(logits.argmax(1), ours.argmax(1)))
    prob_ok = bool(np.allclose(prob.sum(1), 1, atol=1e-4))
    print("ONNX Runtime %s on %d images: logits up to %.4g, max |difference| %.3g (%.2g of the largest); "
          "top-1 equal %s; probabilities sum to 1 %s" % (ort.__version__, a.n, scale, err, err / scale, same_top1,
                                                        prob_ok))
    spread = float(ours.std())
    ok = err <= a.tolerance * scale and same_top1 and prob_ok and spread > 1e-3
    if spread <= 1e-3:
        print("FAIL the logits hardly vary (std %.3g): the comparison would prove nothing" % spread)
    sys.exit(0 if ok else 1)


def cmd_check_caffe(a):
    """conv1 of the exported net on RGB pixels equals Caffe's conv1 (its own weights) on the same
    pixels as BGR minus Caffe's BGR mean at the centre crop: the colour convention end to end."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper
    weights = np.load(a.weights)
    w, b = weights["conv1.weight"], weights["conv1.bias"]
    mean_bgr = np.load(a.mean)[0]
    model = onnx.load(a.onnx)
    model.graph.output.append(helper.make_tensor_value_info("conv1", TensorProto.FLOAT, None))
    ours_sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    side = ours_sess.get_inputs()[0].shape[2]
    images = read_pack_images(a.pack, a.n, side)
    (ours,) = ours_sess.run(["conv1"], {"image": images})
    y0, x0 = (mean_bgr.shape[1] - side) // 2, (mean_bgr.shape[2] - side) // 2
    bgr = np.ascontiguousarray(images[:, ::-1] - mean_bgr[None, :, y0:y0 + side, x0:x0 + side])
    k, stride = w.shape[2], 4
    conv = helper.make_node("Conv", ["x", "w", "b"], ["y"], kernel_shape=[k, k], strides=[stride, stride])
    graph = helper.make_graph([conv], "caffe_conv1", [helper.make_tensor_value_info("x", TensorProto.FLOAT, None)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
    ref_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    ref_model.ir_version = 7
    (ref,) = ort.InferenceSession(ref_model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": bgr})
    scale = float(np.abs(ref).max())
    err = float(np.abs(ours - ref).max())
    print("conv1 on %d images: Caffe's (BGR) up to %.4g, max |difference| %.3g" % (a.n, scale, err))
    sys.exit(0 if err <= 1e-4 * scale and ours.shape == ref.shape else 1)


def cmd_jpegs(a):
    from PIL import Image
    import os
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:a.side, 0:a.side].astype(np.float32) / a.side
    for k in range(a.classes):
        folder = os.path.join(a.dir, "class%02d" % k)
        os.makedirs(folder, exist_ok=True)
        for j in range(a.per_class):
            # each class a colour gradient of its own, so the classes are learnable and RGB != BGR
            r = 255 * (0.5 + 0.5 * np.sin(6 * xx + k))
            g = 255 * yy * (k % 2) + rng.uniform(0, 60, yy.shape)
            b = 255 * (1 - xx) * ((k + 1) % 2) + rng.uniform(0, 60, yy.shape)
            img = np.clip(np.stack([r, g, b], -1), 0, 255).astype(np.uint8)
            Image.fromarray(img).save(os.path.join(folder, "%03d.jpg" % j), quality=90)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("model")
    m.add_argument("--arch", choices=ARCHS, default="caffenet")
    m.add_argument("--form", choices=["layer", "v1"], default="layer")
    m.add_argument("--widths")
    m.add_argument("--classes", type=int)
    m.add_argument("--seed", type=int, default=1)
    m.add_argument("--alter", choices=["alexnet", "bad-shape", "extra", "leaky"])
    m.add_argument("--weights")
    m.add_argument("-o", "--output", required=True)
    m.set_defaults(fn=cmd_model)
    m = sub.add_parser("mean")
    m.add_argument("--channels", type=int, default=3)
    m.add_argument("--side", type=int, default=256)
    m.add_argument("--seed", type=int, default=2)
    m.add_argument("--npy")
    m.add_argument("-o", "--output", required=True)
    m.set_defaults(fn=cmd_mean)
    m = sub.add_parser("check-import")
    m.add_argument("weights")
    m.add_argument("mean")
    m.add_argument("ckpt")
    m.set_defaults(fn=cmd_check_import)
    m = sub.add_parser("check-onnx")
    m.add_argument("onnx")
    m.add_argument("ckpt")
    m.set_defaults(fn=cmd_check_onnx)
    m = sub.add_parser("compare")
    m.add_argument("onnx")
    m.add_argument("pack")
    m.add_argument("logits")
    m.add_argument("n", type=int)
    m.add_argument("--tolerance", type=float, default=1e-4)
    m.set_defaults(fn=cmd_compare)
    m = sub.add_parser("check-caffe")
    m.add_argument("weights")
    m.add_argument("mean")
    m.add_argument("onnx")
    m.add_argument("pack")
    m.add_argument("n", type=int)
    m.set_defaults(fn=cmd_check_caffe)
    m = sub.add_parser("jpegs")
    m.add_argument("dir")
    m.add_argument("classes", type=int)
    m.add_argument("per_class", type=int)
    m.add_argument("side", type=int)
    m.set_defaults(fn=cmd_jpegs)
    a = p.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
