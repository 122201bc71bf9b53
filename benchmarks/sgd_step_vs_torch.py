"""One SGD step of a 64-128-10 MLP (batch 64, float64): the reference engine against PyTorch.

A step is forward, loss, backward, update and zero_grad. Both run in this
process on the same data and weights, each on one CPU thread (PyTorch's own
pool and numpy's BLAS alike); timings alternate between the two so that a
busy machine slows both alike.
Prints both times and the ratio ours / torch (the target is at most 1.0).

    pip install -e '.[bench]'
    python benchmarks/sgd_step_vs_torch.py
"""

import argparse
import sys
import timeit

import numpy as np
from threadpoolctl import threadpool_limits

from toolbox_solution import nn
from toolbox_solution.toolbox import Tensor

try:
    import torch
except ImportError:
    sys.exit(
        "PyTorch is needed for this benchmark only; install it with: pip install -e '.[bench]'"
    )

SIZES, BATCH, LR = (64, 128, 10), 64, 0.01


def problem(seed=0):
    """Inputs (features, batch), labels and the weights of both layers."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(SIZES[0], BATCH))
    y = rng.integers(0, SIZES[-1], size=BATCH)
    layers = [
        (rng.normal(0, np.sqrt(2 / n_in), size=(n_out, n_in)), np.zeros((n_out, 1)))
        for n_in, n_out in zip(SIZES, SIZES[1:])
    ]
    return x, y, layers


def ours(x, y, layers):
    """Our step, and a function returning the current weights as [W1, b1, W2, b2]."""
    network = nn.Network()
    network.add_layer(nn.LinearLayer(*layers[0]))
    network.add_layer(nn.ReLU())
    network.add_layer(nn.LinearLayer(*layers[1]))
    loss, optimiser, inputs = nn.CrossEntropyLoss(), nn.SGD(network.parameters(), LR), Tensor(x)

    def step():
        loss.forward(network.forward(inputs), y).backward()
        optimiser.step()
        optimiser.zero_grad()

    return step, lambda: [p.data for p in network.parameters()]


def theirs(x, y, layers):
    """The same step in PyTorch; its Linear works on rows, so the batch is transposed."""
    network = torch.nn.Sequential(
        torch.nn.Linear(*SIZES[:2]), torch.nn.ReLU(), torch.nn.Linear(*SIZES[1:])
    ).double()
    with torch.no_grad():
        for linear, (W, b) in zip((network[0], network[2]), layers):
            linear.weight.copy_(torch.from_numpy(W))
            linear.bias.copy_(torch.from_numpy(b[:, 0]))
    loss, optimiser = torch.nn.CrossEntropyLoss(), torch.optim.SGD(network.parameters(), lr=LR)
    inputs, labels = torch.from_numpy(x.T.copy()), torch.from_numpy(y)

    def step():
        loss(network(inputs), labels).backward()
        optimiser.step()
        optimiser.zero_grad()

    def weights():
        return [
            p.detach().numpy().reshape(-1, 1) if p.ndim == 1 else p.detach().numpy()
            for p in network.parameters()
        ]

    return step, weights


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=200, help="steps per timing")
    parser.add_argument("--repeat", type=int, default=7, help="timings per engine; the best counts")
    args = parser.parse_args()
    torch.set_num_threads(1)

    (our_step, our_weights), (torch_step, torch_weights) = (
        build(*problem()) for build in (ours, theirs)
    )
    our_step(), torch_step()
    for mine, reference in zip(our_weights(), torch_weights()):
        if not np.allclose(mine, reference, rtol=1e-10, atol=1e-12):
            sys.exit("the two SGD steps disagree, so timing them would compare different work")

    times = {"ours": [], "torch": []}
    with threadpool_limits(limits=1):
        for _ in range(args.repeat):  # interleaved, so both see the same machine load
            times["ours"].append(timeit.timeit(our_step, number=args.number) / args.number)
            times["torch"].append(timeit.timeit(torch_step, number=args.number) / args.number)
    best = {name: min(values) for name, values in times.items()}

    print(
        f"one SGD step, MLP {'-'.join(map(str, SIZES))}, batch {BATCH}, float64, best of "
        f"{args.repeat} x {args.number}"
    )
    print(f"  toolbox_solution   {best['ours'] * 1e6:8.1f} us")
    print(f"  torch {torch.__version__:<12} {best['torch'] * 1e6:8.1f} us  (1 thread)")
    print(f"  ratio ours/torch   {best['ours'] / best['torch']:8.2f}   (target <= 1.0)")


if __name__ == "__main__":
    main()
