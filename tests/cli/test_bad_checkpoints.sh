#!/usr/bin/env bash
# Checkpoints and input files that must be refused on load, each with exit 2
# and a message naming the file and what is wrong: a tensor of another shape
# with the same element count, non-finite values (and --allow-nonfinite
# loading them anyway), a resume position outside the run, architecture
# metadata that does not parse or does not fit the data; eval's loss being
# plain cross-entropy and saying so; key paths after a file name ("f: key",
# not "f.key"); names that are not UTF-8. Validation layer on.
set -u
ASVK=${1:?usage: test_bad_checkpoints.sh path/to/asvk}
here=$(cd "$(dirname "$0")" && pwd)
export ASVK_VALIDATION=1
failures=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

mkdir -p "$tmp/data"
/usr/bin/python3 "$here/make_idx.py" "$tmp/data" 320 64 12 4 || { echo "cannot generate data"; exit 1; }
data=(--data "fashion-mnist:$tmp/data")
# --smoothing 0: the log's test loss is then plain cross-entropy, which eval must report
"$ASVK" train --arch "$here/tiny_arch.json" "${data[@]}" --batch 32 --lr 0.05 --smoothing 0 --epochs 2 --stop-after 1 \
  --quiet --run "$tmp/run" >"$tmp/train.out" 2>&1 || { cat "$tmp/train.out"; echo "cannot train the base run"; exit 1; }
ck=$tmp/run/last.safetensors

# edit SRC DST shape NAME JSON | nan NAME INDEX VALUE | meta KEY VALUE: a copy of a checkpoint with one change
edit() {
  /usr/bin/python3 - "$@" <<'PY'
import json, struct, sys
src, dst, op = sys.argv[1:4]
b = open(src, 'rb').read()
n = struct.unpack('<Q', b[:8])[0]
h, data = json.loads(b[8:8 + n]), bytearray(b[8 + n:])
if op == 'shape':
    h[sys.argv[4]]['shape'] = json.loads(sys.argv[5])
elif op == 'nan':
    at = h[sys.argv[4]]['data_offsets'][0] + 4 * int(sys.argv[5])
    data[at:at + 4] = struct.pack('<f', float(sys.argv[6]))
elif op == 'meta':
    h['__metadata__'][sys.argv[4]] = sys.argv[5]
hj = json.dumps(h, ensure_ascii=False).encode('utf-8', 'surrogateescape')  # raw bytes from argv stay raw
hj += b' ' * (-len(hj) % 8)
open(dst, 'wb').write(struct.pack('<Q', len(hj)) + hj + data)
PY
}
# a copy of the base run whose last.safetensors has one change (edit's arguments after DST)
bad_run() { # bad_run NAME edit-args...
  local name=$1; shift
  rm -rf "$tmp/$name"
  cp -r "$tmp/run" "$tmp/$name" && rm -f "$tmp/$name/.lock"
  edit "$ck" "$tmp/$name/last.safetensors" "$@"
}

# expect CODE [--says TEXT]... -- args: the exit code and every TEXT (fixed strings) in the output
expect() {
  local code=$1 says=(); shift
  while [ "$1" = --says ]; do says+=("$2"); shift 2; done
  [ "$1" = -- ] && shift
  out=$("$ASVK" "$@" 2>&1); rc=$?
  [ "$rc" = "$code" ] || { fail "asvk $* exited $rc, expected $code: $out"; return; }
  for s in "${says[@]}"; do
    grep -Fq -- "$s" <<<"$out" || fail "asvk $* said '$out', which lacks '$s'"
  done
  if grep -Eq 'validation (error|warning):|validation layer reported' <<<"$out"; then fail "asvk $*: validation messages"; fi
}

# ---- shapes: the same element count in another shape is refused, naming both ----
edit "$ck" "$tmp/shape.safetensors" shape layers.0.conv.weight '[8, 1, 3, 3]'
expect 2 --says "shape.safetensors" --says "layers.0.conv.weight" --says "[8, 1, 3, 3]" --says "[8, 3, 3, 1]" -- \
  eval --checkpoint "$tmp/shape.safetensors" "${data[@]}"
bad_run shape_run shape layers.5.weight '[48]'
expect 2 --says "shape_run/last.safetensors" --says "layers.5.weight" --says "[48]" --says "[4, 12]" -- \
  train --resume --run "$tmp/shape_run" --quiet
bad_run opt_shape_run shape optimizer.layers.5.weight.momentum_buffer '[12, 4]'
expect 2 --says "optimizer.layers.5.weight.momentum_buffer" --says "[12, 4]" --says "[4, 12]" -- \
  train --resume --run "$tmp/opt_shape_run" --quiet

# ---- non-finite values: refused unless --allow-nonfinite ----
edit "$ck" "$tmp/nan.safetensors" nan layers.1.dw.weight 5 nan
expect 2 --says "nan.safetensors" --says "layers.1.dw.weight" --says "non-finite" --says "element 5" \
  --says "--allow-nonfinite" -- eval --checkpoint "$tmp/nan.safetensors" "${data[@]}"
expect 0 -- eval --checkpoint "$tmp/nan.safetensors" "${data[@]}" --allow-nonfinite
bad_run inf_run nan layers.1.dw_bn.running_var 0 inf
expect 2 --says "inf_run/last.safetensors" --says "layers.1.dw_bn.running_var" --says "inf" --says "--allow-nonfinite" -- \
  train --resume --run "$tmp/inf_run" --quiet
expect 0 -- train --resume --run "$tmp/inf_run" --quiet --allow-nonfinite
[ "$(grep -c '"epoch"' "$tmp/inf_run/log.jsonl")" = 2 ] || fail "--allow-nonfinite did not resume the run to its end"
grep -q allow "$tmp/inf_run/config.json" && fail "--allow-nonfinite was saved in config.json (it belongs to one invocation)"

# ---- the position: whole numbers within the run ----
bad_run neg_run meta next_epoch -1
expect 2 --says "neg_run/last.safetensors" --says "next_epoch '-1'" -- train --resume --run "$tmp/neg_run" --quiet
bad_run text_run meta next_step one
expect 2 --says "next_step 'one'" -- train --resume --run "$tmp/text_run" --quiet
bad_run step_run meta next_step 1000
expect 2 --says "step_run/last.safetensors" --says "next_step 1000" --says "10 steps" -- \
  train --resume --run "$tmp/step_run" --quiet
bad_run epoch_run meta next_epoch 5
expect 2 --says "epoch_run/last.safetensors" --says "next_epoch 5" --says "--epochs 5" -- \
  train --resume --run "$tmp/epoch_run" --quiet
expect 0 -- train --resume --run "$tmp/epoch_run" --quiet --epochs 5 --stop-after 1 # the fix the message names works

# ---- architecture metadata that does not parse, or does not fit the data ----
edit "$ck" "$tmp/arch_text.safetensors" meta architecture 'garbage'
expect 2 --says "arch_text.safetensors" --says "architecture metadata" --says "not valid JSON" -- \
  eval --checkpoint "$tmp/arch_text.safetensors" "${data[@]}"
edit "$ck" "$tmp/arch_res.safetensors" meta architecture "$(sed 's/"resolution": 12/"resolution": 4/' "$here/tiny_arch.json")"
expect 2 --says "arch_res.safetensors" --says "4x4x1" --says "12x12x1" -- \
  eval --checkpoint "$tmp/arch_res.safetensors" "${data[@]}"

# ---- eval's loss is plain cross-entropy, and says so ----
expect 0 -- eval --checkpoint "$ck" "${data[@]}" --json
/usr/bin/python3 - "$out" "$tmp/run/log.jsonl" <<'PY' || fail "eval's loss is not the plain cross-entropy of the training log"
import json, sys
e = json.loads(sys.argv[1])
last = [json.loads(l) for l in open(sys.argv[2]) if '"epoch"' in l][-1]
assert e["loss_kind"] == "cross_entropy", e
assert abs(e["loss"] - last["test_loss"]) <= 1e-5 * last["test_loss"], (e["loss"], last["test_loss"])
PY
expect 0 --says "cross-entropy" --says "no label smoothing" -- eval --checkpoint "$ck" "${data[@]}"
expect 0 --says "cross-entropy" -- help eval

# ---- a file's top-level keys read "file: key", never "file.key" ----
printf '{"format": "asvk-space/1", "layers": []}' >"$tmp/space.json"
expect 2 --says "space.json: name is missing" -- space show "$tmp/space.json"
printf '{"format": "asvk-latency/1", "batch": 0}' >"$tmp/batch_0.json"
expect 2 --says "batch_0.json: batch must be an integer" -- latency --check 1 --lut "$tmp/batch_0.json"

# ---- names that are not UTF-8 are refused, naming the file and the field ----
printf '{"format": "asvk-arch/1", "name": "t\xffx", "in_channels": 1, "resolution": 8, "num_classes": 4, "layers": [{"type": "conv", "out": 4, "kernel": 3}, {"type": "global_pool"}]}' >"$tmp/latin1.json"
expect 2 --says "latin1.json: name is not valid UTF-8" -- cost "$tmp/latin1.json" --json
printf '{"format": "asvk-arch/1", "name": "t\\u0000x", "in_channels": 1, "resolution": 8, "num_classes": 4, "layers": [{"type": "conv", "out": 4, "kernel": 3}, {"type": "global_pool"}]}' >"$tmp/nul.json"
expect 2 --says "nul.json: line 1, column 37: a string holds \u0000" -- cost "$tmp/nul.json" --json
printf '{"format": "asvk-arch/1", "name": "t\\\\u0000x", "in_channels": 1, "resolution": 8, "num_classes": 4, "layers": [{"type": "conv", "out": 4, "kernel": 3}, {"type": "global_pool"}]}' >"$tmp/backslash.json"
expect 0 --says '"name":' -- cost "$tmp/backslash.json" --json # a backslash, then u0000: no NUL
printf '{"format": "asvk-space/1", "name": "\xc0\x80", "layers": []}' >"$tmp/overlong.json"
expect 2 --says "overlong.json: name is not valid UTF-8" -- space show "$tmp/overlong.json"
edit "$ck" "$tmp/meta_utf8.safetensors" meta architecture "$(sed 's/"name": "tiny"/"name": "t'$'\xff''x"/' "$here/tiny_arch.json")"
expect 2 --says "meta_utf8.safetensors" --says "__metadata__ value of 'architecture' is not valid UTF-8" -- \
  eval --checkpoint "$tmp/meta_utf8.safetensors" "${data[@]}"

if [ "$failures" != 0 ]; then echo "$failures failure(s)"; exit 1; fi
echo "all bad-checkpoint cases passed"
