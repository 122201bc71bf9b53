"""The grader's expected answers are right: central differences of the reference's forward pass
agree with them.

Students are compared with `toolbox_solution` only, so the smooth cases the
grader draws must have expected gradients that an independent method
confirms. A grading run draws fresh random cases; here eight fixed seeds stand
for them, on top of the engine's own property tests (test_engine_properties.py).
"""

import numpy as np
import pytest
from central_differences import agrees, numerical_gradients, relative_error
from handins import BACKPROP

import toolbox_solution
from grader.assignments.backprop.cases import REFERENCE, case, one_op
from grader.assignments.backprop.compute import evaluate
from grader.cases import checks
from grader.judge import judge_case
from grader.sandbox.worker import Payload

SEEDS = range(8)


def central_differences(checked_case):
    """Each wanted input's gradient of sum(output * grad), from the reference's forward pass
    alone."""
    request = checked_case.request
    weight = 1.0 if request.get("grad") is None else request["grad"]
    names = request["wants"]

    def weighted_output(*arrays):
        inputs = {**request["inputs"], **dict(zip(names, arrays))}
        value = evaluate(REFERENCE, {**request, "inputs": inputs}, backward=False)["value"]
        return float(np.sum(value * weight))

    return dict(
        zip(
            names, numerical_gradients(weighted_output, [request["inputs"][name] for name in names])
        )
    )


def disagreements(checked_case):
    """{input name: relative error} for each expected gradient that central differences do not
    confirm."""
    expected = checked_case.expected["grads"]
    return {
        name: relative_error(expected[name], numeric)
        for name, numeric in central_differences(checked_case).items()
        if not agrees(expected[name], numeric)
    }


@pytest.mark.parametrize("seed", SEEDS)
def test_expected_gradients_agree_with_central_differences(seed):
    smooth = [
        (check.grade_id, c)
        for check in checks(BACKPROP, seed=seed)
        for c in check.cases
        if c.smooth
    ]
    assert len(smooth) > 80  # nearly every case is smooth; the few on a kink are marked
    wrong = {(grade_id, c.title): disagreements(c) for grade_id, c in smooth}
    assert {key: errors for key, errors in wrong.items() if errors} == {}


def test_the_comparison_catches_a_wrong_expected_gradient():
    right = case(
        "x * y", {"x": [1.0, -2.0], "y": [3.0, 0.5]}, one_op("mul", "x", "y"), grad=np.ones(2)
    )
    assert disagreements(right) == {}
    swapped = {
        **right.expected,
        "grads": {"x": right.expected["grads"]["y"], "y": right.expected["grads"]["x"]},
    }
    wrong = type(right)(right.title, False, right.request, lambda request: swapped, True)
    assert set(disagreements(wrong)) == {"x", "y"}


def test_cases_on_a_kink_are_not_marked_smooth():
    relu = next(check for check in checks(BACKPROP, seed=0) if check.grade_id == "relu")
    given = [
        c for c in relu.cases if "inputs" in c.request
    ]  # a large case draws its inputs in the worker, away from 0
    at_zero = [
        c
        for c in given
        if np.any(c.request["inputs"]["x" if "x" in c.request["inputs"] else "A"] == 0)
    ]
    assert at_zero and not any(c.smooth for c in at_zero)


def test_random_cases_change_with_the_seed_and_notebook_cases_do_not():
    first, second = checks(BACKPROP, seed=1), checks(BACKPROP, seed=2)
    for a, b in zip(first, second):
        assert [c.title for c in a.cases] == [c.title for c in b.cases]
        visible_a = [c.request["inputs"] for c in a.cases if c.visible]
        visible_b = [c.request["inputs"] for c in b.cases if c.visible]
        assert all(np.array_equal(x[k], y[k]) for x, y in zip(visible_a, visible_b) for k in x)
    assert any(
        not np.array_equal(x.request["inputs"][k], y.request["inputs"][k])
        for a, b in zip(first, second)
        for x, y in zip(a.cases, b.cases)
        for k in x.request["inputs"]
    )


def encoded(outcome):
    """A worker's answer to one case, and the payload its arrays lie in."""
    payload = Payload()
    result = {
        "value": payload.add(outcome["value"]),
        "grads": {name: payload.add(g) for name, g in outcome["grads"].items()},
    }
    return result, b"".join(payload.chunks)


def test_a_case_with_a_huge_entry_catches_a_backward_by_central_differences(monkeypatch):
    multiplication = next(
        check for check in checks(BACKPROP, seed=0) if check.grade_id == "multiplication"
    )
    huge = next(c for c in multiplication.cases if "huge" in c.title)
    ordinary = next(c for c in multiplication.cases if c.title == "random (3, 4) mul (3, 4)")

    def by_differences(self, grad):  # what a student could write without knowing the derivative
        return tuple(
            numerical_gradients(
                lambda a, b: float(np.sum(self.forward(a, b) * grad)), [self.a, self.b]
            )
        )

    monkeypatch.setattr(toolbox_solution.toolbox.Mul, "backward", by_differences)
    run = lambda c: judge_case(c, *encoded(evaluate(REFERENCE, c.request)))  # noqa: E731
    assert run(ordinary) is None  # on ordinary numbers it agrees with the chain rule
    assert run(huge) is not None


def test_every_check_has_cases_no_numerical_backward_passes():
    for check in checks(BACKPROP, seed=0):
        assert any("huge" in c.title for c in check.cases), check.grade_id
        generated = [c.request["generate"] for c in check.cases if "generate" in c.request]
        # a numerical backward makes a forward pass per input entry: tens of thousands, each over as
        # many numbers or more
        assert (
            generated
            and max(
                int(np.prod(shape)) for spec in generated for _, shape in spec["inputs"].values()
            )
            >= 20_000
        ), check.grade_id
    network = next(check for check in checks(BACKPROP, seed=0) if check.grade_id == "network")
    classes, batch = next(
        c.request["generate"]["target"] for c in network.cases if "generate" in c.request
    )
    assert classes * batch >= 20_000  # the loss node's input, the logits, is as large as the others


def test_a_large_case_travels_as_a_seed_and_comes_back_whole_so_one_wrong_entry_fails_it():
    from grader.assignments.backprop.compute import generated

    spec = {"seed": 7, "inputs": {"x": ("positive", [30, 40])}, "grad": [30, 40], "target": None}
    first, again = generated(spec), generated(spec)
    assert np.array_equal(first["inputs"]["x"], again["inputs"]["x"]) and first["grad"].shape == (
        30,
        40,
    )
    assert first["inputs"]["x"].min() >= 0.5 and len(np.unique(first["inputs"]["x"])) == 1200
    for check in checks(BACKPROP, seed=3):
        (large,) = [c for c in check.cases if "generate" in c.request]
        assert (
            large.expected["value"] is None and large.request["value"] is False
        )  # the given forward's: not asked
        right = evaluate(REFERENCE, large.request)
        assert judge_case(large, *encoded(right)) is None, check.grade_id
        name, grad = next(iter(right["grads"].items()))
        wrong = grad.copy()
        wrong.reshape(-1)[np.random.default_rng(0).integers(wrong.size)] += 1e-3 * (
            1 + abs(wrong).max()
        )
        assert "expected" in judge_case(
            large, *encoded({**right, "grads": {**right["grads"], name: wrong}})
        )


def test_large_inputs_are_fresh_arrays_that_differ_by_input_and_seed():
    from grader.assignments.backprop.compute import SEQUENCE, WINDOW, generated

    spec = {"seed": 11, "inputs": {"a": ("mixed", [300, 400]), "b": ("mixed", [300, 400])}}
    drawn = generated({**spec, "grad": [300, 400]})
    a, b, grad = drawn["inputs"]["a"], drawn["inputs"]["b"], drawn["grad"]
    for array in (a, b, grad):  # each its own: a hand-in that changes one in place changes no other
        assert array.flags.writeable and not np.shares_memory(array, SEQUENCE)
    assert np.abs(a - b).mean() > 0.5 and np.abs(grad - a / 2).mean() > 0.25
    assert -2 <= a.min() < -1.9 and 1.9 < a.max() < 2  # mixed: both signs, the whole range
    a[...] = 0
    assert np.array_equal(generated(spec)["inputs"]["b"], b)
    assert not np.array_equal(generated({**spec, "seed": 12})["inputs"]["a"], b)
    with pytest.raises(ValueError, match=f"at most {WINDOW} numbers"):
        generated({"seed": 1, "inputs": {"x": ("mixed", [WINDOW + 1])}})


def test_a_case_drawn_for_feedback_shares_no_array_with_its_hidden_case():
    from grader.cases import _arrays

    for check in checks(BACKPROP, seed=5):
        hidden = {case.title: case for case in check.hidden}
        assert set(check.twins) <= set(hidden), check.grade_id
        for title, twin in check.twins.items():
            pairs = zip(_arrays(hidden[title].request), _arrays(twin.request))
            assert not any(np.array_equal(a, b) for a, b in pairs), (check.grade_id, title)
        # a hidden test with fixed numbers (the notebook's) has none: it would show them
        assert "3 * (x * w) - x" not in check.twins


def test_building_the_checks_asks_the_reference_only_for_the_cases_and_twins_kept(monkeypatch):
    """The second draw, made for feedback, holds a twin of every case; only the hidden cases'
    small twins are shown, so the others (the large cases' among them) cost no reference answer:
    that answer would be a tenth of the time spent before the first hand-in is graded."""
    import grader.assignments.backprop.cases as backprop_cases
    from grader.assignments.backprop.cases import BUILDERS
    from grader.cases import _all_drawn_anew, rng_for

    asked = []

    def counted(request):
        asked.append(request)
        return evaluate(REFERENCE, request)

    monkeypatch.setattr(backprop_cases, "ANSWER", counted)
    built = checks.__wrapped__(BACKPROP, seed=11)  # not the cached checks of seed 11
    asked_ids = [id(request) for request in asked]
    assert len(set(asked_ids)) == len(asked_ids)  # none asked twice
    kept = [case for check in built for case in (*check.cases, *check.twins.values())]
    assert {id(case.request) for case in kept} <= set(asked_ids)
    # the only others asked: twins drawn anew for a hidden case, found too large to show
    candidates = 0
    for check in built:
        build = BUILDERS[check.grade_id]
        for drawn, twin in zip(check.cases, build(rng_for(11, check.grade_id, stream=1))):
            candidates += not drawn.visible and _all_drawn_anew(drawn.request, twin.request)
    twins = sum(len(check.twins) for check in built)
    assert 0 < twins <= candidates
    assert len(asked) == len(kept) + candidates - twins
