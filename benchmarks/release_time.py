"""Time `course release backprop` (the issue's target: under 15 s on a 2-core machine).

Side by side in one run, on a temporary copy of the course: the whole release
command, started cold as a user would, and a plain top-to-bottom execution of
the source notebook (one kernel, what `course demo` does) as the floor any
release that runs the notebook cannot go below. Prints medians and ratios.
"""

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 15.0
REPEATS = 3
RUN_NOTEBOOK = (
    "from base.notebook import execute, read_notebook;"
    "execute(read_notebook('source/backprop/backprop.py'), 'source/backprop', timeout=300)"
)


def timed(command, cwd):
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def main():
    with tempfile.TemporaryDirectory(prefix="release-bench-") as scratch:
        course = Path(scratch)
        shutil.copy2(ROOT / "nbgrader_config.py", course)
        shutil.copytree(
            ROOT / "source" / "backprop",
            course / "source" / "backprop",
            ignore=shutil.ignore_patterns("__pycache__"),
        )
        release, notebook = [], []
        for _ in range(REPEATS):  # interleaved, so both see the same machine load
            release.append(
                timed(
                    [sys.executable, "-m", "course", "release", "backprop", "--root", str(course)],
                    course,
                )
            )
            notebook.append(timed([sys.executable, "-c", RUN_NOTEBOOK], course))
    release_s, notebook_s = statistics.median(release), statistics.median(notebook)
    print(
        f"course release backprop      {release_s:6.2f} s  (median of {REPEATS}; target "
        f"{TARGET:g} s: {release_s / TARGET:.2f} of it)"
    )
    print(f"notebook run top to bottom   {notebook_s:6.2f} s  (median of {REPEATS})")
    print(f"release / notebook run       {release_s / notebook_s:6.2f}")


if __name__ == "__main__":
    main()
