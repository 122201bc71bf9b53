"""`course demo`: the whole job on a synthetic class, without touching real hand-ins."""

import csv
import shutil

import pytest
from handins import stubs, write_handin

from base.paths import COURSE_ROOT
from course.cli import main as course
from course.demo import prepare_submitted
from course.demo_marker import MARKER, write_marker
from course.sample_class import make_sample_class


def test_demo_refuses_hand_ins_it_did_not_make(tmp_path):
    real = tmp_path / "submitted" / "some student" / "backprop"
    real.mkdir(parents=True)
    (real / "toolbox.py").write_text("# a real hand-in\n")
    (tmp_path / "submitted" / ".replaced" / "some student").mkdir(
        parents=True
    )  # what collect --force keeps: no student
    with pytest.raises(
        FileExistsError, match=r"1 student\(s\) not made by the demo .* \(some student\)"
    ):
        prepare_submitted(tmp_path / "submitted", tmp_path / "autograded")
    assert (real / "toolbox.py").read_text() == "# a real hand-in\n"


def test_demo_replaces_only_its_own_class(tmp_path):
    submitted, autograded = tmp_path / "submitted", tmp_path / "autograded"
    prepare_submitted(submitted, autograded)
    (submitted / "demo student" / "backprop").mkdir(parents=True)
    write_marker(submitted, {"demo student": "solution"})
    prepare_submitted(submitted, autograded)
    assert sorted(p.name for p in submitted.iterdir()) == [MARKER]

    # A hand-in collected beside the demo's class stops the next demo; nothing is removed.
    (submitted / "demo student").mkdir()
    write_marker(submitted, {"demo student": "solution"})
    (submitted / "real student").mkdir()
    with pytest.raises(FileExistsError, match=r"\(real student\)"):
        prepare_submitted(submitted, autograded)
    assert sorted(p.name for p in submitted.iterdir()) == [MARKER, "demo student", "real student"]


def test_a_marker_without_a_roster_claims_nothing(tmp_path):
    submitted = tmp_path / "submitted"
    (submitted / "who knows" / "backprop").mkdir(parents=True)
    (submitted / MARKER).write_text(
        "Made by `course demo`; it replaces this folder on its next run.\n"
    )  # an older demo's
    with pytest.raises(FileExistsError, match=r"\(who knows\)"):
        prepare_submitted(submitted, tmp_path / "autograded")
    assert (submitted / "who knows" / "backprop").is_dir()


def test_grading_forgets_demo_students_whose_folders_are_gone(tmp_path):
    submitted = tmp_path / "submitted"
    submitted.mkdir()
    write_marker(submitted, {"ada lovelace": "solution"})  # the demo's class, since deleted
    write_handin(submitted / "real student" / "backprop", stubs())
    assert (
        course(
            [
                "grade",
                "backprop",
                f"--submitted={submitted}",
                f"--out={tmp_path / 'out'}",
                "--jobs=1",
            ]
        )
        == 0
    )


def test_a_marker_line_cannot_remove_anything_outside_submitted(tmp_path):
    submitted, precious = tmp_path / "course" / "submitted", tmp_path / "course" / "precious"
    precious.mkdir(parents=True)
    submitted.mkdir()
    write_marker(submitted, {"..": "solution", "../precious": "solution"})
    prepare_submitted(submitted, tmp_path / "autograded")
    assert precious.is_dir()


def test_grading_refuses_a_real_class_mixed_with_the_demo_students(tmp_path, capsys):
    submitted = tmp_path / "submitted"
    write_marker(submitted, make_sample_class(submitted, count=2))
    (submitted / "real student" / "backprop").mkdir(parents=True)
    assert (
        course(["grade", "backprop", f"--submitted={submitted}", f"--out={tmp_path / 'out'}"]) == 1
    )
    assert "mixes the 2 synthetic students of `course demo`" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_demo_refuses_to_replace_real_grades(tmp_path):
    (tmp_path / "autograded").mkdir()
    (tmp_path / "autograded" / "grades.csv").write_text(
        "assignment,student_id,score\nbackprop,real student,15\n"
    )
    with pytest.raises(FileExistsError, match=r"autograded/grades.csv \(real student\)"):
        prepare_submitted(tmp_path / "submitted", tmp_path / "autograded")


def test_demo_refuses_before_it_releases_anything(tmp_path, capsys):
    (tmp_path / "submitted" / "real student" / "backprop").mkdir(parents=True)
    assert course(["demo", "--root", str(tmp_path)]) == 1
    printed = capsys.readouterr()
    assert "not made by the demo" in printed.err and "course release" not in printed.out
    assert not (tmp_path / "release").exists()


def test_demo_releases_and_grades_a_class(tmp_path, capsys):
    for part in ("source", "release"):
        shutil.copytree(COURSE_ROOT / part, tmp_path / part)
    shutil.copy(COURSE_ROOT / "nbgrader_config.py", tmp_path)

    assert course(["demo", "--root", str(tmp_path)]) == 0

    with open(tmp_path / "autograded" / "grades.csv", newline="", encoding="utf-8") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert float(rows["ada lovelace"]["score"]) == float(rows["ada lovelace"]["max_score"]) == 15
    assert float(rows["Émile Borel"]["score"]) == 0
    mistaken = [
        row for student, row in rows.items() if student not in ("ada lovelace", "Émile Borel")
    ]
    assert mistaken and all(0 < float(row["score"]) < 15 for row in mistaken)
    assert (tmp_path / "autograded" / "report.html").is_file()
    printed = capsys.readouterr()
    assert "Gradebook" in printed.out
    assert "\r" not in printed.err, "a progress bar in a log that is not a terminal"
    (tmp_path / "submitted" / "ada lovelace" / "backprop" / "left over.txt").write_text(
        "from the first run"
    )
    assert course(["demo", "--root", str(tmp_path)]) == 0, (
        "a second demo replaces the first one's class"
    )
    assert not (tmp_path / "submitted" / "ada lovelace" / "backprop" / "left over.txt").exists()
    assert not list(
        (tmp_path / "autograded").glob("grades.edited-*.csv")
    )  # its own gradebook is not 'edited'
