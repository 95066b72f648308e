#!/usr/bin/env bash
# asvk evolve end to end on a small generated dataset: the run folder's files
# and their contents, that the supernet learned, that the learned space's best
# network trains, that a run killed with SIGKILL and resumed ends with the same
# space as an uninterrupted run with the same seed (and so does a time-sliced
# one), `asvk space show` on what it wrote, and bad input. Validation layer on.
set -u
ASVK=${1:?usage: test_evolve.sh path/to/asvk}
here=$(cd "$(dirname "$0")" && pwd)
export ASVK_VALIDATION=1
failures=0
tmp=$(mktemp -d)
trap 'kill -9 $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

mkdir -p "$tmp/data"
/usr/bin/python3 "$here/make_idx.py" "$tmp/data" 720 128 12 4 || { echo "cannot generate data"; exit 1; }
# 2 searchable layers (the tiny reference's mbconvs, expand 2: admitted into the ratio set),
# 4 cells each, K = 2, 4 generations of 6 weight+alpha step pairs
common=(--reference "$here/tiny_arch.json" --data "fashion-mnist:$tmp/data" --generations 4 --population 4 --k 2
        --steps 6 --batch 16 --val 160 --lr 0.05 --seed 5 --quiet)

run() { # run NAME args...: runs asvk, fails the test on a non-zero exit or a validation message
  local name=$1; shift
  if ! "$ASVK" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"; then fail "$name: asvk $* exited non-zero"; cat "$tmp/$name.err"; return 1; fi
  if grep -Eq 'validation (error|warning):|validation layer reported' "$tmp/$name.err"; then fail "$name: validation messages"; cat "$tmp/$name.err"; fi
  return 0
}

run straight evolve "${common[@]}" --run "$tmp/r1"
# (search_space.config only when every layer keeps a cell the published format holds: r4 below)
for f in config.json history.jsonl state.json bank-0004.safetensors space.json best.json; do
  [ -s "$tmp/r1/$f" ] || fail "run folder lacks $f"
done
ls "$tmp/r1"/bank-*.safetensors | grep -qv bank-0004 && fail "older banks were not removed"
/usr/bin/python3 - "$tmp/r1" <<'PY' || fail "the run folder's contents are wrong"
import json, sys
d = sys.argv[1]
hist = [json.loads(l) for l in open(f"{d}/history.jsonl")]
assert [h["generation"] for h in hist] == [1, 2, 3, 4], hist
# the supernet learns: its loss falls and it beats chance (4 classes) on held-out batches
assert hist[-1]["loss"] < hist[0]["loss"], [h["loss"] for h in hist]
assert hist[-1]["val_accuracy"] > 0.4, hist[-1]
for h in hist:
    assert len(h["layers"]) == 2
    for l in h["layers"]:
        shares = [s["share"] for s in l["sampled"]]
        assert len(shares) == 2 and abs(sum(shares) - 1) < 1e-9, shares
sp = json.load(open(f"{d}/space.json"))
assert sp["format"] == "asvk-space/1" and sp["generations"] == 4, sp.get("generations")
assert [l["out"] for l in sp["layers"]] == [12, 12] and [l["stride"] for l in sp["layers"]] == [2, 1]
for l in sp["layers"]:
    cells = l["cells"]
    assert len(cells) == 2, cells
    key = [(c["sampled"] > 0, c["fitness"]) for c in cells]
    assert key == sorted(key, reverse=True), key            # top-K by fitness, trained cells first
    assert len({c["genome"]["hash"] for c in cells}) == 2   # no redundant cells
    assert all(c["madds"] > 0 and c["params"] > 0 for c in cells)
st = json.load(open(f"{d}/state.json"))
assert st["generation"] == 4 and st["bank"] == "bank-0004.safetensors"
for pop in st["layers"]:
    hashes = [m["hash"] for m in pop]
    assert len(hashes) == len(set(hashes)), "a population holds a redundant cell"
    assert sum(m["anchor"] for m in pop) == 1, "the reference cell is not kept as an anchor"
    assert len(pop) >= 4
cfg = json.load(open(f"{d}/config.json"))
assert cfg["generations"] == 4 and cfg["k"] == 2 and cfg["seed"] == 5, cfg
import os
if os.path.exists(f"{d}/search_space.config"):
    mc = json.load(open(f"{d}/search_space.config"))
    assert mc["name"] == "SuperProxylessNASNets" and len(mc["blocks"]) == 2 and all(mc["blocks"]), mc["blocks"]
PY

# --fitness perturb: recorded in config.json, each generation's scores (the layer's loss-rise shares)
# in history.jsonl beside the alpha shares; the default run records alpha and no scores
run perturb evolve "${common[@]}" --generations 2 --fitness perturb --run "$tmp/rp"
/usr/bin/python3 - "$tmp/rp" "$tmp/r1" <<'PY' || fail "the --fitness perturb run's files are wrong"
import json, sys
p, d = sys.argv[1], sys.argv[2]
assert json.load(open(f"{p}/config.json"))["fitness"] == "perturb"
assert json.load(open(f"{d}/config.json"))["fitness"] == "alpha"
hist = [json.loads(l) for l in open(f"{p}/history.jsonl")]
assert len(hist) == 2
for h in hist:
    for l in h["layers"]:
        scores = [s["score"] for s in l["sampled"]]
        assert len(scores) == 2 and abs(sum(scores) - 1) < 1e-9 and min(scores) >= 0, scores
assert all("score" not in s for h in open(f"{d}/history.jsonl") for l in json.loads(h)["layers"] for s in l["sampled"])
PY
"$ASVK" evolve "${common[@]}" --fitness share --run "$tmp/rbad" >"$tmp/rbad.out" 2>&1 && fail "--fitness share was accepted"
grep -q -- "--fitness must be alpha or perturb" "$tmp/rbad.out" || fail "no clear message for a bad --fitness"

# the space's best network is an architecture asvk trains and counts
run cost cost "$tmp/r1/best.json" --json
run train_best train --arch "$tmp/r1/best.json" --data "fashion-mnist:$tmp/data" --epochs 1 --batch 32 --run "$tmp/t1" --quiet
run show space show "$tmp/r1/space.json"
grep -q "layer 1" "$tmp/show.out" && grep -q "fitness" "$tmp/show.out" || { fail "space show printed no layers"; cat "$tmp/show.out"; }
# the supernets with fp16 activations: the first generation samples the same
# cells (same seed) and its loss tracks fp32's within 5%
run fp16 evolve "${common[@]}" --stop-after 1 --fp16 --run "$tmp/r16"
/usr/bin/python3 - "$tmp/r1/history.jsonl" "$tmp/r16/history.jsonl" "$tmp/r16/config.json" <<'PY' || fail "evolve --fp16 does not track fp32"
import json, sys
a = json.loads(open(sys.argv[1]).readline()); b = json.loads(open(sys.argv[2]).readline())
assert json.load(open(sys.argv[3]))["fp16"] is True
assert [s["hash"] for l in a["layers"] for s in l["sampled"]] == \
       [s["hash"] for l in b["layers"] for s in l["sampled"]]
assert abs(a["loss"] - b["loss"]) <= 0.05 * a["loss"], (a["loss"], b["loss"])
PY

# identity and depthwise edges only, no anchor (expand 2 is not in the format): search_space.config
# holds the space whole, and reads back as it
run motif evolve "${common[@]}" --ops motif --no-anchors --generations 1 --run "$tmp/r4"
run show_motif space show "$tmp/r4/search_space.config" --reference "$here/tiny_arch.json" --json
/usr/bin/python3 - "$tmp/r4/space.json" "$tmp/show_motif.out" <<'PY' || fail "search_space.config does not read back as the space"
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
for la, lb in zip(a["layers"], b["layers"]):
    assert [c["genome"]["hash"] for c in la["cells"]] == [c["genome"]["hash"] for c in lb["cells"]], (la, lb)
    assert [c["madds"] for c in la["cells"]] == [c["madds"] for c in lb["cells"]]
PY
ref=${ASVK_REFERENCE_DIR:-$(cd "$here/../../../shared/reference" 2>/dev/null && pwd)}
if [ -n "$ref" ] && [ -f "$ref/autospace/search_space.config" ]; then
  run show_published space show "$ref/autospace/search_space.config"
  grep -q "11 layers, 99 cells" "$tmp/show_published.out" || fail "the published space does not read as 11 x 9 cells"
else
  echo "skip: the published space is not under '$ref' (set ASVK_REFERENCE_DIR)"
fi

# SIGKILL after the first generation is saved, then --resume: the same space
"$ASVK" evolve "${common[@]}" --run "$tmp/r2" >"$tmp/r2.out" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  grep -q '"generation":	[1-9]' "$tmp/r2/state.json" 2>/dev/null && break
  kill -0 $pid 2>/dev/null || break
  sleep 0.1
done
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
killed_at=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["generation"])' "$tmp/r2/state.json")
[ "$killed_at" -ge 1 ] && [ "$killed_at" -lt 4 ] || fail "the kill did not land between generations 1 and 4 (state at $killed_at)"
run resumed evolve --resume --run "$tmp/r2" --quiet
cmp -s "$tmp/r1/space.json" "$tmp/r2/space.json" || { fail "the killed and resumed run learned another space"; diff "$tmp/r1/space.json" "$tmp/r2/space.json" | head -20; }
strip() { /usr/bin/python3 -c 'import json,sys
for l in open(sys.argv[1]):
    h = json.loads(l); h.pop("seconds"); print(json.dumps(h, sort_keys=True))' "$1"; }
cmp -s <(strip "$tmp/r1/history.jsonl") <(strip "$tmp/r2/history.jsonl") || fail "the resumed run's history differs"

# time-sliced: one generation per invocation
run slice1 evolve "${common[@]}" --run "$tmp/r3" --stop-after 1
[ -e "$tmp/r3/best.json" ] || fail "a sliced run wrote no space after its first generation"
for i in 2 3 4; do run slice$i evolve --resume --run "$tmp/r3" --stop-after 1 --quiet; done
cmp -s "$tmp/r1/space.json" "$tmp/r3/space.json" || fail "the time-sliced run learned another space"

# block supervision: the reference is trained first, frozen, and supervises every layer;
# a time-sliced distill run ends where a straight one does
dist=(--reference-mode distill --reference-epochs 2 --generations 3)
run distill evolve "${common[@]}" "${dist[@]}" --run "$tmp/d1"
run distill_slice evolve "${common[@]}" "${dist[@]}" --run "$tmp/d2" --stop-after 1
run distill_resume evolve --resume --run "$tmp/d2" --quiet
cmp -s "$tmp/d1/space.json" "$tmp/d2/space.json" || fail "the sliced distill run learned another space"
/usr/bin/python3 - "$tmp/d1" "$here/../../tools" <<'PY' || fail "block supervision's files are wrong"
import json, sys
d = sys.argv[1]
sys.path.insert(0, sys.argv[2])
import torch_arch as ta
hist = [json.loads(l) for l in open(f"{d}/history.jsonl")]
assert len(hist) == 3 and all(h["accuracy"] is None and h["loss"] > 0 and h["val_loss"] > 0 for h in hist), hist
ref = json.load(open(f"{d}/reference.json"))
assert ref["name"] == "tiny-reference" and [l["type"] for l in ref["layers"]][:3] == ["conv", "cell", "cell"]
teacher, _ = ta.read_safetensors(f"{d}/reference.safetensors")
bank, _ = ta.read_safetensors(f"{d}/bank-0003.safetensors")
frozen = [k for k in bank if k.startswith("teacher.")]
assert frozen and all((bank[k].flatten() == teacher[k[8:]].flatten()).all() for k in frozen), "the teacher changed"
assert any(k.startswith("cells.") for k in bank)
assert not any(k.startswith("stem.") or k.startswith("head.") for k in bank), "distill trains no stem or head"
PY
expect_resume_teacher=$(grep -c "training the reference" "$tmp/distill_resume.err")
[ "$expect_resume_teacher" = 0 ] || fail "the resumed distill run trained its reference again"

# a latency-priced run: the tiny skeleton's table, cells cost their predicted ms, every member within its
# layer's share of the budget, the expected latency in the history; a time-sliced run ends the same
run lut latency --skeleton "$here/tiny_arch.json" --out "$tmp/lut.json" --repeat 5 --calibrate 4 --quiet
# (the default budget, 1.5x the reference's predicted latency: a fixed one may not fit a loaded machine's table)
run lat1 evolve "${common[@]}" --generations 3 --lut "$tmp/lut.json" --run "$tmp/l1"
run lat2 evolve "${common[@]}" --generations 3 --lut "$tmp/lut.json" --run "$tmp/l2" --stop-after 1
for i in 1 2; do run lat2r$i evolve --resume --run "$tmp/l2" --stop-after 1 --quiet; done
cmp -s "$tmp/l1/space.json" "$tmp/l2/space.json" || fail "a time-sliced latency-priced run ended with another space"
/usr/bin/python3 - "$tmp/l1" <<'PY' || fail "the latency-priced run is wrong"
import json, sys
d = sys.argv[1]
cfg = json.load(open(f"{d}/config.json"))
b = float(cfg["budget-latency"])
assert b > 0 and cfg["lut"].endswith("lut.json") and cfg["budget-madds"] == "", cfg
hist = [json.loads(l) for l in open(f"{d}/history.jsonl")]
assert len(hist) == 3 and all(0 < h["expected_latency_ms"] < b for h in hist), (b, hist)
st = json.load(open(f"{d}/state.json"))
ms = [m["latency_ms"] for pop in st["layers"] for m in pop]
assert all(0 < x < b for x in ms) and len(set(ms)) > 1, (b, ms)
PY
expect_lat() { # the bad latency budgets (expect is defined below for the rest)
  local re=$1; shift
  out=$("$ASVK" evolve "${common[@]}" "$@" 2>&1); rc=$?
  [ "$rc" = 2 ] && grep -Eq -- "$re" <<<"$out" || fail "asvk evolve $* gave $rc: '$out', expected 2 and /$re/"
}
expect_lat "--budget-latency needs --lut" --budget-latency 1 --run "$tmp/badl1"
expect_lat "give --budget-latency, not --budget-madds" --lut "$tmp/lut.json" --budget-madds 1M --run "$tmp/badl2"
expect_lat "below the cheapest cells. [0-9.]+ ms; raise --budget-latency|does not cover the skeleton's stem and head \([0-9.]+ ms\)" \
  --lut "$tmp/lut.json" --budget-latency 0.01 --run "$tmp/badl3"

# --generations 0 --no-anchors: the baseline space, K of the initial random cells per layer, none the
# reference's, no history (nothing was trained), and the same space for the same seed
run random0 evolve "${common[@]}" --generations 0 --no-anchors --run "$tmp/rand0"
run random0b evolve "${common[@]}" --generations 0 --no-anchors --run "$tmp/rand0b"
cmp -s "$tmp/rand0/space.json" "$tmp/rand0b/space.json" || fail "the random space differs between two runs of one seed"
/usr/bin/python3 - "$tmp/rand0" "$tmp/r1" <<'PY' || fail "the --generations 0 space is wrong"
import json, os, sys
d, learned = sys.argv[1], sys.argv[2]
s = json.load(open(f"{d}/space.json"))
ref = {m["hash"] for pop in json.load(open(f"{learned}/state.json"))["layers"] for m in pop if m["anchor"]}
cells = [c for l in s["layers"] for c in l["cells"]]
assert len(s["layers"]) == 2 and all(len(l["cells"]) == 2 for l in s["layers"]), s
assert ref and not any(c["anchor"] or c["genome"]["hash"] in ref for c in cells), (ref, cells)
st = json.load(open(f"{d}/state.json"))
assert st["generation"] == 0 and not any(m["anchor"] for pop in st["layers"] for m in pop), st
assert not os.path.exists(f"{d}/history.jsonl") or not open(f"{d}/history.jsonl").read().strip()
PY

# bad input: one clear sentence, the right exit code
expect() { # expect CODE REGEX args...
  local code=$1 re=$2; shift 2
  out=$("$ASVK" "$@" 2>&1); rc=$?
  [ "$rc" = "$code" ] || { fail "asvk $* exited $rc, expected $code: $out"; return; }
  grep -Eq -- "$re" <<<"$out" || fail "asvk $* said '$out', expected /$re/"
}
expect 2 "already holds a run" evolve "${common[@]}" --run "$tmp/r1"
expect 2 "--resume needs --run" evolve "${common[@]}" --resume
expect 2 "holds no evolve run" evolve --resume --run "$tmp/nothing"
expect 2 "population of 2 cannot supply K = 3" evolve "${common[@]}" --population 2 --k 3 --run "$tmp/bad1"
expect 2 "does not cover the skeleton's stem and head" evolve "${common[@]}" --budget-madds 1k --run "$tmp/bad2"
expect 2 "--ops must be" evolve "${common[@]}" --ops dw9x9 --run "$tmp/bad3"
expect 2 "--reference-mode must be anchor or distill" evolve "${common[@]}" --reference-mode teach --run "$tmp/bad6"
printf 'garbage' >"$tmp/notckpt.safetensors"
expect 2 "notckpt.safetensors" evolve "${common[@]}" --reference-mode distill --reference-weights "$tmp/notckpt.safetensors" --run "$tmp/bad7"
# cells of expansion 2 only: no cell the published format holds, so no search_space.config
# (it was written with empty layers, a space without a choice) and the note says why
run no_motif evolve --reference "$here/tiny_arch.json" --data "fashion-mnist:$tmp/data" --generations 1 --population 4 \
  --k 2 --steps 6 --batch 16 --val 160 --seed 5 --expands 2 --run "$tmp/nm"
[ -s "$tmp/nm/space.json" ] && [ ! -e "$tmp/nm/search_space.config" ] ||
  fail "a space no cell of which the published format holds wrote a search_space.config (or no space.json)"
grep -q "no search_space.config: a layer holds no cell" "$tmp/no_motif.err" || fail "no note on the missing search_space.config"

# NaNs in what a run reads back: a teacher's checkpoint, the bank a resume starts from
cp "$tmp/d1/reference.safetensors" "$tmp/nan_ref.safetensors"
/usr/bin/python3 "$here/nan_tensor.py" "$tmp/nan_ref.safetensors" layers.0.conv.weight 2 || fail "cannot write a NaN"
expect 2 "nan_ref.safetensors: tensor layers.0.conv.weight holds non-finite values.*reference-weights" \
  evolve "${common[@]}" --reference-mode distill --reference-weights "$tmp/nan_ref.safetensors" --run "$tmp/bad8"
run nan_bank evolve "${common[@]}" --generations 2 --run "$tmp/nb" --stop-after 1
bank_tensor=$(/usr/bin/python3 -c 'import json, struct, sys
b = open(sys.argv[1], "rb").read(); h = json.loads(b[8:8 + struct.unpack("<Q", b[:8])[0]])
print(sorted(k for k in h if k != "__metadata__")[0])' "$tmp/nb/bank-0001.safetensors")
/usr/bin/python3 "$here/nan_tensor.py" "$tmp/nb/bank-0001.safetensors" "$bank_tensor" 0 || fail "cannot write a NaN"
expect 2 "bank-0001.safetensors: tensor .* holds non-finite values.*start the run again" evolve --resume --run "$tmp/nb"
expect 2 "after the searchable layers a skeleton has" evolve "${common[@]}" --reference "$here/../torch/parity_arch.json" --run "$tmp/bad4"
expect 2 "takes 1x12x12|12x12" evolve --reference fmnist_evo --data "fashion-mnist:$tmp/data" --run "$tmp/bad5"
printf '{"format": "asvk-space/1", "name": "x", "layers": [{"cells": [{"genome": {"nodes": 2, "expand": 6, "edges": [[0, 1, "dw3x3"]], "hash": "0000000000000001"}}]}]}' >"$tmp/bad_space.json"
expect 2 "does not match the cell" space show "$tmp/bad_space.json"
printf '{"blocks": [[[[0, 0, 0, 2], [5, 0, 0, [0, 0]], [1, 4, 0, 0], [1, 1, 2, 0]]]]}' >"$tmp/bad.config"
expect 2 "blocks\[0\]\[0\].*code 4" space show "$tmp/bad.config"

if [ "$failures" != 0 ]; then echo "$failures failure(s)"; exit 1; fi
echo "all evolve cases passed"
