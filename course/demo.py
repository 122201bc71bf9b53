"""Run the whole job on a synthetic class: release, hand-ins, grading, reports."""
import os
import shutil
from pathlib import Path

from course import COURSE_ROOT
from course.cli import main as course
from course.sample_class import make_sample_class

ASSIGNMENT = "backprop"
# Written into submitted/ by the demo, so it only ever replaces hand-ins it made itself.
MARKER = ".demo-class"


def add_arguments(parser):
    parser.add_argument("--root", type=Path, default=COURSE_ROOT, help="the course root (default: this checkout)")


def prepare_submitted(submitted):
    """An empty submitted/ for the demo, refusing to touch hand-ins the demo did not write."""
    if submitted.exists() and any(submitted.iterdir()):
        if not (submitted / MARKER).is_file():
            raise FileExistsError(
                f"{submitted} holds hand-ins the demo did not make; it will not overwrite them. "
                "Move them elsewhere, or run `make demo` in a fresh clone."
            )
        shutil.rmtree(submitted)
    submitted.mkdir(parents=True, exist_ok=True)
    (submitted / MARKER).write_text("Made by `course demo`; it replaces this folder on its next run.\n")


def run(args):
    root = args.root.resolve()
    submitted, autograded = root / "submitted", root / "autograded"

    print("== 1/3 course release backprop: strip solutions, check the release ==")
    if course(["release", ASSIGNMENT, "--root", str(root)]) != 0:
        return 1

    print(f"\n== 2/3 a synthetic class in {submitted.relative_to(root)}/ ==")
    try:
        prepare_submitted(submitted)
    except FileExistsError as error:
        print(f"error: {error}")
        return 1
    roster = make_sample_class(submitted, root / "source" / ASSIGNMENT, root / "release" / ASSIGNMENT)
    for student, kind in roster.items():
        print(f"  {student:<22} hands in: {kind}")

    print("\n== 3/3 course grade backprop: every hand-in in its own sandbox ==")
    return course(["grade", ASSIGNMENT, "--submitted", os.path.relpath(submitted), "--out", os.path.relpath(autograded)])
