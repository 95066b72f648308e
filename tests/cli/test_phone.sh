#!/usr/bin/env bash
# From search to phone (issue 15): published once-for-all and ProxylessNAS
# networks read as they are (cost against PyTorch counts, train, eval), the
# published AutoSpace space shown with costs, phone latency tables imported
# and used for prediction, ONNX export checked in ONNX Runtime and by the onnx
# checker, and bad input (exit 2 naming the file and the key). Fixtures:
# tests/data/reference (see its README). Validation layer on.
set -u
ASVK=${1:?usage: test_phone.sh path/to/asvk}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
refd=$root/tests/data/reference
ofa=$refd/once-for-all
luts=$refd/mobile-luts
export ASVK_VALIDATION=1
failures=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

run() { # run NAME args...: runs asvk, fails the test on a non-zero exit or a validation message
  local name=$1; shift
  if ! "$ASVK" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"; then fail "$name: asvk $* exited non-zero"; cat "$tmp/$name.err"; return 1; fi
  if grep -Eq 'validation (error|warning):|validation layer reported' "$tmp/$name.err"; then fail "$name: validation messages"; cat "$tmp/$name.err"; fi
  return 0
}

# expect NAME FILE KEY -- args...: exit 2, one error line naming FILE and KEY (fixed strings)
expect2() {
  local name=$1 file=$2 key=$3; shift 4
  "$ASVK" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"; local rc=$?
  if [ $rc != 2 ]; then fail "$name: exited $rc, expected 2"; cat "$tmp/$name.err"; return; fi
  grep -Fq -- "$file" "$tmp/$name.err" || { fail "$name: the message does not name $file"; cat "$tmp/$name.err"; return; }
  grep -Fq -- "$key" "$tmp/$name.err" || { fail "$name: the message does not name '$key'"; cat "$tmp/$name.err"; return; }
  [ "$(grep -c '^asvk' "$tmp/$name.err")" -le 1 ] || { fail "$name: more than one error line"; cat "$tmp/$name.err"; }
  echo "ok: $name: $(head -1 "$tmp/$name.err")"
}

# ---- 1. published networks: params and MAdds against PyTorch (tests/torch/netconfig_counts.py) ----
nets=("$ofa"/*/net.config)
[ -f "$root/../shared/reference/proxylessnas/proxyless_mobile.config" ] && nets+=("$root/../shared/reference/proxylessnas/proxyless_mobile.config")
i=0
for f in "${nets[@]}"; do
  i=$((i + 1))
  run "cost$i" cost "$f" --json || continue
  /usr/bin/python3 "$root/tests/torch/netconfig_counts.py" "$f" >"$tmp/torch$i.out" || { fail "PyTorch could not build $f"; continue; }
  /usr/bin/python3 - "$tmp/cost$i.out" "$tmp/torch$i.out" "$f" <<'PY' || fail "counts of $f differ from PyTorch's"
import json, sys
a, t = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert (a["params"], a["madds"], a["resolution"]) == (t["params"], t["madds"], t["resolution"]), (sys.argv[3], a["params"], a["madds"], a["resolution"], t)
print(f"ok: {sys.argv[3].split('/')[-2]}: {a['params']} params, {a['madds']} MAdds at {a['resolution']} (PyTorch agrees)")
PY
done
# the folder names the network; --resolution overrides the run.config
mbv3=$ofa/LG-G8_lat-11ms_top1-73.0_finetune-25/net.config
run cost_r cost "$mbv3" --resolution 224 --json
/usr/bin/python3 - "$tmp/cost_r.out" "$root/tests/torch/netconfig_counts.py" "$mbv3" <<'PY' || fail "--resolution 224 is not the PyTorch count at 224"
import json, subprocess, sys
a = json.load(open(sys.argv[1]))
t = json.loads(subprocess.check_output(["/usr/bin/python3", sys.argv[2], sys.argv[3], "224"]))
assert a["name"] == "LG-G8_lat-11ms_top1-73.0_finetune-25", a["name"]
assert (a["params"], a["madds"], a["resolution"]) == (t["params"], t["madds"], 224), (a["madds"], t)
PY

# MobileNetV3 written back as a once-for-all net.config reads with the same cost
mkdir -p "$tmp/ofa_rt"
run save_nc cost "$mbv3" --save-netconfig "$tmp/ofa_rt/net.config"
run cost_rt cost "$tmp/ofa_rt/net.config" --resolution 156 --json
/usr/bin/python3 - "$tmp/ofa_rt/net.config" "$tmp/cost_rt.out" "$tmp/cost1.out" <<'PY' || fail "the written MobileNetV3 net.config is not the published network"
import json, sys
nc = json.load(open(sys.argv[1]))
assert nc["name"] == "MobileNetV3" and "final_expand_layer" in nc, nc.keys()
assert nc["blocks"][0]["shortcut"]["in_channels"] == [16], nc["blocks"][0]["shortcut"]
a, b = json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
assert (a["params"], a["madds"]) == (b["params"], b["madds"]), (a["madds"], b["madds"])
PY

# train and eval a published MobileNetV3 (SE, h-swish, final expand, feature mix after the pool) at 32 px
/usr/bin/python3 - "$tmp/img" <<'PY' || { echo "cannot write images"; exit 1; }
import os, struct, sys, zlib
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
for k, cls in enumerate(("a", "b")):
    os.makedirs(f"{sys.argv[1]}/{cls}")
    for i in range(8):
        rows = b"".join(b"\0" + bytes((x * 20 + y * 7 + 60 * k + i) % 256 for x in range(12)) for y in range(12))
        png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 12, 12, 8, 0, 0, 0, 0)) +
               chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
        open(f"{sys.argv[1]}/{cls}/{i}.png", "wb").write(png)
PY
if run train_v3 train --arch "$mbv3" --resolution 32 --data "folder:$tmp/img:32:3" --test-data "folder:$tmp/img:32:3" \
     --batch 8 --epochs 1 --quiet --run "$tmp/t_v3"; then
  run eval_v3 eval --checkpoint "$tmp/t_v3/model.safetensors" --test-data "folder:$tmp/img:32:3" --json
  /usr/bin/python3 - "$tmp/eval_v3.out" <<'PY' || fail "eval of the trained MobileNetV3 is wrong"
import json, math, sys
e = json.load(open(sys.argv[1]))
assert e["params"] == 4965160 and math.isfinite(e["loss"]), e
PY
fi

# the published AutoSpace space at the paper's ImageNet skeleton: every cell costed; the
# MBConv-shaped anchors (e6, a chain of 1-3 dw3x3) checked against hand formulas
space=$root/../shared/reference/autospace/search_space.config
if [ -f "$space" ]; then
  run space_show space show "$space"
  grep -q "skeleton autospace_imagenet" "$tmp/space_show.out" || fail "space show did not use the ImageNet skeleton"
  run space_json space show "$space" --json
  /usr/bin/python3 - "$tmp/space_json.out" <<'PY' || fail "the published space's cell costs are wrong"
import json, sys
s = json.load(open(sys.argv[1]))
layers = s["layers"]
assert len(layers) == 11 and all(len(l["cells"]) == 9 for l in layers)
assert all(c["madds"] > 0 and c["params"] > 0 for l in layers for c in l["cells"])
# (in, in_size, out, stride) of the 11 layers: the distinct block shapes of net_340M.config
shapes = [(16, 112, 24, 2), (24, 56, 24, 1), (24, 56, 40, 2), (40, 28, 40, 1), (40, 28, 80, 2), (80, 14, 80, 1),
          (80, 14, 96, 1), (96, 14, 96, 1), (96, 14, 192, 2), (192, 7, 192, 1), (192, 7, 320, 1)]
checked = 0
for l, (cin, h, cout, st) in zip(layers, shapes):
    ho = (h + st - 1) // st
    for c in l["cells"]:
        g = c["genome"]
        edges = [tuple(e) for e in g["edges"]]
        chain = [(i, i + 1, "dw3x3") for i in range(g["nodes"] - 1)]
        if g["expand"] != 6 or edges != chain or g.get("se"):
            continue
        mid, n = cin * 6, len(chain)
        madds = cin * mid * h * h + mid * 9 * ho * ho * n + mid * cout * ho * ho
        params = cin * mid + 2 * mid + n * (mid * 9 + 2 * mid) + mid * cout + 2 * cout
        assert (c["madds"], c["params"]) == (madds, params), (c, madds, params)
        checked += 1
assert checked >= 33, checked  # 3 anchors a layer (an evolved cell may be a chain too)
print(f"ok: published space: 99 cells costed, {checked} anchors match the formulas")
PY
else
  echo "skip: no shared/reference/autospace/search_space.config"
fi

# ---- 2. published phone latency tables: import, predict as the authors' estimators do ----
run imp_n10 latency import "$luts/ofa-note10-224_lookup_table.yaml" --device "Samsung Galaxy Note10" --out "$tmp/note10-224.json"
run imp_px1 latency import "$luts/proxylessnas-pixel1-mobile_trim.yaml" --device "Google Pixel 1" --out "$tmp/pixel1.json"
grep -Eq "held-out error .* median [0-9.]+%, 90th percentile [0-9.]+%" "$tmp/imp_px1.out" || fail "import does not report the held-out error"
cat "$tmp/imp_n10.out" "$tmp/imp_px1.out"
flops=$ofa/flops-389M_top1-79.1_finetune-75/net.config
run pred_n10 latency predict --lut "$tmp/note10-224.json" "$flops" --json
run pred_n10_text latency predict --lut "$tmp/note10-224.json" "$flops"
run pred_px1 latency predict --lut "$tmp/pixel1.json" proxyless_mobile --json
run pred_px1_text latency predict --lut "$tmp/pixel1.json" proxyless_mobile
grep -q "modeled for blocks the table lacks" "$tmp/pred_px1_text.out" || fail "predict does not give the modeled share"
/usr/bin/python3 - "$tmp" "$luts" "$flops" <<'PY' || fail "predictions by the published tables are wrong"
import json, sys, yaml
import numpy as np
tmp, luts, flops = sys.argv[1:]
# the tables: stamped as that device and as imported, every published entry kept
for name, yml, dev in (("note10-224", "ofa-note10-224_lookup_table.yaml", "Samsung Galaxy Note10"),
                       ("pixel1", "proxylessnas-pixel1-mobile_trim.yaml", "Google Pixel 1")):
    t, pub = json.load(open(f"{tmp}/{name}.json")), yaml.safe_load(open(f"{luts}/{yml}"))
    assert t["device"]["name"] == dev and t["source"]["kind"] == "imported" and t["source"]["file"] == yml, t["source"]
    assert t["source"]["resolution"] == 224 and {k: v["ms"] for k, v in t["nodes"].items()} == {k: v["mean"] for k, v in pub.items()}
    assert 0 < t["block_model"]["heldout_median"] < 0.1, t["block_model"]

# once-for-all's estimator (MBv3LatencyTable), written from the net.config, not from asvk's keys
lut, cfg = yaml.safe_load(open(f"{luts}/ofa-note10-224_lookup_table.yaml")), json.load(open(flops))
shp = lambda s: "x".join(map(str, s))
def q(t, i, o, **kw):
    return lut["-".join([t, "input:" + shp(i), "output:" + shp(o)] + [f"{a}:{b}" for a, b in kw.items()])]["mean"]
r = 224; f = (r + 1) // 2
total = q("Conv", [r, r, 3], [f, f, cfg["first_conv"]["out_channels"]])
for b in cfg["blocks"]:
    m = b["mobile_inverted_conv"]; o = (f - 1) // m["stride"] + 1
    total += q("expanded_conv", [f, f, m["in_channels"]], [o, o, m["out_channels"]], expand=m["mid_channels"] or m["in_channels"],
               kernel=m["kernel_size"], stride=m["stride"], idskip=int(b["shortcut"] is not None), se=int(m["use_se"]),
               hs=int(m["act_func"] == "h_swish"))
    f = o
fe, fm = cfg["final_expand_layer"], cfg["feature_mix_layer"]
total += q("Conv_1", [f, f, fe["in_channels"]], [f, f, fe["out_channels"]])
total += q("AvgPool2D", [f, f, fe["out_channels"]], [1, 1, fe["out_channels"]])
total += q("Conv_2", [1, 1, fm["in_channels"]], [1, 1, fm["out_channels"]])
total += q("Logits", [1, 1, cfg["classifier"]["in_features"]], [cfg["classifier"]["out_features"]])
p = json.load(open(f"{tmp}/pred_n10.out"))
assert p["ms"] == total and p["modeled_ms"] == 0 and not any(x["modeled"] for x in p["parts"]), (p["ms"], total)
print(f"ok: flops-389M on the Note10: {p['ms']:.4f} ms, the once-for-all estimator's sum exactly")

# ProxylessNAS-Mobile on the trimmed Pixel 1 table: present blocks are their entries, the missing
# ones the model's, which a numpy fit of the same terms (min-norm least squares) reproduces
lut = yaml.safe_load(open(f"{luts}/proxylessnas-pixel1-mobile_trim.yaml"))
p = json.load(open(f"{tmp}/pred_px1.out"))
def terms(key):
    kv = dict(x.split(":") for x in key.split("-")[1:])
    (hi, wi, ci), (ho, wo, co) = [list(map(int, kv[k].split("x"))) for k in ("input", "output")]
    e, k = int(kv["expand"]), int(kv["kernel"]); mid = ci * e; ex = mid != ci
    return [(hi * wi * ci * mid if ex else 0) + ho * wo * mid * co, ho * wo * mid * k * k,
            (hi * wi * mid if ex else 0) + ho * wo * mid + hi * wi * ci + ho * wo * co, 0, float(ex), 1.0]
ks = [k for k in lut if k.startswith("expanded_conv")]
X = np.array([terms(k) for k in ks], float); y = np.array([lut[k]["mean"] for k in ks])
c = np.linalg.lstsq(X / y[:, None], np.ones(len(y)), rcond=None)[0]
modeled = [x for x in p["parts"] if x["modeled"]]
assert len(modeled) == 3, modeled
for x in p["parts"]:
    if x["modeled"]:
        want = float(np.array(terms(x["key"])) @ c)
        assert abs(x["ms"] / want - 1) < 1e-6, (x, want)
    elif x["key"] != "skip":
        assert x["ms"] == lut[x["key"]]["mean"], x
assert abs(p["ms"] - sum(x["ms"] for x in p["parts"])) < 1e-9 and abs(p["modeled_ms"] - sum(x["ms"] for x in modeled)) < 1e-9
print(f"ok: proxyless_mobile on the Pixel 1: {p['ms']:.3f} ms, {p['modeled_ms']:.3f} ms of it modeled for {len(modeled)} blocks")
PY
# bad tables: another resolution than the network, an unknown key, an unknown member
expect2 lut_res "$tmp/note10-224.json" "Conv-input:224x224x3-output:112x112x24" -- latency predict --lut "$tmp/note10-224.json" "$mbv3"
{ cat "$luts/ofa-note10-224_lookup_table.yaml"; printf 'SuperConv-input:7x7x3-output:7x7x3:\n  count: 1\n  mean: 0.5\n'; } >"$tmp/unknown_key.yaml"
expect2 lut_unknown_key "$tmp/unknown_key.yaml" "SuperConv-input:7x7x3-output:7x7x3" -- latency import "$tmp/unknown_key.yaml" --device phone --out "$tmp/x.json"
{ cat "$luts/ofa-note10-224_lookup_table.yaml"; printf '  median: 0.5\n'; } >"$tmp/unknown_member.yaml"
expect2 lut_unknown_member "$tmp/unknown_member.yaml" "median" -- latency import "$tmp/unknown_member.yaml" --device phone --out "$tmp/x.json"

# ---- 3. search for a phone you do not have: ProxylessNAS's space, priced by the Pixel 1 table ----
# The supernet trains at 32 px (--data-resolution; its weights do not depend on the size) while
# every price is the table's at 224; a few steps only: the test is the plumbing, not the choice.
run search_px1 search --space proxyless --lut "$tmp/pixel1.json" --budget-latency 80 --data "folder:$tmp/img:32:3" \
  --data-resolution 32 --steps 4 --warmup 2 --batch 2 --val 4 --save-every 2 --quiet --run "$tmp/s_px1"
run s_cost_json cost "$tmp/s_px1/net.json" --json
run s_cost_nc cost "$tmp/s_px1/net.config" --json
run s_pred latency predict --lut "$tmp/pixel1.json" "$tmp/s_px1/net.config" --json
/usr/bin/python3 - "$tmp" <<'PY' || fail "the network searched for the Pixel 1 is wrong"
import json, sys
t = sys.argv[1]
r = json.load(open(f"{t}/s_px1/result.json"))
a, b = json.load(open(f"{t}/s_cost_json.out")), json.load(open(f"{t}/s_cost_nc.out"))
p = json.load(open(f"{t}/s_pred.out"))
assert r["predicted_latency_ms"] <= 80 and abs(p["ms"] - r["predicted_latency_ms"]) < 1e-9, (r["predicted_latency_ms"], p["ms"])
assert (a["params"], a["madds"], a["resolution"]) == (b["params"], b["madds"], b["resolution"]) == (r["params"], r["madds"], 224)
assert json.load(open(f"{t}/s_px1/run.config"))["image_size"] == 224
print(f"ok: searched for the Pixel 1: {r['predicted_latency_ms']:.2f} ms predicted (budget 80), {r['madds'] / 1e6:.1f}M MAdds; "
      f"net.config reads back with the same cost")
PY

# once-for-all's MobileNetV3 space (k 3/5/7 x e 3/4/6, depth 2-4, SE and h-swish by stage, width 1.2),
# priced by the Note10 table: within the budget by the table, skips only in a stage's 3rd and 4th
# layers and at its end, net.config of once-for-all's MobileNetV3 kind that reads back with its cost
run space_ofa space show ofa-mbv3 --json
run search_n10 search --space ofa-mbv3 --lut "$tmp/note10-224.json" --budget-latency 30 --data "folder:$tmp/img:32:3" \
  --data-resolution 32 --steps 4 --warmup 2 --batch 2 --val 4 --save-every 2 --quiet --run "$tmp/s_n10"
run s10_cost_json cost "$tmp/s_n10/net.json" --json
run s10_cost_nc cost "$tmp/s_n10/net.config" --json
run s10_pred latency predict --lut "$tmp/note10-224.json" "$tmp/s_n10/net.config" --json
/usr/bin/python3 - "$tmp" <<'PY' || fail "the network searched in ofa-mbv3 for the Note10 is wrong"
import json, sys
t = sys.argv[1]
sp = json.load(open(f"{t}/space_ofa.out"))
assert [len(l["cells"]) for l in sp["layers"]] == [1] + [9] * 20, "ofa-mbv3 layer sizes"
assert [l.get("skip", True) for l in sp["layers"]] == [False] + [False, False, True, True] * 5, "skippable layers"
assert sp["skeleton"]["feature_mix"] == {"out": 1536, "act": "hswish"}
r = json.load(open(f"{t}/s_n10/result.json"))
a, b = json.load(open(f"{t}/s10_cost_json.out")), json.load(open(f"{t}/s10_cost_nc.out"))
p = json.load(open(f"{t}/s10_pred.out"))
assert r["predicted_latency_ms"] <= 30 and abs(p["ms"] - r["predicted_latency_ms"]) < 1e-9, (r["predicted_latency_ms"], p["ms"])
assert (a["params"], a["madds"], a["resolution"]) == (b["params"], b["madds"], b["resolution"]) == (r["params"], r["madds"], 224)
nc = json.load(open(f"{t}/s_n10/net.config"))
assert nc["name"] == "MobileNetV3" and nc["feature_mix_layer"]["out_channels"] == 1536, nc["name"]
assert nc["final_expand_layer"]["out_channels"] == 1152 and nc["first_conv"]["act_func"] == "h_swish"
kinds = [blk["mobile_inverted_conv"]["name"] for blk in nc["blocks"]]
assert len(kinds) == 21 and kinds[0] == "MBInvertedConvLayer"
for s in range(5):
    st = kinds[1 + 4 * s: 5 + 4 * s]
    depth = sum(k != "ZeroLayer" for k in st)
    assert depth >= 2 and all(k != "ZeroLayer" for k in st[:depth]), f"stage {s + 1}: {st}"
    for blk in nc["blocks"][1 + 4 * s: 1 + 4 * s + depth]:
        m = blk["mobile_inverted_conv"]
        assert m["kernel_size"] in (3, 5, 7) and m["expand_ratio"] in (3, 4, 6), m
        assert m["use_se"] == (s in (1, 3, 4)) and m["act_func"] == ("relu" if s < 2 else "h_swish"), m
print(f"ok: searched in ofa-mbv3 for the Note10: {r['predicted_latency_ms']:.2f} ms predicted (budget 30), "
      f"{r['madds'] / 1e6:.1f}M MAdds, depths {[sum(k != 'ZeroLayer' for k in kinds[1 + 4 * s: 5 + 4 * s]) for s in range(5)]}; "
      f"net.config reads back with the same cost")
PY

# the same space on a Fashion-MNIST skeleton, priced by a table measured here ('asvk latency')
mkdir -p "$tmp/fm_s"
/usr/bin/python3 "$here/make_idx.py" "$tmp/fm_s" 64 16 28 4 || { echo "cannot generate data"; exit 1; }
"$ASVK" space show ofa-mbv3 --reference fmnist_evo --json >"$tmp/ofa_fm.json" 2>"$tmp/ofa_fm.err" ||
  fail "space show ofa-mbv3 --reference fmnist_evo: $(cat "$tmp/ofa_fm.err")"
run lat_ofa_fm latency --space "$tmp/ofa_fm.json" --repeat 5 --warmup 1 --calibrate 3 --out "$tmp/fm_lut.json" --quiet
# the budget: 1.25 x the price of the space's cheapest network (k3 e3 everywhere), whatever this device's speed
run cost_ref_fm cost fmnist_evo --save "$tmp/ref_fm.json"
/usr/bin/python3 - "$tmp/ref_fm.json" "$tmp/cheap_fm.json" <<'PY'
import json, sys
a = json.load(open(sys.argv[1]))
for l in a["layers"]:
    if l["type"] == "mbconv": l["kernel"], l["expand"] = 3, 3
json.dump(a, open(sys.argv[2], "w"))
PY
run lat_cheap_fm latency predict --lut "$tmp/fm_lut.json" "$tmp/cheap_fm.json" --json
budget=$(/usr/bin/python3 -c 'import json, sys; print(1.25 * json.load(open(sys.argv[1]))["ms"])' "$tmp/lat_cheap_fm.out")
run search_ofa_fm search --space "$tmp/ofa_fm.json" --lut "$tmp/fm_lut.json" --budget-latency "$budget" \
  --data "fashion-mnist:$tmp/fm_s" --steps 4 --warmup 2 --batch 8 --val 16 --quiet --run "$tmp/s_ofa_fm"
/usr/bin/python3 - "$tmp" "$budget" <<'PY' || fail "ofa-mbv3 on the Fashion-MNIST skeleton is wrong"
import json, sys
t, budget = sys.argv[1], float(sys.argv[2])
sp = json.load(open(f"{t}/ofa_fm.json"))
assert sp["skeleton"]["name"] == "fmnist_evo" and all(len(l["cells"]) == 9 for l in sp["layers"])
# fmnist_evo's layers: 16 | 24 24 | 40 40 | 64 64 (after the stem 16): never a 3rd layer of one shape
assert all(l.get("skip", True) is False for l in sp["layers"]), [l.get("skip", True) for l in sp["layers"]]
r = json.load(open(f"{t}/s_ofa_fm/result.json"))
assert r["predicted_latency_ms"] <= budget and all(l["cell"] != "skip" for l in r["layers"]), r
print(f"ok: ofa-mbv3 on fmnist_evo, priced by a table measured here: {r['predicted_latency_ms']:.2f} ms predicted "
      f"(budget {budget:.2f}: 1.25 x the cheapest network's)")
PY

# ---- 4. ONNX export: trained networks in ONNX Runtime on asvk's inputs, the onnx checker ----
# Each network trains briefly first, so that its BN statistics and weights are not the fresh
# ones (which would fold trivially); MobileNetV2 and the Note10 network train at 32 px and
# are exported at 224 (their weights do not depend on the resolution).
mkdir -p "$tmp/fm"
/usr/bin/python3 "$here/make_idx.py" "$tmp/fm" 64 16 28 4 || { echo "cannot generate data"; exit 1; }
declare -A train_args=(
  [fmnist]="--arch fmnist --data fashion-mnist:$tmp/fm"
  [mbv2]="--arch mbv2:classes=10 --resolution 32 --data folder:$tmp/img:32:3 --test-data folder:$tmp/img:32:3"
  [cells]="--arch $root/tests/torch/parity_cells_arch.json --data folder:$tmp/img:10:3 --test-data folder:$tmp/img:10:3"
  [zoo]="--arch $root/tests/torch/parity_arch.json --data folder:$tmp/img:18:3 --test-data folder:$tmp/img:18:3"
  [n10]="--arch $tmp/s_n10/net.json --resolution 32 --data folder:$tmp/img:32:3 --test-data folder:$tmp/img:32:3"
)
ort=$root/tools/onnx/node_modules/onnxruntime-node
# n10: the network searched in ofa-mbv3 for the Note10 above (SE, h-swish, the feature mix after the pool)
for net in fmnist mbv2 cells zoo n10; do
  # shellcheck disable=SC2086
  run "train_$net" train ${train_args[$net]} --batch 8 --epochs 1 --quiet --run "$tmp/t_$net" || continue
  extra=(); [ "$net" = mbv2 ] || [ "$net" = n10 ] && extra=(--resolution 224)
  run "export_$net" export --onnx "$tmp/$net.onnx" --checkpoint "$tmp/t_$net/model.safetensors" "${extra[@]}" \
    --check-io "$tmp/$net.io.safetensors" --check-batch 3 || continue
  if command -v node >/dev/null && [ -d "$ort" ]; then
    if node "$root/tools/onnx/check_onnx.js" "$tmp/$net.onnx" "$tmp/$net.io.safetensors" 1e-4 >"$tmp/ort_$net.out" 2>&1; then
      echo "ok: $net in ONNX Runtime: $(cat "$tmp/ort_$net.out")"
    else
      fail "$net: ONNX Runtime's logits differ from asvk's"; cat "$tmp/ort_$net.out"
    fi
  else
    echo "skip: ONNX Runtime is not installed in tools/onnx (scripts/setup.sh installs it)"
  fi
done
/usr/bin/python3 - "$tmp" <<'PY' || fail "the onnx checker refuses an exported model"
import sys
try:
    import onnx
except ImportError:
    print("skip: python3-onnx is not installed"); sys.exit(0)
for net in ("fmnist", "mbv2", "cells", "zoo", "n10"):
    m = onnx.load(f"{sys.argv[1]}/{net}.onnx")
    onnx.checker.check_model(m, full_check=True)
    ops = {n.op_type for n in m.graph.node}
    assert m.opset_import[0].version >= 13 and "BatchNormalization" not in ops, (net, ops)
    assert m.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch", net
    print(f"ok: {net}.onnx passes onnx.checker (opset {m.opset_import[0].version}; {len(m.graph.node)} nodes: {' '.join(sorted(ops))})")
PY
expect2 export_no_source "--checkpoint" "--arch" -- export --onnx "$tmp/x.onnx"

# bad input: a net.config asvk cannot build, a broken run.config
mkdir -p "$tmp/bad1" "$tmp/bad2" "$tmp/bad3"
sed 's/"MobileNetV3"/"ResNets"/' "$mbv3" >"$tmp/bad1/net.config"
expect2 bad_class "$tmp/bad1/net.config" "name" -- cost "$tmp/bad1/net.config"
/usr/bin/python3 - "$mbv3" "$tmp/bad2/net.config" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); del c["final_expand_layer"]; json.dump(c, open(sys.argv[2], "w"))
PY
expect2 no_final_expand "$tmp/bad2/net.config" "final_expand_layer" -- cost "$tmp/bad2/net.config"
cp "$mbv3" "$tmp/bad3/net.config"
echo '{"image_size": "big"}' >"$tmp/bad3/run.config"
expect2 bad_run_config "$tmp/bad3/run.config" "image_size" -- cost "$tmp/bad3/net.config"

echo "test_phone: $failures failure(s)"
[ "$failures" = 0 ]
