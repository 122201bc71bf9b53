"""Decide whether a worker's answers are right: every comparison happens here, in the trusted
process.

An answer counts only as float64 arrays of the expected shape with finite
values that agree with the reference's answers (the backprop assignment's are checked against
central differences in tests/).
Whatever else a submission sends (objects, strings, other dtypes) is wrong.
Visible cases explain themselves (expected against returned); hidden cases
are only counted, so their inputs never reach the student.
"""

import re

import numpy as np

from base.text import student_text
from grader.cases import allowed_distance
from grader.sandbox.worker import ProtocolError, payload_array

# The feedback line on hidden cases (see `verdict`), so an output can show it apart from the rest.
HIDDEN_LINE = re.compile(r"fails some of its \d+ hidden case")


def _show(array):
    return np.array2string(np.asarray(array), precision=6, threshold=30, separator=", ")


def close(got, expected):
    """Whether `got` is within `allowed_distance` of `expected` everywhere: np.allclose for finite
    arrays of one shape, without its generality (it runs thousands of times per class)."""
    return bool(np.all(np.abs(got - expected) <= allowed_distance(expected)))


def _compare(what, expected, returned, payload):
    """A sentence saying how `returned` (an array described in `payload`) is wrong, or None."""
    if returned is None:
        return f"{what} is None: backward() did not reach it"
    try:
        got = payload_array(returned, payload)
    except (ProtocolError, ValueError, TypeError) as error:
        return f"{what} is not a float64 array ({student_text(error, limit=200)})"
    expected = np.asarray(expected)
    if got.shape != expected.shape:
        return f"{what} has shape {got.shape}, expected {expected.shape}"
    if not np.all(np.isfinite(got)):
        return f"{what} contains inf or nan"
    if not close(got, expected):
        return f"expected {what} =\n{_show(expected)}\nyour code returned\n{_show(got)}"
    return None


def _described_as(description, expected):
    """Whether an answer's `description` of an array is `expected`, in type too (in JSON's data
    1.0 and True equal 1)."""
    return (
        type(description) is dict
        and description == expected
        and type(description["at"]) is int
        and all(type(size) is int for size in description["shape"])
    )


def answered_right(request, results, payload):
    """Whether every case of `request` is answered right, decided in one comparison over the whole
    answer (most answers are right). False means only: look case by case (`judge_case`).

    True needs what `judge_case` needs of every case and nothing else: no error, each array
    described exactly where and as a right answer has it, and all of them finite and close to
    the expected values."""
    described, expected, allowed = request.layout
    if len(results) != len(described) or len(payload) < expected.nbytes:
        return False
    for (value, grads), result in zip(described, results):
        if "error" in result or (
            value is not None and not _described_as(result.get("value"), value)
        ):
            return False
        returned = result.get("grads")
        if not isinstance(returned, dict):
            return False
        if not all(_described_as(returned.get(name), d) for name, d in grads.items()):
            return False
    distance = np.frombuffer(payload, dtype="<f8", count=expected.size) - expected
    np.abs(distance, out=distance)
    return bool(np.all(distance <= allowed))  # False for inf and nan


def judge_case(case, answer, payload=b""):
    """Why the worker's answer to `case` is wrong, or None when it is right."""
    if "error" in answer:
        wanted = ", ".join(
            f"{name}.grad {np.shape(grad)}" for name, grad in case.expected["grads"].items()
        )
        return (
            f"raised {student_text(answer['error'])}\n(backward must return one gradient per "
            f"input, of that input's shape: here {wanted})"
        )
    if case.expected["value"] is not None:
        problem = _compare("the result", case.expected["value"], answer.get("value"), payload)
        if problem:
            return problem
    grads = answer.get("grads")
    if not isinstance(grads, dict):
        return "no gradients came back"
    for name, expected in case.expected["grads"].items():
        problem = _compare(f"{name}.grad", expected, grads.get(name), payload)
        if problem:
            return problem
    return None


def hidden_hint(check):
    """What a check's hidden cases try, in general: never which case failed or its inputs."""
    return (
        f"hidden cases try {check.hidden_kinds}, and a large input (numpy on whole arrays is fast "
        "enough, "
        f"a loop over entries is not); test yours on such inputs with gradcheck"
    )


def _twin_feedback(check, twin_problems):
    """What the first failing case drawn for feedback (a twin of a hidden case, answered in the
    fork that never saw a hidden input) shows: expected against returned.

    Which one is shown depends on the twins' answers only: a choice made from which hidden cases
    failed could spell a hidden input, as a list of them could.
    """
    title = next((title for title in check.twins if twin_problems.get(title)), None)
    if title is None:
        return []
    twin = check.twins[title]
    shapes = ", ".join(f"{name} {np.shape(grad)}" for name, grad in twin.expected["grads"].items())
    drawn = f"a case like '{title}' with numbers drawn for this feedback (inputs {shapes})"
    return [f"{drawn}: {twin_problems[title]}"]


def verdict(check, answers):
    """(passed, feedback) for a check: it passes only if every case does.

    `answers` holds one (results, payload) per request of the check (`Check.requests`),
    or a WorkerFailed for a request the worker gave no answer to. What a hidden request's
    failure shows is its kind only: a number the hand-in chose (an exit status, a count) could
    spell a hidden input.
    """
    problems, failures = [], []
    twins = {id(twin): title for title, twin in check.twins.items()}
    for request, answer in zip(check.requests, answers):
        visible = request.cases[0].visible
        if isinstance(answer, Exception):
            failures.append((request, str(answer) if visible else answer.kind))
            continue
        results, payload = answer
        if len(results) != len(request.cases):
            answered = f"the worker answered {len(results)} of {len(request.cases)} cases"
            failures.append((request, answered if visible else "not every case was answered"))
            continue
        if answered_right(request, results, payload):
            problems += [(case, None) for case in request.cases]
            continue
        problems += [
            (case, judge_case(case, result, payload))
            for case, result in zip(request.cases, results)
        ]
    twin_problems = {twins[id(case)]: problem for case, problem in problems if id(case) in twins}
    problems = [(case, problem) for case, problem in problems if id(case) not in twins]
    lines = [f"{case.title}: {problem}" for case, problem in problems if problem and case.visible]
    lines += [why for request, why in failures if request.cases[0].visible]
    hidden_total = len(check.hidden)
    failed = [case.title for case, problem in problems if problem and not case.visible]
    failed += [
        case.title
        for request, _ in failures
        if not request.cases[0].visible
        for case in request.cases
    ]
    # when the notebook's own case fails, that is the thing to fix first
    hint = "" if lines else f"; {hidden_hint(check)}"
    hidden_why = next(
        (f" ({why})" for request, why in failures if not request.cases[0].visible), ""
    )
    if failed:
        # not how many: the hand-in chooses which fail, so a count could spell a hidden input
        lines.append(f"fails some of its {hidden_total} hidden cases{hidden_why}{hint}")
        lines += _twin_feedback(check, twin_problems)
    if lines:
        return False, "\n".join(lines)
    return (
        True,
        f"all {len(check.cases)} cases pass ({len(check.cases) - hidden_total} from the notebook, "
        f"{hidden_total} hidden)",
    )
