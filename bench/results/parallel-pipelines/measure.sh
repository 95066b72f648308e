#!/bin/bash
# Pipelines built on every core in a dry pass before a recording, against the commit before
# (issue 14, item 4): asvk start-up (bench train's start-up figures) and evolve --quick's
# generations, alternated A B A B, Mesa's shader cache warm for both (the same pipelines).
# usage: measure.sh BASE_ASVK NEW_ASVK OUT [ROUNDS]
set -eu
A=$1 B=$2 OUT=$3 N=${4:-3}
mkdir -p "$OUT"
for r in $(seq 1 "$N"); do
  for v in A B; do
    bin=$A; [ $v = B ] && bin=$B
    "$bin" bench train --arch fmnist --batch 32 --repeat 5 --json >"$OUT/train-$v-$r.json" 2>/dev/null
    rm -rf "$OUT/evolve-$v-$r"
    "$bin" evolve --quick --generations 3 --run "$OUT/evolve-$v-$r" --quiet 2>/dev/null
    /usr/bin/python3 - "$OUT" "$v" "$r" <<'PY'
import json, sys
out, v, r = sys.argv[1:]
s = json.load(open(f"{out}/train-{v}-{r}.json"))["startup_ms"]
g = [json.loads(l)["seconds"] for l in open(f"{out}/evolve-{v}-{r}/history.jsonl")]
print(f"{v} round {r}: fmnist trainer ready {s['trainer']:.0f} ms (pipelines {s['pipelines_by_trainer']:.0f} ms of "
      f"driver time), first step done {s['first_step']:.0f} ms; evolve --quick s per generation "
      f"{', '.join(f'{x:.2f}' for x in g)}: first / second {g[0] / g[1]:.2f}", flush=True)
PY
  done
done
