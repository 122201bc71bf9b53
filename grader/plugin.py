"""The grader's pytest plugins: the session's `Grading` as an object, and each check's outcome
collected from pytest's own reports, never from printed text."""

from dataclasses import dataclass

import pytest

from grader.submission import Unusable


class GradingPlugin:
    """Carries a session's `grader.grading.Grading` (assignment, limits, sandbox) to its fixtures
    and checks, so nothing is flattened into option strings and parsed back."""

    def __init__(self, grading):
        self.grading = grading


def grading_of(config):
    """The `Grading` of the pytest session `config`."""
    plugins = config.pluginmanager.get_plugins()
    return next(plugin.grading for plugin in plugins if isinstance(plugin, GradingPlugin))


@dataclass(frozen=True)
class CheckResult:
    grade_id: str
    points: float
    passed: bool
    output: str

    @property
    def score(self):
        return self.points if self.passed else 0.0


def _failure_text(excinfo):
    if excinfo.errisinstance(pytest.fail.Exception):
        return str(excinfo.value.msg)
    if excinfo.errisinstance(Unusable):
        return f"not graded: {excinfo.value}"
    return (
        f"the grader itself failed here ({excinfo.typename}: {excinfo.value}); please tell "
        "the instructor."
    )


class ResultCollector:
    """A pytest plugin: one CheckResult per `grade`-marked test, and why a hand-in was unusable."""

    def __init__(self):
        self.results = {}
        self.unusable = None
        self.grader_failed = []  # grade_ids of checks where the grader itself raised

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item, call):
        report = yield
        marker = item.get_closest_marker("grade")
        if marker is not None:
            grade_id, points = marker.args
            if call.excinfo is not None and call.excinfo.errisinstance(Unusable):
                self.unusable = call.excinfo.value
            if report.failed:
                if (
                    not call.excinfo.errisinstance((pytest.fail.Exception, Unusable))
                    and grade_id not in self.grader_failed
                ):
                    self.grader_failed.append(grade_id)
                self.results[grade_id] = CheckResult(
                    grade_id, points, False, _failure_text(call.excinfo)
                )
            elif report.when == "call" and report.passed:
                output = dict(report.user_properties).get("output", "passed")
                self.results.setdefault(grade_id, CheckResult(grade_id, points, True, output))
        return report
