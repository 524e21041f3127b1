#!/usr/bin/python3
"""Independent reference values for bpnet's layer and schedule tests, from PyTorch.

Run with Debian's Python (apt install python3-torch):
    /usr/bin/python3 tools/reference/layers_reference.py
tests/reference_values_test.cpp pastes the printed numbers. Everything is in
float64 so that the comparison tests bpnet's formulas, not rounding.
"""
import math

import torch

torch.set_default_dtype(torch.float64)

# x: (4, 5), fixed values with both signs and a spread of magnitudes.
X = torch.tensor([
    [0.5, -1.25, 2.0, 0.0, -0.3],
    [1.5, 0.75, -2.5, 0.2, 0.9],
    [-0.7, 0.1, 0.4, -1.1, 2.2],
    [0.05, -0.6, 1.3, 3.0, -1.8],
])


def show(name, t):
    flat = ", ".join(f"{v:.17g}" for v in t.flatten().tolist())
    print(f"const std::vector<double> k{name}{{{flat}}};")


def layers():
    show("Input", X)
    show("LeakyRelu", torch.nn.LeakyReLU(0.1)(X))
    show("Gelu", torch.nn.GELU()(X))  # approximate='none', the erf form
    show("Sigmoid", torch.sigmoid(X))
    show("Tanh", torch.tanh(X))
    show("Softmax", torch.softmax(X, dim=1))
    show("LogSoftmax", torch.log_softmax(X, dim=1))

    bn = torch.nn.BatchNorm1d(5, eps=1e-5, momentum=0.1)
    with torch.no_grad():
        bn.weight.copy_(torch.tensor([1.0, 0.5, -2.0, 1.5, 0.25]))
        bn.bias.copy_(torch.tensor([0.0, 0.1, -0.2, 0.3, 1.0]))
    bn.train()
    show("BatchNormTrain", bn(X))  # batch statistics; updates the running ones
    show("BatchNormRunningMean", bn.running_mean)
    show("BatchNormRunningVar", bn.running_var)
    bn.eval()
    show("BatchNormEval", bn(X))  # with the running statistics after one step

    drop = torch.nn.Dropout(0.3)
    drop.eval()
    show("DropoutEval", drop(X))


def schedules():
    """The rate of epochs 0..11 under each of PyTorch's schedulers, lr 0.1."""
    def run(make, metrics=None):
        p = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([p], lr=0.1)
        sched = make(opt)
        rates = []
        for epoch in range(12):
            rates.append(opt.param_groups[0]["lr"])
            opt.step()
            if metrics is None:
                sched.step()
            else:
                sched.step(metrics[epoch])
        return torch.tensor(rates)

    show("StepLr", run(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5)))
    show("ExponentialLr", run(lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.8)))
    show("CosineLr", run(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=12, eta_min=0.01)))
    # A loss that improves, stalls for four epochs, improves, stalls again.
    losses = [1.0, 0.8, 0.7, 0.7, 0.71, 0.7, 0.72, 0.6, 0.6, 0.6, 0.6, 0.6]
    show("PlateauLosses", torch.tensor(losses))
    show("PlateauLr", run(lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(
        o, mode="min", factor=0.5, patience=2, threshold=1e-4, min_lr=0.02), losses))


if __name__ == "__main__":
    layers()
    schedules()
