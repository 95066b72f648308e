#!/usr/bin/env bash
# asvk train / eval end to end on a small generated dataset: the run folder's
# files, learning (loss falls, accuracy far above chance), determinism (same
# seed, same loss curve), resume (1 epoch + resume = 2 epochs straight,
# exactly), eval agreeing with the log, and bad input. Validation layer on.
set -u
ASVK=${1:?usage: test_train.sh path/to/asvk}
here=$(cd "$(dirname "$0")" && pwd)
export ASVK_VALIDATION=1
failures=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

mkdir -p "$tmp/data"
/usr/bin/python3 "$here/make_idx.py" "$tmp/data" 960 256 12 4 || { echo "cannot generate data"; exit 1; }
common=(--arch "$here/tiny_arch.json" --data "fashion-mnist:$tmp/data" --batch 32 --lr 0.05 --quiet)

run() { # run NAME args...: runs asvk, fails the test on a non-zero exit or a validation message
  local name=$1; shift
  if ! "$ASVK" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"; then fail "$name: asvk $* exited non-zero"; cat "$tmp/$name.err"; return 1; fi
  if grep -Eq 'validation (error|warning):|validation layer reported' "$tmp/$name.err"; then fail "$name: validation messages"; cat "$tmp/$name.err"; fi
  return 0
}

run straight train "${common[@]}" --epochs 3 --seed 3 --run "$tmp/r1"
for f in config.json log.jsonl last.safetensors model.safetensors; do
  [ -s "$tmp/r1/$f" ] || fail "run folder lacks $f"
done
/usr/bin/python3 - "$tmp/r1/log.jsonl" <<'PY' || fail "the log does not show learning"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert [r["epoch"] for r in rows] == [1, 2, 3], rows
assert rows[2]["train_loss"] < rows[0]["train_loss"], rows
assert rows[2]["test_acc"] > 0.6, rows     # 4 classes: chance is 0.25
assert all(r["images_per_s"] > 0 and r["steps"] == 30 for r in rows), rows
PY

run again train "${common[@]}" --epochs 3 --seed 3 --run "$tmp/r2"
cmp <(cut -d, -f3-8 "$tmp/r1/log.jsonl") <(cut -d, -f3-8 "$tmp/r2/log.jsonl") ||
  fail "the same seed gave another loss curve"

run first train "${common[@]}" --epochs 3 --stop-after 1 --seed 3 --run "$tmp/r3"
[ -e "$tmp/r3/model.safetensors" ] && fail "a stopped run wrote its final model"
run resumed train --resume --run "$tmp/r3" --quiet
cmp <(cut -d, -f3-8 "$tmp/r1/log.jsonl") <(cut -d, -f3-8 "$tmp/r3/log.jsonl") ||
  { fail "1 epoch + resume differs from 3 epochs straight"; cat "$tmp/r1/log.jsonl" "$tmp/r3/log.jsonl"; }

run eval eval --checkpoint "$tmp/r1/model.safetensors" --data "fashion-mnist:$tmp/data" --json
/usr/bin/python3 - "$tmp/eval.out" "$tmp/r1/log.jsonl" <<'PY' || fail "eval disagrees with the training log"
import json, sys
e = json.load(open(sys.argv[1]))
last = [json.loads(l) for l in open(sys.argv[2])][-1]
assert e["images"] == 256 and abs(e["top1"] - last["test_acc"]) < 1e-9, (e, last)
assert e["params"] > 0 and e["madds"] > 0, e
PY

run plan train "${common[@]}" --plan
grep -q "submits per step      1" "$tmp/plan.out" || fail "--plan does not report one submit per step"
grep -Eq "activation memory .* planned" "$tmp/plan.out" || fail "--plan does not report planned memory"

# fp16 storage of activations: the same run tracks the fp32 one (every epoch's
# training loss within 5%), and its config records it for --resume
run fp16 train "${common[@]}" --epochs 3 --seed 3 --fp16 --run "$tmp/r16"
/usr/bin/python3 - "$tmp/r1/log.jsonl" "$tmp/r16/log.jsonl" "$tmp/r16/config.json" <<'PY' || fail "--fp16 does not track fp32 training"
import json, sys
a = [json.loads(l)["train_loss"] for l in open(sys.argv[1]) if '"epoch"' in l]
b = [json.loads(l)["train_loss"] for l in open(sys.argv[2]) if '"epoch"' in l]
assert len(a) == len(b) == 3, (a, b)
assert all(abs(x - y) <= 0.05 * x for x, y in zip(a, b)), (a, b)
assert json.load(open(sys.argv[3]))["fp16"] is True
PY

# bad input: one clear sentence, the right exit code
expect() { # expect CODE REGEX args...
  local code=$1 re=$2; shift 2
  out=$("$ASVK" "$@" 2>&1); rc=$?
  [ "$rc" = "$code" ] || { fail "asvk $* exited $rc, expected $code: $out"; return; }
  grep -Eq -- "$re" <<<"$out" || fail "asvk $* said '$out', expected /$re/"
}
expect 2 "cannot|missing|No such|not found" train "${common[@]}" --data fashion-mnist:/nonexistent --run "$tmp/bad1"
expect 2 "already holds a run" train "${common[@]}" --run "$tmp/r1"
expect 2 "--resume needs --run" train "${common[@]}" --resume
printf '{"format": "asvk-arch/1", "name": "x",' >"$tmp/broken.json"
expect 2 "broken.json" train --arch "$tmp/broken.json" --data "fashion-mnist:$tmp/data" --run "$tmp/bad2"
expect 2 "do not fill one batch" train "${common[@]}" --batch 4096 --run "$tmp/bad3"
expect 2 "takes 1x12x12|12x12" train --arch fmnist --data "fashion-mnist:$tmp/data" --epochs 1 --run "$tmp/bad4"
printf 'garbage' >"$tmp/notckpt.safetensors"
expect 2 "notckpt.safetensors" eval --checkpoint "$tmp/notckpt.safetensors"
ASVK_DISABLE=fp16 expect 1 "16-bit storage.*switched off.*drop --fp16" train "${common[@]}" --fp16 --run "$tmp/bad5"

if [ "$failures" != 0 ]; then echo "$failures failure(s)"; exit 1; fi
echo "all train cases passed"
