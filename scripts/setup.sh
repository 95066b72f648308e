#!/usr/bin/env bash
# Installs every Debian package asvk needs (see DESIGN.md, "External parts").
# Idempotent: packages already present are left alone. Runs apt-get as root,
# or through sudo when not root.
#   scripts/setup.sh [--cross arm64]
# --cross arm64 adds what the arm64 step of scripts/test needs on another
# architecture: Debian's aarch64 cross compiler, the arm64 libraries through
# multiarch (`dpkg --add-architecture arm64`), the arm64 Vulkan loader,
# lavapipe and validation layer, and qemu-user to run the arm64 tests. The
# quick start does not need them. On an arm64 machine it adds nothing.
set -euo pipefail

cross=""
while [ $# -gt 0 ]; do
  case $1 in
    --cross) [ "${2:-}" = arm64 ] || { echo "setup: --cross takes arm64" >&2; exit 2; }
             cross=$2; shift 2 ;;
    *) echo "usage: scripts/setup.sh [--cross arm64]" >&2; exit 2 ;;
  esac
done
if [ "$cross" = arm64 ] && [ "$(dpkg --print-architecture)" = arm64 ]; then cross=""; fi

packages=(
  build-essential cmake pkg-config git python3
  libvulkan-dev libvulkan1 libvulkan-volk-dev   # headers, loader, volk source
  glslang-tools spirv-tools                     # GLSL -> SPIR-V and its validator (build time)
  mesa-vulkan-drivers                           # lavapipe, the CPU Vulkan device
  vulkan-validationlayers vulkan-tools          # VK_LAYER_KHRONOS_validation, vulkaninfo
  libcjson-dev libstb-dev zlib1g-dev            # JSON, images, gzip
  dataset-fashion-mnist                         # the default dataset
  libopenblas0                                  # CPU baseline of 'asvk bench gemm'
  python3-torch python3-numpy                   # PyTorch parity test and speed baseline
  chromium                                      # headless browser of the report test (tests/cli/test_report.sh)
  clang libclang-rt-14-dev                      # libFuzzer and its sanitizers (scripts/fuzz.sh)
  libyaml-dev python3-yaml                      # published phone latency tables ('asvk latency import'; its test)
  libprotobuf-c-dev protobuf-c-compiler libonnx-dev  # ONNX export: protobuf-c, protoc-c and the onnx.proto schema
  python3-onnx                                  # the ONNX checker of the export test (tests/cli/test_phone.sh)
  libopenmpi-dev openmpi-bin                    # data-parallel runs under mpirun (runtime/dist/; tests/cli/test_mpi.sh)
)
# Node.js runs ONNX Runtime in the export test; a node already on PATH (e.g.
# NodeSource's, which bundles npm and conflicts with Debian's npm) is kept.
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)

# ONNX Runtime (npm's onnxruntime-node, pinned in tools/onnx/package.json) into
# tools/onnx/node_modules (git-ignored) for tests/cli/test_phone.sh.
# --ignore-scripts: its install script fetches GPU builds from a host CI cannot
# reach; the CPU library ships inside the package.
onnx_runtime() {
  local dir
  dir=$(cd "$(dirname "$0")/../tools/onnx" && pwd)
  [ -f "$dir/node_modules/onnxruntime-node/package.json" ] && return 0
  command -v npm >/dev/null || { echo "setup: no npm; the ONNX Runtime check of the export test will be skipped" >&2; return 0; }
  echo "setup: installing onnxruntime-node into $dir/node_modules"
  (cd "$dir" && npm install --ignore-scripts --no-audit --no-fund --silent) ||
    echo "setup: npm install failed; the ONNX Runtime check of the export test will be skipped" >&2
}
if [ "$cross" = arm64 ]; then
  # The Vulkan, volk and stb headers are shared with the native packages above;
  # shaders are compiled by the native glslang-tools.
  packages+=(
    gcc-aarch64-linux-gnu libc6-dev:arm64       # the cross compiler and the arm64 C library
    libcjson-dev:arm64 zlib1g-dev:arm64         # the libraries asvk links
    libyaml-dev:arm64 libprotobuf-c-dev:arm64
    libvulkan1:arm64 mesa-vulkan-drivers:arm64  # the arm64 loader and lavapipe (run time)
    vulkan-validationlayers:arm64               # the tests run under the validation layer
    qemu-user                                   # runs the arm64 tests (qemu-aarch64)
  )
fi

# The arm64 mesa-vulkan-drivers puts its drivers' manifests (*.aarch64.json)
# in /usr/share/vulkan/icd.d, where this machine's own Vulkan loader would find
# them, fail to open an arm64 library and report an error to every Vulkan
# program (a validation message in every native test). dpkg-divert moves them
# to arm64_icd_dir, which only the arm64 tests name (VK_DRIVER_FILES).
arm64_icd_dir=/usr/lib/aarch64-linux-gnu/vulkan/icd.d
undiverted=()
if [ "$cross" = arm64 ]; then
  for n in broadcom freedreno lvp radeon; do
    f=/usr/share/vulkan/icd.d/${n}_icd.aarch64.json
    [ "$(dpkg-divert --truename "$f")" = "$arm64_icd_dir/${n}_icd.aarch64.json" ] || undiverted+=("$f")
  done
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ] && [ ${#undiverted[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages are installed"
  onnx_runtime
  exit 0
fi

sudo=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "setup: run as root or install sudo (missing: ${missing[*]})" >&2; exit 1; }
  sudo="sudo"
fi
for f in "${undiverted[@]}"; do
  $sudo mkdir -p "$arm64_icd_dir"
  $sudo dpkg-divert --quiet --local --rename --divert "$arm64_icd_dir/${f##*/}" --add "$f"
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if [ "$cross" = arm64 ] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
    $sudo dpkg --add-architecture arm64
  fi
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if [ "$cross" = arm64 ] && compgen -G "/usr/share/vulkan/icd.d/*.aarch64.json" >/dev/null; then
  echo "setup: $(echo /usr/share/vulkan/icd.d/*.aarch64.json) would break this machine's Vulkan programs;" \
       "divert it to $arm64_icd_dir like the others above" >&2
  exit 1
fi
onnx_runtime
