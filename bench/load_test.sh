#!/usr/bin/env bash
# Load test of bpnet serve on 127.0.0.1 (a benchmark, not a CI gate): wrk
# posts real MNIST test digits as PNG files for SECONDS at 32 connections,
# while a second wrk floods the same server with malformed requests. Prints
# requests/s, latency percentiles and the error counts of each.
# Usage: bench/load_test.sh [MODEL.bpn] [SECONDS]   (default: trains torch-seed)
set -euo pipefail
cd "$(dirname "$0")/.."
bpnet=${BPNET_CLI:-build/release/apps/bpnet/bpnet}
data=${BPNET_DATA:-data/mnist}
seconds=${2:-10}
command -v wrk >/dev/null || { echo "load_test: wrk is needed (apt-get install wrk)" >&2; exit 1; }
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
model=${1:-}
if [ -z "$model" ]; then
  model=$work/model.bpn
  "$bpnet" train --data "$data" --save "$model" --quiet-progress --run-dir "$work/run" >/dev/null
fi

# Ten test digits as dark-on-white PNG files, the bodies the good client sends.
python3 - "$data" "$work" <<'PY'
import struct, sys, zlib
data, work = sys.argv[1], sys.argv[2]
images = open(f"{data}/t10k-images-idx3-ubyte", "rb").read()[16:]
def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
for i in range(10):
    rows = b"".join(b"\0" + bytes(255 - v for v in images[i * 784 + r * 28:i * 784 + r * 28 + 28]) for r in range(28))
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 28, 28, 8, 0, 0, 0, 0)) + \
          chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    open(f"{work}/digit{i}.png", "wb").write(png)
PY
cat > "$work/good.lua" <<LUA
local bodies = {}
for i = 0, 9 do
  local f = io.open("$work/digit" .. i .. ".png", "rb"); bodies[i] = f:read("*all"); f:close()
end
local n = 0
request = function()
  n = n + 1
  return wrk.format("POST", "/api/predict", {["Content-Type"] = "image/png"}, bodies[n % 10])
end
LUA
cat > "$work/bad.lua" <<'LUA'
local kinds = {
  {"image/png", "\137PNG\r\n\26\nthis is not a png"},
  {"application/json", "{\"pixels\": [1, 2, 3"},
  {"text/plain", "hello"},
  {"image/jpeg", string.rep("\255", 5000)},
}
local n = 0
request = function()
  n = n + 1
  local k = kinds[n % 4 + 1]
  return wrk.format("POST", "/api/predict", {["Content-Type"] = k[1]}, k[2])
end
LUA

"$bpnet" serve --model "$model" --port 0 > "$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 50); do grep -q http "$work/serve.log" && break; sleep 0.1; done
url=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/serve.log")
echo "server: $(head -1 "$work/serve.log")"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
wrk -t1 -c16 -d"${seconds}s" -s "$work/bad.lua" "$url/api/predict" > "$work/bad.txt" 2>&1 &
flood=$!
wrk -t2 -c32 -d"${seconds}s" --latency -s "$work/good.lua" "$url/api/predict" > "$work/good.txt" 2>&1
wait "$flood"
echo "=== good requests: 32 connections posting real digits, ${seconds} s"
grep -E "Requests/sec|Latency  |50%|90%|99%|requests in|Non-2xx|Socket errors" "$work/good.txt"
echo "=== malformed requests at the same time: 16 connections"
grep -E "Requests/sec|requests in|Non-2xx|Socket errors" "$work/bad.txt"
if grep -q "Non-2xx\|Socket errors" "$work/good.txt"; then echo "load_test: good requests failed" >&2; exit 1; fi
