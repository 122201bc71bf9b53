"""How fast `course grade` grades a class: 300 synthetic hand-ins with the sandbox on.

The class is the solution, the stubs and typical one-mistake variants
(course.sample_class), graded by the real command line in a subprocess.
Target from issue 4: 300 hand-ins in under 60 s on a 2-core machine.

    .venv/bin/python benchmarks/grade_class.py [--count 300] [--jobs N]
"""

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from course.sample_class import make_sample_class
from grader.sandbox import choose_sandbox


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--jobs", type=int, default=os.cpu_count())
    args = parser.parse_args()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="grade-bench-") as scratch:
        submitted, out = Path(scratch) / "submitted", Path(scratch) / "autograded"
        make_sample_class(submitted, count=args.count)
        command = [
            sys.executable,
            "-m",
            "course",
            "grade",
            "backprop",
            f"--submitted={submitted}",
            f"--out={out}",
            f"--jobs={args.jobs}",
        ]
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seconds = time.perf_counter() - start
        with open(out / "grades.csv", encoding="utf-8") as file:
            rows = list(csv.DictReader(file))
    assert len(rows) == args.count, f"grades.csv has {len(rows)} rows for {args.count} hand-ins"
    print(
        f"course grade: {args.count} hand-ins, {args.jobs} job(s) on {os.cpu_count()} core(s), "
        f"sandbox: {choose_sandbox().name}"
    )
    print(f"{seconds:.1f} s, {args.count / seconds:.1f} hand-ins/s (target: 300 in under 60 s)")
    # On a shared machine the wall time also measures the neighbours: say how busy it was.
    print(f"load average before the run: {load:.1f}")


if __name__ == "__main__":
    main()
