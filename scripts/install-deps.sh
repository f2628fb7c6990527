#!/usr/bin/env bash
# Installs what dlc needs on Debian 12 (as root, or with sudo). Idempotent and quick when
# everything is present. Only Debian packages and the npm registry are used.
set -euo pipefail

# Build: compiler toolchain, LLVM 19 (C API), isl, protobuf-c + onnx.proto, Criterion, cJSON.
BUILD_PKGS=(build-essential cmake pkg-config llvm-19-dev libisl-dev libprotobuf-c-dev
            protobuf-c-compiler libonnx-dev libcriterion-dev libcjson-dev zlib1g-dev libzstd-dev)
# Tests: Python with onnx/numpy/torch to generate test models, ONNX conformance data,
# Node.js + npm for the ONNX Runtime oracle. (The CPU benchmark adds OpenBLAS, below.)
TEST_PKGS=(python3-onnx python3-numpy python3-torch python3-torchvision libonnx-testdata)

# Benchmarks: OpenBLAS is the reference for the MatMul.
BENCH_PKGS=(libopenblas-dev)

want=("${BUILD_PKGS[@]}")
for arg in "$@"; do
  case "$arg" in
    --tests) want+=("${TEST_PKGS[@]}") ;;
    --bench) want+=("${BENCH_PKGS[@]}") ;;
    *) echo "install-deps: unknown option $arg" >&2; exit 2 ;;
  esac
done
command -v node >/dev/null 2>&1 || want+=(nodejs)
command -v npm >/dev/null 2>&1 || want+=(npm)

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "dlc: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
