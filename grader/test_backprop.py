"""The checks: one per graded cell of the source notebook, worth its points if all its cases pass."""
import pytest

from grader.cases import checks
from grader.judge import verdict
from grader.session import WorkerFailed


@pytest.mark.parametrize(
    "check", [pytest.param(check, marks=pytest.mark.grade(check.grade_id, check.points), id=check.grade_id) for check in checks()]
)
def test_check(check, worker, request):
    try:
        answers = worker.run(check.wire)
    except WorkerFailed as error:
        pytest.fail(str(error), pytrace=False)
    passed, feedback = verdict(check, answers)
    request.node.user_properties.append(("output", feedback))
    if not passed:
        pytest.fail(feedback, pytrace=False)
