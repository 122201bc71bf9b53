"""A term on nbgrader's exchange, for real, in temporary folders: the instructor releases, two
students fetch, edit and submit (one after the due date), the instructor collects and runs `course
grade`, which records the class in gradebook.db and places the feedback; release_feedback hands it
out and each student fetches their own. The gradebook, `nbgrader export` and grades.csv must agree,
the late student must lose what the course's late-submission plugin says, and the Canvas import
file made from the grades must read back with the right cells."""

import csv
import shutil
import time
from datetime import datetime, timezone

from handins import MAX_SCORE, POINTS, only_done, solution, write_handin
from nbgrader.apps.api import NbGraderAPI
from nbgrader_commands import nbgrader

from base.nbgrader_settings import course_directory, load_config
from base.paths import COURSE_ROOT
from course.cli import main as course

ASSIGNMENT = "backprop"
# nbgrader's documented way to configure a penalty: a plugin class in the course folder
LATE_PLUGIN = '''
import math

from nbgrader.plugins import BasePlugin


class SubtractPerHour(BasePlugin):
    """One point for every hour, or part of one, after the due date."""

    def late_submission_penalty(self, student_id, score, total_seconds_late):
        return math.ceil(total_seconds_late / 3600)
'''
CANVAS_EXPORT = (
    "Student,ID,SIS User ID,SIS Login ID,Section,Backprop (4321),Quiz 1 (99)\n"
    "    Points Possible,,,,,15.00,10.00\n"
    '"Lovelace, Ada",101,s101,ada,A,,7\n'
    '"Babbage, Charles",102,s102,bob,A,,9\n'
    '"Somerville, Mary",103,s103,mary,A,,8\n'
)


def make_course(tmp_path):
    """An nbgrader course folder beside an exchange: the course's config, source and release."""
    root, exchange = tmp_path / "course", tmp_path / "exchange"
    exchange.mkdir()
    shutil.copytree(COURSE_ROOT / "source" / ASSIGNMENT, root / "source" / ASSIGNMENT)
    shutil.copytree(COURSE_ROOT / "release" / ASSIGNMENT, root / "release" / ASSIGNMENT)
    config = (COURSE_ROOT / "nbgrader_config.py").read_text()
    config += (
        f"\nc.Exchange.root = {str(exchange)!r}\n"
        'c.AssignLatePenalties.plugin_class = "late.SubtractPerHour"\n'
    )
    (root / "nbgrader_config.py").write_text(config)
    (root / "late.py").write_text(LATE_PLUGIN)
    return root, exchange


def as_student(home, exchange, student):
    """The options that make an nbgrader command run as `student`, with their own cache."""
    home.mkdir(exist_ok=True)
    return [
        f"--Exchange.root={exchange}",
        f"--Exchange.cache={home / '.cache'}",
        f"--CourseDirectory.course_id={ASSIGNMENT}",
        f"--CourseDirectory.student_id={student}",
    ]


def test_a_term_on_nbgraders_exchange(tmp_path):
    root, exchange = make_course(tmp_path)
    nbgrader(root, "release_assignment", ASSIGNMENT)
    handins = {"ada": solution(), "bob": only_done({"Mul", "Div", "Pow"})}
    homes = {student: tmp_path / student for student in handins}
    for student, files in handins.items():
        options = as_student(homes[student], exchange, student)
        nbgrader(homes[student], "fetch_assignment", ASSIGNMENT, *options)
        write_handin(homes[student] / ASSIGNMENT, files)
        nbgrader(homes[student], "submit", ASSIGNMENT, *options)
        if student == "ada":  # due between the two hand-ins: bob's is late
            time.sleep(1.1)
            due = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
            nbgrader(root, "db", "assignment", "add", ASSIGNMENT, f"--duedate={due}")
            time.sleep(0.1)
    nbgrader(root, "collect", ASSIGNMENT)

    out = root / "autograded"
    grade = ["grade", ASSIGNMENT, f"--root={root}", f"--submitted={root / 'submitted'}"]
    assert course([*grade, f"--out={out}", "--jobs=2", "--case-seconds=5"]) == 0

    with open(out / "grades.csv", newline="", encoding="utf-8") as file:
        rows = {row["student_id"]: row for row in csv.DictReader(file)}
    raw = {"ada": MAX_SCORE, "bob": sum(POINTS[c] for c in ("multiplication", "division", "power"))}
    assert {student: float(row["score"]) for student, row in rows.items()} == raw
    assert float(rows["ada"]["late_penalty"]) == 0 and float(rows["ada"]["hours_late"]) == 0
    assert float(rows["bob"]["late_penalty"]) == 1  # under an hour late: one point
    assert 0 < float(rows["bob"]["hours_late"]) < 0.01
    final = {"ada": raw["ada"], "bob": raw["bob"] - 1}
    assert {student: float(row["final_score"]) for student, row in rows.items()} == final
    late_table = (out / "report.html").read_text(encoding="utf-8").split("Handed in late")[1]
    assert "bob" in late_table.split("</table>")[0] and "ada" not in late_table.split("</table>")[0]

    # nbgrader's own export reads the gradebook course grade wrote
    nbgrader(root, "export", f"--to={tmp_path / 'export.csv'}")
    with open(tmp_path / "export.csv", newline="", encoding="utf-8") as file:
        exported = {row["student_id"]: row for row in csv.DictReader(file)}
    assert {s: float(row["raw_score"]) for s, row in exported.items()} == raw
    assert {s: float(row["score"]) for s, row in exported.items()} == final
    assert {s: float(row["late_submission_penalty"]) for s, row in exported.items()} == {
        "ada": 0,
        "bob": 1,
    }
    assert {s: float(row["max_score"]) for s, row in exported.items()} == dict.fromkeys(
        handins, MAX_SCORE
    )

    # formgrader's own view of the course: both listed as autograded, each notebook openable
    config = load_config(root)
    formgrader = NbGraderAPI(coursedir=course_directory(config), config=config)
    listed = {s["student"]: s for s in formgrader.get_submissions(ASSIGNMENT)}
    assert {s: (row["autograded"], row["score"]) for s, row in listed.items()} == {
        s: (True, raw[s]) for s in handins
    }
    notebooks = formgrader.get_notebook_submissions(ASSIGNMENT, ASSIGNMENT)
    assert sorted(n["student"] for n in notebooks) == sorted(handins)

    # each student fetches their own page
    nbgrader(root, "release_feedback", ASSIGNMENT)
    for student in handins:
        options = as_student(homes[student], exchange, student)
        nbgrader(homes[student], "fetch_feedback", ASSIGNMENT, *options)
        [page] = (homes[student] / ASSIGNMENT / "feedback").glob("*/backprop.html")
        text = page.read_text(encoding="utf-8")
        assert f"feedback for {student}" in text
        assert f"{final[student]:g} / {MAX_SCORE:g}" in text
    assert "late penalty is 1" in text  # bob's, last

    # the Canvas import file, read back as Canvas would
    (tmp_path / "canvas.csv").write_text(CANVAS_EXPORT, encoding="utf-8")
    canvas = ["export", "canvas", ASSIGNMENT, f"--grades={out / 'grades.csv'}"]
    assert course([*canvas, f"--gradebook={tmp_path / 'canvas.csv'}"]) == 0
    with open(tmp_path / "canvas-import.csv", newline="", encoding="utf-8") as file:
        table = list(csv.reader(file))
    assert table[0] == CANVAS_EXPORT.splitlines()[0].split(",")
    assert table[1][0].strip() == "Points Possible" and table[1][5] == "15.00"
    by_login = {row[3]: row for row in table[2:]}
    assert by_login["ada"][5] == "15" and by_login["bob"][5] == f"{final['bob']:g}"
    assert by_login["mary"][5] == "" and [row[6] for row in table[2:]] == ["7", "9", "8"]
