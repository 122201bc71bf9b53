"""Run the notebook's public checks against the toolbox.py and nn.py in a folder and print a table.

For instructors testing a release and students checking their work: the
checks are the graded cells as students see them (hidden tests removed), run
in a separate kernel on a copy of the folder, so the folder is never changed.
That kernel is not sandboxed: it runs the folder's code as you. For hand-ins
you did not write, use `course grade`, which runs them in bubblewrap.
"""

import sys
import tempfile
from pathlib import Path

from base.errors import CourseError
from base.nbgrader_settings import load_config, student_files
from base.notebook import public_notebook, read_notebook
from base.paths import COURSE_ROOT
from course.checks import run_cells, up_to_last_check


def add_arguments(parser):
    parser.add_argument(
        "path",
        type=Path,
        help="a folder holding the files students complete (a release, your work in progress); "
        "its code runs unsandboxed, so grade other people's hand-ins with `course grade`",
    )
    parser.add_argument(
        "--assignment",
        default="backprop",
        help="the assignment whose checks to run (default: backprop)",
    )
    parser.add_argument(
        "--root", type=Path, default=COURSE_ROOT, help="the course root (default: this checkout)"
    )
    parser.add_argument(
        "--timeout", type=float, default=60, help="seconds a single check may take (default: 60)"
    )


def run(args):
    try:
        runs = validate(args.path, args.assignment, args.root, args.timeout)
    except CourseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"Public checks of {args.assignment} against {args.path}:")
    print(format_table(runs))
    refusal = None
    if (
        Path(args.root) / "release" / args.assignment
    ).is_dir():  # else nothing to compare with: the checks are all there is
        refusal = grading_refusal(args.path, args.assignment, args.root)
        print(
            f"\nGrading would give 0 points, status '{refusal.status}': {refusal}"
            if refusal
            else "Grading would accept these files: they read as UTF-8 Python and change only "
            "what students may."
        )
        if not refusal and any(not cell.grade_id and cell.unexpected_error for cell in runs):
            print(
                "A setup cell failed above, though: if importing toolbox.py or nn.py fails, "
                "grading fails the same "
                "way and gives 0. Grading offers your code the standard library and numpy, "
                "nothing else."
            )
    return 0 if all(cell.error is None for cell in runs if cell.grade_id) and not refusal else 1


def grading_refusal(path, assignment="backprop", root=COURSE_ROOT):
    """How grading would refuse the files in `path` before running them (an `Unusable`: missing or
    too large, bad encoding, syntax error, changed given code), or None: the grader's own steps,
    loaded only here."""
    from base.handin import MAX_SOURCE_KB, Unusable, check_readable
    from grader.submission import check_given_code, private_copy

    files = student_files(load_config(root), assignment)
    with tempfile.TemporaryDirectory(prefix="course-validate-") as scratch:
        copy = Path(scratch) / "hand-in"  # not the folder's own name: `.` has none
        try:
            private_copy(path, copy, files, MAX_SOURCE_KB)
            trees = check_readable(copy, files)
            check_given_code(trees, Path(root) / "release" / assignment)
        except Unusable as refusal:
            return refusal
    return None


def validate(path, assignment="backprop", root=COURSE_ROOT, timeout=60):
    """Run the public checks against the code in `path`; one CellRun per code cell up to the last
    check."""
    path, config = Path(path), load_config(root)
    if not path.is_dir():
        raise CourseError(
            f"{path} is not a folder; give the folder that holds "
            f"{', '.join(student_files(config, assignment))}."
        )
    missing = [name for name in student_files(config, assignment) if not (path / name).is_file()]
    if missing:
        raise CourseError(
            f"{path} has no {', '.join(missing)}; give the folder that holds the files students "
            "complete."
        )
    return run_cells(
        up_to_last_check(public_checks(root, assignment, config)),
        path,
        timeout,
        beside=Path(root) / "release" / assignment,
    )


def public_checks(root, assignment, config):
    """The notebook as students see it: the source's without hidden tests or, with no source (a
    student's copy of the course), the released notebook, which is that already."""
    script = Path(root) / "source" / assignment / f"{assignment}.py"
    if script.is_file():
        return public_notebook(read_notebook(script), config)
    released = Path(root) / "release" / assignment / f"{assignment}.ipynb"
    if not released.is_file():
        raise CourseError(f"neither {script} nor {released} exists; give --root the course folder.")
    return read_notebook(released)


def format_table(runs):
    """One row per check (result, points, message), the first setup failure first, then the
    score."""
    checks = [cell for cell in runs if cell.grade_id]
    setup = [
        cell
        for cell in runs
        if not cell.grade_id and cell.unexpected_error and cell.number < checks[0].number
    ]
    rows = [
        f"  setup   cell {cell.number} failed: {cell.error}" for cell in setup[:1]
    ]  # the first failure; the rest follow from it
    if len(setup) > 1:
        rows.append(
            f"          and {len(setup) - 1} later setup cell(s) failed after it; fix the first "
            "error, then run again"
        )
    width = max(len(cell.grade_id) for cell in checks)
    for cell in checks:
        result = "passed" if cell.error is None else "FAILED"
        error = " ".join(
            (cell.error or "").split()
        )  # an array printed over several lines would break the table
        rows.append(f"  {result}  {cell.grade_id:<{width}}  {cell.points:>4g}  {error}".rstrip())
    passed = [cell for cell in checks if cell.error is None]
    rows.append(
        f"{len(passed)} of {len(checks)} checks pass ({sum(c.points for c in passed):g} of "
        f"{sum(c.points for c in checks):g} points); hidden tests run at grading time."
    )
    return "\n".join(rows)
