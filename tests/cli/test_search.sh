#!/usr/bin/env bash
# asvk latency and asvk search end to end on a small generated dataset: a
# latency table and its check, searches in the hand-made mbconv space and in
# a learned space under MAdds and latency budgets (the budget met by the cost
# model and by the table), the searched network trains, a search killed with
# SIGKILL and resumed ends where a straight one does, and bad input: a budget
# below the cheapest network, a table from another device, a table missing a
# shape. Validation layer on.
set -u
ASVK=${1:?usage: test_search.sh path/to/asvk}
here=$(cd "$(dirname "$0")" && pwd)
export ASVK_VALIDATION=1
failures=0
tmp=$(mktemp -d)
trap 'kill -9 $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

mkdir -p "$tmp/data"
/usr/bin/python3 "$here/make_idx.py" "$tmp/data" 720 128 12 4 || { echo "cannot generate data"; exit 1; }
ref=(--reference "$here/tiny_arch.json")
data=(--data "fashion-mnist:$tmp/data")
common=("${ref[@]}" "${data[@]}" --steps 40 --warmup 10 --batch 16 --val 160 --save-every 10 --seed 3 --quiet)

run() { # run NAME args...: runs asvk, fails the test on a non-zero exit or a validation message
  local name=$1; shift
  if ! "$ASVK" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"; then fail "$name: asvk $* exited non-zero"; cat "$tmp/$name.err"; return 1; fi
  if grep -Eq 'validation (error|warning):|validation layer reported' "$tmp/$name.err"; then fail "$name: validation messages"; cat "$tmp/$name.err"; fi
  return 0
}

# the latency table of the tiny skeleton for the mbconv space, and its check
run lut latency --skeleton "$here/tiny_arch.json" --ops dw3x3,dw5x5,dw7x7,identity --expands 3,6 --out "$tmp/lut.json" --quiet
/usr/bin/python3 - "$tmp/lut.json" <<'PY' || fail "the latency table is wrong"
import json, sys
t = json.load(open(sys.argv[1]))
assert t["format"] == "asvk-latency/1" and t["batch"] == 1, t.keys()
assert t["device"]["name"] and t["device"]["driver_version"] and t["asvk_version"]
nodes = t["nodes"]
assert len(nodes) > 30 and all(v["ms"] > 0 and v["runs"] >= 1 for v in nodes.values()), len(nodes)
# every operator at the searchable layers' widths: tiny's layer 1 (8 -> 12, stride 2) at expand 6 is 48 wide
assert any(k.startswith("conv[k7x7 s2x2 p3x3 g48 bias act2] 1x48x6x6") for k in nodes), [k for k in nodes if "g48" in k]
PY
run check latency --lut "$tmp/lut.json" --skeleton "$here/tiny_arch.json" --ops dw3x3,dw5x5,dw7x7,identity --expands 3,6 --check 3 --quiet
grep -Eq "networks +median +[0-9.]+%" "$tmp/check.out" || { fail "latency --check printed no error figures"; cat "$tmp/check.out"; }

# a MAdds budget in the mbconv space: the network meets it and trains
run s1 search "${common[@]}" --budget-madds 0.03M --run "$tmp/s1"
for f in config.json history.jsonl search.json search-weights.safetensors net.json net.config result.json; do
  [ -s "$tmp/s1/$f" ] || fail "search run folder lacks $f"
done
run cost1 cost "$tmp/s1/net.json" --json
/usr/bin/python3 - "$tmp/s1" "$tmp/cost1.out" <<'PY' || fail "the searched network is wrong"
import json, sys
d = sys.argv[1]
r = json.load(open(f"{d}/result.json"))
cost = json.load(open(sys.argv[2]))
assert r["madds"] == cost["madds"] <= 30000, (r["madds"], cost["madds"])
assert len(r["layers"]) == 2 and all(abs(sum(l["probs"]) - 1) < 1e-9 for l in r["layers"])
assert len(r["layers"][0]["probs"]) == 6 and len(r["layers"][1]["probs"]) == 7  # layer 1 is strided: no skip
hist = [json.loads(l) for l in open(f"{d}/history.jsonl")]
assert [h["step"] for h in hist] == [10, 20, 30, 40], hist
assert "val_accuracy" not in hist[0] and "val_accuracy" in hist[1]  # alpha steps start after the warm-up
assert hist[-1]["tau"] < hist[0]["tau"]
PY
run train1 train --arch "$tmp/s1/net.json" "${data[@]}" --epochs 1 --batch 32 --run "$tmp/t1" --quiet

# --spend: the network costs 95-100% of a budget the space can meet (the MAdds of the search above
# and of the tiny space's dearest network bound it), and a budget above every network gives the dearest
run s1x search "${common[@]}" --budget-madds 0.03M --spend 0.95 --run "$tmp/s1x"
run s1y search "${common[@]}" --budget-madds 10M --spend 0.95 --run "$tmp/s1y"
run s1z search "${common[@]}" --budget-madds 10M --run "$tmp/s1z"
/usr/bin/python3 - "$tmp" <<'PY' || fail "--spend does not spend the budget"
import json, sys
t = sys.argv[1]
x, y, z = (json.load(open(f"{t}/{n}/result.json")) for n in ("s1x", "s1y", "s1z"))
assert 0.95 * 30000 <= x["madds"] <= 30000, x["madds"]
# nothing reaches 9.5M: the dearest network (7x7 e6 everywhere, no skip), at least what the plain search chose
assert y["madds"] >= z["madds"] and all(l["cell"] == "e6 | 0>1 dw7x7" for l in y["layers"]), (y["madds"], y["layers"])
print(f"ok: --spend 0.95: {x['madds']} MAdds of 30000; above every network: {y['madds']} (the dearest)")
PY
# --widen: a budget no network of the space reaches is spent by width; the same cells as the plain search, the
# network that asvk widen makes of that search's net.json, costing what net.json costs, within the budget
run s1w search "${common[@]}" --budget-madds 0.1M --spend 0.95 --widen 3 --widen-divisor 1 --run "$tmp/s1w"
run s1y0 search "${common[@]}" --budget-madds 0.1M --spend 0.95 --run "$tmp/s1y0"
run wcost cost "$tmp/s1w/net.json" --json
run widen widen "$tmp/s1y0/net.json" --budget-madds 0.1M --floor 0.95 --max-width 3 --divisor 1 --json
/usr/bin/python3 - "$tmp" <<'PY' || fail "--widen does not widen the search's network to the budget"
import json, sys
t = sys.argv[1]
w, y = json.load(open(f"{t}/s1w/result.json")), json.load(open(f"{t}/s1y0/result.json"))
cost, tool = json.load(open(f"{t}/wcost.out")), json.load(open(f"{t}/widen.out"))
assert y["width"] == 1 and y["madds"] < 95000, y
assert [l["cell"] for l in w["layers"]] == [l["cell"] for l in y["layers"]], (w["layers"], y["layers"])
assert w["width"] > 1 and y["madds"] < w["madds"] == cost["madds"] <= 100000 and w["params"] == cost["params"], (w, cost)
assert (tool["width"], tool["madds"]) == (w["width"], w["madds"]), (tool, w)
PY

# a latency budget priced by the table: met by the table's prediction
run s2 search "${common[@]}" --budget-latency 50 --lut "$tmp/lut.json" --run "$tmp/s2"
/usr/bin/python3 - "$tmp/s2/result.json" <<'PY' || fail "the latency-budget search is wrong"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["budget_kind"] == "latency_ms" and 0 < r["predicted_latency_ms"] <= 50, r
PY

# SIGKILL after the first save, then --resume: the same result
"$ASVK" search "${common[@]}" --budget-madds 0.03M --run "$tmp/s3" >"$tmp/s3.out" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  grep -q '"step":	[1-9]' "$tmp/s3/search.json" 2>/dev/null && break
  kill -0 $pid 2>/dev/null || break
  sleep 0.05
done
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
run resumed search --resume --run "$tmp/s3" --quiet
cmp -s "$tmp/s1/result.json" "$tmp/s3/result.json" || { fail "the killed and resumed search chose otherwise"; diff "$tmp/s1/result.json" "$tmp/s3/result.json" | head; }
cmp -s "$tmp/s1/net.json" "$tmp/s3/net.json" || fail "the resumed search wrote another net.json"
strip() { /usr/bin/python3 -c 'import json,sys
for l in open(sys.argv[1]):
    h = json.loads(l); h.pop("seconds"); print(json.dumps(h, sort_keys=True))' "$1"; }
cmp -s <(strip "$tmp/s1/history.jsonl") <(strip "$tmp/s3/history.jsonl") || fail "the resumed search's history differs"

# a run folder from before --fp16 (its config has no "fp16") still resumes, as fp32
cp -r "$tmp/s1" "$tmp/s1old"
/usr/bin/python3 - "$tmp/s1old/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); assert c.pop("fp16") is False; json.dump(c, open(sys.argv[1], "w"))
PY
run oldconfig search --resume --run "$tmp/s1old" --quiet
cmp -s "$tmp/s1/result.json" "$tmp/s1old/result.json" || fail "resuming a run without 'fp16' changed its result"

# the supernet with fp16 activations: same budget met, the loss curve tracks fp32's
run s16 search "${common[@]}" --budget-madds 0.03M --fp16 --run "$tmp/s16"
/usr/bin/python3 - "$tmp/s1" "$tmp/s16" <<'PY' || fail "the fp16 search is wrong"
import json, sys
a, b = sys.argv[1], sys.argv[2]
assert json.load(open(f"{b}/config.json"))["fp16"] is True
assert json.load(open(f"{b}/result.json"))["madds"] <= 30000
la = [json.loads(l)["loss"] for l in open(f"{a}/history.jsonl")]
lb = [json.loads(l)["loss"] for l in open(f"{b}/history.jsonl")]
assert len(la) == len(lb) and all(abs(x - y) <= 0.05 * x for x, y in zip(la, lb)), (la, lb)
PY

# a learned space (a short evolution) searched the same way
run evolve evolve "${ref[@]}" "${data[@]}" --generations 2 --population 4 --k 3 --steps 4 --batch 16 --val 160 --quiet --run "$tmp/e1"
run s4 search --space "$tmp/e1/space.json" "${data[@]}" --steps 20 --warmup 5 --batch 16 --val 160 --budget-madds 0.05M --quiet --run "$tmp/s4"
[ -s "$tmp/s4/net.json" ] || fail "no network from the learned space"

# bad input: one clear sentence, the right exit code
expect() { # expect CODE REGEX args...
  local code=$1 re=$2; shift 2
  out=$("$ASVK" "$@" 2>&1); rc=$?
  [ "$rc" = "$code" ] || { fail "asvk $* exited $rc, expected $code: $out"; return; }
  grep -Eq -- "$re" <<<"$out" || fail "asvk $* said '$out', expected /$re/"
}
expect 2 "below the cheapest network of the space \([0-9.]+M MAdds\)" search "${common[@]}" --budget-madds 1k --run "$tmp/bad1"
expect 2 "give one budget" search "${common[@]}" --run "$tmp/bad2"
expect 2 "needs --lut" search "${common[@]}" --budget-latency 5 --run "$tmp/bad3"
/usr/bin/python3 - "$tmp/lut.json" "$tmp/other.json" "$tmp/partial.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
t["device"]["name"] = "Mali-G78 MP20"; t["device"]["driver_version"] = "38.1.0"
json.dump(t, open(sys.argv[2], "w"))
t = json.load(open(sys.argv[1]))
t["nodes"] = {k: v for k, v in t["nodes"].items() if "k7x7" not in k}
json.dump(t, open(sys.argv[3], "w"))
PY
run other search "${common[@]}" --budget-latency 50 --lut "$tmp/other.json" --run "$tmp/s5" --steps 12 --save-every 12
grep -q "measured on Mali-G78 MP20 (driver 38.1.0), not on this" "$tmp/other.err" || fail "no warning about a table from another device"
expect 2 "latency table has no time for 'conv\[k7x7" search "${common[@]}" --budget-latency 50 --lut "$tmp/partial.json" --run "$tmp/bad4"
expect 2 "holds no search" search --resume --run "$tmp/nothing"
# a saved state holding a NaN (a damaged file) is refused on resume, naming the file and tensor
cp -r "$tmp/s1" "$tmp/s1nan" && rm -f "$tmp/s1nan/.lock"
/usr/bin/python3 "$here/nan_tensor.py" "$tmp/s1nan/search-weights.safetensors" group0.data 3 ||
  fail "cannot write a NaN into the search's weights"
expect 2 "search-weights.safetensors: tensor group0.data holds non-finite values.*element 3" \
  search --resume --run "$tmp/s1nan" --quiet

if [ "$failures" != 0 ]; then echo "$failures failure(s)"; exit 1; fi
echo "all search cases passed"
