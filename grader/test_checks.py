"""The checks: one per graded cell of the assignment's notebook, worth its points if all its cases
pass."""

import pytest

from grader.cases import checks
from grader.judge import verdict
from grader.plugin import grading_of
from grader.session import WorkerFailed


def pytest_generate_tests(metafunc):
    if "check" in metafunc.fixturenames:
        grading = grading_of(metafunc.config)
        metafunc.parametrize(
            "check",
            [
                pytest.param(c, marks=pytest.mark.grade(c.grade_id, c.points), id=c.grade_id)
                for c in checks(grading.assignment, grading.seed)
            ],
        )


def test_check(check, worker, request):
    answers = []
    # the visible cases, then the hidden ones, each in a fork of its own
    for cases in check.requests:
        try:
            answers.append(worker.run(cases))
        except WorkerFailed as error:
            answers.append(error)
    passed, feedback = verdict(check, answers)
    request.node.user_properties.append(("output", feedback))
    if not passed:
        pytest.fail(feedback, pytrace=False)
