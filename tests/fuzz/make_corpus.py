#!/usr/bin/python3
"""Writes the generated seeds of the binary-input fuzz targets (README.md here):
tests/fuzz/corpus/{idx,cifar,image,safetensors}/gen-*. Small valid files in
each format and layout the harness takes (flags byte, length-prefixed pieces),
so the fuzzer starts past the headers. Deterministic; plain Python 3 (zlib,
gzip, struct), no numpy. Usage: make_corpus.py [CORPUS_DIR]"""
import gzip
import json
import os
import re
import struct
import sys
import zlib

here = os.path.dirname(os.path.abspath(__file__))
corpus = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "corpus")


def put(target, name, data):
    d = os.path.join(corpus, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "gen-" + name), "wb") as f:
        f.write(data)


def piece(b):  # a length-prefixed piece of a split input (tests/fuzz/common.h)
    return struct.pack("<H", len(b)) + b


def gz(b):
    return gzip.compress(b, mtime=0)


def pixels(n):
    return bytes((i * 37 + i // 7) & 255 for i in range(n))


# ---- IDX: flags (1: images *.gz, 2: labels *.gz, 4: t10k), labels piece, images ----
def idx_images(n, h, w, c=None):
    if c is None:
        return struct.pack(">IIII", 0x803, n, h, w) + pixels(n * h * w)
    return struct.pack(">IIIII", 0x804, n, h, w, c) + pixels(n * h * w * c)


def idx_labels(labels):
    return struct.pack(">II", 0x801, len(labels)) + bytes(labels)


put("idx", "plain", b"\x00" + piece(idx_labels([0, 3, 9])) + idx_images(3, 4, 5))
put("idx", "gzip-named", b"\x03" + piece(gz(idx_labels([1, 2]))) + gz(idx_images(2, 3, 3)))
put("idx", "gzip-content", b"\x04" + piece(gz(idx_labels([7]))) + idx_images(1, 2, 2, 3))
put("idx", "rgb", b"\x01" + piece(idx_labels([0, 1])) + gz(idx_images(2, 2, 3, 3)))

# ---- CIFAR-10: flags (1: test part, 2: sub-folder, 4: gap), meta, batch 1, batch 2 ----
def cifar_records(labels):
    return b"".join(bytes([k]) + pixels(3072) for k in labels)


names = "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n".encode()
put("cifar", "train", b"\x00" + piece(names) + piece(cifar_records([0, 9])) + b"")
put("cifar", "test-gzip", b"\x01" + piece(b"") + piece(gz(cifar_records([3]))) + b"")
put("cifar", "two-files", b"\x02" + piece(b"a\n\n  b  \nc\nd\ne\nf\ng\nh\ni\nj\n") + piece(cifar_records([1]))
    + cifar_records([2]))
put("cifar", "gap", b"\x04" + piece(b"") + piece(cifar_records([4])) + cifar_records([5]))

# ---- images: 3 header bytes (channels, height, width; extension), then the file ----
def png(w, h, color, depth=8, interlace=0):
    ch = {0: 1, 2: 3, 4: 2, 6: 4}[color]
    raw = b"".join(b"\x00" + pixels(w * ch * depth // 8 + 0)[: w * ch * depth // 8] for _ in range(h))

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color, 0, 0, interlace))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def bmp(w, h):
    row = (w * 3 + 3) & ~3
    data = b"".join(pixels(w * 3) + b"\x00" * (row - w * 3) for _ in range(h))
    return (b"BM" + struct.pack("<IHHI", 54 + len(data), 0, 0, 54)
            + struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, len(data), 2835, 2835, 0, 0) + data)


def tga(w, h):
    return struct.pack("<BBBHHBHHHHBB", 0, 0, 2, 0, 0, 0, 0, 0, w, h, 24, 0) + pixels(w * h * 3)


def gif_1x1():
    return bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c000000000100010000020144003b")


def hdr(w, h):
    return b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y %d +X %d\n" % (h, w) + bytes([128, 64, 32, 129]) * (w * h)


def psd(w, h):
    head = b"8BPS" + struct.pack(">H6xHIIHH", 1, 3, h, w, 8, 3)
    return head + struct.pack(">III", 0, 0, 0) + struct.pack(">H", 0) + pixels(w * h * 3)


def jpegs():
    text = open(os.path.join(here, "..", "data", "jpeg_fixtures.h")).read()
    for name, body in re.findall(r"static const uint8_t (\w+)\[\d+\] = \{([^}]*)\}", text):
        yield name, bytes(int(x, 16) for x in re.findall(r"0x[0-9a-f]{2}", body))


def image(name, channels3, h, w, ext, data):
    exts = [".png", ".jpg", ".bmp", ".gif", ".tga", ".psd", ".pnm", ".pic", ".hdr"]
    put("image", name, bytes([(1 if channels3 else 0) | exts.index(ext) << 1, h - 1, w - 1]) + data)


image("png-gray", False, 4, 4, ".png", png(4, 4, 0))
image("png-rgba", True, 6, 3, ".png", png(5, 3, 6))
image("png-interlaced", True, 8, 8, ".png", png(7, 5, 2, interlace=1))
image("png-16bit", False, 3, 3, ".png", png(3, 3, 0, depth=16))
image("bmp", True, 2, 5, ".bmp", bmp(3, 2))
image("tga", False, 4, 4, ".tga", tga(2, 3))
image("gif", True, 1, 1, ".gif", gif_1x1())
image("pgm", False, 3, 4, ".pnm", b"P5\n4 3\n255\n" + pixels(12))
image("ppm", True, 2, 2, ".pnm", b"P6 2 2 255\n" + pixels(12))
image("hdr", True, 2, 3, ".hdr", hdr(3, 2))
image("psd", True, 2, 2, ".psd", psd(2, 2))
for name, data in jpegs():
    image(name, name.startswith("jpeg_rgb"), 8, 8, ".jpg", data)

# ---- safetensors: header length, JSON header, F32 data ----
def safetensors(tensors, meta=None, pad=0):
    header, data = {}, b""
    for name, shape, values in tensors:
        blob = struct.pack("<%df" % len(values), *values)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [len(data), len(data) + len(blob)]}
        data += blob
    if meta is not None:
        header["__metadata__"] = meta
    text = json.dumps(header).encode() + b" " * pad
    return struct.pack("<Q", len(text)) + text + data


put("safetensors", "one", safetensors([("w", [2, 3], [0.5 * i for i in range(6)])]))
put("safetensors", "meta", safetensors([("stem.weight", [2, 1, 1, 2], [1, 2, 3, 4]), ("stem.bn.bias", [2], [0, -1]),
                                        ("scalar", [], [7])], {"format": "asvk", "epoch": "3"}))
put("safetensors", "unaligned", safetensors([("a", [1], [1.0]), ("b", [0], [])], pad=3))
put("safetensors", "empty", safetensors([], {}))
