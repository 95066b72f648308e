#!/usr/bin/env bash
# The report a user opens, rendered in a real browser: two short pipelines on
# generated data (the learned space priced in MAdds with one epoch of training,
# the hand-made space priced by latency with two) with stdout and stderr redirected into
# one file, as in a CI log or `| tee`. Checks that the stage lines come in the
# order the stages ran, then opens each report.html in headless Chromium
# (check_report.py) and checks its rendered DOM against the run's files.
# Everything stays in OUT_DIR for a person to look at: the run folders (with
# report.html), the logs and a screenshot of each report (OUT_DIR/*.png).
# Validation layer on.
set -u
ASVK=${1:?usage: test_report.sh path/to/asvk OUT_DIR}
out=${2:?usage: test_report.sh path/to/asvk OUT_DIR}
here=$(cd "$(dirname "$0")" && pwd)
export ASVK_VALIDATION=1
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# no chromium is a failure, not a skip: scripts/setup.sh installs Debian's package
command -v chromium >/dev/null || { echo "FAIL: no chromium on PATH; scripts/setup.sh installs it"; exit 1; }
rm -rf "$out" && mkdir -p "$out/data" || exit 1
/usr/bin/python3 "$here/make_idx.py" "$out/data" 2400 400 12 4 || { echo "cannot generate data"; exit 1; }
common=(--quick --reference "$here/tiny_arch.json" --data "fashion-mnist:$out/data" --seed 2)

pipeline() { # pipeline NAME args...: a pipeline with its progress, stdout and stderr into one file
  local name=$1; shift
  if ! "$ASVK" pipeline "${common[@]}" "$@" --run "$out/$name" >"$out/$name.log" 2>&1; then
    fail "$name: asvk pipeline $* exited non-zero"; tail -20 "$out/$name.log"; return 1
  fi
  if grep -Eq 'validation (error|warning):|validation layer reported' "$out/$name.log"; then
    fail "$name: validation messages"; grep -E 'validation' "$out/$name.log" | head -5
  fi
  return 0
}

# in_order LOG REGEX...: each regex matches a line of LOG, after the line the one before it matched
in_order() {
  local log=$1; shift
  /usr/bin/python3 - "$log" "$@" <<'PY'
import re, sys
lines = open(sys.argv[1], errors="replace").read().replace("\r", "\n").split("\n")
at, prev = -1, None
for pat in sys.argv[2:]:
    hit = next((i for i in range(at + 1, len(lines)) if re.search(pat, lines[i])), None)
    if hit is None:
        first = next((i for i in range(len(lines)) if re.search(pat, lines[i])), None)
        where = f"at line {first + 1}, not after /{prev}/ (line {at + 1})" if first is not None else "on no line"
        sys.exit(f"{sys.argv[1]}: /{pat}/ is {where}")
    at, prev = hit, pat
PY
}

if pipeline madds; then
  # the latency table's summary (stdout) between its stage's header and the search's (stderr)
  in_order "$out/madds.log" '^== evolve ==$' '^== latency ==$' '^latency table of ' '^== search ==$' \
    '^searched network: ' '^== train ==$' '^latency of the searched network' '^report: ' ||
    fail "the MAdds-priced pipeline's lines are out of order"
  /usr/bin/python3 "$here/check_report.py" "$out/madds" "$out/madds.png" || fail "the MAdds-priced run's report"
  # a run whose files hold a value that is not finite (cJSON writes NaN as null): said so and marked, not "nan"
  cp -r "$out/madds" "$out/nonfinite" && rm -f "$out/nonfinite/report.html"
  /usr/bin/python3 - "$out/nonfinite" <<'PY'
import json, sys
d = sys.argv[1]
r = json.load(open(f"{d}/search/result.json"))
r["madds"] = None
r["layers"][0]["probs"][r["layers"][0]["choice"]] = None
json.dump(r, open(f"{d}/search/result.json", "w"))
PY
  if "$ASVK" report "$out/nonfinite" >/dev/null 2>"$out/nonfinite.err"; then
    n=$(grep -o '<span class="bad">not a finite number in the run'"'"'s files</span>' "$out/nonfinite/report.html" | wc -l)
    [ "$n" = 2 ] || fail "a null MAdds and probability are marked $n times, expected 2"
    grep -Eiq '\b(nan|inf)\b' "$out/nonfinite/report.html" && fail "the report of a run with nulls says nan or inf"
  else
    fail "asvk report of a run with nulls failed: $(cat "$out/nonfinite.err")"
  fi
fi

if pipeline latency --space mbconv --budget-latency 5 --epochs 2; then
  in_order "$out/latency.log" '^== latency ==$' '^latency table of ' '^== search ==$' '^searched network: ' \
    '^== train ==$' '^latency of the searched network' '^report: ' ||
    fail "the latency-priced pipeline's lines are out of order"
  /usr/bin/python3 "$here/check_report.py" "$out/latency" "$out/latency.png" || fail "the latency-priced run's report"
fi

if [ "$failures" != 0 ]; then echo "$failures failure(s); the runs and screenshots are in $out"; exit 1; fi
echo "all report cases passed; screenshots: $out/madds.png $out/latency.png"
