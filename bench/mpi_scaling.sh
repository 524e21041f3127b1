#!/usr/bin/env bash
# One process against two on this machine, taking turns, the same global batch:
#   1 process,  2 shards, 1 thread   (the shards one after the other)
#   1 process,  2 shards, 2 threads  (the shards on the thread team)
#   2 processes (mpirun), 2 shards, 1 thread each
# All three train the same model bit for bit (checked here with cmp); the
# figures are the median seconds per epoch of each.
# Usage: bench/mpi_scaling.sh [preset] [epochs] [rounds]   (defaults: torch-seed 3 3)
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-torch-seed}
epochs=${2:-3}
rounds=${3:-3}
bpnet=build/release/apps/bpnet/bpnet
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mpirun_flags=(--oversubscribe)
[ "$(id -u)" -ne 0 ] || mpirun_flags+=(--allow-run-as-root)
export OMPI_MCA_btl_vader_single_copy_mechanism=none

run() {  # name, threads per process, launcher words (none for one process)...
  local name=$1 threads=$2
  shift 2
  "$@" $bpnet train --preset "$preset" --epochs "$epochs" --shards 2 --threads "$threads" --no-diagnostics \
    --quiet-progress --run-dir "$scratch/$name" --overwrite >"$scratch/$name.log" 2>&1
  grep -oE '[0-9.]+ s per epoch' "$scratch/$name.log" | cut -d' ' -f1 >>"$scratch/$name.times"
}
for _ in $(seq "$rounds"); do
  run serial 1
  run threads 2
  run mpi 1 mpirun -np 2 "${mpirun_flags[@]}"
done
median() { sort -n "$1" | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
s=$(median "$scratch/serial.times"); t=$(median "$scratch/threads.times"); m=$(median "$scratch/mpi.times")
echo "$preset, $epochs epochs x $rounds rounds, median s/epoch:"
echo "  1 process, 2 shards, 1 thread:     $s"
echo "  1 process, 2 shards, 2 threads:    $t  ($(awk -v a="$s" -v b="$t" 'BEGIN {printf "%.2f", a / b}')x)"
echo "  2 processes (MPI), 1 thread each:  $m  ($(awk -v a="$s" -v b="$m" 'BEGIN {printf "%.2f", a / b}')x)"
cmp -s "$scratch/serial/model.bpn" "$scratch/mpi/model.bpn" && cmp -s "$scratch/serial/model.bpn" "$scratch/threads/model.bpn" &&
  echo "  all three models identical, byte for byte" || { echo "  MODELS DIFFER"; exit 1; }
