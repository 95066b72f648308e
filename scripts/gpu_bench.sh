#!/usr/bin/env bash
# Runs the test suite and the benchmarks on a machine with a GPU, and leaves
# the JSON under bench/results/ for `asvk bench compare`:
#   scripts/gpu_bench.sh [--quick] [OUT_DIR]
# It builds with scripts/build.sh (the machine needs cmake, a C compiler,
# glslang-tools, spirv-tools, libvulkan-dev, libvulkan-volk-dev, libcjson-dev,
# libstb-dev, zlib1g-dev: scripts/setup.sh installs them on Debian).
# Machines whose system lacks the Vulkan loader (containers with only the
# NVIDIA driver, say) can bring it: put the .deb files of libvulkan1 (and the
# validation layers if wanted) in .gl/ (`apt-get download libvulkan1`), and
# this script unpacks them and points the loader at the NVIDIA ICD when it
# finds one. The device used is the first GPU (set ASVK_DEVICE to choose).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
quick=""
if [ "${1:-}" = "--quick" ]; then quick="--quick"; shift; fi
out=${1:-$root/bench/results}
mkdir -p "$out"

if ! ldconfig -p | grep -q 'libvulkan\.so\.1'; then
  if compgen -G "$root/.gl/*.deb" >/dev/null; then
    echo "gpu_bench: unpacking the Vulkan loader from .gl/"
    for f in "$root"/.gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
  else
    echo "gpu_bench: no Vulkan loader (libvulkan.so.1); install libvulkan1 or put its .deb in .gl/" >&2
    exit 1
  fi
fi
for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json; do
  if [ -f "$icd" ] && [ -z "${VK_DRIVER_FILES:-}" ]; then export VK_DRIVER_FILES=$icd VK_ICD_FILENAMES=$icd; fi
done

"$root/scripts/build.sh" "$root/build"
asvk="$root/build/asvk"
"$asvk" devices
stamp=$("$asvk" devices --json | python3 -c 'import json,sys; d=json.load(sys.stdin)[0]; print(d["vendor"]+"-"+d["name"].split("(")[0].strip().replace(" ","_"))' 2>/dev/null || echo device)
stamp="$stamp-$(date +%Y%m%d)"

echo "== tests (validation layer on where installed) =="
(cd "$root/build" && ctest --output-on-failure -j"$(nproc)") || echo "gpu_bench: some tests failed (see above)"

echo "== benchmarks =="
"$asvk" bench peak $quick --json >"$out/$stamp-peak.json"
"$asvk" bench gemm $quick --no-cpu --json >"$out/$stamp-gemm.json"
"$asvk" bench train --arch fmnist --batch 128 --json >"$out/$stamp-train-fmnist.json"
# fp16 storage of activations where the device has 16-bit storage (skipped, with the reason, where not)
"$asvk" bench train --arch fmnist --batch 128 --fp16 --json >"$out/$stamp-train-fmnist-fp16.json" ||
  { echo "gpu_bench: no fp16 run (see above)"; rm -f "$out/$stamp-train-fmnist-fp16.json"; }
"$asvk" bench train --arch mbv2 --batch 1 --json >"$out/$stamp-train-mbv2-b1.json"
"$asvk" bench ops --arch fmnist --batch 128 --json >"$out/$stamp-ops-fmnist.json"
ls -l "$out"/"$stamp"-*.json
echo "compare with: build/asvk bench compare bench/results/<lavapipe>-peak.json $out/$stamp-peak.json"
