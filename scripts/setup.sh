#!/usr/bin/env bash
# Everything a fresh machine needs to run edgert: system libraries (OpenBLAS, libnuma) and the
# Vulkan pieces (the loader and headers, Mesa's drivers with lavapipe, a Vulkan device on the CPU,
# and glslc, which the tests use to check the committed SPIR-V) with apt when missing, a release
# build, and the default model. Safe to run again: it skips what is done. Without the Vulkan
# packages edgert still builds and runs on the CPU (and says once that there is no GPU).
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
for pkg in libopenblas-dev libnuma-dev libvulkan-dev mesa-vulkan-drivers glslc; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
echo "setup: building (release)"
swift build -c release 2>&1 | grep -E "error|warning:|Compiling|Build complete" | grep -v "^\[" || true
test -x .build/release/edgert || { echo "setup: build failed" >&2; swift build -c release; exit 1; }
scripts/fetch-model.sh
