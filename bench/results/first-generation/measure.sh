#!/bin/bash
# First generation and start-up with Mesa's on-disk shader cache empty (a user's first run on a
# machine) and then filled (every later run): lavapipe compiles a pipeline's code with LLVM at
# its first dispatch, not in vkCreateComputePipelines, so asvk's pipeline timers do not see it.
# usage: measure.sh ASVK OUT   (OUT: a folder for the run folders and the output)
set -eu
A=$1 OUT=$2
mkdir -p "$OUT"
C=$(mktemp -d)   # an empty XDG_CACHE_HOME: Mesa's cache starts empty
for r in cold warm; do
  s=$EPOCHREALTIME
  XDG_CACHE_HOME=$C ASVK_CACHE_DIR=$C/asvk-$r "$A" evolve --quick --generations 3 --run "$OUT/evolve-$r" --quiet
  echo "evolve --quick --generations 3, Mesa cache $r: $(echo "$EPOCHREALTIME - $s" | bc) s"
  /usr/bin/python3 -c '
import json, sys
print("  seconds per generation:", [round(json.loads(l)["seconds"], 1) for l in open(sys.argv[1])])' "$OUT/evolve-$r/history.jsonl"
done
rm -rf "$C"; C=$(mktemp -d)
for r in cold warm; do
  echo "bench train --arch fmnist --batch 128, Mesa cache $r:"
  XDG_CACHE_HOME=$C ASVK_CACHE_DIR=$C/asvk-$r "$A" bench train --arch fmnist --batch 128 | grep -E "start-up|training step "
done
rm -rf "$C"
