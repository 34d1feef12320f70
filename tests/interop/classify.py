#!/usr/bin/env python3
"""classify.py — the README's ONNX example: classify JPEGs with a net cltransfer exported, in ONNX
Runtime alone. Each image is prepared as cltransfer's packs and validation reader prepare it: warped
to 256x256 (bilinear, ignoring aspect), centre crop of the model's input side, RGB, 0..255, planar;
the model subtracts the mean itself.

usage: classify.py NET.onnx CLASSES.txt IMAGE.jpg...   (CLASSES.txt: the pack's NAME.classes.txt)
"""
import sys

import numpy as np
import onnxruntime as ort
from PIL import Image


def main():
    model, classes_txt, images = sys.argv[1], sys.argv[2], sys.argv[3:]
    names = [line.rstrip("\n").split("\t")[2] for line in open(classes_txt) if not line.startswith("#")]
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    side = session.get_inputs()[0].shape[2]  # 227 for CaffeNet
    for path in images:
        img = np.asarray(Image.open(path).convert("RGB").resize((256, 256), Image.BILINEAR), np.float32)
        y0 = x0 = (256 - side) // 2
        crop = img[y0:y0 + side, x0:x0 + side].transpose(2, 0, 1)[None]  # [1][3][side][side]
        prob = session.run(["prob"], {"image": np.ascontiguousarray(crop)})[0][0]
        best = int(prob.argmax())
        print("%s\t%s\t%.3f" % (path, names[best], prob[best]))


if __name__ == "__main__":
    main()
