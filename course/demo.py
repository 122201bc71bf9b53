"""Run the whole job on a synthetic class: release, hand-ins, grading, reports."""

import os
import shutil
import sys
from pathlib import Path

from base.paths import COURSE_ROOT
from base.text import roster_order, some_of
from course.cli import main as course
from course.demo_marker import demo_students, write_marker
from course.sample_class import make_sample_class
from grader.outputs import read_rows

ASSIGNMENT = "backprop"


def add_arguments(parser):
    parser.add_argument(
        "--root", type=Path, default=COURSE_ROOT, help="the course root (default: this checkout)"
    )


def others_in(submitted, autograded):
    """Students in `submitted` or `autograded/grades.csv` the demo did not make: real hand-ins and
    grades."""
    found = (
        {p.name for p in submitted.iterdir() if p.is_dir() and not p.name.startswith(".")}
        if submitted.is_dir()
        else set()
    )  # not .replaced/
    gradebook = autograded / "grades.csv"
    if gradebook.is_file():
        found |= {
            row.get("student_id") or "(a row without a student id)" for row in read_rows(gradebook)
        }
    return sorted(found - demo_students(submitted), key=roster_order)


def refuse_real_students(submitted, autograded):
    """Raise FileExistsError, before the demo changes anything, if real hand-ins or grades are
    there."""
    others = others_in(submitted, autograded)
    if others:
        raise FileExistsError(
            f"{len(others)} student(s) not made by the demo are in {submitted}/ or "
            f"{autograded / 'grades.csv'} ({some_of(others)}); "
            "the demo will not overwrite real hand-ins or grades. Move them elsewhere, or run "
            "`make demo` in a fresh clone."
        )


def prepare_submitted(submitted, autograded):
    """Remove the last demo's class from `submitted`, refusing if anything else is there or
    graded."""
    refuse_real_students(submitted, autograded)
    ours = demo_students(submitted)
    for path in submitted.iterdir() if submitted.is_dir() else ():
        if path.name in ours:  # only folders that are there: a marker line cannot point elsewhere
            shutil.rmtree(path)
    submitted.mkdir(parents=True, exist_ok=True)


def run(args):
    root = args.root.resolve()
    submitted, autograded = root / "submitted", root / "autograded"

    try:
        refuse_real_students(submitted, autograded)  # before anything changes, the release included
    except FileExistsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1

    print("== 1/3 course release backprop: strip solutions, check the release ==")
    if course(["release", ASSIGNMENT, "--root", str(root)]) != 0:
        return 1

    print(f"\n== 2/3 a synthetic class in {submitted.relative_to(root)}/ ==")
    prepare_submitted(submitted, autograded)
    roster = make_sample_class(
        submitted, root / "source" / ASSIGNMENT, root / "release" / ASSIGNMENT
    )
    write_marker(submitted, roster)
    for student, kind in roster.items():
        print(f"  {student:<22} hands in: {kind}")

    print("\n== 3/3 course grade backprop: every hand-in in its own sandbox ==")
    return course(
        [
            "grade",
            ASSIGNMENT,
            "--submitted",
            os.path.relpath(submitted),
            "--out",
            os.path.relpath(autograded),
        ]
    )
