#!/usr/bin/env bash
# Installs what is missing, builds dlc with AddressSanitizer + UBSan, and runs every test
# (unit tests, IR text tests, end-to-end tests against ONNX Runtime).
# Pass -L LABEL / -R REGEX to select tests (forwarded to ctest).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --tests
bash scripts/setup-oracle.sh

BUILD=${DLC_TEST_BUILD:-build-test}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDLC_SANITIZE=ON > "$BUILD.log" 2>&1 || { cat "$BUILD.log"; exit 1; }
cmake --build "$BUILD" -j"$(nproc)" >> "$BUILD.log" 2>&1 || { tail -80 "$BUILD.log"; exit 1; }

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$BUILD"
ctest --output-on-failure -j"$(nproc)" "$@"
