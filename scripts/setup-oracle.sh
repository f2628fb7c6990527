#!/usr/bin/env bash
# Install the end-to-end reference runtime (ONNX Runtime for Node, CPU build) into
# tests/node_modules from the npm registry, at the exact version pinned in tests/package.json.
# Idempotent: a quick no-op when the pinned version is already installed and loads.
#
# The package's postinstall script only downloads CUDA binaries from outside the registry; the
# CPU binaries for linux x64 ship inside the package, so all install scripts are skipped.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tests="$here/tests"
cd "$tests"

want="$(node -p "require('./package.json').dependencies['onnxruntime-node']")"

oracle_ok() {
  node -e "
    const v = require('./node_modules/onnxruntime-node/package.json').version;
    if (v !== process.argv[1]) process.exit(1);
    require('onnxruntime-node');   // loads the native binding: fails if the .so is missing
  " "$want" >/dev/null 2>&1
}

if oracle_ok; then
  exit 0
fi

command -v npm >/dev/null || { echo "setup-oracle: npm not found (apt-get install npm)" >&2; exit 1; }
echo "setup-oracle: installing onnxruntime-node@$want into $tests/node_modules" >&2
# Both variable spellings: older releases read ..._INSTALL_CUDA, newer ones ..._INSTALL.
export ONNXRUNTIME_NODE_INSTALL=skip ONNXRUNTIME_NODE_INSTALL_CUDA=skip
if [ -f package-lock.json ]; then
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
else
  npm install --ignore-scripts --no-audit --no-fund --loglevel=error
fi

if ! oracle_ok; then
  echo "setup-oracle: onnxruntime-node@$want installed but does not load" >&2
  node -e "require('onnxruntime-node')" || true
  exit 1
fi
