#!/usr/bin/env bash
# The installable library, checked from the outside: installs the release
# build into a scratch prefix, builds examples/predict_digit against it with
# CMake (find_package) and with pkg-config, runs both on MNIST test digits
# beside `bpnet predict`, then builds the .deb with cpack, installs it with
# dpkg, runs the installed `bpnet --version` and removes the package again.
# Needs scripts/build.sh release and scripts/fetch-mnist.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${BPNET_DATA:-data/mnist}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "=== cmake --install into $work/prefix"
cmake --install build/release --prefix "$work/prefix" >/dev/null
bpnet="$work/prefix/bin/bpnet"
"$bpnet" train --data "$data" --epochs 1 --save "$work/model.bpn" --quiet-progress --run-dir "$work/runs" >/dev/null
"$bpnet" export --model "$work/model.bpn" --out "$work/model.onnx" >/dev/null

echo "=== example built with CMake (find_package(bpnet))"
cmake -S examples/predict_digit -B "$work/cmake-build" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/cmake-build" >/dev/null
echo "=== example built with pkg-config"
flags=$(PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig" pkg-config --cflags --libs bpnet-interop)
echo "c++ examples/predict_digit/main.cpp $flags"
# shellcheck disable=SC2086  # the flags are words
c++ examples/predict_digit/main.cpp $flags -o "$work/pkg-config-build"

for index in 0 1 2 3 4; do
  expected=$("$bpnet" predict --model "$work/model.bpn" --data "$data" --index "$index" --json |
             sed -E 's/.*"predicted":([0-9]+).*/\1/')
  for program in "$work/cmake-build/predict_digit" "$work/pkg-config-build"; do
    for model in model.bpn model.onnx; do
      line=$("$program" "$work/$model" "$data" "$index")
      case "$line" in
        *"predicted $expected "*) ;;
        *) echo "test-install: $program on $model, image $index: '$line', but bpnet predict says $expected" >&2; exit 1 ;;
      esac
    done
  done
  echo "image $index: both builds predict $expected, from model.bpn and model.onnx"
done

echo "=== cpack -G DEB, dpkg -i, bpnet --version, dpkg -r"
(cd build/release && cpack -G DEB >/dev/null)
deb=$(ls build/release/bpnet_*.deb)
as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)
"${as_root[@]}" dpkg -i "$deb" >/dev/null
installed=$(/usr/bin/bpnet --version)
echo "$deb installed: /usr/bin/bpnet --version says '$installed'"
[ "$installed" = "bpnet $(sed -nE 's/^project\(bpnet VERSION ([0-9.]+).*/\1/p' CMakeLists.txt)" ]
"${as_root[@]}" dpkg -r bpnet >/dev/null
if [ -e /usr/bin/bpnet ] || dpkg-query -W bpnet 2>/dev/null | grep -q .; then
  echo "test-install: the package did not uninstall cleanly" >&2
  exit 1
fi
echo "removed: /usr/bin/bpnet and the package are gone"
