#!/usr/bin/env bash
# Runs the ONNX backend node tests through dlc and regenerates docs/onnx-support.md and
# tests/conformance/expected_pass.txt (the list CI guards). Extra arguments go to the runner
# (e.g. -k conv -v). Builds dlc (Release, in build/) first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --tests
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release > build.log 2>&1 || { cat build.log; exit 1; }
cmake --build build -j"$(nproc)" --target dlc >> build.log 2>&1 || { tail -50 build.log; exit 1; }
args=(--table docs/onnx-support.md --json build/onnx-node-results.json)
# Only a full run may rewrite the expected list.
[ $# -eq 0 ] && args+=(--expected-out tests/conformance/expected_pass.txt)
/usr/bin/python3 tests/conformance/run_onnx_node_tests.py --dlc build/dlc "${args[@]}" "$@"
