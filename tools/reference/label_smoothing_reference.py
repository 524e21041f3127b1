#!/usr/bin/python3
"""Reference values of label smoothing for tests/reference_values_test.cpp.

PyTorch's CrossEntropyLoss(label_smoothing=0.1) in float64 on the same 4x5
input the layer references use, labels [0, 3, 1, 4]: the summed loss and the
gradient of the mean loss with respect to the logits. bpnet's NLLLoss with
smoothing on LogSoftmax outputs must give the same loss (the target is the
same; the log-probabilities are the input).

Run: /usr/bin/python3 tools/reference/label_smoothing_reference.py
"""
import torch

INPUT = [0.5, -1.25, 2, 0, -0.3, 1.5, 0.75, -2.5, 0.2, 0.9, -0.7, 0.1, 0.4, -1.1, 2.2, 0.05, -0.6, 1.3, 3, -1.8]
LABELS = [0, 3, 1, 4]
SMOOTHING = 0.1


def cpp(name, values):
    print(f"const std::vector<double> {name}{{{', '.join(repr(float(v)) for v in values)}}};")


z = torch.tensor(INPUT, dtype=torch.float64).reshape(4, 5).requires_grad_()
labels = torch.tensor(LABELS)
total = torch.nn.CrossEntropyLoss(label_smoothing=SMOOTHING, reduction="sum")(z, labels)
mean = torch.nn.CrossEntropyLoss(label_smoothing=SMOOTHING)(z, labels)
mean.backward()
print(f"// torch {torch.__version__}, label_smoothing {SMOOTHING}, labels {LABELS}")
print(f"constexpr double kSmoothedCrossEntropySum = {float(total)!r};")
cpp("kSmoothedCrossEntropyGrad", z.grad.flatten().tolist())
