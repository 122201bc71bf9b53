"""How fast `course similarity` compares a class: 300 distinct hand-ins, every pair.

Each hand-in mixes the honest solutions of tests/honest_solutions.py, one style drawn per
function, and adds a helper of its own, so no two are alike and many pairs share some code, as
in a real class (course.sample_class cycles a few contents, which would make the pairs trivial).
The real command line runs in a subprocess, several times. Target from issue 16: 300 hand-ins in
under 30 s on a 2-core machine.

    .venv/bin/python benchmarks/similarity_class.py [--count 300] [--runs 3]
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from handins import REGION_FILES, with_regions, write_handin  # noqa: E402
from honest_solutions import STYLES  # noqa: E402


def distinct_handin(rng, number):
    """{file: text}: one style per function, drawn by `rng`, and a helper only this one has."""
    styles = list(STYLES.values())
    bodies = {cls: rng.choice(styles)[cls] for cls in REGION_FILES}
    files = with_regions(bodies)
    terms = " + ".join(f"{rng.randint(2, 99)} * x ** {power}" for power in range(rng.randint(2, 6)))
    helpers = "".join(style.get("toolbox.py", "") for style in styles)
    files["toolbox.py"] += f"\n\n{helpers}\n\ndef _own_{number}(x):\n    return {terms}\n"
    return files


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(16)
    with tempfile.TemporaryDirectory(prefix="similarity-bench-") as scratch:
        submitted, out = Path(scratch) / "submitted", Path(scratch) / "autograded"
        texts = set()
        for number in range(args.count):
            files = distinct_handin(rng, number)
            texts.add(tuple(files.values()))
            write_handin(submitted / f"student {number:03d}" / "backprop", files)
        assert len(texts) == args.count, "the hand-ins are not all distinct"
        command = [
            sys.executable,
            "-m",
            "course",
            "similarity",
            "backprop",
            f"--submitted={submitted}",
            f"--out={out}",
        ]
        load = os.getloadavg()[0]
        seconds = []
        for _ in range(args.runs):
            start = time.perf_counter()
            done = subprocess.run(command, check=True, capture_output=True, text=True)
            seconds.append(time.perf_counter() - start)
        flagged = done.stdout.splitlines()[0]
    print(f"course similarity: {args.count} distinct hand-ins on {os.cpu_count()} core(s)")
    print(f"  {flagged}")
    print(
        f"  min {min(seconds):.1f} s, median {statistics.median(seconds):.1f} s over "
        f"{args.runs} runs (target: 300 in under 30 s)"
    )
    # On a shared machine the wall time also measures the neighbours: say how busy it was.
    print(f"  load average before the runs: {load:.1f}, after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
