#!/usr/bin/env bash
# Configures and builds asvk. usage: scripts/build.sh [BUILD_DIR] [cmake options...]
# Default BUILD_DIR is build/; warnings are errors (as in CI).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$root/build}
shift $(( $# > 0 ? 1 : 0 ))
cmake -S "$root" -B "$dir" -DASVK_WERROR=ON "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)"
