#!/usr/bin/env python3
"""Writes the small seed corpus the fuzzers start from (committed under
fuzz/corpus/). Run from the repository root: python3 fuzz/make_corpus.py
The ONNX seeds (fuzz/corpus/onnx) are copies of small PyTorch exports from
tests/fixtures/onnx and one bpnet export; the image seeds (fuzz/corpus/image)
are small PNGs (grey, RGBA, palette, 16-bit, interlaced) and JPEGs (grey,
colour, progressive, EXIF-rotated) of a digit; this script writes neither."""
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


def model_v2(inputs, shape, layers, params, buffers, loss="nll", normalize="unit"):
    header = json.dumps({"image_shape": shape, "inputs": inputs, "layers": layers, "loss": loss,
                         "normalize": normalize}, separators=(",", ":")).encode()
    values = [((i * 7919) % 200 - 100) / 400.0 for i in range(params)]
    # Buffers: running means of 0.5, then running variances of 1.5 (a variance must stay positive).
    body = (b"BPNETMDL" + struct.pack("<II", 2, len(header)) + header + struct.pack("<Q", params) +
            struct.pack(f"<{params}f", *values) + struct.pack("<Q", buffers) +
            struct.pack(f"<{buffers}f", *([0.5] * (buffers // 2) + [1.5] * (buffers // 2))))
    return body + struct.pack("<I", zlib.crc32(body))


# 6 inputs -> Linear(4) -> BatchNorm1d -> GELU -> Dropout -> Linear(3) -> LeakyReLU -> LogSoftmax
write(root / "model" / "v2-every-layer.bpn",
      model_v2(6, [2, 3], [{"out": 4, "type": "Linear"}, {"type": "BatchNorm1d"}, {"type": "GELU"},
                           {"p": 0.25, "type": "Dropout"}, {"out": 3, "type": "Linear"},
                           {"slope": 0.1, "type": "LeakyReLU"}, {"type": "LogSoftmax"}],
               6 * 4 + 4 + 2 * 4 + 4 * 3 + 3, 2 * 4))
# 4 inputs -> Linear(2) -> Sigmoid -> Linear(2) -> Tanh -> Softmax, cross-entropy
write(root / "model" / "v2-sigmoid-tanh.bpn",
      model_v2(4, [2, 2], [{"out": 2, "type": "Linear"}, {"type": "Sigmoid"}, {"out": 2, "type": "Linear"},
                           {"type": "Tanh"}, {"type": "Softmax"}], 4 * 2 + 2 + 2 * 2 + 2, 0,
               loss="cross-entropy"))
