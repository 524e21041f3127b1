#!/usr/bin/env python3
"""Step-time model of data-parallel bpnet training on K machines.

T(K) = compute(B / K images) + exchange(K), per step of a global batch B:
  compute   = flops_per_image * B / K / R, R = one machine's sustained FLOP/s
              (measured: bench/mpi_scaling.sh or e2e_bench, given with --gflops);
  exchange  = what bpnet does today, a fixed-order all-gather of the K shard
              gradients (bit-identical to one process): every machine receives
              (K - 1) * 4P bytes; a ring all-reduce (MPI_Allreduce's large-message
              algorithm; not bit-identical) sends and receives 2 (K - 1) / K * 4P;
              plus 2 (K - 1) latencies alpha (ring steps).
Prints, per network and link, the speed-up T(1)/T(K) for K = 1..256 and the K
beyond which adding machines makes a step slower (or gains < 10%).
Usage: distributed_model.py [--gflops R]
"""
import argparse

NETWORKS = {  # name: (layer sizes, global batch)
    "torch-seed": ([784, 128, 64, 10], 128),
    "keras-seed": ([784, 128, 10], 64),
    "784-1000-500-10": ([784, 1000, 500, 10], 128),
    "784-2500-2000-1500-1000-500-10": ([784, 2500, 2000, 1500, 1000, 500, 10], 128),
}
LINKS = {  # name: (bytes/s, latency per message in s)
    "1 Gbit/s": (1e9 / 8, 50e-6),
    "10 Gbit/s": (10e9 / 8, 20e-6),
    "100 Gbit/s": (100e9 / 8, 5e-6),
}
KS = [1, 2, 4, 8, 16, 32, 64, 128, 256]


def parameters(sizes):
    return sum(a * b + b for a, b in zip(sizes, sizes[1:]))


def flops_per_image(sizes):
    # forward and dW for every Linear layer, dx for all but the first.
    macs = [a * b for a, b in zip(sizes, sizes[1:])]
    return 2 * (3 * sum(macs) - macs[0])


def step_time(sizes, batch, k, rate, link, algorithm):
    compute = flops_per_image(sizes) * batch / k / rate
    if k == 1:
        return compute
    bandwidth, alpha = link
    gradient_bytes = 4 * parameters(sizes)
    if algorithm == "all-gather":
        exchange = (k - 1) * gradient_bytes / bandwidth + (k - 1) * alpha
    else:
        exchange = 2 * (k - 1) / k * gradient_bytes / bandwidth + 2 * (k - 1) * alpha
    return compute + exchange


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--gflops", type=float, default=50.0, help="one machine's sustained training GFLOP/s")
    args = parser.parse_args()
    rate = args.gflops * 1e9
    print(f"one machine sustains {args.gflops:.0f} GFLOP/s of training; speed-up T(1)/T(K) per step\n")
    for name, (sizes, batch) in NETWORKS.items():
        p = parameters(sizes)
        t1 = step_time(sizes, batch, 1, rate, None, None)
        print(f"{name}: {p:,} parameters ({4 * p / 1e6:.2f} MB of gradient), batch {batch}, "
              f"{flops_per_image(sizes) / 1e6:.2f} MFLOP per image, one machine {t1 * 1e3:.2f} ms per step")
        print(f"  {'link':<11} {'exchange':<10} " + " ".join(f"{'K=' + str(k):>7}" for k in KS) + "  best K")
        for link_name, link in LINKS.items():
            for algorithm in ("all-gather", "all-reduce"):
                speedups = [t1 / step_time(sizes, batch, k, rate, link, algorithm) for k in KS]
                best = KS[max(range(len(KS)), key=lambda i: speedups[i])]
                print(f"  {link_name:<11} {algorithm:<10} " + " ".join(f"{s:7.2f}" for s in speedups) + f"  {best}")
        print()


if __name__ == "__main__":
    main()
