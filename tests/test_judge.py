"""The judge's one comparison over a whole answer (`answered_right`) agrees with its verdict case by
case: it may only save time, never change a verdict."""

import numpy as np
import pytest
from handins import BACKPROP, SEED

from grader.cases import checks
from grader.judge import answered_right, verdict
from grader.sandbox.worker import Payload

CHECKS = checks(BACKPROP, SEED)


def right_answer(request):
    """(results, payload) as a right hand-in's worker sends them for `request`."""
    payload, results = Payload(), []
    for case in request.cases:
        value = payload.add(case.expected["value"])  # first, as the worker adds it
        grads = {name: payload.add(grad) for name, grad in case.expected["grads"].items()}
        results.append({"value": value, "grads": grads})
    return results, bytearray(b"".join(bytes(chunk) for chunk in payload.chunks))


def case_by_case(check, answers, monkeypatch):
    """The verdict with the whole-answer comparison switched off."""
    with monkeypatch.context() as patched:
        patched.setattr("grader.judge.answered_right", lambda *answer: False)
        return verdict(check, answers)


def first_gradient(results):
    """The description of the first gradient of the first case that has one."""
    return next(iter(next(r["grads"] for r in results if r["grads"]).values()))


def off_a_little(results, payload):
    payload[first_gradient(results)["at"] + 7] ^= 0x40  # one entry's exponent changes


def not_a_number(results, payload):
    at = first_gradient(results)["at"]
    payload[at : at + 8] = np.array([np.nan]).tobytes()


def an_infinity(results, payload):
    at = first_gradient(results)["at"]
    payload[at : at + 8] = np.array([-np.inf]).tobytes()


def described_in_floats(results, payload):
    first_gradient(results)["at"] = float(first_gradient(results)["at"])


def described_with_a_bool(results, payload):
    first = results[0]["value"] or next(iter(results[0]["grads"].values()))
    assert first["at"] == 0
    first["at"] = False  # equal to 0 in Python, not an offset in the protocol


def described_with_more(results, payload):
    first_gradient(results)["note"] = "extra"


def an_error(results, payload):
    results[-1] = {"error": "ValueError: planted"}


def a_gradient_missing(results, payload):
    grads = next(r["grads"] for r in results if r["grads"])
    grads.pop(next(iter(grads)))


def cut_short(results, payload):
    del payload[-8:]


WRONGS = [
    off_a_little,
    not_a_number,
    an_infinity,
    described_in_floats,
    described_with_a_bool,
    described_with_more,
    an_error,
    a_gradient_missing,
    cut_short,
]


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.grade_id)
def test_a_right_answer_is_judged_right_in_one_comparison(check):
    answers = [right_answer(request) for request in check.requests]
    assert all(answered_right(r, *answer) for r, answer in zip(check.requests, answers))
    assert verdict(check, answers)[0]


@pytest.mark.parametrize("wrong", WRONGS, ids=lambda wrong: wrong.__name__)
@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.grade_id)
def test_the_whole_answer_comparison_never_changes_a_verdict(check, wrong, monkeypatch):
    for spoilt in range(len(check.requests)):
        answers = [right_answer(request) for request in check.requests]
        wrong(*answers[spoilt])
        assert not answered_right(check.requests[spoilt], *answers[spoilt])
        assert verdict(check, answers) == case_by_case(check, answers, monkeypatch)
