"""The grader's expected answers are right: central differences of the reference's forward pass agree with them.

Students are compared with `toolbox_solution` only, so the smooth cases the
grader draws must have expected gradients that an independent method
confirms. A grading run draws fresh random cases; here eight fixed seeds stand
for them, on top of the engine's own property tests (test_engine_properties.py).
"""
import numpy as np
import pytest

import toolbox_solution
from central_differences import agrees, numerical_gradients, relative_error
from grader.cases import case, checks, one_op
from grader.worker import evaluate

SEEDS = range(8)


def central_differences(checked_case):
    """Each wanted input's gradient of sum(output * grad), from the reference's forward pass alone."""
    request = checked_case.request
    weight = 1.0 if request.get("grad") is None else request["grad"]
    names = request["wants"]

    def weighted_output(*arrays):
        inputs = {**request["inputs"], **dict(zip(names, arrays))}
        value = evaluate(toolbox_solution.toolbox, toolbox_solution.nn, {**request, "inputs": inputs}, backward=False)["value"]
        return float(np.sum(value * weight))

    return dict(zip(names, numerical_gradients(weighted_output, [request["inputs"][name] for name in names])))


def disagreements(checked_case):
    """{input name: relative error} for each expected gradient that central differences do not confirm."""
    expected = checked_case.expected["grads"]
    return {name: relative_error(expected[name], numeric)
            for name, numeric in central_differences(checked_case).items() if not agrees(expected[name], numeric)}


@pytest.mark.parametrize("seed", SEEDS)
def test_expected_gradients_agree_with_central_differences(seed):
    smooth = [(check.grade_id, c) for check in checks(seed=seed) for c in check.cases if c.smooth]
    assert len(smooth) > 80  # nearly every case is smooth; the few on a kink are marked
    wrong = {(grade_id, c.title): disagreements(c) for grade_id, c in smooth}
    assert {key: errors for key, errors in wrong.items() if errors} == {}


def test_the_comparison_catches_a_wrong_expected_gradient():
    right = case("x * y", {"x": [1.0, -2.0], "y": [3.0, 0.5]}, one_op("mul", "x", "y"), grad=np.ones(2))
    assert disagreements(right) == {}
    swapped = {**right.expected, "grads": {"x": right.expected["grads"]["y"], "y": right.expected["grads"]["x"]}}
    assert set(disagreements(type(right)(right.title, False, right.request, swapped, True))) == {"x", "y"}


def test_cases_on_a_kink_are_not_marked_smooth():
    relu = next(check for check in checks(seed=0) if check.grade_id == "relu")
    at_zero = [c for c in relu.cases if np.any(c.request["inputs"]["x" if "x" in c.request["inputs"] else "A"] == 0)]
    assert at_zero and not any(c.smooth for c in at_zero)


def test_random_cases_change_with_the_seed_and_notebook_cases_do_not():
    first, second = checks(seed=1), checks(seed=2)
    for a, b in zip(first, second):
        assert [c.title for c in a.cases] == [c.title for c in b.cases]
        visible_a = [c.request["inputs"] for c in a.cases if c.visible]
        visible_b = [c.request["inputs"] for c in b.cases if c.visible]
        assert all(np.array_equal(x[k], y[k]) for x, y in zip(visible_a, visible_b) for k in x)
    assert any(not np.array_equal(x.request["inputs"][k], y.request["inputs"][k])
               for a, b in zip(first, second) for x, y in zip(a.cases, b.cases) for k in x.request["inputs"])
