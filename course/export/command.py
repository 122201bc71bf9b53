"""Write the grade-import file of an LMS (Canvas, Moodle) from grades.csv.

Give it the grades file the LMS exports (Canvas: Grades -> Export; Moodle: Grades -> Export ->
plain text file): its students are matched to the hand-ins, and the final scores (after any late
penalty) go into the assignment's column. Every grade no row matches, and every enrolled student
without a hand-in, is listed; a column already holding other grades is not overwritten unless
--force says so. Exit code: 0 when every grade found its student, 1 when some did not (the file
is still written with the rest), 2 when nothing was written.
"""

import sys
from pathlib import Path

from base.errors import CourseError
from base.text import first_free, some_of, student_text
from course.export.canvas import Canvas
from course.export.moodle import KEYS, Moodle
from course.export.table import csv_text, match, overwritten, read_csv, read_grades
from grader.outputs.gradebook import write_atomically

EXPORTERS = {"canvas": Canvas, "moodle": Moodle}


def add_arguments(parser):
    parser.epilog = __doc__.split("\n", 1)[1]  # the matching and overwriting rules belong in --help
    parser.add_argument("lms", choices=sorted(EXPORTERS), help="the LMS the file is for")
    parser.add_argument("assignment", help="assignment name, e.g. backprop")
    parser.add_argument(
        "--gradebook",
        type=Path,
        required=True,
        metavar="EXPORT.csv",
        help="the grades CSV downloaded from the LMS, listing its students",
    )
    parser.add_argument(
        "--grades",
        type=Path,
        default=Path("autograded/grades.csv"),
        help="the grades.csv course grade wrote (default autograded/grades.csv)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="the import file to write (default: EXPORT-import.csv beside the download, "
        "numbered if that exists)",
    )
    parser.add_argument(
        "--column", help="the LMS's column for the assignment, when its name differs"
    )
    parser.add_argument(
        "--key",
        choices=sorted(KEYS),
        default="idnumber",
        help="Moodle: the column its import identifies students by (default idnumber)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="write over grades the LMS's column already holds",
    )


def build(args, grades):
    """The LMS's table, read and understood."""
    rows = read_csv(args.gradebook)
    if not rows:
        raise CourseError(f"{args.gradebook} is empty; export the grades from the LMS again")
    options = {"key": args.key} if args.lms == "moodle" else {"max_score": max_score(grades)}
    try:
        return EXPORTERS[args.lms](rows, args.assignment, args.column, **options)
    except ValueError as error:
        raise CourseError(f"{args.gradebook} is no {args.lms} grades export: {error}") from None


def max_score(grades):
    return max((grade.max_score for grade in grades), default=0.0)


def run(args):
    try:
        grades, left_out = read_grades(args.grades, args.assignment)
        lms = build(args, grades)
    except CourseError as error:
        print(f"course export: error: {error}; nothing was written.", file=sys.stderr)
        return 2
    matched, unmatched, ambiguous = match(grades, lms)
    clashes = overwritten(matched, lms.current)
    if clashes and not args.force:
        print(
            f"error: the column {lms.label!r} of {args.gradebook} already holds other grades for "
            f"{len(clashes)} student(s) ("
            + some_of(f"{student_text(s)}: {was} there, {now} here" for s, was, now in clashes)
            + "); nothing was written. Pass --force to replace them, or --column for another "
            "column.",
            file=sys.stderr,
        )
        return 2
    out = args.out or first_free(args.gradebook.with_name(f"{args.gradebook.stem}-import.csv"))
    write_atomically(out, csv_text(lms.output(matched)))
    print(f"Wrote {out}: {len(matched)} grade(s) in the column {lms.label!r} for {lms.name}.")
    if clashes:
        print(f"  replaced {len(clashes)} grade(s) the column held (--force)")
    used = set(matched)
    lines = [(g.student_id, "no row of the LMS's file matches this id") for g in unmatched]
    lines += [(g.student_id, "several rows match this id: enter it by hand") for g in ambiguous]
    lines += [(s, f"not graded ({status}): no grade sent") for s, status in left_out]
    lines += [
        (s, f"its row has no {lms.key}: the import cannot place it") for s in lms.unkeyed(matched)
    ]
    for student, why in lines:
        print(f"  not in the file: {student_text(student)}: {why}")
    missing = [lms.describe(row) for n, row in lms.students() if n not in used]
    if missing:
        listed = some_of(map(student_text, missing), 20)
        print(f"  enrolled with no hand-in ({len(missing)}): {listed}")
    return 1 if unmatched or ambiguous else 0
