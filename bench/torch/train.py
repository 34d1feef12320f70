#!/usr/bin/python3
"""bench/torch/train.py — trains cltransfer's small net in PyTorch from a cltransfer config, on the same
packs, so that the two trainers can be run side by side and their accuracy compared.

It reads the config's [run] seed, [data] train/val/mean/mean_kind/scale/batch, [net]
arch/widths/dropout/init and [solver] keys (momentum_form among them), and writes metrics.csv in cltransfer's columns (iter,phase,loss,top1,top5,lr,
images_per_s,elapsed_s) into --output. What the two trainers do alike by default:
  - the packs of data-tools/FORMAT.md, read directly (raw 1×28×28 uint8);
  - x = (pixel − mean image) · scale, the mean image from [data] mean or the training pack's .mean
    (mean_kind = channel: the mean image's average, one number);
  - each epoch a fresh permutation of the training pack, batches taken across epoch ends;
  - He fan-in init N(0, 2/fan_in) for conv1..fc7, N(0, 0.01²) for fc8, zero biases;
  - Caffe's SGD: h = m·h + lr·mult·(g + decay·w), w −= h; biases lr ×2 and no decay
    (momentum_form = pytorch: h = m·h + (g + decay·w), w −= lr·mult·h);
  - validation on the whole val pack every test_interval iterations and at the end.
Usage: OMP_NUM_THREADS=1 bench/torch/train.py -c CONFIG.ini -o DIR [-s section.key=value]...
"""
import argparse
import configparser
import csv
import math
import os
import struct
import sys
import time
import zlib

import numpy as np

PACK_MAGIC, MEAN_MAGIC = b"CLTPACK\0", b"CLTMEAN\0"


class FormatError(Exception):
    pass


def read_pack(path):
    """Images (n, c, h, w) uint8 and labels (n,) int64 of a raw pack; refuses JPEG packs."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 128 or blob[:8] != PACK_MAGIC:
        raise FormatError(f"{path}: not a cltransfer pack")
    version, hsize, encoding, c, h, w, classes, entry = struct.unpack_from("<8I", blob, 8)
    n, data_off, data_size, index_off = struct.unpack_from("<4Q", blob, 40)
    if version != 1 or hsize != 128 or entry != 24:
        raise FormatError(f"{path}: pack version {version}, header {hsize}, entry {entry} (expected 1, 128, 24)")
    if zlib.crc32(blob[:124]) != struct.unpack_from("<I", blob, 124)[0]:
        raise FormatError(f"{path}: header checksum mismatch")
    if encoding != 1:
        raise FormatError(f"{path}: encoding {encoding}; only raw packs (1) are read here")
    if len(blob) != 128 + data_size + 24 * n or index_off != 128 + data_size:
        raise FormatError(f"{path}: size {len(blob)} does not match its header")
    index = np.frombuffer(blob, dtype=np.dtype([("off", "<u8"), ("size", "<u4"), ("crc", "<u4"), ("label", "<i4"),
                                                ("orig", "<i4")]), count=n, offset=index_off)
    side = h * w * c
    if np.any(index["size"] != side) or np.any(index["label"] < 0) or np.any(index["label"] >= classes):
        raise FormatError(f"{path}: an index entry has a wrong size or label")
    data = np.frombuffer(blob, dtype=np.uint8, count=data_size, offset=data_off)
    rows = index["off"][:, None].astype(np.int64) + np.arange(side)[None, :]
    images = data[rows].reshape(n, h, w, c).transpose(0, 3, 1, 2)
    return np.ascontiguousarray(images), index["label"].astype(np.int64), classes


def read_mean(path):
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 40 or blob[:8] != MEAN_MAGIC:
        raise FormatError(f"{path}: not a cltransfer mean file")
    version, c, h, w = struct.unpack_from("<4I", blob, 8)
    start = {1: 40, 2: 48}.get(version, 0)  # version 2 added the pack's id to the header
    if not start or len(blob) != start + 4 * c * h * w:
        raise FormatError(f"{path}: mean version {version} or size {len(blob)} wrong")
    return np.frombuffer(blob, dtype="<f4", offset=start).reshape(c, h, w).copy()


def read_checkpoint(path):
    """The blobs of a cltransfer checkpoint (README's checkpoint format) as name → float32 array."""
    with open(path, "rb") as f:
        blob = f.read()
    if blob[:8] != b"CLTCKPT\n" or blob[-8:] != b"CLTEND\n\0":
        raise FormatError(f"{path}: not a complete cltransfer checkpoint")
    if zlib.crc32(blob[:-12]) != struct.unpack_from("<I", blob, len(blob) - 12)[0]:
        raise FormatError(f"{path}: checksum mismatch")
    version, hlen = struct.unpack_from("<2I", blob, 8)
    header = dict(l.split("=", 1) for l in blob[16:16 + hlen].decode().splitlines() if "=" in l)
    pos, blobs = 16 + hlen, {}
    for _ in range(int(header["blobs"])):
        (nlen,) = struct.unpack_from("<I", blob, pos)
        name = blob[pos + 4:pos + 4 + nlen].decode()
        pos += 4 + nlen
        (rank,) = struct.unpack_from("<I", blob, pos)
        dims = struct.unpack_from(f"<{rank}I", blob, pos + 4)
        (count,) = struct.unpack_from("<Q", blob, pos + 4 + 4 * rank)
        pos += 12 + 4 * rank
        blobs[name] = np.frombuffer(blob, dtype="<f4", count=count, offset=pos).reshape(dims).copy()
        pos += 4 * count
    return blobs


# cltransfer's random streams, ported so that both trainers can draw the same batches and dropout
# masks: src/util/mt19937.c (clt_mix64, clt_hash2), src/data/reader.c (epoch_perm),
# src/layers/dropout.c and src/net/train.c (the mask of element i of layer L at iteration t).
M64 = (1 << 64) - 1
GOLDEN = 0x9e3779b97f4a7c15
TAG_PERM = 0x7065726d75746531


def mix64_final(z):
    z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & M64
    z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & M64
    return z ^ (z >> 31)


def clt_mix64(x):
    return mix64_final((x + GOLDEN) & M64)


def cltransfer_perm(seed, epoch, n):
    """reader.c's epoch_perm: Fisher–Yates on a splitmix64 stream."""
    state = clt_mix64(clt_mix64((seed ^ TAG_PERM) & M64) ^ epoch)
    p = list(range(n))
    for i in range(n - 1, 0, -1):
        j = (clt_mix64(state) * (i + 1)) >> 64
        state = (state + 1) & M64
        p[i], p[j] = p[j], p[i]
    return p


def cltransfer_keep(seed, count, p):
    """dropout.c's clt_dropout_keep for elements 0..count-1, vectorised ([images][features] order)."""
    key = np.uint64(mix64_final(seed & M64))
    with np.errstate(over="ignore"):
        z = key + (np.arange(1, count + 1, dtype=np.uint64) * np.uint64(GOLDEN))
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xbf58476d1ce4e5b9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94d049bb133111eb)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(32)) >= np.uint64(int(p * 4294967296.0))


LAYER_NAMES = ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"]


def read_config(path, overrides):
    cp = configparser.ConfigParser(inline_comment_prefixes=(";", "#"), interpolation=None,
                                   strict=False)  # a section may come twice, as cltransfer reads it
    with open(path) as f:
        cp.read_file(f)
    for o in overrides:
        key, _, value = o.partition("=")
        section, _, name = key.partition(".")
        if not cp.has_section(section):
            cp.add_section(section)
        cp.set(section, name, value)
    g = lambda s, k, d: cp.get(s, k, fallback=d)
    widths = [int(x) for x in g("net", "widths", "32,64,96,96,64,256,256").split(",")]
    if g("net", "arch", "caffenet") != "small" or len(widths) != 7:
        raise FormatError(f"{path}: only [net] arch = small with 7 widths is built here")
    if g("net", "init", "he") != "he" or g("solver", "lr_policy", "step") != "step":
        raise FormatError(f"{path}: only init = he and lr_policy = step are built here")
    if int(g("data", "crop", "0")) != 0 or g("data", "mirror", "false") not in ("false", "no", "0"):
        raise FormatError(f"{path}: crops and mirroring are not built here")
    mean_kind, momentum_form = g("data", "mean_kind", "image"), g("solver", "momentum_form", "caffe")
    if mean_kind not in ("image", "channel") or momentum_form not in ("caffe", "pytorch"):
        raise FormatError(f"{path}: [data] mean_kind is image or channel, [solver] momentum_form caffe or pytorch")
    return dict(train=g("data", "train", None), val=g("data", "val", None), mean=g("data", "mean", ""),
                mean_kind=mean_kind, momentum_form=momentum_form,
                scale=float(g("data", "scale", "1")), batch=int(g("data", "batch", "256")),
                val_batch=int(g("data", "val_batch", "50")), widths=widths,
                dropout=float(g("net", "dropout", "0.5")), seed=int(g("run", "seed", "1")),
                base_lr=float(g("solver", "base_lr", "0.01")), momentum=float(g("solver", "momentum", "0.9")),
                decay=float(g("solver", "weight_decay", "0.0005")), gamma=float(g("solver", "gamma", "0.1")),
                stepsize=int(g("solver", "stepsize", "100000")), max_iter=int(g("solver", "max_iter", "450000")),
                test_interval=int(g("solver", "test_interval", "1000")), display=int(g("solver", "display", "20")))


def build_net(torch, widths, dropout, classes, side, masks="torch"):
    """The small net of src/net/net.c: conv/ReLU/pool(3/2, ceil)/LRN ×2, conv3–5 (groups 1, 2, 2), pool,
    fc6, fc7 with dropout, fc8. masks = cltransfer draws the dropout masks as cltransfer does; set
    net.iteration_seed before each training step."""
    nn = torch.nn

    class HashDropout(nn.Module):
        def __init__(self, layer):
            super().__init__()
            self.layer, self.seed = layer, 0

        def forward(self, x):
            if not self.training or dropout <= 0:
                return x
            keep = cltransfer_keep((self.seed * 31 + self.layer) & M64, x.numel(), dropout)
            return x * torch.from_numpy(keep.reshape(x.shape)).to(x.dtype) * (1.0 / (1.0 - dropout))

    drop = (lambda layer: HashDropout(layer)) if masks == "cltransfer" else (lambda layer: nn.Dropout(dropout))
    specs = [(5, 2, 1), (5, 2, 2), (3, 1, 1), (3, 1, 2), (3, 1, 2)]
    layers, c = [], 1
    for i, (k, p, g) in enumerate(specs):
        layers += [nn.Conv2d(c, widths[i], k, 1, p, groups=g), nn.ReLU()]
        if i in (0, 1, 4):
            layers.append(nn.MaxPool2d(3, 2, ceil_mode=True))
        if i in (0, 1):
            layers.append(nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0))
        c = widths[i]
    features = nn.Sequential(*layers)
    with torch.no_grad():
        flat = features(torch.zeros(1, 1, side, side)).numel()
    net = nn.Sequential(features, nn.Flatten(), nn.Linear(flat, widths[5]), nn.ReLU(), drop(6),
                        nn.Linear(widths[5], widths[6]), nn.ReLU(), drop(7),
                        nn.Linear(widths[6], classes))
    learned = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        for i, m in enumerate(learned):
            fan_in = m.weight[0].numel()
            std = 0.01 if i == len(learned) - 1 else math.sqrt(2.0 / fan_in)
            m.weight.normal_(0.0, std)
            m.bias.zero_()
    # (parameter, lr multiplier, decay multiplier): Caffe's weights 1/1, biases 2/0
    groups = [(m.weight, 1.0, 1.0) for m in learned] + [(m.bias, 2.0, 0.0) for m in learned]
    return net, groups


def sgd_step(torch, groups, history, lr, momentum, decay, form):
    with torch.no_grad():
        for (p, lr_mult, decay_mult), h in zip(groups, history):
            g = p.grad + (decay * decay_mult) * p
            if form == "caffe":
                h.mul_(momentum).add_(g, alpha=lr * lr_mult)
                p.sub_(h)
            else:
                h.mul_(momentum).add_(g)
                p.sub_(h, alpha=lr * lr_mult)


def validate(torch, net, x, y, batch):
    net.eval()
    loss_sum, correct = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(y), batch):
            out = net(x[i:i + batch])
            loss_sum += torch.nn.functional.cross_entropy(out, y[i:i + batch], reduction="sum").item()
            correct += (out.argmax(1) == y[i:i + batch]).sum().item()
    net.train()
    return loss_sum / len(y), correct / len(y)


def train(args, cfg):
    import torch
    torch.manual_seed(cfg["seed"])
    threads = int(os.environ.get("OMP_NUM_THREADS", "1"))
    torch.set_num_threads(threads)
    train_x, train_y, classes = read_pack(cfg["train"])
    val_x, val_y, _ = read_pack(cfg["val"])
    mean_path = cfg["mean"] or cfg["train"][:-len(".pack")] + ".mean"
    mean = read_mean(mean_path)
    if cfg["mean_kind"] == "channel":
        mean = np.full_like(mean, float(mean.mean()))
    to_tensor = lambda a: torch.from_numpy((a.astype(np.float32) - mean[None]) * np.float32(cfg["scale"]))
    tx, vx = to_tensor(train_x), to_tensor(val_x)
    ty, vy = torch.from_numpy(train_y), torch.from_numpy(val_y)
    net, groups = build_net(torch, cfg["widths"], cfg["dropout"], classes, train_x.shape[2], args.masks)
    hash_drops = [m for m in net.modules() if hasattr(m, "seed")]
    learned = [m for m in net.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    if args.init_from:
        blobs = read_checkpoint(args.init_from)
        with torch.no_grad():
            for name, m in zip(LAYER_NAMES, learned):
                m.weight.copy_(torch.from_numpy(blobs[name + ".weight"]).reshape(m.weight.shape))
                m.bias.copy_(torch.from_numpy(blobs[name + ".bias"]))
    history = [torch.zeros_like(p) for p, _, _ in groups]
    order = torch.Generator().manual_seed(cfg["seed"])
    n, batch, perm, perm_epoch = len(ty), cfg["batch"], None, -1
    os.makedirs(args.output, exist_ok=True)
    rows, loss_window, t0, t_last, it_last = [], [], time.time(), time.time(), 0

    def log(it, phase, loss, top1, lr):
        nonlocal t_last, it_last
        now = time.time()
        rate = (it - it_last) * batch / (now - t_last) if phase == "train" and now > t_last else float("nan")
        if phase == "train":
            t_last, it_last = now, it
        rows.append([it, phase, f"{loss:.6f}", "nan" if top1 is None else f"{top1:.4f}", "nan", f"{lr:g}",
                     f"{rate:.1f}", f"{now - t0:.1f}"])
        if phase == "val":
            print(f"{args.output}: iter {it} val top-1 {top1:.4f} loss {loss:.4f}", flush=True)

    if args.test_initialization:
        vloss, top1 = validate(torch, net, vx, vy, cfg["val_batch"])
        log(0, "val", vloss, top1, cfg["base_lr"])
    for it in range(cfg["max_iter"]):
        lr = cfg["base_lr"] * cfg["gamma"] ** (it // cfg["stepsize"])
        idx = []
        for j in range(batch):
            pos = it * batch + j
            if pos // n != perm_epoch:
                perm_epoch = pos // n
                if args.order == "cltransfer":
                    perm = torch.tensor(cltransfer_perm(cfg["seed"], perm_epoch, n))
                else:
                    perm = torch.randperm(n, generator=order)
            idx.append(perm[pos % n])
        idx = torch.stack(idx)
        for m in hash_drops:
            m.seed = (cfg["seed"] * 1000003 + it) & M64
        for p, _, _ in groups:
            p.grad = None
        loss = torch.nn.functional.cross_entropy(net(tx[idx]), ty[idx])
        loss.backward()
        sgd_step(torch, groups, history, lr, cfg["momentum"], cfg["decay"], cfg["momentum_form"])
        loss_window.append(loss.item())
        done = it + 1
        if done % cfg["display"] == 0:
            log(done, "train", sum(loss_window) / len(loss_window), None, lr)
            loss_window = []
        if done % cfg["test_interval"] == 0 or done == cfg["max_iter"]:
            vloss, top1 = validate(torch, net, vx, vy, cfg["val_batch"])
            log(done, "val", vloss, top1, lr)
    tmp = os.path.join(args.output, f"metrics.csv.tmp.{os.getpid()}")
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")  # as cltransfer writes it
        w.writerow(["iter", "phase", "loss", "top1", "top5", "lr", "images_per_s", "elapsed_s"])
        w.writerows(rows)
    os.replace(tmp, os.path.join(args.output, "metrics.csv"))
    if args.compare:
        blobs = read_checkpoint(args.compare)
        for name, m in zip(LAYER_NAMES, learned):
            for part, p in (("weight", m.weight), ("bias", m.bias)):
                ours = p.detach().numpy().ravel()
                theirs = blobs[f"{name}.{part}"].ravel()
                scale = max(float(np.abs(theirs).max()), 1e-12)
                print(f"{name}.{part}: max |torch − cltransfer| / max |cltransfer| = "
                      f"{float(np.abs(ours - theirs).max()) / scale:.2e}")
    vals = [float(r[3]) for r in rows if r[1] == "val"]
    print(f"{args.output}: score (mean of the last two validations) {sum(vals[-2:]) / len(vals[-2:]):.4f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-c", "--config", required=True)
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("-s", "--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    ap.add_argument("--order", choices=["torch", "cltransfer"], default="torch",
                    help="training batches: torch.randperm per epoch, or cltransfer's own permutations")
    ap.add_argument("--masks", choices=["torch", "cltransfer"], default="torch",
                    help="dropout masks: torch's, or cltransfer's hash of (seed, iteration, element)")
    ap.add_argument("--init-from", metavar="CKPT", help="start from a cltransfer checkpoint's weights")
    ap.add_argument("--compare", metavar="CKPT",
                    help="at the end, print how far each weight blob is from a cltransfer checkpoint's")
    ap.add_argument("--test-initialization", action="store_true", help="also validate before the first iteration")
    args = ap.parse_args()
    try:
        cfg = read_config(args.config, args.set)
        train(args, cfg)
    except (OSError, FormatError, ValueError, configparser.Error) as e:
        print(f"bench/torch/train.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
