#!/usr/bin/env bash
# Bad data on the command line: every case is the user's input being wrong,
# so it must exit 2 with one sentence that names the file (or the --data
# value) at fault — never exit 1, a crash or a sanitizer report. Covers a
# label past Fashion-MNIST's 10 classes (once a use-after-free), missing
# files and folders, a test split or a dataset of another image size than
# the network takes (once a buffer overrun at the first evaluation), bad
# sizes in folder:DIR:RES:C, and images that stb_image cannot decode.
# Data is generated (make_idx.py, PNGs written here). Validation layer on.
set -u
ASVK=${1:?usage: test_bad_data.sh path/to/asvk}
here=$(cd "$(dirname "$0")" && pwd)
export ASVK_VALIDATION=1
failures=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect CODE FILE REGEX -- command...: exit code CODE, the output names FILE
# (a fixed string) and matches REGEX, no validation or sanitizer message, at
# most one 'asvk:' error line.
expect() {
  local code=$1 file=$2 pattern=$3; shift 4
  local out rc
  out=$(timeout 300 "$@" 2>&1); rc=$?
  if [ "$rc" != "$code" ]; then fail "'$*' exited $rc, expected $code"; echo "$out" | tail -20; return; fi
  if ! grep -Fq -- "$file" <<<"$out"; then fail "'$*' does not name $file"; echo "$out" | tail -20; return; fi
  if ! grep -Eq -- "$pattern" <<<"$out"; then fail "'$*' output lacks /$pattern/"; echo "$out" | tail -20; return; fi
  if grep -Eq 'validation (error|warning):|validation layer reported|AddressSanitizer|LeakSanitizer|runtime error:' <<<"$out"; then
    fail "'$*' produced a validation or sanitizer message"; echo "$out" | tail -40; return; fi
  if [ "$(grep -c '^asvk' <<<"$out")" -gt 1 ]; then fail "'$*' printed more than one error line"; echo "$out"; return; fi
  echo "ok: $*"
}

gen() { /usr/bin/python3 "$here/make_idx.py" "$@" || { echo "cannot generate data"; exit 1; }; }
mkdir -p "$tmp/d12" "$tmp/d16" "$tmp/d28" "$tmp/train-only"
gen "$tmp/d12" 96 32 12 4
gen "$tmp/d16" 96 32 16 4
gen "$tmp/d28" 64 16 28 4
cp "$tmp/d12"/train-* "$tmp/train-only/"
# An image folder of 12x12 gray PNGs in two classes, written with zlib only;
# 32 images, so that one batch of 32 trains and a test split of another
# size is reached (and once overran the evaluation's buffers).
/usr/bin/python3 - "$tmp/img" <<'PY' || { echo "cannot write images"; exit 1; }
import os, struct, sys, zlib
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
for k, cls in enumerate(("a", "b")):
    os.makedirs(f"{sys.argv[1]}/{cls}")
    for i in range(16):
        rows = b"".join(b"\0" + bytes((x * 20 + y * 7 + 60 * k + i) % 256 for x in range(12)) for y in range(12))
        png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 12, 12, 8, 0, 0, 0, 0)) +
               chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
        open(f"{sys.argv[1]}/{cls}/{i}.png", "wb").write(png)
PY
tiny=(--arch "$here/tiny_arch.json" --batch 32 --epochs 1 --quiet)

# 1. A label of 255 (byte 8 of the labels file, the first label) in a
#    Fashion-MNIST folder: exit 2 naming the labels file, and no read of the
#    freed dataset (the sanitizer build reports one as a heap-use-after-free).
mkdir -p "$tmp/label255"
cp "$tmp/d28"/* "$tmp/label255/"
/usr/bin/python3 - "$tmp/label255/train-labels-idx1-ubyte.gz" <<'PY' || fail "cannot patch the labels file"
import gzip, sys
b = bytearray(gzip.open(sys.argv[1]).read())
b[8] = 255
gzip.open(sys.argv[1], "wb").write(bytes(b))
PY
expect 2 "$tmp/label255/train-labels-idx1-ubyte.gz" "labels up to 255.*10 classes" -- \
  "$ASVK" train --arch fmnist --data "fashion-mnist:$tmp/label255" --run "$tmp/r-label"

# 2. Missing files and folders the user named: exit 2 (not 1), naming them.
expect 2 "$tmp/nope" "no such folder" -- "$ASVK" train "${tiny[@]}" --data "fashion-mnist:$tmp/nope" --run "$tmp/r-m1"
expect 2 "$tmp/train-only/t10k-images-idx3-ubyte" "no such file" -- \
  "$ASVK" train "${tiny[@]}" --data "fashion-mnist:$tmp/train-only" --run "$tmp/r-m2"
expect 2 "$tmp/nope" "no such folder" -- "$ASVK" train "${tiny[@]}" --data "cifar10:$tmp/nope" --run "$tmp/r-m3"
expect 2 "$tmp/nope" "no such folder" -- "$ASVK" train "${tiny[@]}" --data "folder:$tmp/nope" --run "$tmp/r-m4"
expect 2 "$tmp/nope" "no such folder" -- \
  "$ASVK" train "${tiny[@]}" --data "folder:$tmp/img" --test-data "folder:$tmp/nope" --run "$tmp/r-m5"

# 3. A test split whose images differ from the training split's and the
#    network's (12x12x1): refused before training, naming the test file.
expect 2 "$tmp/d16/t10k-images-idx3-ubyte.gz" "test images are 16x16x1.*takes 12x12x1" -- \
  "$ASVK" train "${tiny[@]}" --data "fashion-mnist:$tmp/d12" --test-data "fashion-mnist:$tmp/d16" --run "$tmp/r-s1"
expect 2 "$tmp/img" "test images are 16x16x1.*takes 12x12x1" -- \
  "$ASVK" train "${tiny[@]}" --data "folder:$tmp/img" --test-data "folder:$tmp/img:16" --run "$tmp/r-s2"
# ... and in eval, where only the network's input is there to compare with.
if "$ASVK" train "${tiny[@]}" --data "fashion-mnist:$tmp/d12" --run "$tmp/r-ok" >"$tmp/ok.log" 2>&1; then
  expect 2 "$tmp/d16/t10k-images-idx3-ubyte.gz" "test images are 16x16x1.*takes 12x12x1" -- \
    "$ASVK" eval --checkpoint "$tmp/r-ok/model.safetensors" --data "fashion-mnist:$tmp/d16"
  expect 2 "$tmp/img" "test images are 12x12x3.*takes 12x12x1" -- \
    "$ASVK" eval --checkpoint "$tmp/r-ok/model.safetensors" --test-data "folder:$tmp/img:12:3"
else
  fail "training the checkpoint for the eval cases failed"; cat "$tmp/ok.log"
fi

# 4. Sizes in folder:DIR:RES:C: negative, zero, huge (one that wraps to 28 in
#    32 bits), non-numeric, signed, trailing garbage, empty; channels other
#    than 1 or 3. The message quotes the part at fault and names the folder.
for bad in -5 0 99999999999 4294967324 abc +12 28px ""; do
  expect 2 "folder:$tmp/img:$bad: the resolution '$bad'" "is not a whole number from 1 to 16384" -- \
    "$ASVK" train "${tiny[@]}" --data "folder:$tmp/img:$bad" --run "$tmp/r-res"
done
for bad in 2 0 -1 3x 4294967297 1:x; do
  expect 2 "folder:$tmp/img:12:$bad: the channel count '$bad'" "is not 1 or 3" -- \
    "$ASVK" train "${tiny[@]}" --data "folder:$tmp/img:12:$bad" --run "$tmp/r-ch"
done
expect 2 "--test-data folder:$tmp/img:-5: the resolution '-5'" "is not a whole number" -- \
  "$ASVK" train "${tiny[@]}" --data "folder:$tmp/img" --test-data "folder:$tmp/img:-5" --run "$tmp/r-res"

# 5. Images stb_image cannot decode: the path and stb's reason.
printf '\x89PNG\r\n\x1a\n garbage garbage' >"$tmp/img/a/broken.png"
expect 2 "$tmp/img/a/broken.png" "cannot read the image \(Corrupt PNG\)" -- \
  "$ASVK" train "${tiny[@]}" --data "folder:$tmp/img" --run "$tmp/r-i1"
rm "$tmp/img/a/broken.png"
head -c 60 "$tmp/img/b/0.png" >"$tmp/img/b/cut.png"
expect 2 "$tmp/img/b/cut.png" "cannot read the image \(Corrupt PNG\)" -- \
  "$ASVK" train "${tiny[@]}" --data "folder:$tmp/img" --run "$tmp/r-i2"
rm "$tmp/img/b/cut.png"
printf '\xff\xd8\xff\xe0\x00\x10JFIF\x00' >"$tmp/img/b/cut.jpg"
expect 2 "$tmp/img/b/cut.jpg" "cannot read the image \(Corrupt JPEG\)" -- \
  "$ASVK" train "${tiny[@]}" --data "folder:$tmp/img" --run "$tmp/r-i3"
rm "$tmp/img/b/cut.jpg"
echo "not an image" >"$tmp/img/b/text.jpg"
expect 2 "$tmp/img/b/text.jpg" "cannot read the image \(Image not of any known type" -- \
  "$ASVK" train "${tiny[@]}" --data "folder:$tmp/img" --run "$tmp/r-i4"
rm "$tmp/img/b/text.jpg"

if [ "$failures" != 0 ]; then echo "$failures failure(s)"; exit 1; fi
echo "all bad-data cases passed"
