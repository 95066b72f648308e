#!/usr/bin/python3
"""nan_tensor.py FILE TENSOR INDEX: writes a NaN over element INDEX of TENSOR
(float32) of a safetensors file, in place: a damaged or diverged file for the
tests of what loaders refuse."""
import json
import struct
import sys

path, name, index = sys.argv[1], sys.argv[2], int(sys.argv[3])
b = bytearray(open(path, "rb").read())
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
t = h[name]
assert t["dtype"] == "F32", t
at = 8 + n + t["data_offsets"][0] + 4 * index
assert at + 4 <= 8 + n + t["data_offsets"][1], "index outside the tensor"
b[at:at + 4] = struct.pack("<f", float("nan"))
open(path, "wb").write(bytes(b))
