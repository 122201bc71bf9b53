"""Grading recorded in nbgrader's gradebook.db, late penalties, and feedback placed for the
exchange, checked through nbgrader's own Gradebook on a course in a temporary folder (no nbgrader
command runs)."""

import json
import os
import shutil
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from nbgrader.api import Gradebook

from base.nbgrader_settings import load_config, open_gradebook
from base.paths import COURSE_ROOT
from course.late import Deadline, penalty_plugin, with_lateness
from grader.checking import CheckResult
from grader.outputs.exchange_feedback import write_exchange_feedback
from grader.outputs.nbgrader_gradebook import GradebookMismatch, record
from grader.run import SubmissionResult

NOTEBOOK = COURSE_ROOT / "release" / "backprop" / "backprop.ipynb"
PER_HOUR = """
from nbgrader.plugins import BasePlugin


class PerHour(BasePlugin):
    def late_submission_penalty(self, student_id, score, total_seconds_late):
        return total_seconds_late / 3600
"""


@pytest.fixture(scope="module")
def grade_ids():
    from base.notebook import graded_cells, read_ipynb

    return {cell.grade_id: cell.points for cell in graded_cells(read_ipynb(NOTEBOOK))}


@pytest.fixture(scope="module")
def empty_gradebook(tmp_path_factory):
    """A new gradebook.db, made once: nbgrader runs a program to make each."""
    root = tmp_path_factory.mktemp("gradebook")
    shutil.copy(COURSE_ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
    with open_gradebook(load_config(root)):
        pass
    return root / "gradebook.db"


@pytest.fixture
def course(tmp_path, empty_gradebook):
    shutil.copy(COURSE_ROOT / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    shutil.copy(empty_gradebook, tmp_path / "gradebook.db")
    return tmp_path


def result(student, grade_ids, passed, status="graded", timestamp=""):
    checks = tuple(CheckResult(g, p, g in passed, "") for g, p in grade_ids.items())
    return SubmissionResult(student, status, "", checks, "bubblewrap", timestamp=timestamp)


def scores(course, student):
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        submission = gradebook.find_submission("backprop", student)
        return submission.score, submission.late_submission_penalty


def test_regrading_updates_scores_and_keeps_a_tas_grades(course, grade_ids):
    # (the notebook has no solution cells, the code being in .py files: no comments to keep)
    config = load_config(course)
    first, *rest = grade_ids
    assert record(config, "backprop", NOTEBOOK, [result("ada", grade_ids, [first])]) == []
    assert scores(course, "ada") == (grade_ids[first], 0.0)

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        gradebook.find_grade(rest[0], "backprop", "backprop", "ada").manual_score = 0.5
        gradebook.find_grade(first, "backprop", "backprop", "ada").extra_credit = 1
        gradebook.db.commit()

    record(config, "backprop", NOTEBOOK, [result("ada", grade_ids, [first, rest[1]])])
    assert scores(course, "ada") == (grade_ids[first] + 1 + 0.5 + grade_ids[rest[1]], 0.0)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        grade = gradebook.find_grade(rest[0], "backprop", "backprop", "ada")
        assert (grade.manual_score, grade.auto_score, grade.needs_manual_grade) == (0.5, 0, True)
        assert gradebook.find_grade(rest[1], "backprop", "backprop", "ada").auto_score > 0


def test_a_hand_in_that_could_not_be_graded_is_flagged_for_a_person(course, grade_ids):
    flagged = {}
    for status in ("graded", "grader error"):
        record(load_config(course), "backprop", NOTEBOOK, [result("eve", grade_ids, [], status)])
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
            notebook = gradebook.find_submission_notebook("backprop", "backprop", "eve")
            flagged[status] = (notebook.score, notebook.needs_manual_grade)
    assert flagged == {"graded": (0, False), "grader error": (0, True)}


def test_other_graded_cells_with_hand_ins_recorded_are_refused(course, grade_ids):
    config = load_config(course)
    record(config, "backprop", NOTEBOOK, [result("ada", grade_ids, [])])
    renamed = {f"{name}-v2": points for name, points in grade_ids.items()}
    with pytest.raises(GradebookMismatch, match="nbgrader db assignment remove backprop"):
        record(config, "backprop", NOTEBOOK, [result("ada", renamed, [])])


def test_the_late_penalty_is_the_configured_plugins_in_grades_and_gradebook(course, grade_ids):
    (course / "per_hour.py").write_text(PER_HOUR)
    with open(course / "nbgrader_config.py", "a") as file:
        file.write('\nc.AssignLatePenalties.plugin_class = "per_hour.PerHour"\n')
    config = load_config(course)
    due = datetime(2026, 1, 31, 17, 0)
    folders = {}
    for student, handed_in in (("ada", "2026-01-31 16:59:00"), ("bob", "2026-01-31 19:30:00")):
        folders[student] = course / "submitted" / student / "backprop"
        folders[student].mkdir(parents=True)
        (folders[student] / "timestamp.txt").write_text(f"{handed_in} UTC\n")
    everything = list(grade_ids)
    results, problems = with_lateness(
        [result(s, grade_ids, everything) for s in folders],
        folders,
        Deadline(due, {}),
        lambda: penalty_plugin(config, course),
    )
    assert problems == []
    late = {r.student_id: (r.seconds_late, r.late_penalty, r.final_score) for r in results}
    full = sum(grade_ids.values())
    assert late == {"ada": (0.0, 0.0, full), "bob": (9000.0, 2.5, full - 2.5)}

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        gradebook.update_or_create_assignment("backprop", duedate=due)
    record(config, "backprop", NOTEBOOK, results)
    assert scores(course, "bob") == (full, 2.5)
    assert scores(course, "ada") == (full, 0.0)


def test_nbgraders_default_plugin_charges_nothing_and_zero_takes_all(course, grade_ids):
    folder = course / "bob"
    folder.mkdir()
    (folder / "timestamp.txt").write_text("2026-02-01 10:00:00 UTC")
    late = [result("bob", grade_ids, list(grade_ids))]
    deadline = Deadline(datetime(2026, 2, 1, 9), {})
    plugin = lambda: penalty_plugin(load_config(course), course)
    [default], _ = with_lateness(late, {"bob": folder}, deadline, plugin)
    assert default.seconds_late == 3600 and default.late_penalty == 0
    with open(course / "nbgrader_config.py", "a") as file:
        file.write('\nc.LateSubmissionPlugin.penalty_method = "zero"\n')
    [zero], _ = with_lateness(late, {"bob": folder}, deadline, plugin)
    assert zero.late_penalty == zero.score > 0 and zero.final_score == 0
    extended = Deadline(datetime(2026, 2, 1, 9), {"bob": timedelta(hours=2)})
    [on_time], _ = with_lateness(late, {"bob": folder}, extended, plugin)
    assert on_time.seconds_late == 0 and on_time.late_penalty == 0


@pytest.mark.parametrize(
    "text",
    [
        "yesterday-ish",
        "2026-01-01 10:00:00 " + "A" * 300,  # a time zone name too long for a file name
        "2026-01-01 10:00:00 /proc/self/mem",  # a time zone "file" that cannot be read
        "2026-01-01 10:00:00 " + " " * 200 + "UTC",  # a time past the length of any
        "link",
    ],
    ids=["not a time", "long zone", "unreadable zone", "long", "link"],
)
def test_an_unreadable_timestamp_is_that_students_note(course, grade_ids, text):
    """nbgrader's parser raises more than ValueError on what a student may write there."""
    folders = {"ada": course / "ada", "bob": course / "bob"}
    for folder in folders.values():
        folder.mkdir()
    if text == "link":  # to a time elsewhere: read as data, a link is no time
        (course / "elsewhere.txt").write_text("2026-02-01 10:00:00 UTC")
        (folders["ada"] / "timestamp.txt").symlink_to(course / "elsewhere.txt")
    else:
        (folders["ada"] / "timestamp.txt").write_text(text)
    (folders["bob"] / "timestamp.txt").write_text("2026-02-01 10:00:00 UTC")
    results = [result(s, grade_ids, []) for s in folders]
    dated, problems = with_lateness(results, folders, Deadline(), None)
    assert [(s, str(folders["ada"] / "timestamp.txt") in why) for s, why in problems] == [
        ("ada", True)
    ]
    assert [r.timestamp for r in dated] == ["", "2026-02-01 10:00:00 UTC"]


def test_feedback_is_placed_only_for_hand_ins_from_the_exchange(course, grade_ids):
    folders = {"ada": course / "submitted" / "ada", "lms": course / "submitted" / "lms"}
    for folder in folders.values():
        folder.mkdir(parents=True)
        (folder / "backprop.ipynb").write_text("{}")
    (folders["ada"] / "timestamp.txt").write_text("2026-02-01 10:00:00 UTC")
    (folders["ada"] / "submission_secret.txt").write_text("s3cret")
    results = [replace(result(s, grade_ids, []), timestamp="") for s in folders]
    (folders["ada"] / "mine.ipynb").write_text("{}")  # the student's own: no page of its own
    written, placed = write_exchange_feedback(
        load_config(course), "backprop", results, folders, "backprop.ipynb"
    )
    assert written == results and placed == ["ada"]
    page = course / "feedback" / "ada" / "backprop"
    assert sorted(p.name for p in page.iterdir()) == [
        "backprop.html",
        "submission_secret.txt",
        "timestamp.txt",
    ]
    assert "feedback for ada" in (page / "backprop.html").read_text()
    assert (page / "submission_secret.txt").read_text() == "s3cret"
    assert not (course / "feedback" / "lms").exists()
    (folders["ada"] / "backprop.ipynb").rename(folders["ada"] / "backprop (1).ipynb")
    (folders["ada"] / "mine.ipynb").unlink()
    written, placed = write_exchange_feedback(
        load_config(course), "backprop", results, folders, "backprop.ipynb"
    )
    assert written == results and placed == ["ada"]
    assert "feedback for ada" in (page / "backprop (1).html").read_text()
    (folders["ada"] / "mine.ipynb").write_text("{}")  # two notebooks, neither the assignment's
    (page / "backprop (1).html").unlink()
    written, placed = write_exchange_feedback(
        load_config(course), "backprop", results, folders, "backprop.ipynb"
    )
    assert written == results and placed == [] and not (page / "backprop (1).html").exists()


def test_an_exchange_file_that_links_elsewhere_is_not_copied(course, grade_ids):
    """What a link in a hand-in points to never lands in the feedback folder."""
    folder = course / "submitted" / "eve"
    folder.mkdir(parents=True)
    (folder / "backprop.ipynb").write_text("{}")
    (folder / "timestamp.txt").write_text("2026-02-01 10:00:00 UTC")
    (course / "private.txt").write_text("the instructor's")
    (folder / "submission_secret.txt").symlink_to(course / "private.txt")
    results = [result("eve", grade_ids, [])]
    written, placed = write_exchange_feedback(
        load_config(course), "backprop", results, {"eve": folder}, "backprop.ipynb"
    )
    assert placed == [] and "could not be written" in written[0].message
    copied = course / "feedback" / "eve" / "backprop" / "submission_secret.txt"
    assert not copied.exists()


def test_a_notebook_formgrader_cannot_show_is_that_students_note(course):
    """Whatever a hand-in's .ipynb is, copying it for formgrader costs only that student's copy:
    never the class run, never a wait, and never what a link points to."""
    from grader.outputs.nbgrader_gradebook import show_in_formgrader

    folders = {
        student: course / "submitted" / student / "backprop"
        for student in (
            *("ada", "list", "nested", "cells", "many", "wide", "outputs", "old", "fifo", "link"),
            "none",
        )
    }
    for folder in folders.values():
        folder.mkdir(parents=True)
    notebook = "backprop.ipynb"
    shutil.copy(COURSE_ROOT / "release" / "backprop" / notebook, folders["ada"])
    (folders["list"] / notebook).write_text("[]")
    (folders["nested"] / notebook).write_text("[" * 100000 + "]" * 100000)
    (folders["cells"] / notebook).write_text('{"nbformat": 4, "nbformat_minor": 5, "cells": 5}')
    cell = {"cell_type": "raw", "metadata": {}, "source": ""}
    many = {"nbformat": 4, "nbformat_minor": 4, "metadata": {}, "cells": [cell] * 100_000}
    (folders["many"] / notebook).write_text(json.dumps(many))  # 10 s of nbformat's checks
    wide = {**many, "cells": [], "metadata": {"kept": [{}] * 200_000}}  # few cells, many values
    (folders["wide"] / notebook).write_text(json.dumps(wide))
    code = {"cell_type": "code", "metadata": {}, "source": "", "execution_count": 1}
    flood = [{"output_type": "stream", "name": "stdout", "text": ""}] * 400_000
    outputs = {**many, "cells": [{**code, "outputs": flood}]}  # one cell, many outputs
    (folders["outputs"] / notebook).write_text(json.dumps(outputs))
    old = {"nbformat": 3, "nbformat_minor": 0, "worksheets": [{"cells": [cell] * 100_000}]}
    (folders["old"] / notebook).write_text(json.dumps(old))
    shutil.copy(folders["ada"] / notebook, folders["ada"] / "mine.ipynb")  # the student's own
    shutil.copy(folders["ada"] / notebook, folders["none"] / "renamed.ipynb")
    os.mkfifo(folders["fifo"] / notebook)
    (folders["link"] / notebook).symlink_to(COURSE_ROOT / "source" / "backprop" / notebook)
    problems = show_in_formgrader(load_config(course), "backprop", folders, list(folders), notebook)
    assert sorted(student for student, _ in problems) == sorted(set(folders) - {"ada", "none"})
    assert "100000 cells, more than the 2000 formgrader is given" in dict(problems)["many"]
    assert "more than 100000 values besides its outputs" in dict(problems)["wide"]
    assert "more than 1000000 values in its JSON" in dict(problems)["outputs"]
    assert "not a notebook of nbformat version 4" in dict(problems)["old"]
    shown = {path.parts[-3:] for path in course.glob("nbgrader-autograded/*/backprop/*")}
    assert shown == {("ada", "backprop", notebook)}
