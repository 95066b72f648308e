#!/bin/bash
# ab.sh BASE NEW OUT N ARGS...: `asvk ARGS --json` with the base and the new binary, alternated
# N times (base first); the JSONs in OUT as <i>_<base|new>.json, then `asvk bench compare` of
# every pair (new against base) and of all runs.
base=$1; new=$2; out=$3; n=$4; shift 4
mkdir -p "$out"
for i in $(seq 1 "$n"); do
  for v in base new; do
    b=$base; [ $v = new ] && b=$new
    "$b" "$@" --json > "$out/${i}_$v.json" || { echo "ab.sh: $b $* failed" >&2; exit 1; }
  done
done
for i in $(seq 1 "$n"); do echo "== pair $i"; "$new" bench compare "$out/${i}_base.json" "$out/${i}_new.json"; done
