"""Record grading in the course's nbgrader gradebook.db: formgrader and `nbgrader export` show it.

Everything goes through nbgrader's own code: the assignment's notebook and graded cells are saved
by the preprocessors `generate_assignment` runs (ClearSolutions, ComputeChecksums, SaveCells), each
hand-in with `Gradebook.update_or_create_submission` (which makes its grade rows), and the late
penalty by nbgrader's AssignLatePenalties with the plugin nbgrader_config.py names. Only the
automatic score of each graded cell is written: manual grades, extra credit and comments a TA
entered in formgrader stay, and nbgrader counts a manual grade before the automatic one. Formgrader
opens a submission from nbgrader's autograded folder, so each hand-in's notebook is copied there.
"""

import json
import os
import warnings
from pathlib import Path

from base.nbgrader_settings import course_directory, course_importable, open_gradebook
from base.notebook import read_notebook
from base.plain_file import read_plain_file
from base.text import roster_order, student_text
from grader.outputs.gradebook import NOT_WRITABLE, write_atomically

CELL_PREPROCESSORS = ("ClearSolutions", "ClearOutput", "ComputeChecksums", "SaveCells")
# A hand-in's notebook copied for formgrader; a larger one is that row's note. Reading and checking
# a notebook costs the grading process time in proportion to its JSON values, not its bytes (about
# a second for each 10000 cells): so its values are counted, before parsing (the commas and
# brackets bound them, those inside strings too: a million in printed outputs is refused) and once
# its outputs are cleared.
NOTEBOOK_MB, NOTEBOOK_CELLS, NOTEBOOK_VALUES = 50, 2000, 100_000


class GradebookMismatch(Exception):
    """The gradebook holds the assignment with other graded cells and hand-ins already recorded."""


def record(config, assignment, notebook_path, results):
    """Record every hand-in of `results` in the gradebook, the cells read from `notebook_path` (the
    source notebook, as generate_assignment reads it); returns [(student, why not)] for those that
    could not be (their grades.csv rows stand), or raises GradebookMismatch for the class."""
    directory = course_directory(config)
    notebook = notebook_path.stem
    grade_ids = [check.grade_id for check in results[0].checks]
    save_cells(config, directory, assignment, notebook_path, grade_ids)
    problems = []
    with open_gradebook(config) as gradebook:
        for result in results:
            if result.status == NOT_WRITABLE:
                continue  # its id is not one a gradebook could hold either
            try:
                with warnings.catch_warnings():
                    # nbgrader's add_submission trips SQLAlchemy's autoflush warning; it is harmless
                    warnings.filterwarnings("ignore", "Object of type", module="nbgrader")
                    record_one(gradebook, assignment, notebook, result)
            except Exception as error:  # that student's row says why; the others are recorded
                gradebook.db.rollback()
                why = f"not recorded in the gradebook ({type(error).__name__}: {error})"
                problems.append((result.student_id, why))
    with course_importable(directory.root):
        for result in results:
            if result.status != NOT_WRITABLE and result.student_id not in dict(problems):
                assign_late_penalty(config, directory.db_url, assignment, notebook, result)
    return problems


def save_cells(config, directory, assignment, notebook_path, grade_ids):
    """Record the assignment, its notebook and graded cells as generate_assignment does, unless
    the gradebook already holds exactly these graded cells."""
    from nbgrader import preprocessors
    from nbgrader.api import MissingEntry

    notebook = notebook_path.stem
    with open_gradebook(config) as gradebook:
        gradebook.update_or_create_assignment(assignment)
        try:
            recorded = gradebook.find_notebook(notebook, assignment)
        except MissingEntry:
            recorded = None
        if recorded is not None and [cell.name for cell in recorded.grade_cells] == grade_ids:
            return
        if recorded is not None and recorded.submissions:
            raise GradebookMismatch(
                f"{directory.db_url} records {assignment}/{notebook} with the graded cells "
                f"{', '.join(cell.name for cell in recorded.grade_cells)}, the release has "
                f"{', '.join(grade_ids)}, and hand-ins are recorded against the old ones; "
                f"remove them (nbgrader db assignment remove {assignment}) or grade against the "
                "release they were made from"
            )
    node = read_notebook(notebook_path)
    resources = {
        "nbgrader": {"notebook": notebook, "assignment": assignment, "db_url": directory.db_url}
    }
    for name in CELL_PREPROCESSORS:
        node, resources = getattr(preprocessors, name)(config=config).preprocess(node, resources)


def record_one(gradebook, assignment, notebook, result):
    """One hand-in's submission, time and automatic scores; needs_manual_grade as nbgrader's
    SaveAutoGrades sets it, and for a hand-in that could not be graded, so formgrader flags it."""
    from nbgrader.utils import parse_utc

    gradebook.update_or_create_student(result.student_id)
    when = {"timestamp": parse_utc(result.timestamp)} if result.timestamp else {}
    gradebook.update_or_create_submission(assignment, result.student_id, **when)
    for check in result.checks:
        grade = gradebook.find_grade(check.grade_id, notebook, assignment, result.student_id)
        grade.auto_score = check.score
        grade.needs_manual_grade = grade.manual_score is not None or result.status != "graded"
    gradebook.db.commit()


def assign_late_penalty(config, db_url, assignment, notebook, result):
    """nbgrader's AssignLatePenalties for one hand-in: it reads the time, due date and extension
    from the gradebook and the score with any manual grades, as autograde would."""
    from nbformat.v4 import new_notebook
    from nbgrader.preprocessors import AssignLatePenalties

    resources = {
        "nbgrader": {
            "notebook": notebook,
            "assignment": assignment,
            "student": result.student_id,
            "db_url": db_url,
        }
    }
    AssignLatePenalties(config=config).preprocess(new_notebook(), resources)


def manual_grades(config, assignment):
    """Students whose recorded score holds a grade a person entered, which nbgrader counts before
    the automatic one (so `nbgrader export` differs from grades.csv for them)."""
    with open_gradebook(config) as gradebook:
        submissions = gradebook.assignment_submissions(assignment)
        return sorted(
            {
                submission.student_id
                for submission in submissions
                for notebook in submission.notebooks
                for grade in notebook.grades
                if grade.manual_score is not None or grade.extra_credit
            },
            key=roster_order,
        )


def _cleared(path):
    """The version 4 notebook in `path`, as JSON data with its code cells' outputs removed; raises
    ValueError for one larger than formgrader is given (see NOTEBOOK_VALUES)."""
    text = read_plain_file(path, NOTEBOOK_MB << 20).decode("utf-8")
    if sum(map(text.count, "{[,")) > 10 * NOTEBOOK_VALUES:
        raise ValueError(f"more than {10 * NOTEBOOK_VALUES} values in its JSON")
    data = json.loads(text)
    if not isinstance(data, dict) or data.get("nbformat") != 4:
        raise ValueError("not a notebook of nbformat version 4")
    cells = data.get("cells")
    if not isinstance(cells, list):
        raise ValueError("its cells are not a list")
    if len(cells) > NOTEBOOK_CELLS:
        raise ValueError(f"{len(cells)} cells, more than the {NOTEBOOK_CELLS} formgrader is given")
    for cell in cells:
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            cell.update(outputs=[], execution_count=None)
    values, stack = 0, [data]
    while stack:
        value = stack.pop()
        values += 1
        if values > NOTEBOOK_VALUES:
            raise ValueError(f"more than {NOTEBOOK_VALUES} values besides its outputs")
        stack.extend(
            value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        )
    return data


def _why(error):
    """An error as the instructor reads it: the limits' own ValueErrors say it all, the rest (from
    json or nbformat, on a student's file) need their type."""
    text = student_text(error, limit=200)
    return text if type(error) is ValueError else f"{type(error).__name__}: {text}"


def show_in_formgrader(config, assignment, folders, students, notebook):
    """Copy each recorded hand-in's `notebook` (the assignment's file name; the student's other
    notebooks nbgrader grades none of), outputs cleared by nbgrader's ClearOutput, to where
    formgrader looks for an autograded one (nbgrader's autograded_directory): it lists and opens a
    submission only when that folder holds its notebook. Returns [(student, why not)]."""
    import nbformat
    from nbgrader.preprocessors import ClearOutput

    directory = course_directory(config)
    problems = []
    for student in students:
        target = Path(directory.format_path(directory.autograded_directory, student, assignment))
        path = folders[student] / notebook
        if not os.path.lexists(path):  # handed in without it: nothing to show
            continue
        try:
            node, _ = ClearOutput().preprocess(nbformat.from_dict(_cleared(path)), {})
            write_atomically(target / notebook, nbformat.writes(node))
        except Exception as error:  # the student's file, read by nbformat: this student's problem
            problems.append(
                (
                    student,
                    f"{notebook} was not copied where formgrader shows it ({_why(error)}), so "
                    "formgrader does not list this hand-in",
                )
            )
    return problems
