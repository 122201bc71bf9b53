"""Grade every hand-in of an assignment in a sandbox: grades.csv, results.json and reports."""

import argparse
import os
from pathlib import Path

from base.paths import COURSE_ROOT
from course.class_folders import add_class_arguments
from grader.first_workers import start_workers
from grader.grading import add_grading_options, fresh_seed, grading_from
from grader.sandbox import positive
from grader.submission import find_submissions


def add_arguments(parser):
    add_class_arguments(parser)
    parser.add_argument(
        "--jobs",
        type=positive(int),
        default=os.cpu_count() or 1,
        help="hand-ins graded at once (default: one per core)",
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=COURSE_ROOT,
        metavar="DIR",
        help="the course root, holding release/, nbgrader_config.py and nbgrader's gradebook.db "
        "(default: this checkout)",
    )
    parser.add_argument(
        "--nbgrader-gradebook",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="record the scores in the course's nbgrader gradebook.db, for formgrader and "
        "`nbgrader export` (default: when the course has one)",
    )
    add_grading_options(parser.add_argument)


def run(args):
    if args.seed is None:  # one seed for the whole run, recorded in every results.json
        args.seed = fresh_seed()
    grading, workers = start_early(args)
    # loaded while they start: numpy, the checks and the reports (a tenth of a second)
    from course.class_grading import grade_and_report

    return grade_and_report(args, grading, workers)


def start_early(args):
    """The Grading the options ask for, and the grading slots' first workers
    (`grader.first_workers`), started before the rest of the grader loads: on the core that
    loading leaves idle. (None, no workers) where the grading cannot be built here."""
    try:
        grading = grading_from(args, args.assignment, args.root)
        count = len(find_submissions(args.submitted, args.assignment))
    except Exception:  # whatever it is, `grade_and_report` refuses the class with its message
        return None, []
    return grading, start_workers(grading, min(args.jobs, count))
