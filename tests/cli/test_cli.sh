#!/usr/bin/env bash
# The asvk command line: help, devices, bench, and every error a user can
# provoke here giving one clear sentence and the right exit code (0 ok,
# 1 runtime failure, 2 bad usage or input) — never a crash or a hang.
# Runs with the validation layer on; any validation message fails a case.
set -u
ASVK=${1:?usage: test_cli.sh path/to/asvk}
export ASVK_VALIDATION=1
failures=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect CODE REGEX -- command...: exit code CODE and stdout+stderr matching REGEX,
# no validation message, no sanitizer report, at most one 'asvk:' error line.
expect() {
  local code=$1 pattern=$2; shift 3
  local out rc
  out=$(timeout 300 "$@" 2>&1); rc=$?
  if [ "$rc" != "$code" ]; then fail "'$*' exited $rc, expected $code"; echo "$out" | tail -20; return; fi
  if ! grep -Eq -- "$pattern" <<<"$out"; then fail "'$*' output lacks /$pattern/"; echo "$out" | tail -20; return; fi
  if grep -Eq 'validation (error|warning):|validation layer reported|AddressSanitizer|LeakSanitizer|runtime error:' <<<"$out"; then
    fail "'$*' produced a validation or sanitizer message"; echo "$out" | tail -20; return; fi
  if [ "$code" != 0 ] && [ "$(grep -c '^asvk' <<<"$out")" -gt 1 ]; then
    fail "'$*' printed more than one error line"; echo "$out"; return; fi
  echo "ok: $*"
}

# help explains every command and option
expect 0 'commands:' -- "$ASVK" help
expect 0 'bench gemm.*--quick' -- "$ASVK" help bench
for opt in --device --json --quick --shapes --kernel --tune --repeat --warmup --no-baseline --no-cpu; do
  "$ASVK" help bench | grep -q -- "$opt" || fail "asvk help bench does not explain $opt"
done
expect 0 '--json' -- "$ASVK" help devices
expect 0 'asvk .*git' -- "$ASVK" version
expect 2 "no command 'frobnicate'" -- "$ASVK" frobnicate
expect 2 "no command 'nope'" -- "$ASVK" help nope
expect 2 'usage: asvk <command>' -- "$ASVK"

# devices: a table and valid JSON
expect 0 'llvmpipe|NVIDIA|AMD|Intel|Mali|Adreno' -- "$ASVK" devices
"$ASVK" devices --json >"$tmp/devices.json" 2>"$tmp/err" || fail "devices --json failed: $(cat "$tmp/err")"
python3 - "$tmp/devices.json" <<'PY' || fail "devices --json is not the documented JSON"
import json, sys
d = json.load(open(sys.argv[1]))
assert isinstance(d, list) and d, d
for k in ("name", "vendor", "type", "driver", "vulkan", "subgroup_size", "fp16_arithmetic", "memory_bytes"):
    assert k in d[0], k
PY

# bench gemm on tiny shapes: table, then JSON with the stamp and sane numbers
expect 0 'x naive' -- "$ASVK" bench gemm --shapes 40x24x16,9x7x5:tn --no-cpu
"$ASVK" bench gemm --shapes 48x32x16:nt,17x5x3:tt --json >"$tmp/gemm.json" 2>"$tmp/err" || fail "bench --json failed: $(cat "$tmp/err")"
python3 - "$tmp/gemm.json" <<'PY' || fail "bench gemm --json is wrong"
import json, sys
d = json.load(open(sys.argv[1]))
for k in ("asvk_version", "git_commit", "device", "kernel", "results"):
    assert k in d, k
for k in ("name", "vendor", "driver", "vulkan"):
    assert d["device"][k], k
assert len(d["results"]) == 2
for r in d["results"]:
    for kind in ("naive", "tuned"):
        s = r[kind]
        assert s["runs"] >= 5 and 0 < s["min_ms"] <= s["median_ms"] <= s["max_ms"], s
        assert s["gflops"] > 0
    assert r["tuned_vs_naive_max_rel_diff"] < 1e-5, r
PY

# bad usage: exit 2 with a pointer to help
# bench ops on the tiny network: every op of the training step, inference and batch 1, the kinds' times
# adding up to the step's, work counted (the convolutions' FLOPs are their multiply-adds x 2)
"$ASVK" bench ops --arch "$(dirname "$0")/tiny_arch.json" --batch 4 --quick --json >"$tmp/ops.json" 2>"$tmp/err" ||
  fail "bench ops --json failed: $(cat "$tmp/err")"
python3 - "$tmp/ops.json" <<'PY' || fail "bench ops --json is wrong"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["benchmark"] == "ops" and j["device"]["name"] and j["ceilings"]["sgemm_gflops"] > 0 and j["ceilings"]["fma_gflops"] > 0
for part in ("train", "infer", "infer_batch1"):
    p = j[part]
    ops = {k["op"]: k for k in p["kinds"]}
    assert "conv" in ops and abs(sum(k["ms"] for k in p["kinds"]) - p["ms"]) < 1e-6 * p["ms"] + 1e-9, p["kinds"]
    assert all(r["gflops"] >= 0 and r["gb_per_s"] > 0 for r in p["shapes"] if r["ms"] > 0)
assert "conv_bwd_weight" in {k["op"] for k in j["train"]["kinds"]} and "batchnorm" not in {k["op"] for k in j["infer"]["kinds"]}
# the stem: 3x3 conv 1 -> 8 at 12x12, stride 2: 4 x 8 x 6 x 6 outputs of 9 multiply-adds each
stem = [r for r in j["infer"]["shapes"] if r["shape"].startswith("conv[k3x3 s2x2 p1x1 g1 ")][0]
assert abs(stem["gflops"] * stem["ms"] * 1e6 - 2 * 4 * 8 * 6 * 6 * 9) < 1e-3, stem
PY
# bench train: throughput, memory and start-up figures in order; the JSON's
# commit is the binary's (`asvk version`) and, in a git checkout, HEAD's (a
# stamp made once at configure time named an old commit in later builds)
"$ASVK" bench train --arch "$(dirname "$0")/tiny_arch.json" --batch 4 --json >"$tmp/train.json" 2>"$tmp/err" ||
  fail "bench train --json failed: $(cat "$tmp/err")"
version=$("$ASVK" version | sed -n 's/.*(git \(.*\))$/\1/p')
head=$(git -C "$(dirname "$0")" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
python3 - "$tmp/train.json" "$version" "$head" <<'PY' || fail "bench train --json is wrong"
import json, sys
j, version, head = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
assert j["benchmark"] == "train" and j["train_images_per_s"] > 0 and j["latency_batch1_ms"] > 0, j
assert j["git_commit"] == version, (j["git_commit"], version)
assert version.split("-")[0] == head, f"the binary says it was built from {version}, HEAD is {head}: a stale stamp, or a build older than HEAD (build again before ctest)"
assert j["peak_rss_mb"] > 0 and 0 < j["device_peak_mb"] <= j["device_reserved_mb"], j
s = j["startup_ms"]
assert 0 < s["device"] < s["trainer"] < s["first_step"], s
assert 0 <= s["pipelines_by_trainer"] <= s["pipelines_by_first_step"] < s["first_step"], s
assert j["pipelines_by_first_step"] >= 1 and j["dispatches_per_step"] >= 1, j
# the first step's time beyond a median one (the driver's first-dispatch work): the difference itself
extra = s["first_step"] - s["trainer"] - j["train_step"]["median_ms"]
assert abs(s["first_step_beyond_median"] - extra) < 1e-6 * s["first_step"], (s, j["train_step"])
# effective GFLOP/s: the multiply-add work of each graph (inference 2 flops per MAdd an image;
# the step adds both gradients of every convolution and linear layer but the stem's input
# gradient: 4 x 8 x 6 x 6 outputs of 9 multiply-adds) over its median, against the FMA ceiling
e, b = j["effective_gflops"], j["batch"]
assert e["infer_batch1"]["flops"] == 2 * j["madds"] and e["infer_batch"]["flops"] == 2 * j["madds"] * b, e
assert e["train_step"]["flops"] == 3 * e["infer_batch"]["flops"] - 2 * 4 * 8 * 6 * 6 * 9, e
for k, m in (("train_step", "train_step"), ("infer_batch", "infer_batch"), ("infer_batch1", "infer_batch1")):
    assert abs(e[k]["gflops"] * j[m]["median_ms"] * 1e6 - e[k]["flops"]) < 1e-6 * e[k]["flops"], (k, e[k])
    assert abs(e[k]["of_fma_ceiling"] * e["fma_ceiling_gflops"] - e[k]["gflops"]) < 1e-9 * e[k]["gflops"] + 1e-12, e
assert e["fma_ceiling_gflops"] > 0, e
PY
# bench ops counts the device commands of every node: per kind they add up to the step's,
# and the step's are bench train's dispatches_per_step (two counts of the same recording)
python3 - "$tmp/ops.json" "$tmp/train.json" <<'PY' || fail "bench ops' dispatches are wrong"
import json, sys
o, t = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
for part in ("train", "infer", "infer_batch1"):
    p = o[part]
    assert p["dispatches"] == sum(k["dispatches"] for k in p["kinds"]) == sum(r["dispatches"] for r in p["shapes"]), part
    assert all(r["dispatches"] >= r["nodes"] for r in p["kinds"] if r["op"] in ("conv", "conv_bwd_data", "batchnorm")), p
assert o["train"]["dispatches"] == t["dispatches_per_step"], (o["train"]["dispatches"], t["dispatches_per_step"])
PY
# bench peak: the three ceilings, each with its flops or bytes and the median of its runs
"$ASVK" bench peak --quick --json >"$tmp/peak.json" 2>"$tmp/err" || fail "bench peak --json failed: $(cat "$tmp/err")"
python3 - "$tmp/peak.json" <<'PY' || fail "bench peak --json is wrong"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["benchmark"] == "peak" and j["sgemm"]["n"] == 512, j["sgemm"]
for k in ("sgemm", "fma"):
    assert j[k]["gflops"] > 0 and j[k]["runs"] >= 5 and j[k]["min_ms"] <= j[k]["median_ms"] <= j[k]["max_ms"], j[k]
for k in ("copy_transfer", "copy_shader"):
    assert j[k]["gb_per_s"] > 0 and j[k]["bytes"] >= 2 * 2**20, j[k]
PY
# bench compare: one column per file, ratios against the first (higher-is-better
# figures divided, times and dispatch counts inverted); a file without the newer
# keys shows "-" in their rows; a JSON that is not bench output is refused
python3 - "$tmp/train.json" "$tmp/train2.json" "$tmp/train_old.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
k = dict(j, train_images_per_s=2 * j["train_images_per_s"], latency_batch1_ms=j["latency_batch1_ms"] / 4,
         dispatches_per_step=j["dispatches_per_step"] // 2)
k["effective_gflops"] = dict(j["effective_gflops"], train_step=dict(j["effective_gflops"]["train_step"], of_fma_ceiling=0.25))
json.dump(k, open(sys.argv[2], "w"))
old = {key: v for key, v in j.items() if key not in ("effective_gflops", "dispatches_per_step")}
json.dump(old, open(sys.argv[3], "w"))
PY
"$ASVK" bench compare "$tmp/train.json" "$tmp/train2.json" "$tmp/train_old.json" >"$tmp/cmp" 2>"$tmp/err" ||
  fail "bench compare failed: $(cat "$tmp/err")"
python3 - "$tmp/cmp" "$tmp/train.json" <<'PY' || { fail "bench compare printed the wrong table"; cat "$tmp/cmp"; }
import json, sys
lines = open(sys.argv[1]).read().splitlines()
j = json.load(open(sys.argv[2]))
rows = {l[:34].strip(): l[34:].split() for l in lines[1:-1]}
t = rows["tiny train b4"]
assert t[0] == "img/s" and t[-2:] == ["2.00x", "1.00x"], t
assert rows["tiny latency b1"][-2:] == ["4.00x", "1.00x"], rows
d = rows["tiny train b4 dispatches"]
assert d[1:4] == ["%.3f" % j["dispatches_per_step"], "%.3f" % (j["dispatches_per_step"] // 2), "-"] and d[-1] == "-", d
f = rows["tiny train b4 of FMA ceiling"]
assert f[2] == "25.000" and f[3] == "-", f
PY
echo '{"benchmark": "train"}' >"$tmp/notbench.json"
expect 2 "not the --json output of asvk bench" -- "$ASVK" bench compare "$tmp/notbench.json"
expect 2 "unknown option '--frob'" -- "$ASVK" bench gemm --frob
expect 2 "bad gemm shape" -- "$ASVK" bench gemm --shapes 10x10
expect 2 "--repeat must be" -- "$ASVK" bench gemm --repeat 2
expect 2 "needs a value" -- "$ASVK" bench gemm --shapes
expect 2 "GEMM tuning 'fast'" -- "$ASVK" bench gemm --kernel fast --shapes 8x8x8
expect 2 "name a benchmark" -- "$ASVK" bench
expect 2 "no benchmark 'fft'" -- "$ASVK" bench fft
expect 2 "unexpected argument" -- "$ASVK" devices extra

# device selection errors
expect 2 "no Vulkan device number 99 \(from ASVK_DEVICE\).*asvk devices" -- env ASVK_DEVICE=99 "$ASVK" bench gemm --shapes 8x8x8
expect 2 "no Vulkan device name contains 'quantum'" -- "$ASVK" bench gemm --device quantum --shapes 8x8x8
expect 0 "x naive" -- "$ASVK" bench gemm --device 0 --shapes 8x8x8 --no-cpu

# no loader, no driver, a missing feature, out of memory: exit 1, one sentence with a fix
expect 1 "Vulkan loader .* could not be opened; install it" -- env ASVK_VULKAN_LIBRARY=/nonexistent/libvulkan.so.1 "$ASVK" devices
expect 1 "no Vulkan (device|driver).*mesa-vulkan-drivers" -- env VK_ICD_FILENAMES=/nonexistent.json VK_DRIVER_FILES=/nonexistent.json "$ASVK" devices
expect 1 "timestamp queries.*switched off" -- env ASVK_DISABLE=timestamps "$ASVK" bench gemm --shapes 8x8x8
expect 1 "out of device memory on .*lower --batch" -- env ASVK_MEMORY_BUDGET=2M "$ASVK" bench gemm --shapes 1024x1024x1024 --no-cpu
expect 2 "ASVK_MEMORY_BUDGET='plenty' is not a size" -- env ASVK_MEMORY_BUDGET=plenty "$ASVK" bench gemm --shapes 8x8x8
expect 1 "maxStorageBufferRange" -- "$ASVK" bench gemm --shapes 8192x8192x8:nn --no-cpu --no-baseline

# cost: the reference figures (DESIGN.md), text and JSON, and every bad input
# giving one sentence and exit 2. The published reference files sit beside
# the repository (shared/reference) unless ASVK_REFERENCE_DIR points elsewhere.
ref=${ASVK_REFERENCE_DIR:-$(cd "$(dirname "$0")/../../../shared/reference" 2>/dev/null && pwd)}
expect 0 'MAdds +300\.774 M' -- "$ASVK" cost mbv2
expect 0 'params +3\.505 M' -- "$ASVK" cost mbv2
expect 0 'MAdds +320\.428 M' -- "$ASVK" cost proxyless_mobile
expect 0 'MAdds +154\.083 M +\(154083200\) at 160x160' -- "$ASVK" cost mbv2 --resolution 160
expect 0 '23 +conv +320x7x7 +1280x7x7 +k1 s1 relu6 +412160 +20070400' -- "$ASVK" cost proxyless_mobile --per-layer
expect 0 'fmnist: input 1x28x28, 10 classes' -- "$ASVK" cost fmnist
expect 0 'mbv2:w=0.5:classes=10: input 3x224x224, 10 classes' -- "$ASVK" cost mbv2:w=0.5:classes=10
if [ -f "$ref/proxylessnas/proxyless_mobile.config" ]; then
  expect 0 'MAdds +320\.428 M' -- "$ASVK" cost "$ref/proxylessnas/proxyless_mobile.config"
  expect 0 'params +4\.081 M' -- "$ASVK" cost "$ref/proxylessnas/proxyless_mobile.config"
  # the published AutoSpace network (Motif cells, our reading of its codes: runtime/io/motif.h);
  # the authors give 340M MAdds and 4.3M params
  expect 0 'MAdds +336\.337 M' -- "$ASVK" cost "$ref/autospace/net_340M.config"
else
  echo "skip: reference files not found under '$ref' (set ASVK_REFERENCE_DIR)"
fi
"$ASVK" cost proxyless_mobile --json >"$tmp/cost.json" 2>"$tmp/err" || fail "cost --json failed: $(cat "$tmp/err")"
python3 - "$tmp/cost.json" <<'PY' || fail "cost --json is not the documented JSON"
import json, sys
d = json.load(open(sys.argv[1]))
assert abs(d["madds"] / 1e6 - 320.4) < 0.1 and abs(d["params"] / 1e6 - 4.08) < 0.01, d
assert d["resolution"] == 224 and d["num_classes"] == 1000 and len(d["layers"]) == d["layers_count"] == 26
assert sum(l["params"] for l in d["layers"]) == d["params"] and sum(l["madds"] for l in d["layers"]) == d["madds"]
assert d["layers"][0]["out"] == [32, 112, 112] and d["layers"][-1]["type"] == "linear"
PY
# --save writes asvk JSON and net.config that read back to the same cost
expect 0 'MAdds' -- "$ASVK" cost mbv2:w=0.75 --save "$tmp/m.json" --save-netconfig "$tmp/m.config"
expect 0 'MAdds +209\.070 M' -- "$ASVK" cost "$tmp/m.json"
expect 0 'MAdds +209\.070 M' -- "$ASVK" cost "$tmp/m.config"
printf '{\n  "format": "asvk-arch/1",\n  "name": "x"\n  "layers": []\n}\n' >"$tmp/broken.json"
expect 2 'broken\.json: not valid JSON at line 4, column 3' -- "$ASVK" cost "$tmp/broken.json"
sed 's/"kernel": 3, "stride": 1, "expand": 6/"kernel": 4, "stride": 1, "expand": 6/' "$tmp/m.json" >"$tmp/even.json"
expect 2 'even\.json: layer 3 \(mbconv\): kernel must be odd' -- "$ASVK" cost "$tmp/even.json"
sed 's/"kernel": 3, "stride": 2/"kernal": 3, "stride": 2/' "$tmp/m.json" >"$tmp/typo.json"
expect 2 "typo\.json: layers\[0\]: unknown key 'kernal'" -- "$ASVK" cost "$tmp/typo.json"
expect 2 "cannot open '.*/missing\.json': No such file" -- "$ASVK" cost "$tmp/missing.json"
expect 2 "no architecture file or built-in named 'mbv3' \(built-ins: mbv2" -- "$ASVK" cost mbv3
expect 2 "built-in 'mbv2:w=big': w must be a number" -- "$ASVK" cost mbv2:w=big
expect 2 "--resolution must be an integer" -- "$ASVK" cost mbv2 --resolution 0
expect 2 "name an architecture" -- "$ASVK" cost
expect 0 'cost <arch>.*--resolution' -- "$ASVK" help cost

# widen: a network made as wide as a budget allows; what it writes costs what it says, within the budget
"$ASVK" cost fmnist_evo --save "$tmp/evo.json" >/dev/null || fail "cost --save fmnist_evo failed"
expect 0 'width 1\.00: 3\.129 M MAdds' -- "$ASVK" widen "$tmp/evo.json" --budget-madds 3129456
"$ASVK" widen "$tmp/evo.json" --budget-madds 4.5M --divisor 2 --out "$tmp/wide.json" --json >"$tmp/wide.out" 2>"$tmp/err" ||
  fail "widen --json failed: $(cat "$tmp/err")"
"$ASVK" cost "$tmp/wide.json" --json >"$tmp/wide-cost.json" || fail "cost of the widened network failed"
python3 - "$tmp/wide.out" "$tmp/wide-cost.json" <<'PY' || fail "widen's result is wrong"
import json, sys
w, c = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert w["widened"] and 1 < w["width"] <= 2 and w["budget"] == 4.5e6, w
assert w["madds"] == c["madds"] and w["params"] == c["params"] and 0.95 < w["budget_used"] <= 1, (w, c)
assert w["layer_channels"][0] > 16 and all(ch % 2 == 0 for ch in w["layer_channels"]), w
PY
expect 0 'width 1\.00: 3\.129 M MAdds.*69\.5% of the budget' -- "$ASVK" widen "$tmp/evo.json" --budget-madds 4.5M --floor 0.6
expect 2 'already costs 3\.129 M MAdds at width 1, over the budget of 3\.000 M' -- "$ASVK" widen "$tmp/evo.json" --budget-madds 3M
expect 2 'give one budget' -- "$ASVK" widen "$tmp/evo.json"
expect 2 'needs --lut' -- "$ASVK" widen "$tmp/evo.json" --budget-latency 3
expect 2 'name a network' -- "$ASVK" widen --budget-madds 3M
expect 0 'width 2\.00: 1[0-9]{3}\.[0-9]{3} M MAdds' -- "$ASVK" widen mbv2 --budget-madds 3G
cat >"$tmp/pooled.json" <<'EOF'
{"format": "asvk-arch/1", "name": "pooled", "in_channels": 1, "resolution": 8, "num_classes": 2,
 "layers": [{"type": "conv", "out": 4, "kernel": 3}, {"type": "pool", "mode": "max", "kernel": 2, "stride": 2},
            {"type": "global_pool"}, {"type": "linear", "out": 2}]}
EOF
expect 2 'pooled: no mbconv or cell layer after the stem' -- "$ASVK" widen "$tmp/pooled.json" --budget-madds 1M
expect 2 '--max-width must be' -- "$ASVK" widen "$tmp/evo.json" --budget-madds 4M --max-width 0.5

if [ "$failures" != 0 ]; then echo "$failures failure(s)"; exit 1; fi
echo "all cli cases passed"
