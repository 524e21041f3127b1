#!/usr/bin/env python3
"""The reference networks in PyTorch, timed the way bench/compare_pytorch.sh
compares them with bpnet: data preloaded as tensors, manual shuffled batching,
the presets' hyperparameters. Prints one line per epoch: `epoch SECONDS`, then
`test ACCURACY`. Usage: torch_mnist.py DATA_DIR torch-seed|keras-seed EPOCHS THREADS"""
import struct
import sys
import time

import numpy as np
import torch
from torch import nn


def read_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    rank = data[3]
    dims = struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def main():
    data_dir, preset, epochs, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    x = torch.from_numpy(read_idx(f"{data_dir}/train-images-idx3-ubyte").reshape(-1, 784).astype(np.float32) / 255)
    y = torch.from_numpy(read_idx(f"{data_dir}/train-labels-idx1-ubyte").astype(np.int64))
    tx = torch.from_numpy(read_idx(f"{data_dir}/t10k-images-idx3-ubyte").reshape(-1, 784).astype(np.float32) / 255)
    ty = torch.from_numpy(read_idx(f"{data_dir}/t10k-labels-idx1-ubyte").astype(np.int64))
    if preset == "torch-seed":
        x, tx = (x - 0.5) / 0.5, (tx - 0.5) / 0.5
        model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10),
                              nn.LogSoftmax(dim=1))
        loss_fn, batch = nn.NLLLoss(), 128
        optimizer = torch.optim.SGD(model.parameters(), lr=0.003, momentum=0.9)
        val_x = None
    else:
        model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
        loss_fn, batch = nn.CrossEntropyLoss(), 64
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
        split = int(len(x) * 0.8)
        x, y, val_x, val_y = x[:split], y[:split], x[split:], y[split:]
    for _ in range(epochs):
        start = time.perf_counter()
        order = torch.randperm(len(x))
        for i in range(0, len(x), batch):
            idx = order[i:i + batch]
            optimizer.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            optimizer.step()
        if val_x is not None:
            with torch.no_grad():
                loss_fn(model(val_x), val_y)
        print(f"epoch {time.perf_counter() - start:.4f}", flush=True)
    with torch.no_grad():
        print(f"test {(model(tx).argmax(1) == ty).float().mean().item():.4f}")


if __name__ == "__main__":
    main()
