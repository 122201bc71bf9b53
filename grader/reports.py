"""Turn grading output into pages people read: feedback per student, one report for the instructor.

Input is what `course grade` writes: OUT/grades.csv and, per graded student,
OUT/<student_id>/<assignment>/results.json in Gradescope's format. Every
student-controlled string (ids, messages, what their code printed or returned)
is escaped, so a submission cannot put HTML or script into a page a TA opens.
Hidden checks show pass or fail only, never their output.
"""

import json
import statistics
from collections import Counter
from html import escape
from pathlib import Path
from urllib.parse import quote

from grader.outputs import NOT_WRITABLE, read_rows, unspoiled, write_atomically

# Checks whose output a student may see; Gradescope's other values ("hidden", "after_due_date",
# "after_published") depend on dates this report does not know, so they show pass/fail only.
SHOWN = "visible"

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #ccc; padding: .3rem .6rem; text-align: left; vertical-align: top; }
pre { white-space: pre-wrap; margin: 0; font-size: .9em; }
.passed { color: #176317; } .failed { color: #a31515; }
.track { display: block; width: 16rem; }
.bar { display: block; background: #b9d3ee; white-space: nowrap; }
"""


def write_reports(out_dir, assignment):
    """Write every student's feedback.html and the class's report.html into `out_dir`; returns the
    report's path and {student_id: why} for each student whose page could not be written."""
    out_dir = Path(out_dir)
    rows = read_grades(out_dir / "grades.csv")
    results, unwritten = {}, {}
    for row in rows:
        results[row["student_id"]] = None
        if row.get("status") == NOT_WRITABLE:
            continue
        try:
            folder = student_folder(out_dir, row["student_id"], assignment)
            results[row["student_id"]] = read_results(folder / "results.json")
            write_atomically(
                folder / "feedback.html", feedback_page(row, results[row["student_id"]], assignment)
            )
        except (
            OSError,
            ValueError,
        ) as error:  # that student's row says so; the others get their pages
            unwritten[unspoiled(row["student_id"])] = (
                f"feedback.html could not be written ({error})"
            )
    report = out_dir / "report.html"
    write_atomically(report, class_report_page(rows, results, assignment))
    return report, unwritten


def read_grades(path):
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} does not exist; run 'course grade' first, it writes grades.csv and the results"
        )
    return read_rows(path)


def read_results(path):
    """A student's results.json, or None when grading produced none (the CSV row says why)."""
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def student_folder(out_dir, student_id, assignment):
    """OUT/<student_id>/<assignment>, refusing an id that would lead outside OUT."""
    folder = out_dir / student_id / assignment
    if (
        student_id in {"", ".", ".."}
        or "/" in student_id
        or "\\" in student_id
        or "\0" in student_id
    ):
        raise ValueError(
            f"{out_dir / 'grades.csv'} names the student {student_id!r}, which is not a folder "
            f"name inside {out_dir}"
        )
    return folder


def page(title, body):
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta '
        f'charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{STYLE}</style></head>\n<body>\n<h1>{escape(title)}</h1>\n{body}\n</body></html>\n"
    )


class Html(str):
    """Markup built in this module, inserted as is; every other string gets escaped."""


def pre(text):
    return Html(f"<pre>{escape(text)}</pre>")


def table(headers, rows):
    """An HTML table; cells are escaped unless they are Html."""

    def cell(tag, value):
        return f"<{tag}>{value if isinstance(value, Html) else escape(str(value))}</{tag}>"

    lines = ["<table>", "<tr>" + "".join(cell("th", h) for h in headers) + "</tr>"]
    lines += ["<tr>" + "".join(cell("td", value) for value in row) + "</tr>" for row in rows]
    return "\n".join(lines + ["</table>"])


def points(score, max_score):
    return f"{float(score):g} / {float(max_score):g}"


def is_graded(row):
    return row.get("status") == "graded"


def feedback_page(row, results, assignment):
    """One student's page: score, any message, and every check with its points and status."""
    parts = [f"<p>Score: <strong>{points(row['score'], row['max_score'])}</strong></p>"]
    if not is_graded(row):
        parts.append(
            "<p>Your submission could not be graded "
            f"({escape(row.get('status', ''))}):</p>{pre(row.get('message', ''))}"
        )
    elif results and results.get("output"):
        parts.append(pre(results["output"]))
    tests = (results or {}).get("tests", [])
    if tests:
        parts.append(
            table(
                ["Check", "Points", "Status", "Details"],
                [
                    [
                        test["name"],
                        points(test["score"], test["max_score"]),
                        status_cell(test),
                        pre(test.get("output", ""))
                        if test.get("visibility", SHOWN) == SHOWN
                        else "hidden check: pass or fail only",
                    ]
                    for test in tests
                ],
            )
        )
    return page(f"{assignment}: feedback for {row['student_id']}", "\n".join(parts))


def status_cell(test):
    status = test["status"]
    return Html(
        f'<span class="{"passed" if status == "passed" else "failed"}">{escape(status)}</span>'
    )


def class_report_page(rows, results, assignment):
    """The instructor's page: summary, score histogram, pass rate per check, and who could not be
    graded."""
    scores = [float(row["score"]) for row in rows]
    max_score = max((float(row["max_score"]) for row in rows), default=0.0)
    graded = [row for row in rows if is_graded(row)]
    parts = [summary_table(scores, max_score, len(graded))]
    sandboxes = sorted(
        {
            result.get("extra_data", {}).get("sandbox", "not recorded")
            for result in results.values()
            if result
        }
    )
    parts.append(f"<p>Student code ran in: {escape(', '.join(sandboxes))}.</p>")
    if any(name != "bubblewrap" for name in sandboxes):
        parts.append(
            "<p><strong>Warning:</strong> not every submission ran inside bubblewrap; without it, "
            "student code "
            "was limited in time, memory and processes but could read files this user can read.</p>"
        )
    if scores:
        parts.append(f"<h2>Scores</h2>\n{histogram(scores, max_score)}")
    rates = pass_rates([results[row["student_id"]] for row in graded])
    if rates:
        parts.append(
            f"<h2>Pass rate per check</h2><p>Over the {len(graded)} graded submission(s).</p>"
        )
        parts.append(
            table(
                ["Check", "Points", "Passed", "Rate"],
                [
                    [
                        name,
                        f"{max_points:g}",
                        f"{passed} / {total}",
                        bar(passed / total, f"{passed / total:.0%}"),
                    ]
                    for name, (max_points, passed, total) in rates.items()
                ],
            )
        )
    ungraded = [row for row in rows if not is_graded(row)]
    if ungraded:
        parts.append("<h2>Submissions that could not be graded</h2>")
        parts.append(
            table(
                ["Student", "Status", "Message"],
                [
                    [row["student_id"], row.get("status", ""), pre(row["message"])]
                    for row in ungraded
                ],
            )
        )
    parts.append("<h2>Students</h2>")
    parts.append(
        table(
            ["Student", "Score", "Status"],
            [
                [
                    feedback_link(row["student_id"], assignment),
                    points(row["score"], row["max_score"]),
                    row.get("status", ""),
                ]
                for row in rows
            ],
        )
    )
    return page(f"{assignment}: class report", "\n".join(parts))


def feedback_link(student_id, assignment):
    href = f"{quote(student_id)}/{quote(assignment)}/feedback.html"
    return Html(f'<a href="{escape(href)}">{escape(student_id)}</a>')


def summary_table(scores, max_score, graded):
    cells = {
        "Submissions": len(scores),
        "Graded": graded,
        "Could not be graded": len(scores) - graded,
    }
    if scores:
        cells.update(
            {
                "Mean score": f"{statistics.mean(scores):.2f} / {max_score:g}",
                "Median score": f"{statistics.median(scores):g} / {max_score:g}",
                "Lowest / highest": f"{min(scores):g} / {max(scores):g}",
                "Full marks": sum(score >= max_score for score in scores),
            }
        )
    return table(["Summary", ""], cells.items())


def pass_rates(all_results):
    """{check name: (max points, passed, graded)} over the graded submissions, in the checks'
    order."""
    rates = {}
    for results in all_results:
        for test in (results or {}).get("tests", []):
            max_points, passed, total = rates.get(test["name"], (float(test["max_score"]), 0, 0))
            rates[test["name"]] = (max_points, passed + (test["status"] == "passed"), total + 1)
    return rates


def bar(fraction, text):
    """A CSS bar filling `fraction` of its track: no image or plotting library, and its text keeps
    the number
    readable without CSS and by screen readers."""
    return Html(
        '<span class="track"><span class="bar" style="width: '
        f'{fraction:.1%}">{escape(text)}</span></span>'
    )


def histogram(scores, max_score):
    """Submissions per whole point from 0 to the top score; large totals are grouped into about 30
    ranges.

    A row holds the scores from its first point up to the next row's; labels say so when a score has
    a fraction.
    """
    highest = max(max_score, max(scores), 1.0)
    top = int(highest)
    step = -(-top // 30)
    counts = Counter(int(score // step) for score in scores)
    most = max(counts.values())
    whole = all(float(score).is_integer() for score in scores)
    rows = []
    for low in range(0, top + 1, step):
        if whole:
            high = min(low + step - 1, top)
            label = str(low) if high == low else f"{low}–{high}"
        else:
            label = f"{low} to <{low + step}" if low + step <= top else f"{low} to {highest:g}"
        count = counts[low // step]
        rows.append([label, bar(count / most, str(count))])
    return table([f"Score (out of {max_score:g})", "Submissions"], rows)
