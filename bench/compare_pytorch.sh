#!/usr/bin/env bash
# bpnet against PyTorch on the same networks, data and hyperparameters, run
# alternately in one session so both see the same machine state. Installs
# Debian's python3-torch and libopenblas0-pthread if missing (with Debian's
# reference BLAS, torch is ~15x slower) and checks that torch then uses OpenBLAS.
# Then batched inference of bpnet and of ONNX Runtime (npm onnxruntime-node,
# its MLAS kernels) on the same weights: each preset's model exported with
# `bpnet export --raw-pixels`, each timed in turn, ROUNDS times. Every
# figure is also given as a fraction of the machine's measured FMA peak, with
# what a target ratio to the peer (4x PyTorch, 1.5x ONNX Runtime) would need.
# A benchmark, not a test: CI does not run it.
# Usage: bench/compare_pytorch.sh [EPOCHS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
epochs=${1:-5}
rounds=${2:-2}
threads=$(nproc)

need=()
for p in python3-torch libopenblas0-pthread; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
blas=$(/usr/bin/python3 -c 'import torch; print(torch.__config__.show())' | grep -io 'blas_info=[a-z]*' || true)
ldd_blas=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3)
echo "torch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)'), ${blas:-blas unknown}, libblas.so.3 -> $ldd_blas"
case "$ldd_blas" in *openblas*) ;; *) echo "warning: libblas.so.3 is not OpenBLAS; torch will be slow" >&2 ;; esac

scripts/fetch-mnist.sh >/dev/null
[ -x build/release/apps/bpnet/bpnet ] && [ -x build/release/bench/e2e_bench ] || scripts/build.sh release >/dev/null
bpnet=build/release/apps/bpnet/bpnet
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# Every figure also as a fraction of this machine's FMA peak (e2e_bench's
# register-only loop, measured before every round; the median of those): a
# ratio to a peer is bounded by how close the peer itself runs to the peak.
peak_info=$(build/release/bench/e2e_bench --peak)
flops() { echo "$peak_info" | grep "^$1 FLOP" | grep -oE "$2 [0-9]+" | cut -d' ' -f2; }
# The median of three: one loop can lose its core to another process.
measure_peak() { for _ in 1 2 3; do build/release/bench/e2e_bench --peak | head -1 | cut -d' ' -f2; done | median; }
# percent_of_peak RATE FLOP_PER_ITEM PEAK_GFLOPS (RATE: items per second)
percent_of_peak() { echo "100 * $1 * $2 / ($3 * 1000000000)" | bc -l; }

# PyTorch is measured as Debian ships it, and with OpenBLAS held to one thread:
# on 2 cores, torch's OpenMP threads and OpenBLAS's own threads otherwise
# compete (measured here: 3.0 s against 0.85 s per torch-seed epoch). bpnet
# is compared with the faster of the two.
for preset in torch-seed keras-seed; do
  : > "$out/bpnet.txt"; : > "$out/torch.txt"; : > "$out/torch1.txt"; : > "$out/peak.txt"
  for round in $(seq "$rounds"); do
    measure_peak >> "$out/peak.txt"
    # The first epoch of each run is a warm-up and is not counted.
    $bpnet train --preset "$preset" --epochs "$((epochs + 1))" --threads "$threads" --quiet-progress \
      --run-dir "$out/run-$preset-$round" --history "$out/h.json" > "$out/bpnet.log"
    python3 -c "import json; [print(e['seconds']) for e in json.load(open('$out/h.json'))['epochs'][1:]]" >> "$out/bpnet.txt"
    bpnet_acc=$(grep -o 'accuracy [0-9.]*%' "$out/bpnet.log" | tail -1)
    /usr/bin/python3 bench/torch_mnist.py data/mnist "$preset" "$((epochs + 1))" "$threads" > "$out/torch.log"
    grep '^epoch' "$out/torch.log" | tail -n +2 | cut -d' ' -f2 >> "$out/torch.txt"
    torch_acc=$(grep '^test' "$out/torch.log" | cut -d' ' -f2)
    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/torch_mnist.py data/mnist "$preset" "$((epochs + 1))" "$threads" \
      > "$out/torch1.log"
    grep '^epoch' "$out/torch1.log" | tail -n +2 | cut -d' ' -f2 >> "$out/torch1.txt"
  done
  b=$(median < "$out/bpnet.txt"); t=$(median < "$out/torch.txt"); t1=$(median < "$out/torch1.txt")
  peak=$(median < "$out/peak.txt")
  best=$(echo "if ($t1 < $t) $t1 else $t" | bc -l)
  # An epoch's work, the same for both: training, then the validation pass's forward.
  images=$(grep -oE '[0-9]+ train /' "$out/bpnet.log" | head -1 | cut -d' ' -f1)
  validation=$(grep -oE '[0-9]+ validation /' "$out/bpnet.log" | head -1 | cut -d' ' -f1)
  per_epoch=$(echo "$images * $(flops "$preset" training) + ${validation:-0} * $(flops "$preset" forward)" | bc)
  printf '%-11s bpnet %.3f s/epoch (test %s)  pytorch %.3f s/epoch as shipped, %.3f with OPENBLAS_NUM_THREADS=1 (test accuracy %s after %d epochs)  bpnet faster by %.2fx\n' \
    "$preset" "$b" "${bpnet_acc:-?}" "$t" "$t1" "$torch_acc" "$((epochs + 1))" "$(echo "$best / $b" | bc -l)"
  # bpnet's first layer skips the background pixels in training too
  # (keras-seed's zeros with the same floats, torch-seed's -1 taken out of x),
  # doing fewer FLOP than counted.
  counting=", counting the dense FLOP"
  printf '%-11s of the peak (%.0f GFLOP/s%s): bpnet %.1f%%, pytorch %.1f%%; 4x pytorch would be %.1f%%\n' \
    "$preset" "$peak" "$counting" "$(percent_of_peak "1 / $b" "$per_epoch" "$peak")" \
    "$(percent_of_peak "1 / $best" "$per_epoch" "$peak")" "$(percent_of_peak "4 / $best" "$per_epoch" "$peak")"
done

# Inference on the same weights: bpnet against ONNX Runtime, for both
# presets. bpnet's first layer skips the zero pixels: keras-seed's go to
# [0, 1] (the same floats), torch-seed's to [-1, 1], whose -1 goes into the
# bias (e2e_bench --infer also times the dense path).
[ -d node_modules/onnxruntime-node ] || npm ci --silent
for preset in torch-seed keras-seed; do
  $bpnet train --preset "$preset" --quiet-progress --run-dir "$out/infer-$preset" --save "$out/infer.bpn" > /dev/null
  $bpnet export --model "$out/infer.bpn" --out "$out/infer.onnx" --raw-pixels > /dev/null
  : > "$out/bpnet_inf.txt"; : > "$out/ort_inf.txt"; : > "$out/peak.txt"; : > "$out/bpnet_inf.log"; : > "$out/ort_inf.log"
  for round in $(seq "$rounds"); do
    measure_peak >> "$out/peak.txt"
    build/release/bench/e2e_bench --infer "$out/infer.bpn" | tee -a "$out/bpnet_inf.log" |
      grep -oE '[0-9]+ images/s' | cut -d' ' -f1 >> "$out/bpnet_inf.txt"
    node bench/ort_inference.mjs "$out/infer.onnx" data/mnist "$threads" | tee -a "$out/ort_inf.log" |
      grep -oE '[0-9]+ images/s' | cut -d' ' -f1 >> "$out/ort_inf.txt"
  done
  grep 'bpnet inference' "$out/bpnet_inf.log" | tail -2; tail -1 "$out/ort_inf.log"
  bi=$(median < "$out/bpnet_inf.txt"); oi=$(median < "$out/ort_inf.txt")
  peak=$(median < "$out/peak.txt"); per_image=$(flops "$preset" forward)
  printf '%s inference  bpnet %.0f images/s  onnxruntime %.0f images/s  bpnet/onnxruntime %.2fx\n' \
    "$preset" "$bi" "$oi" "$(echo "$bi / $oi" | bc -l)"
  printf '%s inference of the peak (%.0f GFLOP/s, counting the dense FLOP): bpnet %.1f%%, onnxruntime %.1f%%; 1.5x onnxruntime would be %.1f%%\n' \
    "$preset" "$peak" "$(percent_of_peak "$bi" "$per_image" "$peak")" "$(percent_of_peak "$oi" "$per_image" "$peak")" \
    "$(percent_of_peak "1.5 * $oi" "$per_image" "$peak")"
done
