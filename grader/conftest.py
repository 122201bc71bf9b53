"""Grade one hand-in with plain pytest: `pytest grader --submission PATH`.

The options and the `worker` fixture live here; the checks are in test_backprop.py.
"""

import tempfile
from pathlib import Path

import pytest

from grader.plugin import ResultCollector
from grader.sandbox import add_grading_options, choose_sandbox, limits_from
from grader.scaffold import check_given_code_unchanged
from grader.session import WorkerSession
from grader.submission import Unusable, check_readable, private_copy


def pytest_addoption(parser):
    group = parser.getgroup("grader", "grading a hand-in")
    group.addoption(
        "--submission",
        metavar="PATH",
        help="the hand-in folder to grade (with toolbox.py and nn.py)",
    )
    add_grading_options(group.addoption)


def pytest_configure(config):
    if not config.option.submission and not (config.option.help or config.option.version):
        raise pytest.UsageError(
            "the grader needs the hand-in to grade: pytest grader --submission PATH"
        )
    grading_a_class = any(
        isinstance(plugin, ResultCollector) for plugin in config.pluginmanager.get_plugins()
    )
    if (
        config.option.submission
        and not grading_a_class
        and not Path(config.option.submission).exists()
    ):
        # in a class run a missing folder is the student's (their row says so); here it is a
        # mistyped path
        raise pytest.UsageError(
            f"--submission {config.option.submission} does not exist; pass the folder holding the "
            "hand-in's toolbox.py and nn.py"
        )
    config.addinivalue_line(
        "markers",
        "grade(grade_id, points): a check worth `points`, named after a graded notebook cell",
    )


@pytest.fixture(scope="session")
def worker(request):
    """The sandboxed worker of the hand-in, running a private copy of it."""
    options = request.config.option
    with tempfile.TemporaryDirectory(prefix="grader-") as scratch:
        copy = Path(scratch) / (
            Path(options.submission).name or "submission"
        )  # named as the student knows it
        private_copy(options.submission, copy)
        trees = check_readable(copy)
        if not options.allow_changed_code:
            check_given_code_unchanged(trees)
        session = WorkerSession(copy, choose_sandbox(options.sandbox), limits_from(options))
        try:
            yield session
        finally:
            session.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """An ungradable hand-in fails every check for one reason: say it in a line, not a traceback per
    check."""
    report = yield
    if call.excinfo is not None and call.excinfo.errisinstance(Unusable):
        report.longrepr = f"not graded ({call.excinfo.value.status}): {call.excinfo.value}"
    return report
