#!/usr/bin/env bash
# The test suite from a fresh machine: dependencies, MNIST (for the end-to-end
# tests), then every test in the release build and again under AddressSanitizer
# + UndefinedBehaviorSanitizer. Exits non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/fetch-mnist.sh
for preset in release asan; do
  echo "=== $preset build"
  scripts/build.sh "$preset"
  echo "=== $preset tests"
  ctest --preset "$preset" -j "$(nproc)"
done
