#!/bin/bash
# ab.sh BASE NEW OUT N ARCH...: `asvk bench ops --batch 128 --json` of each ARCH with the base and
# the new binary, alternated N times; the JSONs in OUT, and a line per run with the training step and
# the depthwise weight gradients' device time (the shapes whose weights are C x KH x KW x 1).
base=$1; new=$2; out=$3; n=$4; shift 4
mkdir -p "$out"
for i in $(seq 1 "$n"); do
  for a in "$@"; do
    tag=$(basename "$a" .json)
    for v in base new; do
      b=$base; [ $v = new ] && b=$new
      f="$out/${tag}_${v}_$i.json"
      "$b" bench ops --arch "$a" --batch 128 --json > "$f" 2>/dev/null
      python3 - "$f" "$tag" "$v" <<'PY'
import json, re, sys
j = json.load(open(sys.argv[1]))
t = j["train"]
dw = [s for s in t["shapes"] if s["op"] == "conv_bwd_weight" and re.search(r"-> \d+x\d+x\d+x1$", s["shape"])]
print(sys.argv[2], sys.argv[3], j["git_commit"], "step %.1f ms" % t["ms"],
      "| depthwise weight gradients %.2f ms in %d shapes:" % (sum(s["ms"] for s in dw), len(dw)),
      " ".join("%s %.2f" % (re.search(r"-> (\S+)", s["shape"]).group(1), s["ms"]) for s in sorted(dw, key=lambda s: -s["ms"])))
PY
    done
  done
done
