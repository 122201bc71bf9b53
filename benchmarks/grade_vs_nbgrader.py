"""`course grade` against `nbgrader autograde` on the same synthetic class, side by side.

Both grade the same submissions (make_sample_class: the solution, the stubs
and one-region mistakes, cycled) in a scratch copy of the course. nbgrader
executes each student's whole notebook in a fresh kernel; `course grade` runs
only the engine checks, in sandboxed workers. Setting up (generate_assignment,
writing the class) is not timed. Target: course grade at least 20x faster.

    python benchmarks/grade_vs_nbgrader.py [--students 20]
"""

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from base.paths import COURSE_ROOT  # noqa: E402
from course.sample_class import make_sample_class  # noqa: E402

TARGET = 20.0


def run(command, cwd):
    """Run `command`, with this environment's programs on PATH (nbgrader calls `alembic`); return
    seconds taken."""
    path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
    start = time.perf_counter()
    result = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, env={**os.environ, "PATH": path}
    )
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(
            f"{' '.join(command)} failed (exit "
            f"{result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="grade-bench-") as scratch:
        root = Path(scratch)
        shutil.copy(COURSE_ROOT / "nbgrader_config.py", root)
        shutil.copytree(COURSE_ROOT / "source" / "backprop", root / "source" / "backprop")
        nbgrader = [sys.executable, "-m", "nbgrader"]
        run([*nbgrader, "generate_assignment", "backprop", "--force"], root)
        make_sample_class(
            root / "submitted",
            root / "source" / "backprop",
            root / "release" / "backprop",
            count=args.students,
        )
        print(f"{args.students} submissions, {os.cpu_count()} core(s)")

        course_seconds = run(
            [
                sys.executable,
                "-m",
                "course",
                "grade",
                "backprop",
                "--submitted",
                str(root / "submitted"),
                "--out",
                str(root / "graded"),
            ],
            COURSE_ROOT,
        )
        with open(root / "graded" / "grades.csv", newline="", encoding="utf-8") as file:
            rows = len(list(csv.DictReader(file)))
        if rows != args.students:
            sys.exit(
                f"course grade wrote {rows} rows to grades.csv for {args.students} submissions"
            )
        print(f"course grade        {course_seconds:8.2f} s")

        nbgrader_seconds = run([*nbgrader, "autograde", "backprop", "--create", "--force"], root)
        graded = len(list((root / "autograded").glob("*/backprop/backprop.ipynb")))
        if graded != args.students:
            sys.exit(
                f"nbgrader autograde graded {graded} notebooks for {args.students} submissions"
            )
        print(f"nbgrader autograde  {nbgrader_seconds:8.2f} s")

    ratio = nbgrader_seconds / course_seconds
    print(
        f"course grade is {ratio:.1f}x faster (target: at least {TARGET:g}x): "
        f"{'met' if ratio >= TARGET else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
