"""The checks: one per graded cell of the source notebook, worth its points if all its cases
pass."""

import pytest

from grader.cases import checks
from grader.judge import verdict
from grader.session import WorkerFailed


@pytest.mark.parametrize(
    "check",
    [
        pytest.param(
            check, marks=pytest.mark.grade(check.grade_id, check.points), id=check.grade_id
        )
        for check in checks()
    ],
)
def test_check(check, worker, request):
    answers = []
    for (
        cases
    ) in check.requests:  # the visible cases, then the hidden ones, each in a fork of its own
        try:
            answers.append(worker.run(cases))
        except WorkerFailed as error:
            answers.append(error)
    passed, feedback = verdict(check, answers)
    request.node.user_properties.append(("output", feedback))
    if not passed:
        pytest.fail(feedback, pytrace=False)
