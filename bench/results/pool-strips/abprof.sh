#!/bin/bash
# abprof.sh BASE NEW OUT N ARCH...: `asvk bench train --batch 128 --profile` of each ARCH
# with the base and the new binary, alternated N times; the profile text in OUT, and a line
# per run with the training step, inference and the pooling rows (device ms per step).
base=$1; new=$2; out=$3; n=$4; shift 4
mkdir -p "$out"
for i in $(seq 1 "$n"); do
  for a in "$@"; do
    tag=$(basename "$a" .json)
    for v in base new; do
      b=$base; [ $v = new ] && b=$new
      f="$out/${tag}_${v}_$i.txt"
      "$b" bench train --arch "$a" --batch 128 --repeat 7 --profile > "$f" 2>&1
      awk -v t="$tag" -v v="$v" '
        /training step .*images\/s/ {tr=$5} /^  inference .*images\/s/ {inf=$4}
        /^training step:/ {sec="train"} /^inference:/ {sec="infer"}
        $1=="pool" {p[sec]=$3} $1=="pool_bwd" {pb=$3}
        END {printf "%s %s train %s img/s infer %s img/s | pool fwd %s ms, pool bwd %s ms (train) | pool %s ms (infer)\n", t, v, tr, inf, p["train"], pb, p["infer"]}' "$f"
    done
  done
done
