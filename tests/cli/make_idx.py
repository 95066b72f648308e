#!/usr/bin/python3
"""Writes a small, learnable dataset in Fashion-MNIST's file layout:
DIR/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz with N images of SxS
pixels in C <= 4 classes, each a texture a global-pooling CNN can tell apart:
horizontal stripes, vertical stripes, a checkerboard, a flat field; on noise."""
import gzip
import struct
import sys

import numpy as np


def write(dirname, prefix, n, size, classes, rng):
    labels = rng.integers(0, classes, n).astype(np.uint8)
    images = rng.integers(0, 60, (n, size, size)).astype(np.uint8)
    yy, xx = np.mgrid[0:size, 0:size]
    patterns = [(yy % 2) * 160, (xx % 2) * 160, ((yy + xx) % 2) * 160, np.full((size, size), 80)]
    for i, k in enumerate(labels):
        images[i] += patterns[k].astype(np.uint8)
    with gzip.open(f"{dirname}/{prefix}-images-idx3-ubyte.gz", "wb") as f:
        f.write(struct.pack(">IIII", 0x803, n, size, size) + images.tobytes())
    with gzip.open(f"{dirname}/{prefix}-labels-idx1-ubyte.gz", "wb") as f:
        f.write(struct.pack(">II", 0x801, n) + labels.tobytes())


if __name__ == "__main__":
    d, ntrain, ntest, size, classes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    rng = np.random.default_rng(5)
    write(d, "train", ntrain, size, classes, rng)
    write(d, "t10k", ntest, size, classes, rng)
