#!/usr/bin/env bash
# The main job from a fresh machine: dependencies, MNIST, build, then train
# the PyTorch-tutorial network (torch-seed preset), evaluate and save it.
# Extra arguments go to `bpnet train` (e.g. --preset keras-seed).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/fetch-mnist.sh
scripts/build.sh release
bin=build/release/apps/bpnet/bpnet
mkdir -p runs
$bin train --data data/mnist --save runs/model.bpn --history runs/history.json "$@"
$bin summary --model runs/model.bpn
$bin eval --model runs/model.bpn --data data/mnist
