"""`course export canvas|moodle`: the LMS's own export in, a file its grade import takes out, with
every student who could not be matched listed, either way, and no grade overwritten unasked."""

import csv

import pytest

from course.cli import main as course

GRADES = (
    "assignment,student_id,score,max_score,timestamp,hours_late,late_penalty,final_score,status,"
    "message\n"
    "backprop,ada,15,15,,0.000,0,15,graded,\n"
    "backprop,lovelaceada2,9,15,,2.500,3,6,graded,\n"
    "backprop,Charles Babbage_123456,12,15,,0.000,0,12,graded,\n"
    "backprop,ghost,4,15,,0.000,0,4,graded,\n"
    "backprop,crashed,0,15,,0.000,0,0,grader error,the grader itself failed\n"
)
CANVAS = (
    "Student,ID,SIS User ID,SIS Login ID,Section,Backprop (4321),Quiz 1 (99),Current Score\n"
    "    Points Possible,,,,,15.00,10.00,(read only)\n"
    '"Lovelace, Ada",101,s101,ada,A,,7,70\n'
    '"Lovelace, Ada 2",102,s102,al2,A,,9,90\n'
    '"Babbage, Charles",103,s103,cb,A,,8,80\n'
)
MOODLE = (
    "First name,Last name,ID number,Institution,Department,Email address,"
    "Assignment: backprop (Real),Last downloaded from this course\n"
    "Ada,Lovelace,S-1,,,ada@example.org,-,1700000000\n"
    "Charles,Babbage,S-2,,,cb@example.org,-,1700000000\n"
    "Mary,Somerville,S-3,,,mary@example.org,-,1700000000\n"
)


def export(tmp_path, lms, lms_file, *options):
    (tmp_path / "grades.csv").write_text(GRADES, encoding="utf-8")
    (tmp_path / "lms.csv").write_text(lms_file, encoding="utf-8")
    return course(
        [
            "export",
            lms,
            "backprop",
            f"--grades={tmp_path / 'grades.csv'}",
            f"--gradebook={tmp_path / 'lms.csv'}",
            *options,
        ]
    )


def read(path):
    with open(path, newline="", encoding="utf-8") as file:
        return list(csv.reader(file))


def test_canvas_gets_its_own_table_back_with_the_column_filled(tmp_path, capsys):
    assert export(tmp_path, "canvas", CANVAS) == 1  # ghost matches no one
    printed = capsys.readouterr().out
    table = read(tmp_path / "lms-import.csv")
    original = list(csv.reader(CANVAS.splitlines()))
    assert table[:2] == original[:2]  # same header, same Points Possible row
    # by SIS login, by the download name of "Lovelace, Ada 2" (final score, after the penalty)
    assert [row[5] for row in table[2:]] == ["15", "6", ""]
    assert [row[:5] + row[6:] for row in table] == [row[:5] + row[6:] for row in original]
    assert "ghost: no row of the LMS's file matches" in printed
    assert "Charles Babbage_123456: no row" in printed  # a Moodle id means nothing to Canvas
    assert "crashed: not graded (grader error)" in printed
    assert "enrolled with no hand-in (1): Babbage, Charles (cb)" in printed


def test_canvas_gets_a_new_column_when_it_has_none_for_the_assignment(tmp_path):
    without = (
        "Student,ID,SIS User ID,SIS Login ID,Section,Quiz 1 (99)\n"
        "    Points Possible,,,,,10.00\n"
        '"Lovelace, Ada",101,s101,ada,A,7\n'
        '"Babbage, Charles",103,s103,cb,A,8\n'
    )
    export(tmp_path, "canvas", without)
    table = read(tmp_path / "lms-import.csv")
    assert table[0][-1] == "backprop" and table[1][-1] == "15"
    assert [row[-1] for row in table[2:]] == ["15", ""]


def test_a_column_holding_other_grades_is_kept_unless_forced(tmp_path, capsys):
    graded = CANVAS.replace("ada,A,,7", "ada,A,12,7")
    assert export(tmp_path, "canvas", graded) == 2
    assert "already holds other grades for 1 student(s) (ada: 12 there, 15 here)" in (
        capsys.readouterr().err
    )
    assert not (tmp_path / "lms-import.csv").exists()
    assert export(tmp_path, "canvas", graded, "--force") == 1
    assert read(tmp_path / "lms-import.csv")[2][5] == "15"
    # the same grade already there is no clash; an earlier import file is not replaced
    assert export(tmp_path, "canvas", CANVAS.replace("ada,A,,7", "ada,A,15.00,7")) == 1
    assert (tmp_path / "lms-import-1.csv").is_file()


@pytest.mark.parametrize(
    "key, column", [("idnumber", "ID number"), ("email", "Email address")], ids=["id", "email"]
)
def test_moodle_gets_an_import_file_keyed_as_asked(tmp_path, capsys, key, column):
    export(tmp_path, "moodle", MOODLE, f"--key={key}")
    printed = capsys.readouterr().out
    table = read(tmp_path / "lms-import.csv")
    assert table[0] == [column, "First name", "Last name", "Assignment: backprop (Real)"]
    rows = {row[1]: row for row in table[1:]}
    # ada by her email's user name; Charles by the name in his Moodle download id
    assert {name: (row[0], row[3]) for name, row in rows.items()} == {
        "Ada": ("S-1" if key == "idnumber" else "ada@example.org", "15"),
        "Charles": ("S-2" if key == "idnumber" else "cb@example.org", "12"),
    }
    assert "lovelaceada2: no row of the LMS's file matches" in printed
    assert "enrolled with no hand-in (1): Mary Somerville" in printed


def test_moodle_lists_a_student_two_rows_answer_to(tmp_path, capsys):
    moodle = MOODLE.replace("mary@example.org", "ada@example.net")
    assert export(tmp_path, "moodle", moodle) == 1
    printed = capsys.readouterr().out
    table = read(tmp_path / "lms-import.csv")
    assert [row[0] for row in table[1:]] == ["S-2"]
    assert "ada: several rows match this id" in printed


def test_a_grades_file_of_another_assignment_writes_nothing(tmp_path, capsys):
    (tmp_path / "grades.csv").write_text(GRADES.replace("backprop,", "other,"), encoding="utf-8")
    (tmp_path / "lms.csv").write_text(CANVAS, encoding="utf-8")
    arguments = ["export", "canvas", "backprop", f"--gradebook={tmp_path / 'lms.csv'}"]
    assert course([*arguments, f"--grades={tmp_path / 'grades.csv'}"]) == 2
    assert "holds grades of other, not backprop" in capsys.readouterr().err
    assert not (tmp_path / "lms-import.csv").exists()
