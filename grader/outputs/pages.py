"""Pages people read: each student's feedback.html and the instructor's report.html.

The templates in templates/ hold the markup; this module hands them the results grading returned.
jinja2 escapes every value (ids, messages, what a hand-in printed or returned), so a submission
cannot put markup or script into a page a TA opens. Bars are CSS, so no plotting library loads.
"""

import math
import statistics
from collections import Counter
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined

from grader.outputs.gradebook import (
    NOT_WRITABLE,
    SIMILARITY_PAGE,
    listed_id,
    number,
    summary,
    write_atomically,
    write_student_files,
)
from grader.outputs.template_cache import compiled_templates

OPTIONS = {
    "autoescape": True,
    "undefined": StrictUndefined,  # a misspelt name fails the tests instead of leaving a blank
    "trim_blocks": True,
    "lstrip_blocks": True,
}
TEMPLATES = Environment(
    loader=PackageLoader("grader.outputs"),
    bytecode_cache=compiled_templates(OPTIONS),
    **OPTIONS,
)
TEMPLATES.filters.update(
    listed=listed_id,
    number=number,
    percent=lambda fraction, digits=0: f"{fraction:.{digits}%}",
    mean=statistics.mean,
    median=statistics.median,
    late_by=lambda seconds: (
        f"{math.ceil(seconds / 60)} min"
        if seconds < 3600
        else f"{seconds / 3600:.1f} h"
        if seconds < 2 * 86400
        else f"{seconds / 86400:.1f} days"
    ),
)


def write_pages(out_dir, assignment, results):
    """Write every student's feedback.html, then the class's report.html; returns (the results,
    with a row of their own for a student whose page could not be written; the report's path)."""
    out_dir = Path(out_dir)
    results = write_student_files(
        out_dir, assignment, results, "feedback.html", lambda r: feedback_page(r, assignment)
    )
    report = out_dir / "report.html"
    similarity = (out_dir / SIMILARITY_PAGE).is_file()
    write_atomically(report, class_report_page(results, assignment, similarity))
    return results, report


def feedback_page(result, assignment):
    """One student's page: score, summary or why it was not graded, every check and its output."""
    return TEMPLATES.get_template("feedback.html").render(
        assignment=assignment, result=result, summary=summary(result)
    )


def class_report_page(results, assignment, similarity=False):
    """The instructor's page: summary, score histogram, pass rate per check, who could not be
    graded, a link to every student's page and to similarity.html (`similarity`: whether it was
    there when the report was written)."""
    graded = [result for result in results if result.status == "graded"]
    scores = [result.score for result in graded]  # as the pass rates: of the graded hand-ins
    max_score = max((result.max_score for result in results), default=0.0)
    sandboxes = sorted({result.sandbox for result in results if result.status != NOT_WRITABLE})
    return TEMPLATES.get_template("report.html").render(
        assignment=assignment,
        results=results,
        graded=graded,
        ungraded=[result for result in results if result.status != "graded"],
        scores=scores,
        max_score=max_score,
        histogram=histogram(scores, max_score) if scores else [],
        sandboxes=sandboxes,
        unconfined=any(name != "bubblewrap" for name in sandboxes),
        rates=pass_rates(graded),
        seeds=sorted({result.seed for result in results if result.seed is not None}),
        similarity=similarity,
        similarity_page=SIMILARITY_PAGE,
        late=[result for result in results if result.seconds_late],
    )


def pass_rates(graded):
    """{check: (points, passed, graded)} over the graded submissions, in the checks' order."""
    rates = {}
    for result in graded:
        for check in result.checks:
            points, passed, total = rates.get(check.grade_id, (check.points, 0, 0))
            rates[check.grade_id] = (points, passed + check.passed, total + 1)
    return rates


def histogram(scores, max_score):
    """[(label, submissions)] per whole point from 0 to the top score; large totals are grouped
    into about 30 ranges. A row holds the scores from its first point up to the next row's; labels
    say so when a score has a fraction."""
    highest = max(max_score, max(scores), 1.0)
    top = int(highest)
    step = -(-top // 30)
    counts = Counter(int(score // step) for score in scores)
    whole = all(float(score).is_integer() for score in scores)
    rows = []
    for low in range(0, top + 1, step):
        if whole:
            high = min(low + step - 1, top)
            label = str(low) if high == low else f"{low}–{high}"
        else:
            label = f"{low} to <{low + step}" if low + step <= top else f"{low} to {highest:g}"
        rows.append((label, counts[low // step]))
    return rows
