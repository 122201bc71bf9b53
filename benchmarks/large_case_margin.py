"""How far the large hidden cases keep the chain rule from one forward pass per input entry.

A backward that differentiates its node numerically needs a forward pass per input entry; the
large cases are sized so that those passes outlast a check's time (--case-seconds, 1.5 s) while
the chain rule takes milliseconds. For each check this times, side by side in one run, the
reference engine answering the large case (the chain rule, whole gradients, as the worker does)
and one forward pass of the case's node, and prints both against the check's time. With --load,
a busy process runs on every other core, as on a loaded grading machine.

    .venv/bin/python benchmarks/large_case_margin.py [--load]
"""

import argparse
import multiprocessing
import os
import time

import numpy as np

from grader.assignments import assignment_named
from grader.assignments.backprop.cases import REFERENCE
from grader.assignments.backprop.compute import evaluate, generated
from grader.cases import checks
from grader.sandbox import Limits


def best_of(function, runs=5):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def forward_only(case, backward=False):
    """One forward pass of the case's graph (and, if asked, its backward): what a numerical
    backward repeats once per input entry."""
    return lambda: evaluate(REFERENCE, case, backward=backward)


def spin():
    while True:
        pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--load", action="store_true", help="keep every other core busy meanwhile")
    args = parser.parse_args()
    spinners = (
        [
            multiprocessing.Process(target=spin, daemon=True)
            for _ in range((os.cpu_count() or 1) - 1)
        ]
        if args.load
        else []
    )
    for spinner in spinners:
        spinner.start()
    limit = Limits().case_seconds
    print(
        f"check's time: {limit:g} s; load average {os.getloadavg()[0]:.1f}; busy cores added: "
        f"{len(spinners)}"
    )
    print(
        f"{'check':<15} {'entries':>8} {'chain rule':>11} {'one pass':>9} {'all passes':>11} "
        f"{'passes/limit':>13}"
    )
    try:
        for check in checks(assignment_named("backprop"), 0):
            (large,) = [c for c in check.cases if "generate" in c.request]
            entries = sum(
                int(np.prod(shape))
                for name, (_, shape) in large.request["generate"]["inputs"].items()
                if name in large.request["wants"]
            )
            chain = best_of(forward_only(large.request, backward=True))
            drawn = {key: value for key, value in large.request.items() if key != "generate"}
            one = best_of(forward_only({**drawn, **generated(large.request["generate"])}))
            passes = one * entries
            print(
                f"{check.grade_id:<15} {entries:>8} {chain * 1e3:>9.1f}ms {one * 1e3:>7.2f}ms "
                f"{passes:>10.1f}s "
                f"{passes / limit:>12.1f}x"
            )
    finally:
        for spinner in spinners:
            spinner.kill()


if __name__ == "__main__":
    main()
