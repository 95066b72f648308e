#!/usr/bin/env bash
# The spaces experiment (scripts/experiment_spaces.py) in its CI form: toy
# sizes (budgets 1.5x the tiny reference's, which the mbconv space cannot
# meet), two seeds, a MAdds and a latency budget, every arm. Checks the
# results file's format (one line per trained network with the keys the
# summary and later sessions rely on), that each seed evolved its own learned
# space and drew its own random space, that running it again adds nothing
# (it resumes), a --variant's learned arm beside them in the same protocol,
# and the summary (tables, paired tests, SVG). Validation on.
set -u
ASVK=${1:?usage: test_experiment.sh path/to/asvk}
here=$(cd "$(dirname "$0")" && pwd)
export ASVK_VALIDATION=1
failures=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

mkdir -p "$tmp/data"
/usr/bin/python3 "$here/make_idx.py" "$tmp/data" 960 128 12 4 || { echo "cannot generate data"; exit 1; }
tiny="--batch 16 --val 160"
experiment() {
  /usr/bin/python3 "$here/../../scripts/experiment_spaces.py" "$tmp/x" --asvk "$ASVK" --quick --seeds 1,2 \
    --budgets madds-full,latency --reference "$here/tiny_arch.json" --budget-scale 1.5 --data "fashion-mnist:$tmp/data" \
    --evolve-args "$tiny --generations 2 --population 4 --k 3 --steps 4" --search-args "$tiny --steps 20 --warmup 5" \
    --train-args "--batch 32" --results "$tmp/results.jsonl" "$@" # later options win: --seeds 1
}
if ! experiment >"$tmp/x.out" 2>"$tmp/x.err"; then fail "the experiment failed"; tail -30 "$tmp/x.err"; fi
grep -Eq 'validation (error|warning):|validation layer reported' "$tmp/x.err" && fail "validation messages"

/usr/bin/python3 - "$tmp/results.jsonl" "$tmp/x" <<'PY' || fail "the results file is wrong"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 2 * 2 * 3, len(rows)
keys = {"protocol", "arm", "seed", "budget", "test_acc", "madds", "params", "latency_ms", "epochs", "commit", "device",
        "budget_value", "budget_used", "predicted_latency_ms", "cells"}
for r in rows:
    assert keys <= set(r), keys - set(r)
    assert r["arm"] in ("learned", "mbconv", "random") and r["seed"] in (1, 2), r
    assert r["budget"] in ("madds-full", "latency"), r
    assert 0 <= r["test_acc"] <= 100 and r["epochs"] == 1 and r["latency_ms"] > 0 and r["params"] > 0, r
    assert isinstance(r["commit"], str) and r["commit"] and r["device"] and r["host"], r
    if r["budget"] == "madds-full":
        assert r["budget_value"] == 26100 and 0 < r["madds"] <= r["budget_value"], r
    else:
        assert 0 < r["predicted_latency_ms"] <= r["budget_value"] * 1.000001, r
    assert abs(r["budget_used"] * r["budget_value"] - (r["madds"] if r["budget"] != "latency" else r["predicted_latency_ms"])) < 1e-6 * r["budget_value"], r
assert {(r["budget"], r["arm"], r["seed"]) for r in rows} == {(b, a, s) for b in ("madds-full", "latency")
        for a in ("learned", "mbconv", "random") for s in (1, 2)}
assert len({r["protocol"] for r in rows}) == 1
x = sys.argv[2]
# each seed its own learned space and its own random one
for kind in ("madds", "latency"):
    ls = [json.load(open(f"{x}/spaces-{kind}/seed-{s}/evolve/space.json"))["layers"] for s in (1, 2)]
    rs = [json.load(open(f"{x}/spaces-{kind}/seed-{s}/random/space.json"))["layers"] for s in (1, 2)]
    assert ls[0] != ls[1] and rs[0] != rs[1], kind
lat = json.load(open(f"{x}/spaces-latency/seed-1/evolve/config.json"))
assert lat["lut"].endswith("latency.json") and lat["budget-latency"] != "" and lat["budget-madds"] == "", lat
PY

# again: everything is there, nothing is added
experiment >"$tmp/x2.out" 2>"$tmp/x2.err" || { fail "the second run failed"; tail -20 "$tmp/x2.err"; }
[ "$(wc -l <"$tmp/results.jsonl")" = 12 ] || fail "running the experiment again added lines"
grep -q "^+ .* train " "$tmp/x2.err" && fail "running it again trained again"

# a variant: one more learned arm (--cost hinge) for seed 1 at the MAdds budget, in the same protocol
experiment --seeds 1 --budgets madds-full --variant 'hinge=--cost hinge' >"$tmp/x3.out" 2>"$tmp/x3.err" ||
  { fail "the variant run failed"; tail -20 "$tmp/x3.err"; }
grep -q "^+ .* train .*/learned-hinge/" "$tmp/x3.err" || fail "the variant trained no network"
grep -Eq "^\+ .* train .*/(learned|mbconv|random)/" "$tmp/x3.err" && fail "the variant run trained the other arms again"
/usr/bin/python3 - "$tmp/results.jsonl" "$tmp/x" <<'PY' || fail "the variant's line is wrong"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 13, len(rows)
v = rows[-1]
assert (v["arm"], v["variant"], v["variant_args"], v["seed"], v["budget"]) == ("learned", "hinge", "--cost hinge", 1,
                                                                                 "madds-full"), v
assert v["protocol"] == rows[0]["protocol"] and not any("variant" in r for r in rows[:-1])
cfg = json.load(open(f"{sys.argv[2]}/spaces-madds/seed-1/evolve-hinge/config.json"))
assert cfg["cost"] == "hinge", cfg
assert json.load(open(f"{sys.argv[2]}/spaces-madds/seed-1/evolve/config.json"))["cost"] == "log"
PY
experiment --seeds 1 --budgets madds-full --variant 'hinge=--cost log' >"$tmp/x4.out" 2>"$tmp/x4.err" &&
  fail "a variant name run again with other arguments was accepted"
grep -q "ran variant 'hinge' as" "$tmp/x4.err" || { fail "no clear message for a renamed variant"; cat "$tmp/x4.err"; }

# a widen variant: seed 1's networks of every arm widened by `asvk widen`; a widened one is trained in its own
# folder, one left as it is (width 1) shares the plain arm's training and line
experiment --seeds 1 --budgets madds-full --variant 'wide=widen --divisor 1 --max-width 3' >"$tmp/x5.out" 2>"$tmp/x5.err" ||
  { fail "the widen variant run failed"; tail -20 "$tmp/x5.err"; }
grep -Eq "^\+ .* (evolve|search) " "$tmp/x5.err" && fail "the widen variant evolved or searched again"
/usr/bin/python3 - "$tmp/results.jsonl" "$tmp/x" "$tmp/x5.err" <<'PY' || fail "the widen variant's lines are wrong"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
err = open(sys.argv[3]).read()
assert len(rows) == 16, len(rows)
plain = {r["arm"]: r for r in rows if r["seed"] == 1 and r["budget"] == "madds-full" and "variant" not in r}
wide = {r["arm"]: r for r in rows[13:]}
assert set(wide) == {"learned", "mbconv", "random"} and all(r["variant"] == "wide" for r in wide.values()), wide
for arm, r in wide.items():
    p = plain[arm]
    assert r["protocol"] == p["protocol"] and r["variant_args"] == "widen --divisor 1 --max-width 3", r
    w = json.load(open(f"{sys.argv[2]}/madds-full/seed-1/{arm}-wide/widen.json"))
    assert r["width"] == w["width"] and p["madds"] <= r["madds"] <= r["budget_value"], (r, p)
    trained = f"/madds-full/seed-1/{arm}-wide/train" in err
    if w["widened"]:
        assert r["width"] > 1 and r["madds"] > p["madds"] and r["madds"] == w["madds"] and trained, (arm, r, w)
        assert r["budget_used"] == r["madds"] / r["budget_value"], r
    else:  # the plain arm's network: its line, no training
        assert r["width"] == 1 and not trained and r["test_acc"] == p["test_acc"] and r["madds"] == p["madds"], (arm, r)
assert any(json.load(open(f"{sys.argv[2]}/madds-full/seed-1/{a}-wide/widen.json"))["widened"] for a in wide), \
    "no network was widened: the toy no longer tests the trained path"
PY

/usr/bin/python3 "$here/../../scripts/spaces_summary.py" "$tmp/results.jsonl" >"$tmp/summary.out" ||
  fail "the summary failed"
for b in madds-full latency; do
  for a in learned mbconv random; do grep -q "^| $b | $a | 2 |" "$tmp/summary.md" || fail "summary: no $b $a row"; done
  grep -q "^| $b | learned − mbconv | 2 |" "$tmp/summary.md" || fail "summary: no paired $b row"
done
for row in "madds-full | learned (hinge) | 1 |" "madds-full | learned (hinge) − mbconv | 1 |" \
           "madds-full | learned (hinge) − learned | 1 |" "madds-full | mbconv (wide) | 1 |" \
           "madds-full | learned (wide) − mbconv (wide) | 1 |" "madds-full | learned (wide) − random (wide) | 1 |"; do
  grep -qF "| $row" "$tmp/summary.md" || fail "summary: no '$row' row"
done
/usr/bin/python3 - "$tmp/summary.svg" <<'PY' || fail "the summary's SVG is wrong"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
circles = [c for c in root.iter("{http://www.w3.org/2000/svg}circle") if c.find("{http://www.w3.org/2000/svg}title") is not None]
assert len(circles) == 16, len(circles)
PY

# --keep: carried to a new machine. The first machine is the run above: seed 1's learned and random
# arms at the MAdds budget, into a fresh results file, keep their evidence in k (every stage is done:
# nothing runs again); the random arm's training is then made "in progress" (its model and results line
# gone) and --snapshot keeps its resume state. A second machine (OUT removed) restores from k and only
# resumes that training: no evolve, no search, the learned arm untouched.
keeprun() {
  /usr/bin/python3 "$here/../../scripts/experiment_spaces.py" "$tmp/x" --asvk "$ASVK" --quick --seeds 1 \
    --budgets madds-full --arms learned,random --reference "$here/tiny_arch.json" --budget-scale 1.5 \
    --data "fashion-mnist:$tmp/data" --evolve-args "$tiny --generations 2 --population 4 --k 3 --steps 4" \
    --search-args "$tiny --steps 20 --warmup 5" --train-args "--batch 32" --results "$tmp/kept.jsonl" --keep "$tmp/k" "$@"
}
keeprun >"$tmp/k1.out" 2>"$tmp/k1.err" || { fail "the --keep run failed"; tail -20 "$tmp/k1.err"; }
grep -Eq "^\+ .* (evolve|search|train) " "$tmp/k1.err" && fail "the --keep run ran a finished stage again"
for f in spaces-madds/seed-1/evolve/space.json spaces-madds/seed-1/evolve/history.jsonl \
         spaces-madds/seed-1/random/space.json madds-full/seed-1/learned/search/net.json \
         madds-full/seed-1/learned/search/result.json madds-full/seed-1/random/train-log.jsonl \
         madds-full/seed-1/learned/bench.json; do
  [ -f "$tmp/k/$f" ] || fail "--keep did not keep $f"
done
[ -z "$(find "$tmp/k" -name 'state.json' -o -name '*.safetensors' -o -name 'train' -type d)" ] ||
  fail "--keep kept weights or a finished training's folder: $(find "$tmp/k" -name '*.safetensors' -o -name state.json)"
rt=$tmp/x/madds-full/seed-1/random/train
if [ -f "$rt/last.safetensors" ]; then
  rm -f "$rt/model.safetensors"
  grep -v '"arm": "random"' "$tmp/kept.jsonl" >"$tmp/kept2.jsonl" && mv "$tmp/kept2.jsonl" "$tmp/kept.jsonl"
  keeprun --snapshot >"$tmp/k2.out" 2>"$tmp/k2.err" || fail "--snapshot failed"
  [ -f "$tmp/k/madds-full/seed-1/random/train/last.safetensors" ] || fail "--snapshot kept no resume state"
  rm -rf "$tmp/x"
  keeprun >"$tmp/k3.out" 2>"$tmp/k3.err" || { fail "the restored run failed"; tail -20 "$tmp/k3.err"; }
  grep -Eq "^\+ .* (evolve|search) " "$tmp/k3.err" && fail "the restored run evolved or searched again"
  grep -q "^+ .* train --resume --run $tmp/x/madds-full/seed-1/random/train" "$tmp/k3.err" ||
    fail "the restored run did not resume the training in progress"
  grep -q "^+ .* train .*learned" "$tmp/k3.err" && fail "the restored run trained the finished arm again"
  [ "$(grep -c '"arm": "random"' "$tmp/kept.jsonl")" = 1 ] || fail "the resumed training left no results line"
  [ -e "$tmp/k/madds-full/seed-1/random/train" ] && fail "a finished training's resume state stayed kept"
else
  fail "a finished training left no last.safetensors to resume from"
fi

if [ "$failures" != 0 ]; then echo "$failures failure(s)"; exit 1; fi
echo "all experiment cases passed"
