"""`course demo`: the whole job on a synthetic class, without touching real hand-ins."""
import csv
import shutil

import pytest

from course import COURSE_ROOT
from course.cli import main as course
from course.demo import MARKER, prepare_submitted


def test_demo_refuses_hand_ins_it_did_not_make(tmp_path):
    real = tmp_path / "submitted" / "some student" / "backprop"
    real.mkdir(parents=True)
    (real / "toolbox.py").write_text("# a real hand-in\n")
    with pytest.raises(FileExistsError, match="did not make"):
        prepare_submitted(tmp_path / "submitted")
    assert (real / "toolbox.py").read_text() == "# a real hand-in\n"


def test_demo_replaces_its_own_class(tmp_path):
    submitted = tmp_path / "submitted"
    prepare_submitted(submitted)
    (submitted / "old demo student").mkdir()
    prepare_submitted(submitted)
    assert sorted(p.name for p in submitted.iterdir()) == [MARKER]


def test_demo_releases_and_grades_a_class(tmp_path, capsys):
    for part in ("source", "release"):
        shutil.copytree(COURSE_ROOT / part, tmp_path / part)
    shutil.copy(COURSE_ROOT / "nbgrader_config.py", tmp_path)

    assert course(["demo", "--root", str(tmp_path)]) == 0

    with open(tmp_path / "autograded" / "grades.csv", newline="", encoding="utf-8") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert float(rows["ada lovelace"]["score"]) == float(rows["ada lovelace"]["max_score"]) == 15
    assert float(rows["Émile Borel"]["score"]) == 0
    mistaken = [row for student, row in rows.items() if student not in ("ada lovelace", "Émile Borel")]
    assert mistaken and all(0 < float(row["score"]) < 15 for row in mistaken)
    assert (tmp_path / "autograded" / "report.html").is_file()
    assert "Gradebook" in capsys.readouterr().out
