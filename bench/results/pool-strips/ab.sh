#!/bin/bash
# ab.sh BASE NEW OUT N ARCH... (as ../maxpool-backward/ab.sh, tagged by the file name): `asvk bench train --batch 128` of each ARCH with the
# base and the new binary, alternated (base new base new ...) N times each;
# JSONs in OUT, one line of figures per run.
base=$1; new=$2; out=$3; n=$4; shift 4
mkdir -p "$out"
for i in $(seq 1 "$n"); do
  for a in "$@"; do
    tag=$(basename "$a" .json)
    [ -f "$a" ] || tag=$a
    for v in base new; do
      b=$base; [ $v = new ] && b=$new
      "$b" bench train --arch "$a" --batch 128 --repeat 7 --json > "$out/${tag}_${v}_$i.json"
      python3 - "$out/${tag}_${v}_$i.json" $v $tag <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
print(sys.argv[3], sys.argv[2], j["git_commit"], "train %.1f img/s" % j["train_images_per_s"],
      "infer %.1f img/s" % j["infer_images_per_s"], "batch-1 %.3f ms" % j["latency_batch1_ms"],
      "dispatches", j["dispatches_per_step"])
PY
    done
  done
done
