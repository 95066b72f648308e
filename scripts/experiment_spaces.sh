#!/usr/bin/env bash
# The experiment of AutoSpace's claim, on this machine's device: at the same
# MAdds budget and with the same search and training settings, NAS inside the
# space `asvk evolve` learned against NAS inside ProxylessNAS's hand-made
# mbconv space, and against NAS inside a space of K random affordable cells
# per layer (`asvk evolve --generations 0 --no-anchors`: what evolution starts
# from, one per seed), over several seeds; prints mean +- standard deviation
# (and min..max) of test accuracy, params, MAdds and measured batch-1
# latency, and writes OUT/summary.json.
#
#   scripts/experiment_spaces.sh OUT [SEED...]          (default seeds 1 2 3)
#
# One evolution (seed 1) gives the learned space; every seed then runs a
# search and a training in each space. Every step is a resumable asvk run
# folder under OUT, so running the script again continues where it stopped.
# Settings come from the environment (defaults in brackets):
#   ASVK=build/asvk  REFERENCE=fmnist_evo  BUDGET=<the reference's MAdds>
#   EVOLVE_ARGS=""   SEARCH_ARGS=""  EPOCHS=5  TRAIN_ARGS=""
#   SPACES="learned mbconv random" (the arms to run; the summary shows every arm OUT holds)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: experiment_spaces.sh OUT [SEED...]}
shift
seeds=("$@")
[ ${#seeds[@]} -gt 0 ] || seeds=(1 2 3)
asvk=${ASVK:-$root/build/asvk}
ref=${REFERENCE:-fmnist_evo}
epochs=${EPOCHS:-5}
budget=${BUDGET:-$("$asvk" cost "$ref" --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["madds"])')}
mkdir -p "$out"

stage() { # stage DIR args...: run a command in DIR, resuming it when DIR holds one
  local dir=$1; shift
  if [ -e "$dir/config.json" ]; then "$asvk" "$1" --resume --run "$dir" --quiet
  else "$asvk" "$@" --run "$dir" --quiet; fi
}

echo "reference $ref, budget $budget MAdds, seeds ${seeds[*]}, $epochs epochs" >&2
read -r -a spaces <<<"${SPACES:-learned mbconv random}"
# shellcheck disable=SC2086
case " ${spaces[*]} " in *" learned "*) stage "$out/evolve" evolve --reference "$ref" --seed 1 ${EVOLVE_ARGS:-} ;; esac
for s in "${seeds[@]}"; do
  for space in "${spaces[@]}"; do
    case $space in
      learned) sp=$out/evolve/space.json ;;
      mbconv) sp=mbconv ;;
      random) # shellcheck disable=SC2086
              stage "$out/random-$s/space" evolve --reference "$ref" ${EVOLVE_ARGS:-} --generations 0 --no-anchors --seed "$s"
              sp=$out/random-$s/space/space.json ;;
      *) echo "unknown space '$space' (learned, mbconv or random)" >&2; exit 2 ;;
    esac
    # shellcheck disable=SC2086
    stage "$out/$space-$s/search" search --space "$sp" --reference "$ref" --budget-madds "$budget" --seed "$s" ${SEARCH_ARGS:-}
    # shellcheck disable=SC2086
    stage "$out/$space-$s/train" train --arch "$out/$space-$s/search/net.json" --epochs "$epochs" --seed "$s" ${TRAIN_ARGS:-}
    if [ ! -s "$out/$space-$s/bench.json" ]; then
      "$asvk" bench train --arch "$out/$space-$s/search/net.json" --batch 1 --repeat 15 --json >"$out/$space-$s/bench.json.tmp"
      mv "$out/$space-$s/bench.json.tmp" "$out/$space-$s/bench.json"
    fi
  done
done

/usr/bin/python3 - "$out" "${seeds[@]}" <<'PY'
import json, os, statistics, sys
out, seeds = sys.argv[1], sys.argv[2:]
def last(path):
    rows = [json.loads(l) for l in open(path)]
    return rows[-1]
summary = {}
for space in ("learned", "mbconv", "random"):
    if not all(os.path.exists(f"{out}/{space}-{s}/bench.json") for s in seeds):
        continue
    rows = []
    for s in seeds:
        d = f"{out}/{space}-{s}"
        r = json.load(open(f"{d}/search/result.json"))
        t = last(f"{d}/train/log.jsonl")
        b = json.load(open(f"{d}/bench.json"))
        rows.append({"seed": int(s), "test_acc": t["test_acc"], "params": r["params"], "madds": r["madds"],
                     "latency_ms": b["latency_batch1_ms"], "epochs": t["epoch"],
                     "cells": [l["cell"] for l in r["layers"]]})
    summary[space] = rows
json.dump(summary, open(f"{out}/summary.json", "w"), indent=1)
def stat(xs, scale=1, fmt="{:.3f}"):
    m = statistics.mean(xs) * scale
    sd = statistics.stdev(xs) * scale if len(xs) > 1 else 0.0
    return (fmt + " +- " + fmt + " (" + fmt + " .. " + fmt + ")").format(m, sd, min(xs) * scale, max(xs) * scale)
print(f"{'space':8} {'test accuracy %':34} {'params M':30} {'MAdds M':30} {'latency ms (batch 1)':30}")
for space, rows in summary.items():
    print(f"{space:8} {stat([r['test_acc'] for r in rows], 100, '{:.2f}'):34} "
          f"{stat([r['params'] for r in rows], 1e-6):30} {stat([r['madds'] for r in rows], 1e-6):30} "
          f"{stat([r['latency_ms'] for r in rows]):30}")
PY
