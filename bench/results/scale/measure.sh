#!/usr/bin/env bash
# The measurements of docs/scale.md on one machine (2 vCPU, lavapipe): the
# fmnist training step on 1 rank (LP_NUM_THREADS=2) and 2 ranks
# (LP_NUM_THREADS=1 each; the same 2 cores), per-rank statistics and
# --sync-bn, and the all-reduce time against bytes.
#   bench/results/scale/measure.sh build/asvk OUT_DIR
set -euo pipefail
asvk=$(realpath "$1"); out=$2
mkdir -p "$out"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpi=(mpirun -np 2 --oversubscribe --mca btl self,vader --mca plm_rsh_agent false -x LP_NUM_THREADS=1)
common=(--arch fmnist --batch 128 --epochs 1 --limit 7680)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
uptime > "$out/uptime.txt"
LP_NUM_THREADS=2 "$asvk" train "${common[@]}" --run "$tmp/one" 2> "$out/train-1rank.txt"
"${mpi[@]}" "$asvk" train "${common[@]}" --run "$tmp/two" 2> "$out/train-2ranks.txt"
"${mpi[@]}" "$asvk" train "${common[@]}" --sync-bn --run "$tmp/sync" 2> "$out/train-2ranks-syncbn.txt"
cp "$tmp/one/log.jsonl" "$out/log-1rank.jsonl"; cp "$tmp/two/log.jsonl" "$out/log-2ranks.jsonl"
cp "$tmp/sync/log.jsonl" "$out/log-2ranks-syncbn.jsonl"
"${mpi[@]}" "$asvk" bench allreduce --repeat 20 --json > "$out/allreduce-2ranks.json"
"${mpi[@]}" "$asvk" bench allreduce --repeat 20 > "$out/allreduce-2ranks.txt"
uptime >> "$out/uptime.txt"
