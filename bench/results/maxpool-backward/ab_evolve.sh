#!/bin/bash
# ab_evolve.sh BASE NEW OUT N: `asvk evolve --quick` with the base and the new
# binary, alternated N times; each generation's seconds from history.jsonl.
base=$1; new=$2; out=$3; n=$4
mkdir -p "$out"
for i in $(seq 1 "$n"); do
  for v in base new; do
    b=$base; [ $v = new ] && b=$new
    rm -rf "$out/run-$v-$i"
    "$b" evolve --quick --run "$out/run-$v-$i" --quiet
    python3 - "$out/run-$v-$i/history.jsonl" $v "$("$b" version)" <<'PY'
import json, sys
g = [json.loads(l)["seconds"] for l in open(sys.argv[1])]
print(sys.argv[2], sys.argv[3], "generations (s):", " ".join("%.1f" % x for x in g))
PY
  done
done
