"""What every LMS export shares: reading grades.csv and the LMS's CSV, matching students to rows,
and finding the grades an import would overwrite."""

import csv
import io
from dataclasses import dataclass

from base.errors import CourseError

NOT_EXPORTED = ("grader error", "bad student id")  # no score to send: they were not graded


@dataclass(frozen=True)
class Grade:
    student_id: str
    score: float  # the final score: the raw score less any late penalty
    max_score: float


def read_csv(path):
    """The rows of a CSV as lists; saved by a spreadsheet it may start with a byte-order mark and
    use ';' between cells."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as file:
            text = file.read()
    except (OSError, UnicodeDecodeError) as error:
        raise CourseError(f"{path} cannot be read ({error}); download it again") from None
    header = text.split("\n", 1)[0]
    delimiter = ";" if header.count(";") > header.count(",") else ","
    return [row for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) if row]


def read_grades(path, assignment):
    """The grades to send, from a grades.csv of `assignment`, and the students left out (not
    graded) with their status."""
    rows = read_csv(path)
    if not rows or "student_id" not in rows[0]:
        raise CourseError(f"{path} is not a grades.csv written by course grade (no student_id)")
    table = [dict(zip(rows[0], row)) for row in rows[1:]]
    others = {row.get("assignment") for row in table} - {assignment}
    if others:
        raise CourseError(
            f"{path} holds grades of {', '.join(sorted(map(str, others)))}, not {assignment}; "
            "pass that assignment's grades.csv with --grades"
        )
    grades, left_out = [], []
    for row in table:
        if row.get("status") in NOT_EXPORTED:
            left_out.append((row["student_id"], row["status"]))
            continue
        score = row.get("final_score") or row["score"]  # older grades.csv files have no penalty
        grades.append(Grade(row["student_id"], float(score), float(row["max_score"])))
    return grades, left_out


def number(value):
    return f"{value:g}"


def match(grades, lms):
    """({row position: Grade}, grades no row matches, grades several rows match): `lms.keys(row)`
    gives the ids a row answers to, `lms.ids(student_id)` the forms of ours, compared without
    case."""
    index = {}
    for position, row in lms.students():
        for key in {key.casefold() for key in lms.keys(row) if key}:
            index.setdefault(key, set()).add(position)
    matched, unmatched, ambiguous = {}, [], []
    for grade in grades:
        found = sorted(
            {n for form in lms.ids(grade.student_id) for n in index.get(form.casefold(), ())}
        )
        if len(found) == 1 and found[0] not in matched:
            matched[found[0]] = grade
        elif found:
            ambiguous.append(grade)
        else:
            unmatched.append(grade)
    return matched, unmatched, ambiguous


def overwritten(matched, current):
    """(student, grade there, grade to write) for every row whose cell already holds another
    grade; `current(position)` is that cell, '' or '-' when empty."""
    clashes = []
    for position, grade in sorted(matched.items()):
        there = current(position).strip()
        if there not in ("", "-") and not same_number(there, grade.score):
            clashes.append((grade.student_id, there, number(grade.score)))
    return clashes


def same_number(text, value):
    try:
        return float(text.replace(",", ".")) == value
    except ValueError:
        return False


def csv_text(rows):
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()
