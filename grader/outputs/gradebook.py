"""Write the gradebook: OUT/grades.csv and OUT/<student_id>/<assignment>/results.json.

grades.csv has a row for every hand-in, graded or not, and names the assignment (modelled on
nbgrader's export): `course grade` refuses to replace the grades of another assignment.
results.json is in Gradescope's format; `extra_data` records the status, the sandbox used and the
seed of the random cases (`--seed` repeats them). Student ids come from folder names, which a
student may choose: an id a spreadsheet would read as a formula is written (in grades.csv and as
the folder name alike) with a leading apostrophe, as is one that starts with an apostrophe (so no
two ids look alike). Every file is written atomically (a temporary file, then os.replace), so a
reader never sees half a file. A grades.csv edited since grading wrote it (a TA's corrections) is
kept beside the new one, never replaced.
"""

import csv
import hashlib
import io
import json
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from base.text import first_free, roster_order
from grader.judge import HIDDEN_LINE


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


UMASK = _umask()  # read once, at import, before any worker thread could race with it


def write_atomically(path, text):
    """Replace `path` by `text` in one step, with the permissions a plain new file would get
    (mkstemp's are private, so TAs sharing the course folder could not read the grades)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as file:
            file.write(text)
            os.fchmod(file.fileno(), 0o666 & ~UMASK)
            file.flush()
            # on disk before the rename: a crash leaves the old file or the new, never an empty one
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text):
    """`text`, with a leading apostrophe if Excel or LibreOffice would run it as a formula (CSV
    injection), or if it starts with one: so two ids never look alike ('=x' is "'=x", "'=x" is
    "''=x")."""
    return "'" + text if text.startswith(FORMULA_STARTS + ("'",)) else text


def shown_id(student_id):
    """A student id as text any output can hold: bytes that are not UTF-8 shown as \\x escapes."""
    return student_id.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def listed_id(student_id):
    """A student id as grades.csv lists it, so every output names a student the same way."""
    return spreadsheet_safe(shown_id(student_id))


def number(value):
    return f"{value:g}"


def summary(result):
    """One line on a hand-in: why it was not graded, or its points and passing checks."""
    return (
        result.message
        or f"{number(result.score)} of {number(result.max_score)} points; "
        f"{sum(check.passed for check in result.checks)} of {len(result.checks)} checks pass."
    )


def grades_csv(assignment, results):
    """The class's grades.csv text: one row per hand-in, one column per check."""
    grade_ids = [check.grade_id for check in results[0].checks] if results else []
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "assignment",
            "student_id",
            "score",
            "max_score",
            *grade_ids,
            *LATE_COLUMNS,
            "status",
            "message",
        ]
    )
    for result in results:
        writer.writerow(
            [
                assignment,
                listed_id(result.student_id),
                number(result.score),
                number(result.max_score),
                *(number(check.score) for check in result.checks),
                result.timestamp,
                f"{result.seconds_late / 3600:.3f}",
                number(result.late_penalty),
                number(result.final_score),
                result.status,
                spreadsheet_safe(result.message),
            ]
        )
    return out.getvalue()


# after the checks: `score` stays the raw score, as nbgrader's raw_score; final_score is what counts
LATE_COLUMNS = ("timestamp", "hours_late", "late_penalty", "final_score")


def gradescope_json(result, hidden_detail="visible"):
    """One hand-in's results in Gradescope's results.json format: a test per check. With
    `hidden_detail` other than "visible" ("after_published", "hidden"), what a check says of its
    hidden cases is a test of its own (worth nothing: the check's test holds the points) shown
    that way."""
    tests = []
    for check in result.checks:
        lines = check.output.split("\n")
        # what the judge says of hidden cases comes last, from its line on them
        start = next((i for i, line in enumerate(lines) if HIDDEN_LINE.match(line)), len(lines))
        hidden = lines[start:]
        shown = lines if hidden_detail == "visible" else lines[:start]
        if hidden and hidden_detail != "visible":
            when = " once grades are published" if hidden_detail == "after_published" else ""
            shown.append(f"hidden cases fail: what they try is in '{check.grade_id}: hidden'{when}")
        tests.append(_test(check.grade_id, check.score, check.points, check.passed, shown))
        if hidden and hidden_detail != "visible":
            tests.append(
                _test(f"{check.grade_id}: hidden", 0, 0, check.passed, hidden, hidden_detail)
            )
    return {
        "score": result.score,
        "max_score": result.max_score,
        "output": summary(result),
        "tests": tests,
        "extra_data": {
            "student_id": spreadsheet_safe(result.student_id),
            "status": result.status,
            "sandbox": result.sandbox,
            "limits": result.limits,
            "cases_seed": result.seed,
            "timestamp": result.timestamp,
            "seconds_late": result.seconds_late,
            "late_penalty": result.late_penalty,
            "final_score": result.final_score,
        },
    }


def _test(name, score, max_score, passed, lines, visibility="visible"):
    return {
        "name": name,
        "score": score,
        "max_score": max_score,
        "status": "passed" if passed else "failed",
        "output": "\n".join(lines),
        "visibility": visibility,
    }


def read_rows(path):
    """The rows of a grades.csv, as dicts. A spreadsheet may have saved it with a byte-order mark
    and, in locales with a decimal comma, with ';' between the cells."""
    with open(path, newline="", encoding="utf-8-sig") as file:
        text = file.read()
    header = text.split("\n", 1)[0]
    delimiter = ";" if header.count(";") > header.count(",") else ","
    return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter))


WRITTEN_DIGEST = ".grades.csv.sha256"  # what the last run wrote, to tell a hand-edited one from it
# files in OUT/ that no student folder may replace
SIMILARITY_PAGE = "similarity.html"  # written by `course similarity`, linked from report.html
RESERVED_NAMES = ("grades.csv", "report.html", SIMILARITY_PAGE, WRITTEN_DIGEST)
NAME_MAX = 255  # bytes in one file name, on Linux's file systems


def id_problem(student_id):
    """Why a student's outputs cannot be written under their id, or None."""
    name = spreadsheet_safe(student_id)
    if "\\" in student_id or any("\ud800" <= c <= "\udfff" for c in student_id):  # not UTF-8
        return (
            "its name holds a backslash or bytes that are not UTF-8, which grades.csv and the "
            "reports cannot hold"
        )
    if student_id in RESERVED_NAMES:
        return "it has the name of a file grading writes beside the results"
    if len(os.fsencode(name)) > NAME_MAX:
        return (
            f"its results folder would be named {name[:20]!r}..., {len(os.fsencode(name))} "
            f"bytes, over the {NAME_MAX} a file name may have"
        )
    return None


def write_gradebook(out_dir, assignment, results):
    """Write every results.json, then grades.csv; returns (the results, with a row of their own for
    a student whose results.json could not be written; grades.csv's path; where a grades.csv
    edited since grading wrote it, a TA's corrections, was kept, or None)."""
    out_dir = Path(out_dir)
    results = write_student_files(out_dir, assignment, results, "results.json", results_json)
    return (results, *write_grades_csv(out_dir, assignment, results))


def results_json(result):
    return json.dumps(gradescope_json(result), indent=1, ensure_ascii=False)


def write_student_files(out_dir, assignment, results, name, render, at_once=8):
    """`write_student_file` for each of `results`, `at_once` at a time: each waits for the disk
    (fsync) longer than it computes. Returns the results in their order."""
    with ThreadPoolExecutor(max_workers=at_once) as pool:
        return list(
            pool.map(lambda r: write_student_file(out_dir, assignment, r, name, render), results)
        )


def write_student_file(out_dir, assignment, result, name, render):
    """Write OUT/<student_id>/<assignment>/<name> from render(result); returns `result`, or, when
    the file could not be written, `result` saying so: one student's problem, never the class's."""
    if result.status == NOT_WRITABLE:
        return result
    try:
        folder = out_dir / spreadsheet_safe(result.student_id) / assignment
        write_atomically(folder / name, render(result))
    except (OSError, UnicodeError) as error:
        return not_written(result, f"{name} could not be written ({error})")
    return result


NOT_WRITABLE = "bad student id"


def not_written(result, why):
    """`result` with the status saying its outputs are missing, and why; its scores stand in
    grades.csv."""
    return replace(
        result,
        status="results not written",
        message=f"{why}; the scores here stand. Fix the cause and grade again to give the student "
        "feedback.",
    )


def write_grades_csv(out_dir, assignment, results):
    """Write grades.csv (and the digest that tells it from a hand-edited one); returns (its path,
    where an edited one was kept, or None)."""
    kept = keep_edited_gradebook(out_dir)
    text = grades_csv(assignment, results)
    write_atomically(out_dir / "grades.csv", text)
    write_atomically(
        out_dir / WRITTEN_DIGEST, hashlib.sha256(text.encode("utf-8")).hexdigest() + "\n"
    )
    return out_dir / "grades.csv", kept


def gradebook_differences(kept, grades):
    """(student, column, kept value, new value or None if the student is gone) for every cell where
    two grades.csv files differ, so a TA's corrections kept aside are easy to find; None if they
    cannot be compared."""
    tables = []
    for path in (kept, grades):
        try:
            rows = read_rows(path)
        except (OSError, UnicodeDecodeError, csv.Error):
            return None
        if rows and "student_id" not in rows[0]:
            return None
        tables.append({row["student_id"]: row for row in rows})
    old, new = tables
    differences = []
    for student, row in old.items():
        if student not in new:
            differences.append((student, "student_id", student, None))
            continue
        differences += [
            (student, column, value, new[student].get(column))
            for column, value in row.items()
            if column is not None and new[student].get(column) != value
        ]
    return differences


def stale_results(out_dir, assignment, results):
    """Students with results in `out_dir` from an earlier run but no hand-in in this one."""
    graded = {spreadsheet_safe(result.student_id) for result in results}
    return sorted(
        (
            name
            for name in (
                path.parent.parent.name
                for path in Path(out_dir).glob(f"*/{assignment}/results.json")
            )
            if name not in graded
        ),
        key=roster_order,
    )


def keep_edited_gradebook(out_dir):
    """Move OUT/grades.csv aside (and return its new path) unless it is exactly what grading last
    wrote."""
    path, digest = out_dir / "grades.csv", out_dir / WRITTEN_DIGEST
    if not path.is_file():
        return None
    written = digest.read_text().strip() if digest.is_file() else None
    if hashlib.sha256(path.read_bytes()).hexdigest() == written:
        return None
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(path.stat().st_mtime))
    kept = first_free(out_dir / f"grades.edited-{stamp}.csv")
    os.rename(path, kept)
    return kept


def gradebook_conflict(out_dir, assignment):
    """Why writing `assignment`'s grades.csv into `out_dir` would lose other grades, or None when
    it would not."""
    path = Path(out_dir) / "grades.csv"
    try:
        rows = read_rows(path)
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        return (
            f"{path} exists but cannot be read ({error}), so it may hold grades; move it away "
            "or pass another --out folder"
        )
    others = sorted(
        {row.get("assignment") or "an unnamed assignment" for row in rows} - {assignment}
    )
    if others:
        return (
            f"{path} holds grades of {', '.join(others)}, which grading {assignment!r} would "
            f"replace; move it away or pass another folder, e.g. --out {Path(out_dir) / assignment}"
        )
    return None
