#!/usr/bin/env python3
"""Independent reference values for bpnet's optimizer tests.

Plain Python floats (IEEE double), written from the update rules in the
PyTorch documentation of torch.optim.SGD and torch.optim.Adam, not from bpnet's
code. tests/optimizer_test.cpp pastes the printed numbers. Run:
    python3 tools/reference/optimizer_reference.py
"""
import math

PARAMS = [0.5, -1.25, 2.0, 0.0]
# One gradient per step; the optimizers see them in this order.
GRADS = [[0.1, -0.2, 0.3, -0.4], [-0.05, 0.15, 0.25, 0.5], [0.2, 0.0, -0.1, 0.3]]


def sgd(lr, momentum=0.0, nesterov=False, weight_decay=0.0):
    p = list(PARAMS)
    buf = None
    for g in GRADS:
        d = [gi + weight_decay * pi for gi, pi in zip(g, p)]
        if momentum:
            buf = list(d) if buf is None else [momentum * b + di for b, di in zip(buf, d)]
            d = [di + momentum * b for di, b in zip(d, buf)] if nesterov else buf
        p = [pi - lr * di for pi, di in zip(p, d)]
    return p


def adam(lr, beta1, beta2, eps, weight_decay=0.0):
    p = list(PARAMS)
    m = [0.0] * len(p)
    v = [0.0] * len(p)
    for t, g in enumerate(GRADS, start=1):
        g = [gi + weight_decay * pi for gi, pi in zip(g, p)]
        m = [beta1 * mi + (1 - beta1) * gi for mi, gi in zip(m, g)]
        v = [beta2 * vi + (1 - beta2) * gi * gi for vi, gi in zip(v, g)]
        m_hat = [mi / (1 - beta1 ** t) for mi in m]
        v_hat = [vi / (1 - beta2 ** t) for vi in v]
        p = [pi - lr * mh / (math.sqrt(vh) + eps) for pi, mh, vh in zip(p, m_hat, v_hat)]
    return p


def show(name, values):
    print(f"{name}: {{{', '.join(f'{x:.17g}' for x in values)}}}")


show("sgd_plain", sgd(0.1))
show("sgd_momentum", sgd(0.1, momentum=0.9))
show("sgd_nesterov", sgd(0.1, momentum=0.9, nesterov=True))
show("sgd_weight_decay", sgd(0.1, momentum=0.5, weight_decay=0.01))
show("adam_keras_eps", adam(1e-3, 0.9, 0.999, 1e-7))
show("adam_torch", adam(0.01, 0.8, 0.99, 1e-8, weight_decay=0.1))
