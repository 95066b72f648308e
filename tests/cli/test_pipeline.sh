#!/usr/bin/env bash
# asvk pipeline end to end on a small generated dataset: evolve -> latency ->
# search -> train -> report in one run folder, the report's contents, a
# pipeline killed during its search and resumed, the mbconv comparison run,
# asvk report on its own, and bad input. Validation layer on.
set -u
ASVK=${1:?usage: test_pipeline.sh path/to/asvk}
here=$(cd "$(dirname "$0")" && pwd)
export ASVK_VALIDATION=1
failures=0
tmp=$(mktemp -d)
trap 'kill -9 $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

mkdir -p "$tmp/data"
/usr/bin/python3 "$here/make_idx.py" "$tmp/data" 2400 400 12 4 || { echo "cannot generate data"; exit 1; }
common=(--quick --reference "$here/tiny_arch.json" --data "fashion-mnist:$tmp/data" --seed 2 --quiet)

run() { # run NAME args...: runs asvk, fails the test on a non-zero exit or a validation message
  local name=$1; shift
  if ! "$ASVK" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"; then fail "$name: asvk $* exited non-zero"; cat "$tmp/$name.err"; return 1; fi
  if grep -Eq 'validation (error|warning):|validation layer reported' "$tmp/$name.err"; then fail "$name: validation messages"; cat "$tmp/$name.err"; fi
  return 0
}

run p1 pipeline "${common[@]}" --run "$tmp/p1"
for f in pipeline.json latency.json measured.json report.html evolve/space.json search/net.json search/result.json \
         train/model.safetensors train/log.jsonl; do
  [ -s "$tmp/p1/$f" ] || fail "pipeline run folder lacks $f"
done
/usr/bin/python3 - "$tmp/p1" <<'PY' || fail "the pipeline's files disagree"
import json, re, sys
d = sys.argv[1]
m = json.load(open(f"{d}/measured.json"))
assert m["latency_ms"] > 0 and m["predicted_latency_ms"] > 0 and m["batch"] == 1, m
r = json.load(open(f"{d}/search/result.json"))
net = json.load(open(f"{d}/search/net.json"))
sp = json.load(open(f"{d}/evolve/space.json"))
# the searched network is made of the learned space's cells (or skips)
cells = [{c["cell"] for c in l["cells"]} for l in sp["layers"]]
assert all(l["cell"] in cells[i] or l["cell"] == "skip" for i, l in enumerate(r["layers"])), (r["layers"], cells)
assert json.load(open(f"{d}/train/config.json"))["arch"].endswith("search/net.json")
html = open(f"{d}/report.html").read()
assert html.count("<svg") >= 2 * 4 + 5, html.count("<svg")   # 2 layers x 4 cells, and the charts
for want in ["The chosen network", "The learned space", "latency, measured", "latency, predicted", "test accuracy after 1 epoch<",
             "Layer 2:", "best fitness in each layer"]:
    assert want in html, want
PY

# SIGTERM during its search: exit 143 and the line naming the pipeline's own --resume; that command keeps the
# finished stages and resumes the search
"$ASVK" pipeline "${common[@]}" --run "$tmp/p2" >"$tmp/p2.out" 2>"$tmp/p2.err" &
pid=$!
for _ in $(seq 1 3000); do
  [ -s "$tmp/p2/search/search.json" ] && break
  kill -0 $pid 2>/dev/null || break
  sleep 0.02
done
kill -TERM $pid 2>/dev/null; wait $pid; rc=$?
[ "$rc" = 143 ] || fail "SIGTERM during the search: exit $rc, expected 143: $(cat "$tmp/p2.err")"
grep -Eq "^asvk: stopped by SIGTERM at a safe point; continue with: asvk pipeline --resume --run $tmp/p2$" "$tmp/p2.err" ||
  fail "SIGTERM during the search: no line naming the pipeline's --resume: $(cat "$tmp/p2.err")"
[ -s "$tmp/p2/evolve/space.json" ] || fail "the signal came before the evolution finished"
[ -e "$tmp/p2/search/net.json" ] && fail "the stopped search wrote its result"
run resumed pipeline --resume --run "$tmp/p2" --quiet
# (the latency tables differ, being measured twice: compare what was chosen)
cmp -s "$tmp/p1/search/net.json" "$tmp/p2/search/net.json" || fail "the resumed pipeline searched otherwise"
/usr/bin/python3 - "$tmp/p1/search/result.json" "$tmp/p2/search/result.json" <<'PY' || fail "the resumed search's alphas differ"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert a["layers"] == b["layers"] and a["madds"] == b["madds"], (a, b)
PY
[ -s "$tmp/p2/report.html" ] || fail "the resumed pipeline wrote no report"

# the hand-made space through the same pipeline, given a phone's table too: the report shows the exported
# ONNX model and the found network on every table (a 224 px phone table cannot price a 12 px network: said so)
run px1 latency import "$here/../data/reference/mobile-luts/proxylessnas-pixel1-mobile_trim.yaml" --device "Google Pixel 1" \
  --out "$tmp/pixel1.json"
run p3 pipeline "${common[@]}" --space mbconv --budget-madds 0.03M --lut "$tmp/pixel1.json" --widen 2 --run "$tmp/p3"
[ -e "$tmp/p3/evolve" ] && fail "--space mbconv evolved a space"
grep -q "hand-made space" "$tmp/p3/report.html" || fail "the mbconv report does not say its space was hand-made"
/usr/bin/python3 - "$tmp/p3" "$tmp/pixel1.json" <<'PY' || fail "the report lacks the exported model or the predictions"
import json, os, sys
d, px = sys.argv[1:3]
assert os.path.getsize(f"{d}/model.onnx") > 0
# --widen reaches the search, whose network stays within the budget
assert json.load(open(f"{d}/pipeline.json"))["widen"] == "2" and json.load(open(f"{d}/search/config.json"))["widen"] == 2
r = json.load(open(f"{d}/search/result.json"))
assert 1 <= r["width"] <= 2 and r["madds"] <= 30000, r
p = json.load(open(f"{d}/predictions.json"))["tables"]
assert [r["table"] for r in p] == [f"{d}/latency.json", px], p
assert p[0]["ms"] > 0 and not p[0]["imported"] and p[1]["imported"] and "224x224" in p[1]["error"], p
html = open(f"{d}/report.html").read()
for want in ["Toward a device", 'href="model.onnx"', "Google Pixel 1", "not priced: the table holds 224x224 inputs"]:
    assert want in html, want
PY
run report report "$tmp/p3"

# a latency budget prices the evolution too: the open space's table first, evolve and search priced by it
run p4 pipeline "${common[@]}" --budget-latency 5 --run "$tmp/p4"
/usr/bin/python3 - "$tmp/p4" <<'PY' || fail "the latency-budget pipeline is wrong"
import json, sys
d = sys.argv[1]
ev = json.load(open(f"{d}/evolve/config.json"))
assert ev["lut"] == f"{d}/latency.json" and float(ev["budget-latency"]) == 5 and ev["budget-madds"] == "", ev
hist = [json.loads(l) for l in open(f"{d}/evolve/history.jsonl")]
assert all(h["expected_latency_ms"] > 0 for h in hist), hist
r = json.load(open(f"{d}/search/result.json"))
assert r["budget_kind"] == "latency_ms" and 0 < r["predicted_latency_ms"] <= 5, r
PY

expect() { # expect CODE REGEX args...
  local code=$1 re=$2; shift 2
  out=$("$ASVK" "$@" 2>&1); rc=$?
  [ "$rc" = "$code" ] || { fail "asvk $* exited $rc, expected $code: $out"; return; }
  grep -Eq -- "$re" <<<"$out" || fail "asvk $* said '$out', expected /$re/"
}
expect 2 "already holds a pipeline" pipeline "${common[@]}" --run "$tmp/p1"
expect 2 "holds no pipeline" pipeline --resume --run "$tmp/none"
expect 2 "--space must be learned or mbconv" pipeline "${common[@]}" --space nasnet --run "$tmp/bad"

if [ "$failures" != 0 ]; then echo "$failures failure(s)"; exit 1; fi
echo "all pipeline cases passed"
