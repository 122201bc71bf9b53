"""Feedback pages and the class report, from the results grading returns."""

import dataclasses
import os
import re
import shutil
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from grader.checking import CheckResult
from grader.outputs.gradebook import NOT_WRITABLE, write_student_files
from grader.outputs.pages import class_report_page, feedback_page, histogram, write_pages
from grader.outputs.template_cache import compiled_templates
from grader.run import SubmissionResult

HOSTILE = "eve <img src=x onerror=alert(1)>"
SCRIPT = "<script>alert('pwned')</script>"
GÖDEL = "Kurt Gödel <svg onload=alert(2)>"
POINTS = {"multiplication": 1.0, "division": 2.0, "power": 1.0}


def handin(student, passed, outputs=(), sandbox="bubblewrap", status="graded", message=""):
    """A SubmissionResult passing the checks in `passed`; `outputs` maps a check to its output."""
    checks = tuple(
        CheckResult(name, points, name in passed, dict(outputs).get(name, ""))
        for name, points in POINTS.items()
    )
    return SubmissionResult(student, status, message, checks, sandbox)


RESULTS = [
    handin(
        GÖDEL,
        (),
        {name: "not graded: syntax error" for name in POINTS},
        status="syntax-error",
        message=f"toolbox.py line 3: invalid syntax {SCRIPT}",
    ),
    handin("ada lovelace", POINTS, {"multiplication": "ok"}),
    handin("Émile Borel", ["division"], {"multiplication": "expected [2. 3.]\ngot [3. 2.]"}),
    handin(
        HOSTILE,
        (),
        {"multiplication": f"expected 1.0\ngot {SCRIPT}"},
        sandbox="process (bubblewrap not installed)",
    ),
]


@pytest.fixture
def out(tmp_path):
    written, report = write_pages(tmp_path, "backprop", RESULTS)
    assert written == RESULTS and report == tmp_path / "report.html"
    return tmp_path


def feedback(out, student):
    return (out / student / "backprop" / "feedback.html").read_text(encoding="utf-8")


def report(out):
    return (out / "report.html").read_text(encoding="utf-8")


def table_rows(html):
    """Each table row as a list of its cells' text."""
    return [
        [
            re.sub(r"<[^>]*>", "", cell)
            for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)
        ]
        for row in re.findall(r"<tr>(.*?)</tr>", html, re.S)
    ]


def section(page, title, next_title):
    return page[page.index(title) : page.index(next_title)]


def bar_widths(html):
    return re.findall(r'<span class="bar" style="width: ([^"]*)">', html)


def test_feedback_lists_every_check_with_points_status_and_output(out):
    page = feedback(out, "Émile Borel")
    assert "Score: <strong>2 / 4</strong>" in page
    assert "<pre>2 of 4 points; 1 of 3 checks pass.</pre>" in page
    rows = table_rows(page)
    assert rows[0] == ["Check", "Points", "Status", "Details"]
    assert [row[:3] for row in rows[1:]] == [
        ["multiplication", "0 / 1", "failed"],
        ["division", "2 / 2", "passed"],
        ["power", "0 / 1", "failed"],
    ]
    assert "expected [2. 3.]\ngot [3. 2.]" in rows[1][3]


def test_student_controlled_text_is_escaped_everywhere(out):
    pages = [feedback(out, HOSTILE), feedback(out, GÖDEL), report(out)]
    for page in pages:
        assert "<script" not in page and "<img src=x" not in page and "<svg" not in page
    assert "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;" in pages[0]
    assert "eve &lt;img src=x onerror=alert(1)&gt;" in pages[0]
    assert "eve &lt;img src=x onerror=alert(1)&gt;" in pages[2]
    assert (
        'href="eve%20%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E/backprop/feedback.html"'
        in pages[2]
    )


def test_ungraded_submission_gets_its_message_in_both_pages(out):
    assert "could not be graded (syntax-error)" in feedback(out, GÖDEL)
    rows = table_rows(section(report(out), "Submissions that could not be graded", "<h2>Students"))
    assert rows[1][:2] == ["Kurt Gödel &lt;svg onload=alert(2)&gt;", "syntax-error"]
    assert "toolbox.py line 3: invalid syntax" in rows[1][2]


def test_report_summarises_scores_and_pass_rates_over_graded_submissions(out):
    page = report(out)
    summary = dict(row for row in table_rows(page)[1:9] if len(row) == 2)
    assert summary["Submissions"] == "4" and summary["Graded"] == "3"
    assert summary["Could not be graded"] == "1"
    # scores of the graded three (4, 2, 0), as the pass rates: the ungraded one is not a 0
    assert "Scores of the 3 graded hand-in(s)" in page
    assert summary["Mean score"] == "2.00 / 4" and summary["Median score"] == "2 / 4"
    assert summary["Lowest / highest"] == "0 / 4" and summary["Full marks"] == "1"
    rates = section(page, "Pass rate per check", "Submissions that could not be graded")
    assert table_rows(rates)[1:] == [
        ["multiplication", "1", "1 / 3", "33%"],
        ["division", "2", "2 / 3", "67%"],
        ["power", "1", "1 / 3", "33%"],
    ]


def test_histogram_counts_submissions_per_score_from_0_to_max_score(out):
    scores = section(report(out), "<h2>Scores", "Pass rate per check")
    # graded scores 4, 2 and 0; the ungraded hand-in is not counted, empty scores not listed
    assert table_rows(scores) == [
        ["Score (out of 4)", "Graded hand-ins"],
        ["0", "1"],
        ["2", "1"],
        ["4", "1"],
    ]
    assert bar_widths(scores) == ["100.0%", "100.0%", "100.0%"]


def test_histogram_groups_large_totals_into_ranges_of_whole_points():
    rows = histogram([0.0, 3.0, 4.0, 100.0, 100.0], 100.0)
    assert len(rows) <= 30 and sum(count for _, count in rows) == 5
    assert rows[:2] == [("0–3", 2), ("4–7", 1)] and rows[-1] == ("100", 2)


def test_histogram_labels_say_where_fractional_scores_go():
    assert histogram([0.0, 0.5, 2.5], 2.5) == [("0 to <1", 2), ("1 to <2", 0), ("2 to 2.5", 1)]
    rows = histogram([3.5, 100.0], 100.0)
    assert rows[:2] == [("0 to <4", 1), ("4 to <8", 0)] and rows[-1] == ("100 to 100", 1)


def test_pass_rate_bars_are_as_wide_as_the_share_that_passed(out):
    rates = section(report(out), "Pass rate per check", "Submissions that could not be graded")
    assert bar_widths(rates) == ["33.3%", "66.7%", "33.3%"]
    assert re.findall(r'<span class="bar"[^>]*>([^<]*)</span>', rates) == ["33%", "67%", "33%"]


def test_check_names_in_the_pass_rate_chart_are_escaped():
    result = SubmissionResult("ada", "graded", "", (CheckResult(SCRIPT, 1.0, False, ""),), "x")
    page = class_report_page([result], "backprop")
    assert "<script" not in page and "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;" in page


def test_reports_do_not_load_a_plotting_library():
    """course grade imports the pages on every run; matplotlib alone would add most of a second."""
    code = "import grader.outputs.pages, sys; assert 'matplotlib' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_compiled_templates_are_reused_while_their_text_is_unchanged(tmp_path, monkeypatch):
    """Compiling the templates is most of a small class's page time: a run keeps them compiled,
    the next loads them (and renders the same page), a broken cache file costs only a compile."""
    from jinja2 import Environment

    from grader.outputs import pages

    cache = compiled_templates(pages.OPTIONS, home=tmp_path)
    first = pages.TEMPLATES.overlay(bytecode_cache=cache)
    page = first.get_template("feedback.html").render(
        assignment="backprop", result=RESULTS[1], summary="s"
    )
    kept = sorted(Path(cache.directory).iterdir())
    assert kept
    compiled = []
    monkeypatch.setattr(Environment, "_compile", lambda *args: compiled.append(args) or None)
    again = pages.TEMPLATES.overlay(bytecode_cache=cache)
    assert (
        again.get_template("feedback.html").render(
            assignment="backprop", result=RESULTS[1], summary="s"
        )
        == page
        and not compiled
    )
    monkeypatch.undo()
    for file in kept:
        file.write_bytes(file.read_bytes()[:40])  # cut short
    broken = pages.TEMPLATES.overlay(bytecode_cache=cache)
    assert (
        broken.get_template("feedback.html").render(
            assignment="backprop", result=RESULTS[1], summary="s"
        )
        == page
    )


def test_compiled_templates_stay_in_a_private_folder_named_after_the_options(tmp_path):
    """Code compiled with other options (autoescape off) must never render these pages, and a
    folder someone else could write to, or a link planted where the folder goes, is no cache."""
    from grader.outputs.pages import OPTIONS

    folder = Path(compiled_templates(OPTIONS, home=tmp_path).directory)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700 and folder.parent.parent == tmp_path
    unescaped = Path(compiled_templates({**OPTIONS, "autoescape": False}, home=tmp_path).directory)
    assert unescaped != folder
    os.chmod(folder, 0o770)
    assert compiled_templates(OPTIONS, home=tmp_path) is None
    shutil.rmtree(folder)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    folder.symlink_to(elsewhere)
    assert compiled_templates(OPTIONS, home=tmp_path) is None


def test_reports_leave_no_temporary_files(out):
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert [name for name in written if name.endswith(".tmp") or "/." in name] == []
    assert sum(name.endswith("feedback.html") for name in written) == 4


def test_outputs_get_the_permissions_of_a_plain_new_file(tmp_path):
    from grader.outputs.gradebook import write_atomically

    previous = os.umask(0o027)  # as on a shared course account: group may read
    try:
        code = (
            "import sys; from grader.outputs.gradebook import write_atomically; "
            "write_atomically(sys.argv[1], 'x')"
        )
        subprocess.run([sys.executable, "-c", code, str(tmp_path / "grades.csv")], check=True)
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "grades.csv").stat().st_mode) == 0o640
    write_atomically(tmp_path / "mine.csv", "x")
    assert stat.S_IMODE((tmp_path / "mine.csv").stat().st_mode) == 0o666 & ~previous


def test_outputs_reach_the_disk_before_they_replace_the_old_ones(tmp_path, monkeypatch):
    from grader.outputs.gradebook import write_atomically

    steps, replace = [], os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: steps.append("fsync"))
    monkeypatch.setattr(
        os, "replace", lambda source, target: (steps.append("replace"), replace(source, target))
    )
    write_atomically(tmp_path / "grades.csv", "student_id\n")
    assert steps == ["fsync", "replace"]
    assert (tmp_path / "grades.csv").read_text() == "student_id\n"


def test_a_page_that_cannot_be_written_is_that_students_row(tmp_path):
    (tmp_path / "ada lovelace").write_text("a file where ada's folder would go")
    bad_id = handin("back\\slash", (), status=NOT_WRITABLE, message="rename the folder")
    written, report = write_pages(tmp_path, "backprop", [*RESULTS, bad_id])
    ada = next(result for result in written if result.student_id == "ada lovelace")
    assert ada.status == "results not written" and ada.score == 4
    assert "feedback.html could not be written" in ada.message
    assert written[-1] is bad_id and not (tmp_path / "back\\slash").exists()  # no page, no folder
    assert (tmp_path / "Émile Borel" / "backprop" / "feedback.html").is_file()
    students = table_rows(section(report.read_text(encoding="utf-8"), "<h2>Students", "</body>"))
    assert ["ada lovelace", "4 / 4", "results not written"] in students
    assert ["back\\slash", "0 / 4", NOT_WRITABLE] in students


def test_report_says_where_student_code_ran_and_warns_without_bubblewrap(out):
    page = report(out)
    assert "Student code ran in: bubblewrap, process (bubblewrap not installed)." in page
    assert "not every submission ran inside bubblewrap" in page


def test_late_hand_ins_are_listed_with_their_penalty_and_final_score():
    late = dataclasses.replace(
        handin("bob", POINTS),
        timestamp="2026-02-01 10:00:00 UTC",
        seconds_late=5400.0,
        late_penalty=1.0,
    )
    report = class_report_page([handin("ada lovelace", POINTS), late], "backprop")
    [row] = table_rows(section(report, "<h2>Handed in late", "<h2>Students"))[1:]
    assert row == ["bob", "2026-02-01 10:00:00 UTC", "1.5 h", "1", "3 / 4"]
    page = feedback_page(late, "backprop")
    assert "1.5 h after the due" in page and "final score is\n<strong>3 / 4</strong>" in page
    assert "Handed in late" not in class_report_page([handin("ada", POINTS)], "backprop")


BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")


def in_a_browser(page, picture):
    """`page` as headless Chromium lays it out: (its DOM as the browser read it, the picture of
    its first 1000 x 1400 pixels as a grey image)."""
    from PIL import Image

    command = [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    url = page.resolve().as_uri()
    dom = subprocess.run([*command, "--dump-dom", url], capture_output=True, text=True, timeout=60)
    shot = [*command, "--window-size=1000,1400", f"--screenshot={picture}", url]
    subprocess.run(shot, capture_output=True, timeout=60, check=True)
    return dom.stdout, Image.open(picture).convert("L")


@pytest.mark.skipif(BROWSER is None, reason="no Chromium here to look at the pages")
def test_the_pages_are_laid_out_in_a_browser_with_their_text(out, tmp_path):
    """What a reader sees: each page loads, shows its student as text and draws something on
    screen, neither a blank page nor a block of one colour."""
    pages = {
        "backprop: class report": out / "report.html",
        "feedback for ada lovelace": out / "ada lovelace" / "backprop" / "feedback.html",
    }
    for title, page in pages.items():
        dom, picture = in_a_browser(page, tmp_path / f"{page.stem}.png")
        assert title in dom, dom[:500]
        assert picture.size == (1000, 1400)
        ink = sum(picture.histogram()[:128]) / (picture.size[0] * picture.size[1])
        assert 0.005 < ink < 0.5, f"{page}: {ink:.1%} of its picture is dark"


def test_students_pages_wait_for_the_disk_side_by_side(tmp_path, monkeypatch):
    """Each page is synced to disk before it replaces the old one: the waits overlap."""
    both_waiting = threading.Barrier(2, timeout=10)
    real_fsync = os.fsync

    def fsync_beside_another(fd):
        both_waiting.wait()  # breaks, failing the write, unless a second sync is under way
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync_beside_another)
    pair = [handin("ada lovelace", POINTS), handin("Émile Borel", ["division"])]
    written = write_student_files(tmp_path, "backprop", pair, "feedback.html", lambda r: r.status)
    assert written == pair
