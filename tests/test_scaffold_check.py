"""Hand-ins may change only the stubbed function bodies; the rest of the engine is the release's.

Without this rule a hand-in that rewrites Tensor.backward to differentiate
numerically passes the gradient checks with no backward function written.
"""

import ast
import textwrap

import pytest
from handins import BACKPROP, CENTRAL_DIFFERENCES, grade_handin, solution, stubs, write_handin

from base.handin import Unusable, check_given_code_unchanged
from base.handin import changed_definition as changed_given
from grader.sandbox import Limits
from grader.submission import code_stub

RELEASE_DIR = BACKPROP.release_dir


def changed(given_text, handed_in, siblings=()):
    return changed_given(given_text, handed_in, code_stub(), siblings)


RELEASED = (RELEASE_DIR / "toolbox.py").read_text(encoding="utf-8")

# Every gradient by central differences of each operation's own forward, inside the given
# Tensor.backward.
NUMERIC_ENGINE = RELEASED.replace(
    "input_grads = fn.backward(node_grad)",
    textwrap.indent(CENTRAL_DIFFERENCES, " " * 12).lstrip()
    + " " * 12
    + "input_grads = numeric(fn, node_grad)",
).replace("fn.inputs = tensors\n", "fn.inputs, fn.options = tensors, options\n")


@pytest.mark.parametrize("files", [solution, stubs], ids=["solution", "stubs"])
def test_the_files_students_may_hand_in_pass(files):
    for name, text in files().items():
        assert changed((RELEASE_DIR / name).read_text(encoding="utf-8"), ast.parse(text)) is None


def test_formatting_comments_and_docstrings_are_free():
    edited = RELEASED.replace('"""Elementwise e ** x."""', '"""My own words."""').replace(
        "        return grad, grad\n",
        "        return (grad,\n                grad)  # both inputs\n",
    )
    assert edited != RELEASED and changed(RELEASED, ast.parse(edited)) is None


@pytest.mark.parametrize(
    "edit, where",
    [
        (
            lambda text: text.replace(
                "input_grads = fn.backward(node_grad)", "input_grads = cheat(fn, node_grad)"
            ),
            "Tensor.backward",
        ),
        (
            lambda text: text.replace(
                "    def backward(self, grad):\n        raise NotImplementedError\n",
                "    def backward(self, grad):\n        return cheat(self, grad)\n",
                1,
            ),
            "Function.backward",
        ),
        (
            lambda text: text.replace("return np.maximum(a, 0.0)", "return np.maximum(a, 1e-300)"),
            "ReLU.forward",
        ),
        (lambda text: text + "\nTensor.backward = None\n", f"line {RELEASED.count(chr(10)) + 2}"),
        (lambda text: text.replace("import numbers\n", ""), "module level"),
    ],
)
def test_changes_to_given_code_are_named(edit, where):
    assert changed(RELEASED, ast.parse(edit(RELEASED))) == where


HELPERS = """
import math
from functools import reduce as fold
import numpy.linalg


def unbroadcast_sum(grad, axis=None, *, keepdims: bool = False, scale=-1.0) -> np.ndarray:
    return np.sum(grad, axis=axis, keepdims=keepdims) * math.fabs(scale)
"""


def test_added_imports_and_helper_functions_are_free():
    at_the_top = RELEASED.replace("import numbers\n", "import numbers\n" + HELPERS, 1)
    assert at_the_top != RELEASED and changed(RELEASED, ast.parse(at_the_top)) is None
    assert changed(RELEASED, ast.parse(RELEASED + HELPERS)) is None


@pytest.mark.parametrize(
    "addition",
    [
        "import math as np",  # rebinds a given name
        # replaces a given function
        "def reduce_to_shape(grad, shape, fn=None, position=0):\n    return grad",
        "def len(x):\n    return 0",  # shadows a builtin the given code calls
        "def __getattr__(name):\n    return None",  # a dunder changes how the module behaves
        "from numpy import *",  # could rebind anything
        "@print\ndef helper():\n    pass",  # a decorator runs on import
        "def helper(x=setattr(Tensor, 'backward', None)):\n    pass",  # so does a default value
        "def helper(x: Tensor.__init__(None) = 1):\n    pass",  # and an annotation
        "helper = 1",  # any other statement
    ],
)
def test_additions_that_could_change_the_given_code_are_refused(addition):
    assert changed(RELEASED, ast.parse(RELEASED + "\n" + addition + "\n")) is not None


def test_a_copy_of_a_given_import_is_free_anywhere():
    assert (
        changed(RELEASED, ast.parse("import numpy as np\n" + RELEASED + "\nimport numpy as np\n"))
        is None
    )
    assert (
        changed(RELEASED, ast.parse(RELEASED.replace("import numbers\n", "", 1))) == "module level"
    )


def test_a_copied_given_definition_is_named_by_its_line():
    copy = RELEASED[
        RELEASED.index("def as_tensor(") : RELEASED.index(
            "\n\n\n", RELEASED.index("def as_tensor(")
        )
    ]
    line = RELEASED.count("\n") + 3
    assert changed(RELEASED, ast.parse(RELEASED + "\n\n" + copy + "\n")) == (
        f"line {line} (it rebinds as_tensor, which the file or Python already defines)"
    )
    decorated = RELEASED + "\n\n@print\ndef helper():\n    pass\n"
    assert (
        changed(RELEASED, ast.parse(decorated))
        == f"line {line} (a decorator runs code when the file is imported)"
    )


def test_a_refused_addition_is_named_with_its_reason():
    line = RELEASED.count("\n") + 2
    assert changed(RELEASED, ast.parse(RELEASED + "\nfrom math import log, exp\n")) == (
        f"line {line} (it rebinds exp, log, which the file or Python already defines)"
    )
    assert (
        changed(RELEASED, ast.parse(RELEASED + "\nfrom numpy import *\n"))
        == f"line {line} (a star import could rebind any name)"
    )


@pytest.mark.parametrize(
    "addition, module",
    [
        ("import torch", "torch"),
        ("import json, my_helpers", "my_helpers"),
        ("from scipy.special import expit", "scipy.special"),
        ("from . import nn", "."),
    ],
)
def test_an_import_the_worker_cannot_satisfy_is_refused_by_name(addition, module):
    line = RELEASED.count("\n") + 2
    siblings = ("toolbox", "nn")
    assert changed(RELEASED, ast.parse(f"{RELEASED}\n{addition}\n"), siblings) == (
        f"line {line} (grading has no module {module}: only the standard library, numpy, toolbox "
        "and nn)"
    )


def test_a_numeric_engine_earns_nothing_and_is_told_why(tmp_path):
    handin = write_handin(
        tmp_path / "numeric" / "backprop", {**stubs(), "toolbox.py": NUMERIC_ENGINE}
    )
    refused = grade_handin("numeric", handin)
    assert refused.status == "changed given code" and refused.score == 0
    assert "Tensor.backward" in refused.message and "YOUR CODE HERE" in refused.message
    # The rule is what refused it: allowed through, its checks run (and fail the huge and large
    # cases).
    allowed = grade_handin(
        "numeric", handin, Limits(case_seconds=1, submission_seconds=8), allow_changed_code=True
    )
    # graded, not refused (on a busy machine its time may run out before the last checks)
    assert allowed.status == "graded", allowed.message
    assert not allowed.checks[0].output.startswith("not graded"), allowed.checks[0].output


def test_course_grade_tells_the_instructor_about_changed_given_code(tmp_path, capsys):
    from course.cli import main as course

    write_handin(
        tmp_path / "submitted" / "numeric" / "backprop", {**stubs(), "toolbox.py": NUMERIC_ENGINE}
    )
    assert (
        course(
            [
                "grade",
                "backprop",
                f"--submitted={tmp_path / 'submitted'}",
                f"--out={tmp_path / 'out'}",
                "--jobs=1",
            ]
        )
        == 0
    )
    assert "grade again with --allow-changed-code" in capsys.readouterr().out


@pytest.mark.parametrize(
    "line, harmless",
    [
        ('print("backward", self.data.shape, grad)', True),
        ("print(f'grad {grad!r} at {self.data[0]}')", True),
        ("assert self.requires_grad, self.grad", True),
        ("assert self.data.shape == (2, 3) or self.grad is None", True),
        ("print(helper(grad))", False),  # a call: any code of the student's could run
        ("print(self.data, file=log)", False),  # where it writes is chosen by the hand-in
        ("assert numpy_check(self.data)", False),
        ("grad = grad * 0", False),
    ],
)
def test_a_debugging_print_or_assert_in_given_code_is_ignored_unless_it_calls(line, harmless):
    start = '        """Backpropagate from this tensor'
    assert RELEASED.count(start) == 1
    edited = RELEASED.replace(start, f"        {line}\n{start}", 1)  # its docstring moves down
    changed_at = changed(RELEASED, ast.parse(edited))
    assert (changed_at is None) == harmless, changed_at
    if not harmless:
        assert changed_at == "Tensor.backward"


@pytest.mark.parametrize(
    "line, harmless",
    [("print('pending', previous)", True), ("previous = None", False)],
)
def test_the_rule_for_prints_holds_in_nested_blocks_too(line, harmless):
    """A print three blocks deep in a given method (for, for, if) is as harmless as one at its
    top, and a change there is as much a change."""
    anchor = "                    previous = pending.get(parent)\n"
    assert RELEASED.count(anchor) == 1
    edited = RELEASED.replace(anchor, f"{anchor}                    {line}\n")
    changed_at = changed(RELEASED, ast.parse(edited))
    assert changed_at == (None if harmless else "Tensor.backward")


def test_a_name_from_the_hand_in_is_cut_short_in_the_message():
    """The message names what was added; a hand-in chooses how long that name is."""
    added = RELEASED + "\nimport " + "a" * 100_000 + "\n"
    with pytest.raises(Unusable, match="grading has no module aaa") as refused:
        check_given_code_unchanged(
            {"toolbox.py": ast.parse(added)}, {"toolbox.py": RELEASED}, code_stub()
        )
    assert len(str(refused.value)) < 1000
