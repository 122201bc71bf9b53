"""Grade one hand-in with plain pytest: `pytest grader --submission PATH`.

The options and the `worker` fixture live here; the checks are in test_checks.py. A class run
(`grader.run`) makes the same calls (`grader.checking`) without a pytest session per hand-in.
"""

import tempfile
from pathlib import Path

import pytest

from base.handin import Unusable
from base.paths import COURSE_ROOT
from grader.checking import open_session
from grader.grading import add_grading_options, grading_from
from grader.plugin import GradingPlugin, grading_of


def pytest_addoption(parser):
    group = parser.getgroup("grader", "grading a hand-in")
    group.addoption(
        "--submission",
        metavar="PATH",
        help="the hand-in folder to grade (with the files students complete)",
    )
    add_grading_options(group.addoption, assignment_option=True)


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "grade(grade_id, points): a check worth `points`, named after a graded notebook cell",
    )
    options = config.option
    if options.help or options.version:
        return
    if not options.submission:
        raise pytest.UsageError(
            "the grader needs the hand-in to grade: pytest grader --submission PATH"
        )
    if not Path(options.submission).exists():
        raise pytest.UsageError(
            f"--submission {options.submission} does not exist; pass the folder holding the "
            "hand-in's files"
        )
    if options.assignment is None:
        raise pytest.UsageError("name the assignment to grade with --assignment NAME")
    try:
        grading = grading_from(options, options.assignment, COURSE_ROOT)
    except ValueError as error:
        raise pytest.UsageError(str(error)) from None
    config.pluginmanager.register(GradingPlugin(grading), "grading")


@pytest.fixture(scope="session")
def worker(request):
    """The sandboxed worker of the hand-in, running a private copy of it."""
    grading, submission = grading_of(request.config), request.config.option.submission
    with tempfile.TemporaryDirectory(prefix="grader-") as scratch:
        session = open_session(submission, scratch, grading)
        try:
            yield session
        finally:
            session.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """An ungradable hand-in fails every check for one reason: say it in a line, not a traceback
    per check."""
    report = yield
    if call.excinfo is not None and call.excinfo.errisinstance(Unusable):
        report.longrepr = f"not graded ({call.excinfo.value.status}): {call.excinfo.value}"
    return report
