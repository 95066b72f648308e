#!/usr/bin/env bash
# Issue 14 item 5: memory of a fmnist training step at batch 128, asvk (fp32 and
# fp16 activations) beside PyTorch (tuned and glibc-default malloc), and the
# first generation of asvk evolve --quick against the warm ones.
# usage: bench/results/memory/measure.sh build/asvk OUTDIR
set -eu
asvk=${1:?asvk binary}; out=${2:?output folder}
mkdir -p "$out"
uptime >"$out/uptime.txt"
"$asvk" cost fmnist --save "$out/fmnist.json" >/dev/null
"$asvk" bench train --arch fmnist --batch 128 --json >"$out/asvk_fp32.json"
"$asvk" bench train --arch fmnist --batch 128 --fp16 --json >"$out/asvk_fp16.json"
here=$(cd "$(dirname "$0")/../../.." && pwd)
/usr/bin/python3 "$here/tools/torch_bench.py" "$out/fmnist.json" --batch 128 --threads 2 --channels-last --repeat 5 --json >"$out/torch_tuned.json"
/usr/bin/python3 "$here/tools/torch_bench.py" "$out/fmnist.json" --batch 128 --threads 2 --channels-last --repeat 5 --default-malloc --json >"$out/torch_default.json"
# evolve --quick, 4 generations, a fresh pipeline cache (lavapipe 22.3 keeps none across processes)
rm -rf "$out/evolve" "$out/evolve-cache" && mkdir -p "$out/evolve-cache"
ASVK_CACHE_DIR="$out/evolve-cache" "$asvk" evolve --quick --generations 4 --run "$out/evolve" >"$out/evolve.log" 2>&1
rm -rf "$out/evolve-cache" "$out/evolve"/*.safetensors
