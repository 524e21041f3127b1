#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) and runs each for N
# seconds (default 60) from the committed seed corpus. A crash, sanitizer
# report, hang (-timeout) or an allocation over -malloc_limit_mb fails the run;
# the failing input is left in build/fuzz/findings/ to become a regression test.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(idx_fuzzer model_fuzzer onnx_fuzzer image_fuzzer)

command -v clang++ >/dev/null || { echo "fuzz: clang++ is needed (apt-get install clang libclang-rt-dev)" >&2; exit 1; }
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz --target "${targets[@]}"

mkdir -p build/fuzz/findings
for target in "${targets[@]}"; do
  corpus_name=${target%_fuzzer}
  work=build/fuzz/corpus/$corpus_name
  mkdir -p "$work"
  echo "=== $target for ${seconds}s"
  # The committed seeds are read-only input; new finds go to the work corpus.
  build/fuzz/fuzz/$target "$work" "fuzz/corpus/$corpus_name" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=256 \
    -artifact_prefix=build/fuzz/findings/ -print_final_stats=1 2>&1 |
    grep -E '^(#[0-9]+.*(DONE|pulse)|stat::number_of_executed_units|stat::peak_rss|==[0-9]+==ERROR|SUMMARY|Done)' || true
  # grep hides libFuzzer's chatter; its exit status is what counts.
  status=${PIPESTATUS[0]}
  if [ "$status" -ne 0 ]; then
    echo "fuzz: $target found a problem (exit $status); input saved in build/fuzz/findings/" >&2
    exit 1
  fi
done
