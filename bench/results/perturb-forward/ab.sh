#!/bin/bash
# ab.sh BASE NEW OUT N: `asvk evolve --quick --fitness perturb --generations 3` with the base and
# the new binary, alternated N times; each run's history.jsonl kept in OUT as TAG_history.jsonl,
# one line per run with the seconds of each generation.
base=$1; new=$2; out=$3; n=$4
mkdir -p "$out"
for i in $(seq 1 "$n"); do
  for v in base new; do
    b=$base; [ $v = new ] && b=$new
    d=$(mktemp -d)
    "$b" evolve --quick --fitness perturb --generations 3 --run "$d/run" --quiet > /dev/null 2>&1
    cp "$d/run/history.jsonl" "$out/${v}_${i}_history.jsonl"
    python3 - "$out/${v}_${i}_history.jsonl" "$v" "$i" <<'PY'
import json, sys
h = [json.loads(l) for l in open(sys.argv[1])]
print(sys.argv[2], sys.argv[3], "generation seconds:", " ".join("%.2f" % g["seconds"] for g in h))
PY
    rm -rf "$d"
  done
done
