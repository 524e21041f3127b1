#!/usr/bin/env bash
# The test suite from a fresh machine: dependencies, MNIST (for the end-to-end
# tests), then every test in the release build, the Node.js tests (tests/node:
# bpnet's ONNX exports run by ONNX Runtime, the draw-a-digit page in headless
# Chromium), the installed library and .deb
# (scripts/test-install.sh), and the tests again under AddressSanitizer +
# UndefinedBehaviorSanitizer. Exits non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/fetch-mnist.sh
run_ctest() {
  echo "=== $1 build"
  scripts/build.sh "$1"
  echo "=== $1 tests"
  ctest --preset "$1" -j "$(nproc)"
}
run_ctest release
echo "=== Node.js tests (ONNX Runtime, the page in Chromium)"
npm ci --no-audit --no-fund
node --test tests/node/
scripts/test-install.sh
run_ctest asan
