#!/usr/bin/env bash
# Configures and builds one CMake preset (default: release).
set -euo pipefail
preset=${1:-release}
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset"
