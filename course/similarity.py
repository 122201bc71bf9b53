"""Find copied work: compare what each student wrote with every other hand-in (similarity.html)."""

import sys

from base.errors import CourseError
from base.nbgrader_settings import load_config, student_files
from base.paths import COURSE_ROOT
from base.text import some_of, student_text
from course.class_folders import (
    add_class_arguments,
    assignment_refusal,
    handins_refusal,
    output_refusal,
)
from grader.outputs import SIMILARITY_PAGE, shown_id
from grader.sandbox import Limits, positive
from grader.similarity import COMMON, THRESHOLD
from grader.submission import find_submissions

TABLE_ROWS = 20


def add_arguments(parser):
    add_class_arguments(
        parser, "folder for similarity.html, beside the class report (default autograded/)"
    )
    parser.add_argument(
        "--threshold",
        type=percentage,
        default=THRESHOLD,
        help=f"score in percent above which a pair is shown side by side (default "
        f"{THRESHOLD * 100:.0f}, set on independently written solutions: see the page)",
    )
    parser.add_argument(
        "--common",
        type=positive(int),
        default=COMMON,
        help=f"code shared by more hand-ins than this is common, not copied (default {COMMON})",
    )


def percentage(text):
    value = float(text.rstrip("%"))
    if not 0 <= value <= 100:
        raise ValueError(text)
    return value / 100


def given_files(assignment):
    """{file: text} of each file students complete, as the release gave it."""
    release = COURSE_ROOT / "release" / assignment
    given = {}
    for name in student_files(load_config(COURSE_ROOT), assignment):
        try:
            given[name] = (release / name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise CourseError(
                f"{release / name} cannot be read ({error}): run `course release {assignment}` "
                "first; it is what the hand-ins are compared against."
            ) from None
    if not given:
        raise CourseError(
            f"nbgrader_config.py names no file students complete in {assignment} "
            "(Autograde.exclude_overwriting): there is nothing to compare."
        )
    return given


def run(args):
    submissions = (
        find_submissions(args.submitted, args.assignment) if args.submitted.is_dir() else []
    )
    refused = (
        assignment_refusal(args.assignment, "nothing was compared.")
        or output_refusal(args.out, args.submitted)
        or handins_refusal(args.assignment, args.submitted, submissions)
    )
    if refused:
        print(f"error: {refused}", file=sys.stderr)
        return 1
    given = given_files(args.assignment)
    # loaded once the arguments are checked: copydetect takes a while to import
    from grader.outputs.similarity_page import write_similarity_page
    from grader.similarity.class_check import compare_handins

    similarity = compare_handins(
        submissions, given, Limits().source_kb, args.threshold, args.common
    )
    try:
        page = write_similarity_page(args.out, args.assignment, similarity)
    except OSError as error:
        print(
            f"error: {args.out / SIMILARITY_PAGE} could not be written ({error}); make room for "
            "it or pass another --out folder.",
            file=sys.stderr,
        )
        return 1
    print_summary(similarity)
    print(f"Side by side, with the shared code marked: {page}")
    return 0


def print_summary(similarity):
    flagged = similarity.flagged
    compared = sum(bool(reading.text) for reading in similarity.readings.values())
    print(
        f"Compared {compared} of {len(similarity.readings)} hand-in(s), "
        f"{len(similarity.pairs)} pair(s): {len(flagged)} above {similarity.threshold:.0%}."
    )
    for pair in flagged[:TABLE_ROWS]:
        print(f"  {pair.score:4.0%}  {name(pair.first)} and {name(pair.second)}")
    if len(flagged) > TABLE_ROWS:
        print(f"  ... and {len(flagged) - TABLE_ROWS} more on the page")
    problems = similarity.problems
    if problems:
        print(
            f"note: {len(problems)} hand-in(s) could not be read in full; the page lists why: "
            f"{some_of(name(student) for student in problems)}."
        )


def name(student):
    return student_text(shown_id(student))
