"""Feedback pages and the class report, from hand-written grades.csv and results.json."""

import csv
import json
import os
import re
import stat
import subprocess
import sys
from html import unescape

import pytest

from grader.reports import class_report_page, histogram, write_reports

HOSTILE = "eve <img src=x onerror=alert(1)>"
SCRIPT = "<script>alert('pwned')</script>"
SECRET = "hidden case input: A = [[3.25, -1.5]]"
CHECKS = ("multiplication", "division")


def check(name, score, max_score, visibility, output=""):
    status = "passed" if score == max_score else "failed"
    return {
        "name": name,
        "score": score,
        "max_score": max_score,
        "status": status,
        "output": output,
        "visibility": visibility,
    }


RESULTS = {
    "ada lovelace": [
        check("multiplication", 1, 1, "visible", "ok"),
        check("division", 2, 2, "visible"),
        check("division (hidden cases)", 1, 1, "hidden"),
    ],
    "Émile Borel": [
        check("multiplication", 0, 1, "visible", "expected [2. 3.]\ngot [3. 2.]"),
        check("division", 2, 2, "visible"),
        check("division (hidden cases)", 0, 1, "hidden", SECRET),
    ],
    HOSTILE: [
        check("multiplication", 0, 1, "visible", f"expected 1.0\ngot {SCRIPT}"),
        check("division", 0, 2, "visible"),
        check("division (hidden cases)", 0, 1, "hidden"),
    ],
}
GÖDEL = "Kurt Gödel <svg onload=alert(2)>"
UNGRADED = {
    "student_id": GÖDEL,
    "score": 0,
    "max_score": 4,
    "multiplication": 0,
    "division": 0,
    "status": "syntax-error",
    "message": f"toolbox.py line 3: invalid syntax {SCRIPT}",
}


@pytest.fixture
def out(tmp_path):
    rows = [UNGRADED]
    for student, tests in RESULTS.items():
        score = sum(t["score"] for t in tests)
        rows.append(
            {
                "student_id": student,
                "score": score,
                "max_score": 4,
                "status": "graded",
                "message": "",
                **{
                    name: sum(t["score"] for t in tests if t["name"].startswith(name))
                    for name in CHECKS
                },
            }
        )
        folder = tmp_path / student / "backprop"
        folder.mkdir(parents=True)
        sandbox = "process (bubblewrap not installed)" if student == HOSTILE else "bubblewrap"
        (folder / "results.json").write_text(
            json.dumps(
                {
                    "score": score,
                    "max_score": 4,
                    "output": f"{score} of 4 points",
                    "tests": tests,
                    "extra_data": {"sandbox": sandbox},
                }
            )
        )
    with open(tmp_path / "grades.csv", "w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(
            file, ["student_id", "score", "max_score", *CHECKS, "status", "message"]
        )
        writer.writeheader()
        writer.writerows(rows)
    write_reports(tmp_path, "backprop")
    return tmp_path


def feedback(out, student):
    return (out / student / "backprop" / "feedback.html").read_text(encoding="utf-8")


def table_rows(html):
    """Each table row as a list of its cells' text."""
    return [
        [
            re.sub(r"<[^>]*>", "", cell)
            for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)
        ]
        for row in re.findall(r"<tr>(.*?)</tr>", html, re.S)
    ]


def test_feedback_lists_every_check_with_points_status_and_visible_output(out):
    page = feedback(out, "Émile Borel")
    assert "Score: <strong>2 / 4</strong>" in page and "<pre>2 of 4 points</pre>" in page
    rows = table_rows(page)
    assert rows[0] == ["Check", "Points", "Status", "Details"]
    assert [row[:3] for row in rows[1:]] == [
        ["multiplication", "0 / 1", "failed"],
        ["division", "2 / 2", "passed"],
        ["division (hidden cases)", "0 / 1", "failed"],
    ]
    assert "expected [2. 3.]\ngot [3. 2.]" in rows[1][3]


def test_hidden_checks_show_pass_or_fail_only(out):
    page = feedback(out, "Émile Borel")
    assert "3.25" not in page and "hidden case input" not in page
    assert table_rows(page)[3][3] == "hidden check: pass or fail only"


def test_student_controlled_text_is_escaped_everywhere(out):
    pages = [
        feedback(out, HOSTILE),
        feedback(out, GÖDEL),
        (out / "report.html").read_text(encoding="utf-8"),
    ]
    for page in pages:
        assert "<script" not in page and "<img src=x" not in page and "<svg" not in page
    assert "&lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt;" in pages[0]
    assert (
        "eve &lt;img src=x onerror=alert(1)&gt;" in pages[0]
        and "eve &lt;img src=x onerror=alert(1)&gt;" in pages[2]
    )
    assert (
        'href="eve%20%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E/backprop/feedback.html"'
        in pages[2]
    )


def test_ungraded_submission_gets_its_message_in_both_pages(out):
    assert "could not be graded (syntax-error)" in feedback(out, GÖDEL)
    report = (out / "report.html").read_text(encoding="utf-8")
    section = report[report.index("Submissions that could not be graded") :]
    assert table_rows(section)[1][:2] == ["Kurt Gödel &lt;svg onload=alert(2)&gt;", "syntax-error"]
    assert "toolbox.py line 3: invalid syntax" in table_rows(section)[1][2]


def test_report_summarises_scores_and_pass_rates_over_graded_submissions(out):
    report = (out / "report.html").read_text(encoding="utf-8")
    rows = table_rows(report)
    summary = dict(rows[1:8])
    assert (
        summary["Submissions"] == "4"
        and summary["Graded"] == "3"
        and summary["Could not be graded"] == "1"
    )
    assert summary["Mean score"] == "1.50 / 4" and summary["Median score"] == "1 / 4"
    assert summary["Lowest / highest"] == "0 / 4" and summary["Full marks"] == "1"
    rates = report[
        report.index("Pass rate per check") : report.index("Submissions that could not be graded")
    ]
    assert table_rows(rates)[1:] == [
        ["multiplication", "1", "1 / 3", "33%"],
        ["division", "2", "2 / 3", "67%"],
        ["division (hidden cases)", "1", "1 / 3", "33%"],
    ]


def section(report, title, next_title):
    return report[report.index(title) : report.index(next_title)]


def bar_widths(html):
    return re.findall(r'<span class="bar" style="width: ([^"]*)">', html)


def test_histogram_counts_submissions_per_score_from_0_to_max_score(out):
    scores = section(
        (out / "report.html").read_text(encoding="utf-8"), "<h2>Scores", "Pass rate per check"
    )
    # scores 0 (ungraded), 4, 2 and 0: the tallest bar is score 0's
    assert table_rows(scores) == [
        ["Score (out of 4)", "Submissions"],
        ["0", "2"],
        ["1", "0"],
        ["2", "1"],
        ["3", "0"],
        ["4", "1"],
    ]
    assert bar_widths(scores) == ["100.0%", "0.0%", "50.0%", "0.0%", "50.0%"]


def test_histogram_groups_large_totals_into_ranges_of_whole_points():
    rows = table_rows(histogram([0.0, 3.0, 4.0, 100.0, 100.0], 100.0))
    assert rows[0] == ["Score (out of 100)", "Submissions"] and len(rows) - 1 <= 30
    assert rows[1:3] == [["0–3", "2"], ["4–7", "1"]] and rows[-1] == ["100", "2"]
    assert sum(int(count) for _, count in rows[1:]) == 5


def test_histogram_labels_say_where_fractional_scores_go():
    rows = table_rows(unescape(histogram([0.0, 0.5, 2.5], 2.5)))
    assert rows[1:] == [["0 to <1", "2"], ["1 to <2", "0"], ["2 to 2.5", "1"]]
    rows = table_rows(unescape(histogram([3.5, 100.0], 100.0)))
    assert rows[1:3] == [["0 to <4", "1"], ["4 to <8", "0"]] and rows[-1] == ["100 to 100", "1"]


def test_pass_rate_bars_are_as_wide_as_the_share_that_passed(out):
    rates = section(
        (out / "report.html").read_text(encoding="utf-8"),
        "Pass rate per check",
        "Submissions that could not be graded",
    )
    assert bar_widths(rates) == ["33.3%", "66.7%", "33.3%"]
    assert re.findall(r'<span class="bar"[^>]*>([^<]*)</span>', rates) == ["33%", "67%", "33%"]


def test_check_names_in_the_pass_rate_chart_are_escaped():
    row = {"student_id": "ada", "score": 0, "max_score": 1, "status": "graded", "message": ""}
    results = {"ada": {"tests": [check(SCRIPT, 0, 1, "visible")]}}
    report = class_report_page([row], results, "backprop")
    assert (
        "<script" not in report
        and "&lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt;" in report
    )


def test_reports_do_not_load_a_plotting_library():
    """course grade imports grader.reports on every run; matplotlib alone would add most of a
    second."""
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import grader.reports, sys; assert 'matplotlib' not in sys.modules",
        ],
        check=True,
    )


def test_reports_leave_no_temporary_files(out):
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert [name for name in written if name.endswith(".tmp") or "/." in name] == []
    assert sum(name.endswith("feedback.html") for name in written) == 4


def test_outputs_get_the_permissions_of_a_plain_new_file(tmp_path):
    from grader.outputs import write_atomically

    previous = os.umask(0o027)  # as on a shared course account: group may read
    try:
        code = (
            "import os, sys; from grader.outputs import write_atomically; "
            "write_atomically(sys.argv[1], 'x')"
        )
        subprocess.run([sys.executable, "-c", code, str(tmp_path / "grades.csv")], check=True)
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "grades.csv").stat().st_mode) == 0o640
    write_atomically(tmp_path / "mine.csv", "x")
    assert stat.S_IMODE((tmp_path / "mine.csv").stat().st_mode) == 0o666 & ~previous


def test_outputs_reach_the_disk_before_they_replace_the_old_ones(tmp_path, monkeypatch):
    from grader.outputs import write_atomically

    steps, replace = [], os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: steps.append("fsync"))
    monkeypatch.setattr(
        os, "replace", lambda source, target: (steps.append("replace"), replace(source, target))
    )
    write_atomically(tmp_path / "grades.csv", "student_id\n")
    assert steps == ["fsync", "replace"]
    assert (tmp_path / "grades.csv").read_text() == "student_id\n"


def test_missing_grades_and_escaping_student_ids_are_refused(tmp_path):
    with pytest.raises(
        FileNotFoundError, match="grades.csv does not exist; run 'course grade' first"
    ):
        write_reports(tmp_path, "backprop")
    (tmp_path / "grades.csv").write_text(
        "student_id,score,max_score,status,message\n../outside,0,4,error,x\n"
    )
    report, unwritten = write_reports(
        tmp_path, "backprop"
    )  # that student's row, not the class's failure
    assert "names the student '../outside', which is not a folder name" in unwritten["../outside"]
    assert report.is_file() and not (tmp_path.parent / "outside").exists()


def test_report_says_where_student_code_ran_and_warns_without_bubblewrap(out):
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "Student code ran in: bubblewrap, process (bubblewrap not installed)." in report
    assert "not every submission ran inside bubblewrap" in report
