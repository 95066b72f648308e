#!/usr/bin/env bash
# Builds the libFuzzer harnesses (tests/fuzz, clang with address + undefined
# sanitizers, in build-fuzz/) and runs every one for SECONDS (default 20), as
# many at a time as there are cores. Fails (exit 1) on any crash, leak,
# sanitizer report, slow input (over 10 s) or memory blow-up (over 2 GiB), and
# prints the input that caused it and how to replay it.
#   usage: scripts/fuzz.sh [SECONDS] [TARGET...]     (targets: fuzz_arch_json, ...)
# Environment: ASVK_FUZZ_BUILD (build folder, default build-fuzz),
# ASVK_FUZZ_JOBS (targets run at once, default nproc). New inputs the fuzzer
# finds stay in BUILD/fuzz-corpus/<target>/ and seed later runs; the seeds
# in tests/fuzz/corpus/ are only read.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-20}
shift $(( $# > 0 ? 1 : 0 ))
[[ $seconds =~ ^[0-9]+$ ]] && [ "$seconds" -gt 0 ] || { echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]" >&2; exit 2; }
build=${ASVK_FUZZ_BUILD:-$root/build-fuzz}
jobs=${ASVK_FUZZ_JOBS:-$(nproc)}
start=$SECONDS

command -v clang >/dev/null || { echo "fuzz: clang is missing; scripts/setup.sh installs it" >&2; exit 1; }
# -Werror stays with the gcc builds: clang warns about other things (the
# harnesses themselves are built with -Werror, tests/fuzz/CMakeLists.txt).
cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER=clang -DASVK_FUZZ=ON -DASVK_WERROR=OFF >/dev/null
cmake --build "$build" --target fuzz_all -j"$(nproc)" >"$build/fuzz-build.log" 2>&1 ||
  { tail -40 "$build/fuzz-build.log"; echo "fuzz: the build failed (log: $build/fuzz-build.log)" >&2; exit 1; }
echo "fuzz: built in $((SECONDS - start)) s; $seconds s per target"

if [ $# -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for src in "$root"/tests/fuzz/fuzz_*.c; do targets+=("$(basename "$src" .c)"); done
fi

# Scratch files of the harnesses go to memory when it is there (each input
# is written to a file; atomic writes fsync).
if [ -w /dev/shm ]; then export TMPDIR=/dev/shm; fi
# LeakSanitizer runs after every input that leaves blocks allocated; any
# undefined behaviour stops the run (the build also has -fno-sanitize-recover).
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0:symbolize=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
logs=$build/fuzz-logs
mkdir -p "$logs" "$build/fuzz-artifacts"

run_one() { # run_one TARGET: fuzzes it, exit status of libFuzzer
  local t=$1 name=${1#fuzz_} bin=$build/tests/fuzz/$1
  local seeds=$root/tests/fuzz/corpus/${1#fuzz_} work=$build/fuzz-corpus/${1#fuzz_}
  mkdir -p "$work"
  local opts=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
              -artifact_prefix="$build/fuzz-artifacts/$name-")
  case $name in
    arch_json|netconfig|space_json|search_space_config|latency|safetensors) opts+=(-dict="$root/tests/fuzz/json.dict") ;;
  esac
  case $name in
    cifar) opts+=(-max_len=65536) ;; # whole 3073-byte records
  esac
  "$bin" "${opts[@]}" "$work" "$seeds" >"$logs/$name.log" 2>&1
}

failed=()
pids=()
names=()
wait_one() { # waits for the oldest running target and records its result
  local pid=${pids[0]} t=${names[0]}
  pids=("${pids[@]:1}")
  names=("${names[@]:1}")
  local log=$logs/${t#fuzz_}.log
  if wait "$pid"; then
    local execs
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    echo "fuzz: $t ok (${execs:-?} inputs)"
  else
    failed+=("$t")
    echo "FAIL: $t (log: $log)"
    grep -E "^(==[0-9]+==ERROR|SUMMARY|fuzz harness:|.*runtime error:)" "$log" | head -5 | sed 's/^/  /' || true
    local unit
    unit=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    if [ -n "$unit" ]; then
      echo "  input: $unit"
      echo "  replay: $build/tests/fuzz/$t $unit"
    fi
  fi
}

for t in "${targets[@]}"; do
  [ -x "$build/tests/fuzz/$t" ] || { echo "fuzz: no target $t" >&2; exit 2; }
  while [ ${#pids[@]} -ge "$jobs" ]; do wait_one; done
  run_one "$t" &
  pids+=($!)
  names+=("$t")
done
while [ ${#pids[@]} -gt 0 ]; do wait_one; done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: ${#failed[@]} of ${#targets[@]} targets failed: ${failed[*]} ($((SECONDS - start)) s)"
  exit 1
fi
echo "fuzz: all ${#targets[@]} targets ran ${seconds} s each without a finding ($((SECONDS - start)) s)"
