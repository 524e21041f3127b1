#!/usr/bin/env python3
"""Writes the small seed corpus the fuzzers start from (committed under
fuzz/corpus/). Run from the repository root: python3 fuzz/make_corpus.py"""
import gzip
import json
import struct
import zlib
from pathlib import Path

root = Path(__file__).parent / "corpus"


def idx(dims, values):
    return bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + bytes(values)


def write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


images = idx([3, 4, 4], [(i * 37) % 256 for i in range(48)])
labels = idx([3], [7, 2, 1])
write(root / "idx" / "images.idx", images)
write(root / "idx" / "labels.idx", labels)
write(root / "idx" / "images.idx.gz", gzip.compress(images, mtime=0))
write(root / "idx" / "labels.idx.gz", gzip.compress(labels, mtime=0))


def model(layers, activation="relu", output="log-softmax", loss="nll", normalize="torch", shape=None):
    header = json.dumps({"activation": activation, "image_shape": shape or [1, layers[0]], "layers": layers,
                         "loss": loss, "normalize": normalize, "output": output}, separators=(",", ":")).encode()
    count = sum(a * b + b for a, b in zip(layers, layers[1:]))
    params = struct.pack(f"<{count}f", *[((i * 7919) % 200 - 100) / 400.0 for i in range(count)])
    body = b"BPNETMDL" + struct.pack("<II", 1, len(header)) + header + struct.pack("<Q", count) + params
    return body + struct.pack("<I", zlib.crc32(body))


write(root / "model" / "relu.bpn", model([16, 4, 3], shape=[4, 4]))
write(root / "model" / "sigmoid-softmax.bpn", model([6, 5, 2], "sigmoid", "softmax", "cross-entropy", "unit", [2, 3]))
write(root / "model" / "tanh-linear.bpn", model([4, 3], "tanh", "linear", "mse", "unit", [2, 2]))
