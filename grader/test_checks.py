"""The checks as pytest tests, for `pytest grader --submission PATH`: one per graded cell of the
assignment's notebook, worth its points if all its cases pass."""

import pytest

from grader.cases import checks
from grader.checking import check_outcome
from grader.plugin import grading_of


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


def test_check(check, worker):
    passed, feedback = check_outcome(check, worker)
    if not passed:
        pytest.fail(feedback, pytrace=False)
