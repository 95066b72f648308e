#!/usr/bin/env bash
# Configures and builds asvk. usage: scripts/build.sh [--arch arm64] [BUILD_DIR] [cmake options...]
# Default BUILD_DIR is build/; warnings are errors (as in CI).
# --arch arm64 builds for 64-bit Arm Linux into build-arm64/ by default: on
# another machine it cross-compiles with cmake/toolchain-aarch64-linux-gnu.cmake
# (packages: scripts/setup.sh --cross arm64; ctest in that folder runs the
# tests under qemu-aarch64); on an arm64 machine it is the native build.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
default=$root/build
cross=()
if [ "${1:-}" = --arch ]; then
  [ "${2:-}" = arm64 ] || { echo "build.sh: --arch takes arm64" >&2; exit 2; }
  shift 2
  default=$root/build-arm64
  if [ "$(uname -m)" != aarch64 ]; then
    command -v aarch64-linux-gnu-gcc >/dev/null ||
      { echo "build.sh: no aarch64 cross compiler; install it with 'scripts/setup.sh --cross arm64'" >&2; exit 1; }
    cross=(-DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchain-aarch64-linux-gnu.cmake")
  fi
fi
dir=${1:-$default}
shift $(( $# > 0 ? 1 : 0 ))
cmake -S "$root" -B "$dir" -DASVK_WERROR=ON "${cross[@]}" "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)"
