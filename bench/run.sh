#!/usr/bin/env bash
# The CPU benchmark (on demand, not in CI): installs what it needs, builds dlc (Release), makes
# the models and times dlc against ONNX Runtime at 1 and 2 threads, and the 1024^3 MatMul
# against OpenBLAS. Arguments go to bench/run.py (e.g. --rounds 5, --only resnet18).
# Writes build/bench/results.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --tests --bench
bash scripts/setup-oracle.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DDLC_TESTS=OFF > build.log 2>&1 || { cat build.log; exit 1; }
cmake --build build -j"$(nproc)" --target dlc >> build.log 2>&1 || { tail -50 build.log; exit 1; }
mkdir -p build/bench
cc -O2 -o build/bench/sgemm_openblas bench/sgemm_openblas.c -lopenblas
/usr/bin/python3 bench/make_models.py build/bench/models
/usr/bin/python3 bench/run.py --dlc build/dlc --models build/bench/models \
  --sgemm build/bench/sgemm_openblas --out build/bench/results.md "$@"
