"""`course grade`'s step into nbgrader's gradebook.db: record the class there when asked, or by
default when the course has one, and say what could not be recorded."""

import sys

from base.nbgrader_settings import gradebook_file
from base.text import some_of, student_text
from grader.outputs import NOT_WRITABLE


def record_in_gradebook(config, args, assignment, results, folders):
    """Record the class in nbgrader's gradebook.db when asked, or by default when the course has
    one; returns whether it went through for every hand-in, or None when not asked."""
    path = gradebook_file(config)
    wanted = args.nbgrader_gradebook
    if wanted is None:
        wanted = path is None or path.is_file()
    if not wanted:
        return None
    from grader.outputs.nbgrader_gradebook import (
        GradebookMismatch,
        manual_grades,
        record,
        show_in_formgrader,
    )

    where = path or "nbgrader's gradebook"
    source = args.root / "source" / assignment.name / assignment.notebook.name
    notebook = source if source.is_file() else assignment.notebook
    try:
        problems = record(config, assignment.name, notebook, results)
    except GradebookMismatch as error:
        print(f"error: nothing was recorded in the gradebook: {error}.", file=sys.stderr)
        return False
    except Exception as error:  # the database's own: grades.csv and the pages are written
        print(
            f"error: recording in {where} failed ({type(error).__name__}: {error}); grades.csv "
            "and the feedback pages stand. Fix the cause (or pass --no-nbgrader-gradebook) and "
            "grade again.",
            file=sys.stderr,
        )
        return False
    recorded = [
        r.student_id
        for r in results
        if r.status != NOT_WRITABLE and r.student_id not in dict(problems)
    ]
    shown = show_in_formgrader(config, assignment.name, folders, recorded, assignment.notebook.name)
    for student, problem in problems + shown:
        print(
            f"error: {student_text(student)}: {problem}; their row in grades.csv stands: fix the "
            "cause and grade again.",
            file=sys.stderr,
        )
    print(
        f"Recorded {len(recorded)} hand-in(s) in {where}: formgrader and `nbgrader export` show "
        "them."
    )
    edited = manual_grades(config, assignment.name)
    if edited:
        print(
            f"note: {len(edited)} student(s) have grades entered in formgrader, which nbgrader "
            f"counts before the automatic ones (grades.csv holds the automatic ones): "
            f"{some_of(map(student_text, edited))}."
        )
    return not problems and not shown
