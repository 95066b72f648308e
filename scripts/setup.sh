#!/usr/bin/env bash
# Installs every Debian package asvk needs (see DESIGN.md, "External parts").
# Idempotent: packages already present are left alone. Runs apt-get as root,
# or through sudo when not root.
set -euo pipefail

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
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages are installed"
  exit 0
fi

sudo=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "setup: run as root or install sudo (missing: ${missing[*]})" >&2; exit 1; }
  sudo="sudo"
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
