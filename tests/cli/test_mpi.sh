#!/usr/bin/env bash
# Data-parallel runs under Open MPI (mpirun -np 2 on lavapipe, one CPU thread
# a rank): training on 2 ranks x B/2 equals 1 rank x B within fp32 tolerance
# (a network without BN, whose per-rank statistics would differ by design);
# the start-up line lists both ranks' devices; rank 0 alone writes the
# folder; --resume continues a 2-rank run on 1 rank and a 1-rank run on 2;
# a rank killed (SIGKILL) or hung (SIGSTOP) ends the run within a bounded time
# with a clear error, and the folder resumes; a batch that 2 ranks cannot
# share is refused; `bench allreduce` sums every size right; an evolve
# generation on 2 ranks learns the space 1 rank learns, and a search the
# network 1 rank finds (both with --sync-bn; a BN network trains alike with
# it, and differently without). Registered only when MPI is built.
# Validation layer on.
set -u
ASVK=${1:?usage: test_mpi.sh path/to/asvk}
here=$(cd "$(dirname "$0")" && pwd)
export ASVK_VALIDATION=1
# as root (containers, CI) Open MPI refuses to start without these
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# no network here: shared memory between the ranks of this machine; two
# ranks may outnumber the cores mpirun counts
MPIRUN=(mpirun -np 2 --oversubscribe --mca btl self,vader --mca plm_rsh_agent false
        -x LP_NUM_THREADS=1 -x ASVK_VALIDATION -x ASVK_CACHE_DIR -x ASVK_DIST_TIMEOUT)
export ASVK_DIST_TIMEOUT=${ASVK_DIST_TIMEOUT:-60}
failures=0
tmp=$(mktemp -d)
trap 'kill -9 $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

mkdir -p "$tmp/data"
/usr/bin/python3 "$here/make_idx.py" "$tmp/data" 960 128 12 4 || { echo "cannot generate data"; exit 1; }
common=(--arch "$here/tiny_nobn_arch.json" --data "fashion-mnist:$tmp/data" --batch 32 --lr 0.2 --seed 3)

run() { # run NAME [mpi] args...: asvk (under mpirun with mpi); non-zero exit or validation messages fail
  local name=$1; shift
  local pre=()
  if [ "$1" = mpi ]; then pre=("${MPIRUN[@]}"); shift; fi
  if ! "${pre[@]}" "$ASVK" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"; then
    fail "$name: asvk $* exited non-zero"; cat "$tmp/$name.err"; return 1
  fi
  if grep -Eq 'validation (error|warning):|validation layer reported' "$tmp/$name.err"; then fail "$name: validation messages"; cat "$tmp/$name.err"; fi
  return 0
}
# same curve (losses, accuracies) within fp32 tolerance, and the same weights
same_run() { # same_run DIR1 DIR2 CHECKPOINT
  /usr/bin/python3 - "$1" "$2" "$3" <<'PY'
import json, struct, sys
import numpy as np
a, b, ck = sys.argv[1:4]
la = [json.loads(l) for l in open(a + "/log.jsonl")]
lb = [json.loads(l) for l in open(b + "/log.jsonl")]
assert [r["epoch"] for r in la] == [r["epoch"] for r in lb], (la, lb)
for x, y in zip(la, lb):
    for k in ("train_loss", "train_acc", "test_loss", "test_acc"):
        assert abs(x[k] - y[k]) <= 2e-5 * max(1, abs(x[k])), (k, x, y)
def load(p):
    raw = open(p, "rb").read(); n = struct.unpack("<Q", raw[:8])[0]
    h = json.loads(raw[8:8 + n]); d = raw[8 + n:]
    return {k: np.frombuffer(d[v["data_offsets"][0]:v["data_offsets"][1]], np.float32) for k, v in h.items() if k != "__metadata__"}
wa, wb = load(a + "/" + ck), load(b + "/" + ck)
assert wa.keys() == wb.keys()
# 2 x B/2 sums each gradient in another order than 1 x B: rounding only
worst = max(float(np.max(np.abs(wa[k] - wb[k]))) / (float(np.max(np.abs(wa[k]))) + 1e-6) for k in wa)
assert worst < 3e-4, worst  # (60 steps of SGD; a BN shift near 0 is the worst ratio)
print("max relative weight difference %.2g" % worst)
PY
}

# ---- 1 rank x 32 against 2 ranks x 16 ----
run one train "${common[@]}" --epochs 2 --quiet --run "$tmp/one"
run two mpi train "${common[@]}" --epochs 2 --run "$tmp/two"
same_run "$tmp/one" "$tmp/two" model.safetensors || fail "2 ranks x 16 differ from 1 rank x 32"
grep -q "2 processes (Open MPI" "$tmp/two.err" || fail "no start-up line naming the ranks"
[ "$(grep -c '  rank [01]: .* on ' "$tmp/two.err")" = 2 ] || { fail "the start-up line does not list both ranks' devices"; cat "$tmp/two.err"; }
[ "$(grep -c '^epoch 1/2' "$tmp/two.err")" = 1 ] || fail "more than rank 0 printed progress"
[ "$(wc -l < "$tmp/two/log.jsonl")" = 2 ] || fail "log.jsonl holds other than 2 lines (one writer)"
ls -a "$tmp/two" | grep -q '\.tmp' && fail "a temporary file was left in the folder"

# ---- batch norm: --sync-bn takes statistics over the global batch, so a BN
# network (tiny without its dropout, whose masks follow a rank's own
# positions) trains on 2 x 16 as on 1 x 32; without it each rank's own
grep -v dropout "$here/tiny_arch.json" >"$tmp/bn_arch.json"
bn=(--arch "$tmp/bn_arch.json" --data "fashion-mnist:$tmp/data" --batch 32 --lr 0.05 --seed 3 --epochs 2 --quiet)
run bn_one train "${bn[@]}" --run "$tmp/bn_one"
run bn_two mpi train "${bn[@]}" --sync-bn --run "$tmp/bn_two"
same_run "$tmp/bn_one" "$tmp/bn_two" model.safetensors || fail "--sync-bn: 2 ranks x 16 differ from 1 rank x 32"
run bn_local mpi train "${bn[@]}" --run "$tmp/bn_local"
same_run "$tmp/bn_one" "$tmp/bn_local" model.safetensors >/dev/null 2>&1 &&
  fail "per-rank BN statistics gave the global batch's (the default should differ)"

# ---- an evolution and a search on 2 ranks (--sync-bn) learn what 1 rank learns ----
ev=(--reference "$tmp/bn_arch.json" --data "fashion-mnist:$tmp/data" --generations 2 --population 4 --k 2 --steps 6
    --batch 16 --val 160 --lr 0.05 --seed 5 --quiet)
run ev_one evolve "${ev[@]}" --run "$tmp/ev_one"
run ev_two mpi evolve "${ev[@]}" --sync-bn --run "$tmp/ev_two"
/usr/bin/python3 - "$tmp/ev_one/space.json" "$tmp/ev_two/space.json" <<'PY' || fail "evolve on 2 ranks learned another space"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
def cells(s): return [[(c["cell"], c["sampled"]) for c in l["cells"]] for l in s["layers"]]
assert cells(a) == cells(b), (cells(a), cells(b))
for la, lb in zip(a["layers"], b["layers"]):
    for x, y in zip(la["cells"], lb["cells"]):
        assert abs(x["fitness"] - y["fitness"]) < 1e-6, (x["fitness"], y["fitness"])
PY
se=(--reference "$tmp/bn_arch.json" --data "fashion-mnist:$tmp/data" --steps 12 --warmup 4 --batch 16 --val 160
    --save-every 6 --seed 3 --budget-madds 25000 --quiet)
run se_one search "${se[@]}" --run "$tmp/se_one"
run se_two mpi search "${se[@]}" --sync-bn --run "$tmp/se_two"
cmp -s "$tmp/se_one/net.json" "$tmp/se_two/net.json" || fail "search on 2 ranks chose another network"
/usr/bin/python3 - "$tmp/se_one/history.jsonl" "$tmp/se_two/history.jsonl" <<'PY' || fail "search on 2 ranks took another path"
import json, sys
a, b = ([json.loads(l) for l in open(p)] for p in sys.argv[1:3])
assert len(a) == len(b) == 2
for x, y in zip(a, b):
    assert abs(x["loss"] - y["loss"]) < 1e-5 and abs(x["expected_cost"] - y["expected_cost"]) < 1e-3 * x["expected_cost"], (x, y)
PY

# ---- resume across rank counts: the global batch is kept ----
run half2 mpi train "${common[@]}" --epochs 2 --stop-after 1 --quiet --run "$tmp/r21"
run rest1 train --resume --run "$tmp/r21" --quiet
same_run "$tmp/one" "$tmp/r21" model.safetensors || fail "2 ranks then 1 differ from 1 rank"
run half1 train "${common[@]}" --epochs 2 --stop-after 1 --quiet --run "$tmp/r12"
run rest2 mpi train --resume --run "$tmp/r12" --quiet
same_run "$tmp/one" "$tmp/r12" model.safetensors || fail "1 rank then 2 differ from 1 rank"

# ---- asvk bench allreduce: every size summed right over 2 ranks (it checks), one row each ----
if run allreduce mpi bench allreduce --repeat 2 --json; then
  /usr/bin/python3 - "$tmp/allreduce.out" <<'PY' || fail "bench allreduce printed the wrong table"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["ranks"] == 2 and r["backend"].startswith("Open MPI"), r
assert [x["bytes"] for x in r["results"]] == [1024, 16384, 65536, 262144, 1 << 20, 1 << 22, 1 << 24, 1 << 26], r
assert all(0 < x["min_us"] <= x["median_us"] and x["bus_gbps"] > 0 for x in r["results"]), r
PY
fi

# ---- a batch two ranks cannot share ----
out=$("${MPIRUN[@]}" "$ASVK" train "${common[@]}" --batch 33 --epochs 1 --quiet --run "$tmp/odd" 2>&1)
grep -q "multiple of 2" <<<"$out" || fail "--batch 33 on 2 ranks was not refused clearly: $out"

# ---- faults: rank 1 killed, rank 1 hung ----
fault() { # fault SIGNAL DIR: 2 ranks, rank 1 gets SIGNAL once the first checkpoint is there
  local sig=$1 dir=$2
  ASVK_DIST_TIMEOUT=10 "${MPIRUN[@]}" "$ASVK" train "${common[@]}" --epochs 30 --save-every 10 --quiet --run "$dir" \
    >"$dir.out" 2>&1 &
  local mp=$! t0=$SECONDS
  for _ in $(seq 1 3000); do [ -e "$dir/last.safetensors" ] && break; sleep 0.02; done
  local victim=""
  for p in $(pgrep -f "asvk train .*--run $dir"); do
    tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null | grep -qx OMPI_COMM_WORLD_RANK=1 && victim=$p
  done
  [ -n "$victim" ] || { fail "$sig: no rank 1 found"; kill -9 $mp; return; }
  kill -"$sig" "$victim"
  wait $mp; local rc=$?
  [ "$rc" != 0 ] || fail "$sig: the run ended with exit 0 after rank 1 was stopped"
  [ $((SECONDS - t0)) -lt 60 ] || fail "$sig: the other rank took $((SECONDS - t0)) s to end"
  kill -9 "$victim" 2>/dev/null
  echo "$sig: exit $rc after $((SECONDS - t0)) s"
}
fault KILL "$tmp/killed"
grep -Eq "rank 1 .*exited on signal 9|SIGTERM from mpirun" "$tmp/killed.out" || { fail "no clear error after a killed rank"; cat "$tmp/killed.out"; }
fault STOP "$tmp/hung"
grep -q "no answer from the other ranks within 10 s; a rank died or hangs" "$tmp/hung.out" ||
  { fail "no clear error after a hung rank"; cat "$tmp/hung.out"; }
for d in killed hung; do
  run "resume_$d" train --resume --run "$tmp/$d" --quiet ||
    { fail "the folder of the $d rank does not resume"; continue; }
  [ -s "$tmp/$d/model.safetensors" ] || fail "the resumed $d run did not finish"
done

if [ "$failures" -eq 0 ]; then echo "test_mpi: all checks passed"; else echo "test_mpi: $failures failed"; exit 1; fi
