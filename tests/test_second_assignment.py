"""The generic grader knows no assignment by name: a second, tiny one, defined only here (its
release, its grading package, its hand-ins), is graded by the same sandbox, session, judge and
class run, with nothing of the grader changed."""

import json
import textwrap

import pytest

from grader.assignments import Assignment
from grader.cases import checks
from grader.grading import Grading
from grader.run import grade_class, grade_submission
from grader.sandbox import Limits, choose_sandbox

GIVEN = '''\
"""Scale a vector by three, and send a gradient back through it."""

import numpy as np


def forward(x):
    return 3.0 * np.asarray(x)


def backward(x, grad):
    """The gradient of sum(forward(x) * grad) with respect to x."""
    # YOUR CODE HERE
    raise NotImplementedError()
'''
COMPUTE = """\
import numpy as np


def evaluate(modules, case, backward=True):
    scale, x = modules["scale"], case["inputs"]["x"]
    grads = {"x": scale.backward(x, case["grad"])} if backward else {}
    return {"value": scale.forward(x), "grads": grads}
"""
CASES = """\
import functools
import types

import numpy as np

from grader.cases import Case
from tiny_grading.compute import evaluate

REFERENCE = {
    "scale": types.SimpleNamespace(forward=lambda x: 3.0 * x, backward=lambda x, g: 3.0 * g)
}


def case(title, x, grad, visible=False):
    request = {"inputs": {"x": np.asarray(x, float)}, "grad": np.asarray(grad, float)}
    return Case(title, visible, request, functools.partial(evaluate, REFERENCE), True)


def scaling(rng):
    return [
        case("scale [1, 2]", [1.0, 2.0], [1.0, 1.0], visible=True),
        case("a random vector", rng.normal(size=5), rng.normal(size=5)),
    ]


BUILDERS = {"scaling": scaling}
HIDDEN_KINDS = {"scaling": "random vectors"}
"""
GRADED_CELL = {
    "cell_type": "code",
    "metadata": {"nbgrader": {"grade": True, "grade_id": "scaling", "points": 2}},
    "source": "assert True",
    "outputs": [],
    "execution_count": None,
}


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """The assignment "scale": one file students complete, one check worth 2 points."""
    package = tmp_path / "grading" / "tiny_grading"
    package.mkdir(parents=True)
    for name, text in {"__init__.py": "", "compute.py": COMPUTE, "cases.py": CASES}.items():
        (package / name).write_text(text)
    monkeypatch.syspath_prepend(str(package.parent))
    release = tmp_path / "release" / "scale"
    release.mkdir(parents=True)
    (release / "scale.py").write_text(GIVEN)
    notebook = {"cells": [GRADED_CELL], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (release / "scale.ipynb").write_text(json.dumps(notebook))
    return Assignment("scale", release, ("scale.py",), "tiny_grading")


def hand_in(folder, body):
    folder.mkdir(parents=True)
    stub = "    # YOUR CODE HERE\n    raise NotImplementedError()\n"
    (folder / "scale.py").write_text(GIVEN.replace(stub, textwrap.indent(body, "    ")))
    return folder


@pytest.mark.parametrize("sandbox", ["bubblewrap", "process"])
def test_a_second_assignment_is_graded_by_the_same_grader(tmp_path, tiny, sandbox):
    if sandbox == "bubblewrap" and not choose_sandbox().use_bwrap:
        pytest.skip(f"bubblewrap cannot run here ({choose_sandbox().name})")
    grading = Grading(tiny, Limits(case_seconds=5, submission_seconds=30), sandbox)
    assert [(c.grade_id, c.points) for c in checks(tiny, 0)] == [("scaling", 2.0)]
    right = hand_in(tmp_path / "ada" / "scale", "return 3.0 * np.asarray(grad)\n")
    wrong = hand_in(tmp_path / "bob" / "scale", "return np.asarray(grad)\n")
    stub = hand_in(tmp_path / "cy" / "scale", "# YOUR CODE HERE\nraise NotImplementedError()\n")
    ada, bob, cy = grade_class([("ada", right), ("bob", wrong), ("cy", stub)], grading)
    assert (ada.status, ada.score, ada.max_score) == ("graded", 2.0, 2.0)
    assert (bob.status, bob.score) == ("graded", 0.0)
    assert "scale [1, 2]" in bob.checks[0].output  # the visible case explains itself
    assert (cy.score, cy.checks[0].passed) == (0.0, False)


def test_a_second_assignments_own_rules_refuse_its_hand_ins(tmp_path, tiny):
    grading = Grading(tiny, Limits(case_seconds=5, submission_seconds=30), "process")
    missing = tmp_path / "ada" / "scale"
    missing.mkdir(parents=True)
    (missing / "toolbox.py").write_text("x = 1\n")  # another assignment's file
    result = grade_submission("ada", missing, grading)
    assert result.status == "missing file" and "scale.py is missing" in result.message
    changed = hand_in(tmp_path / "bob" / "scale", "return 3.0 * grad\n")
    (changed / "scale.py").write_text(
        (changed / "scale.py").read_text().replace("3.0 * np.asarray(x)", "x")
    )
    assert grade_submission("bob", changed, grading).status == "changed given code"
