#!/usr/bin/python3
"""Writes the ONNX files bpnet import is tested on, as PyTorch's
torch.onnx.export produces them (Debian's python3-torch and python3-onnx):

  layers_opset{9,11,13,17}.onnx  nn.Sequential of every supported layer type
                                 on a [N, 1, 4, 4] input (Flatten, Linear,
                                 BatchNorm1d in eval mode with running
                                 statistics, ReLU, Dropout, LeakyReLU, Sigmoid,
                                 GELU, Tanh, LogSoftmax)
  matmul_softmax.onnx            x.reshape(-1, 16) @ W + b (MatMul + Add), Softmax
  conv.onnx                      a Conv layer, which bpnet must refuse
  mnist_mlp.onnx                 784-32-10 ReLU trained for one epoch on MNIST
                                 (inputs (x/255 - 0.5)/0.5, logits out)
  expected.json                  inputs and PyTorch's outputs for the small
                                 files; PyTorch's test accuracy for mnist_mlp

    /usr/bin/python3 tools/reference/torch_onnx_fixtures.py DATA_DIR OUT_DIR
"""
import json
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from torch_mnist import read_idx  # noqa: E402  (the IDX reader the benchmarks use)


def every_layer():
    torch.manual_seed(7)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 12), nn.BatchNorm1d(12), nn.ReLU(), nn.Dropout(0.3),
                          nn.Linear(12, 8), nn.LeakyReLU(0.1), nn.Linear(8, 7), nn.GELU(), nn.Linear(7, 6), nn.Sigmoid(),
                          nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 4), nn.LogSoftmax(dim=1))
    bn = model[2]
    with torch.no_grad():  # running statistics and affine parameters that are not the defaults
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.2, 0.2)
    return model.eval()


class MatMulSoftmax(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(8)
        self.w = nn.Parameter(torch.randn(16, 5) * 0.5)
        self.b = nn.Parameter(torch.randn(5) * 0.1)

    def forward(self, x):
        return torch.softmax(x.reshape(-1, 16) @ self.w + self.b, dim=1)


def export(model, example, path, opset):
    torch.onnx.export(model, example, str(path), opset_version=opset, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})


def mnist_mlp(data_dir):
    torch.manual_seed(1)
    norm = lambda a: (torch.from_numpy(a.astype(np.float32)).reshape(-1, 1, 28, 28) / 255 - 0.5) / 0.5
    x = norm(read_idx(f"{data_dir}/train-images-idx3-ubyte"))
    y = torch.from_numpy(read_idx(f"{data_dir}/train-labels-idx1-ubyte").astype(np.int64))
    tx = norm(read_idx(f"{data_dir}/t10k-images-idx3-ubyte"))
    ty = torch.from_numpy(read_idx(f"{data_dir}/t10k-labels-idx1-ubyte").astype(np.int64))
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    for i in torch.randperm(len(x)).split(64):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x[i]), y[i]).backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        correct = int((model(tx).argmax(1) == ty).sum())
    return model, correct


def main():
    data_dir, out = sys.argv[1], Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(3)
    example = torch.rand(5, 1, 4, 4) * 2 - 1
    expected = {}
    layers = every_layer()
    with torch.no_grad():
        layers_out = layers(example)
    for opset in (9, 11, 13, 17):
        name = f"layers_opset{opset}.onnx"
        export(layers, example, out / name, opset)
        expected[name] = {"input": example.reshape(5, 16).tolist(), "output": layers_out.tolist()}
    matmul = MatMulSoftmax()
    export(matmul, example, out / "matmul_softmax.onnx", 13)
    with torch.no_grad():
        expected["matmul_softmax.onnx"] = {"input": example.reshape(5, 16).tolist(), "output": matmul(example).tolist()}
    conv = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(8, 3)).eval()
    export(conv, example, out / "conv.onnx", 13)
    model, correct = mnist_mlp(data_dir)
    export(model, torch.zeros(2, 1, 28, 28), out / "mnist_mlp.onnx", 13)
    expected["mnist_mlp.onnx"] = {"pytorch_test_correct": correct, "test_images": 10000}
    (out / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    print(f"PyTorch 784-32-10: {correct} of 10000 test images correct ({correct / 100:.2f}%)")


if __name__ == "__main__":
    main()
