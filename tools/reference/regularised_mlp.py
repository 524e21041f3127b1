#!/usr/bin/python3
"""The issue-8 recipe in PyTorch, for comparing accuracy with bpnet's:
784-512-256-10 with BatchNorm1d, ReLU and Dropout(0.2) after each hidden Linear,
LogSoftmax + NLL, Adam, cosine annealing per epoch, batch 128, 20 epochs, the
last 10% of the training set for validation, early stopping on val_loss with
patience 5 restoring the best weights (Keras' semantics). Inputs (x/255-0.5)/0.5.
    /usr/bin/python3 tools/reference/regularised_mlp.py DATA_DIR LR SEED...
Prints one line per seed: the epoch early stopping chose and the test accuracy.
"""
import copy
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from torch_mnist import read_idx  # noqa: E402  (the IDX reader the benchmarks use)


def images(path):
    return (torch.from_numpy(read_idx(path).reshape(-1, 784).astype(np.float32)) / 255 - 0.5) / 0.5


def run(data_dir, lr, seed):
    torch.manual_seed(seed)
    x = images(f"{data_dir}/train-images-idx3-ubyte")
    y = torch.from_numpy(read_idx(f"{data_dir}/train-labels-idx1-ubyte").astype(np.int64))
    tx = images(f"{data_dir}/t10k-images-idx3-ubyte")
    ty = torch.from_numpy(read_idx(f"{data_dir}/t10k-labels-idx1-ubyte").astype(np.int64))
    split = int(len(x) * 0.9)
    x, y, vx, vy = x[:split], y[:split], x[split:], y[split:]
    model = nn.Sequential(nn.Linear(784, 512), nn.BatchNorm1d(512), nn.ReLU(), nn.Dropout(0.2),
                          nn.Linear(512, 256), nn.BatchNorm1d(256), nn.ReLU(), nn.Dropout(0.2),
                          nn.Linear(256, 10), nn.LogSoftmax(dim=1))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=20)
    loss_fn = nn.NLLLoss()
    best, best_epoch, best_state, wait = float("inf"), 0, None, 0
    for epoch in range(1, 21):
        model.train()
        order = torch.randperm(len(x))
        for i in range(0, len(x), 128):
            idx = order[i:i + 128]
            optimizer.zero_grad()
            loss_fn(model(x[idx]), y[idx]).backward()
            optimizer.step()
        schedule.step()
        model.eval()
        with torch.no_grad():
            val_loss = loss_fn(model(vx), vy).item()
        if val_loss < best:
            best, best_epoch, best_state, wait = val_loss, epoch, copy.deepcopy(model.state_dict()), 0
        else:
            wait += 1
            if wait >= 5:
                break
    model.load_state_dict(best_state)
    model.eval()
    with torch.no_grad():
        accuracy = (model(tx).argmax(1) == ty).float().mean().item()
    print(f"lr {lr} seed {seed}: stopped after epoch {epoch}, best epoch {best_epoch}, test accuracy {100 * accuracy:.2f}%",
          flush=True)


if __name__ == "__main__":
    torch.set_num_threads(1)
    for s in sys.argv[3:]:
        run(sys.argv[1], float(sys.argv[2]), int(s))
