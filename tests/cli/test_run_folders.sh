#!/usr/bin/env bash
# Run folders under the accidents of real use: a run stopped or killed before
# its first checkpoint resumes (from the beginning) or starts again, never
# dead-ends; one process per run folder (a second one exits 2 naming the
# holder's PID); Ctrl-C and SIGTERM stop at a safe point, print the exact
# command that continues, exit 130/143, and the continued run ends exactly
# where a straight one does; a second Ctrl-C stops at once. Validation on.
set -u
ASVK=${1:?usage: test_run_folders.sh path/to/asvk}
here=$(cd "$(dirname "$0")" && pwd)
export ASVK_VALIDATION=1
failures=0
tmp=$(mktemp -d)
trap 'kill -9 $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

mkdir -p "$tmp/data"
/usr/bin/python3 "$here/make_idx.py" "$tmp/data" 960 128 12 4 || { echo "cannot generate data"; exit 1; }
common=(--arch "$here/tiny_arch.json" --data "fashion-mnist:$tmp/data" --batch 32 --lr 0.05 --seed 3 --quiet)

run() { # run NAME args...: runs asvk, fails the test on a non-zero exit or a validation message
  local name=$1; shift
  if ! "$ASVK" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"; then fail "$name: asvk $* exited non-zero"; cat "$tmp/$name.err"; return 1; fi
  if grep -Eq 'validation (error|warning):|validation layer reported' "$tmp/$name.err"; then fail "$name: validation messages"; cat "$tmp/$name.err"; fi
  return 0
}
expect() { # expect CODE REGEX args...
  local code=$1 re=$2; shift 2
  out=$("$ASVK" "$@" 2>&1); rc=$?
  [ "$rc" = "$code" ] || { fail "asvk $* exited $rc, expected $code: $out"; return; }
  grep -Eq -- "$re" <<<"$out" || fail "asvk $* said '$out', expected /$re/"
}
# the columns that must match between runs: epoch, losses, accuracies, steps (not speed or time)
curve() { /usr/bin/python3 -c 'import json,sys
for l in open(sys.argv[1]):
    r = json.loads(l); [r.pop(k) for k in ("images_per_s", "seconds")]; print(json.dumps(r, sort_keys=True))' "$1"; }
wait_for() { # wait_for PID TEST...: polls TEST (a command) every 0.02 s while PID lives, up to 120 s
  local pid=$1; shift
  for _ in $(seq 1 6000); do "$@" && return 0; kill -0 "$pid" 2>/dev/null || return 1; sleep 0.02; done
  return 1
}

run straight train "${common[@]}" --epochs 4 --run "$tmp/s"

# --- no dead ends: a folder holding only config.json (a run killed, stopped or failed before its first checkpoint)
mkdir -p "$tmp/d1" "$tmp/d2"
cp "$tmp/s/config.json" "$tmp/d1/"
cp "$tmp/s/config.json" "$tmp/d2/"
run resume_unstarted train --resume --run "$tmp/d1" --quiet
cmp -s <(curve "$tmp/s/log.jsonl") <(curve "$tmp/d1/log.jsonl") ||
  fail "a run resumed before its first checkpoint does not train from the beginning like a straight one"
[ -s "$tmp/d1/model.safetensors" ] || fail "the resumed unstarted run wrote no model"
run restart_unstarted train "${common[@]}" --epochs 4 --run "$tmp/d2"
cmp -s <(curve "$tmp/s/log.jsonl") <(curve "$tmp/d2/log.jsonl") || fail "a fresh start on an unstarted run's folder differs"
expect 2 "already holds a run.*--resume --run" train "${common[@]}" --epochs 4 --run "$tmp/s"
expect 2 "holds no training run.*without --resume" train --resume --run "$tmp/empty"

# a real SIGKILL right after the run folder appears (before the first checkpoint, on any machine speed this
# lands in the first epoch or its pipeline creation), then --resume: the straight run's curve
"$ASVK" train "${common[@]}" --epochs 4 --run "$tmp/k" >"$tmp/k.out" 2>&1 &
pid=$!
wait_for $pid test -s "$tmp/k/config.json"
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
run resume_killed train --resume --run "$tmp/k" --quiet
cmp -s <(curve "$tmp/s/log.jsonl") <(curve "$tmp/k/log.jsonl") || fail "a run killed early and resumed differs from straight"

# the same for evolve: a folder with the config but no generation 0
ecommon=(--reference "$here/tiny_arch.json" --data "fashion-mnist:$tmp/data" --generations 2 --population 4 --k 2
         --steps 4 --batch 16 --val 160 --lr 0.05 --seed 5 --quiet)
run evolve_straight evolve "${ecommon[@]}" --run "$tmp/e1"
mkdir -p "$tmp/e2" && cp "$tmp/e1/config.json" "$tmp/e2/"
run evolve_unstarted evolve --resume --run "$tmp/e2" --quiet
cmp -s "$tmp/e1/space.json" "$tmp/e2/space.json" || fail "an evolution resumed before generation 0 learned another space"
mkdir -p "$tmp/e3" && cp "$tmp/e1/config.json" "$tmp/e3/"
run evolve_restart evolve "${ecommon[@]}" --run "$tmp/e3"
cmp -s "$tmp/e1/space.json" "$tmp/e3/space.json" || fail "a fresh evolution on an unstarted folder learned another space"
expect 2 "already holds a run.*--resume" evolve "${ecommon[@]}" --run "$tmp/e1"

# --- one process per run folder: a second --resume of a running run exits 2 naming the folder and the holder
cp -r "$tmp/s" "$tmp/l" && rm "$tmp/l/last.safetensors" "$tmp/l/model.safetensors"
/usr/bin/python3 - "$tmp/l/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c["epochs"] = 400; json.dump(c, open(sys.argv[1], "w"))
PY
"$ASVK" train --resume --run "$tmp/l" --quiet >"$tmp/l.out" 2>&1 &
pid=$!
if wait_for $pid grep -qx "$pid" "$tmp/l/.lock"; then
  expect 2 "$tmp/l is in use by another asvk process \(PID $pid\)" train --resume --run "$tmp/l" --quiet
  expect 2 "$tmp/l is in use by another asvk process \(PID $pid\)" train "${common[@]}" --run "$tmp/l"
else
  fail "the first process never held the lock: $(cat "$tmp/l.out")"
fi
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
# the lock goes with its process: the folder resumes at once (a few epochs, then stopped by --stop-after)
run after_lock train --resume --run "$tmp/l" --stop-after 1 --quiet
# and for evolve: the same lock
cp -r "$tmp/e1" "$tmp/el"
/usr/bin/python3 - "$tmp/el/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c["generations"] = 400; json.dump(c, open(sys.argv[1], "w"))
PY
"$ASVK" evolve --resume --run "$tmp/el" --quiet >"$tmp/el.out" 2>&1 &
pid=$!
if wait_for $pid grep -qx "$pid" "$tmp/el/.lock"; then
  expect 2 "$tmp/el is in use by another asvk process \(PID $pid\)" evolve --resume --run "$tmp/el" --quiet
else
  fail "the first evolve never held the lock: $(cat "$tmp/el.out")"
fi
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null

# --- signals. SIGTERM after the first epoch's line: exit 143, the line naming the exact command, consistent
# files; that command (run as printed) ends where the straight run ended, the stopped epoch's loss whole.
"$ASVK" train "${common[@]}" --epochs 4 --run "$tmp/t" >"$tmp/t.out" 2>"$tmp/t.err" &
pid=$!
wait_for $pid test -s "$tmp/t/last.safetensors"
kill -TERM $pid; wait $pid; rc=$?
[ "$rc" = 143 ] || fail "SIGTERM: exit $rc, expected 143: $(cat "$tmp/t.err")"
line=$(grep -E "^asvk: stopped by SIGTERM at a safe point; continue with: asvk train --resume --run " "$tmp/t.err")
[ -n "$line" ] || fail "SIGTERM: no line naming the command that continues: $(cat "$tmp/t.err")"
[ -e "$tmp/t/model.safetensors" ] && fail "a stopped run wrote its final model"
cmd=${line#*continue with: asvk }
eval "set -- $cmd"
run continued "$@" --quiet
cmp -s <(curve "$tmp/s/log.jsonl") <(curve "$tmp/t/log.jsonl") ||
  { fail "stopped by SIGTERM and continued, the run differs from straight"; diff <(curve "$tmp/s/log.jsonl") <(curve "$tmp/t/log.jsonl"); }

# Ctrl-C (SIGINT; job control on, so the background job does not ignore it, as a terminal's would not)
set -m
"$ASVK" train "${common[@]}" --epochs 4 --run "$tmp/i" >"$tmp/i.out" 2>"$tmp/i.err" &
pid=$!
set +m
wait_for $pid test -s "$tmp/i/log.jsonl"
kill -INT $pid; wait $pid; rc=$?
[ "$rc" = 130 ] || fail "Ctrl-C: exit $rc, expected 130: $(cat "$tmp/i.err")"
grep -Eq "^asvk: stopped by Ctrl-C at a safe point; continue with: asvk train --resume --run $tmp/i$" "$tmp/i.err" ||
  fail "Ctrl-C: no line naming the command that continues: $(cat "$tmp/i.err")"
run continued_int train --resume --run "$tmp/i" --quiet
cmp -s <(curve "$tmp/s/log.jsonl") <(curve "$tmp/i/log.jsonl") || fail "stopped by Ctrl-C and continued, the run differs"

# evolve: SIGTERM inside generation 2 abandons it; the continued run learns the straight run's space
"$ASVK" evolve "${ecommon[@]}" --run "$tmp/et" >"$tmp/et.out" 2>"$tmp/et.err" &
pid=$!
wait_for $pid test -s "$tmp/et/history.jsonl"
kill -TERM $pid; wait $pid; rc=$?
[ "$rc" = 143 ] || fail "evolve, SIGTERM: exit $rc, expected 143: $(cat "$tmp/et.err")"
grep -Eq "^asvk: stopped by SIGTERM at a safe point; continue with: asvk evolve --resume --run $tmp/et$" "$tmp/et.err" ||
  fail "evolve, SIGTERM: no line naming the command that continues: $(cat "$tmp/et.err")"
run evolve_continued evolve --resume --run "$tmp/et" --quiet
cmp -s "$tmp/e1/space.json" "$tmp/et/space.json" || fail "an evolution stopped by SIGTERM and continued learned another space"

# a second Ctrl-C stops at once. Steps of a wide network on a large batch are slow enough (seconds under the
# validation layer) that the second signal lands before the first one's safe point.
cat >"$tmp/wide.json" <<'EOF'
{"format": "asvk-arch/1", "name": "wide", "in_channels": 1, "resolution": 12, "num_classes": 4,
 "layers": [{"type": "conv", "out": 64, "kernel": 3, "stride": 1, "act": "relu"},
            {"type": "conv", "out": 128, "kernel": 3, "stride": 1, "act": "relu"},
            {"type": "conv", "out": 128, "kernel": 3, "stride": 1, "act": "relu"},
            {"type": "global_pool"}, {"type": "linear", "out": 4, "bias": true}]}
EOF
set -m
"$ASVK" train --arch "$tmp/wide.json" --data "fashion-mnist:$tmp/data" --batch 256 --epochs 50 --run "$tmp/w" --quiet \
  >"$tmp/w.out" 2>"$tmp/w.err" &
pid=$!
set +m
wait_for $pid test -s "$tmp/w/config.json"
sleep 0.2
kill -INT $pid
wait_for $pid grep -q "stopping at the next safe point" "$tmp/w.err"
kill -INT $pid; wait $pid; rc=$?
[ "$rc" = 130 ] || fail "two Ctrl-C: exit $rc, expected 130"
grep -q "stopped at once (second signal)" "$tmp/w.err" || fail "two Ctrl-C: not stopped at once: $(cat "$tmp/w.err")"

if [ "$failures" != 0 ]; then echo "$failures failure(s)"; exit 1; fi
echo "all run-folder cases passed"
