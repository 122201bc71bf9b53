"""gradcheck passes every correct backward of the reference engine and catches wrong ones."""

import numpy as np
import pytest

from toolbox_solution import toolbox as tb
from toolbox_solution.gradcheck import GradcheckError, gradcheck
from toolbox_solution.toolbox import Tensor


def tensor(shape, seed, low=-2.0, high=2.0):
    return Tensor(np.random.default_rng(seed).uniform(low, high, size=shape), requires_grad=True)


# One function per operation, with inputs away from kinks and domain edges.
OPERATIONS = {
    "Add (broadcast)": (lambda a, b: a + b, [(2, 3), (3,)]),
    "Sub and Neg": (lambda a, b: a - b - a, [(2, 3), (2, 3)]),
    "Mul (broadcast)": (lambda a, b: a * b, [(2, 3), (2, 1)]),
    "Div": (lambda a, b: a / (b + 3.0), [(2, 2), (2, 2)]),
    "Pow": (lambda a: (a + 3.0) ** 1.5, [(3,)]),
    "MatMul": (lambda a, b: a @ b, [(2, 3), (3, 4)]),
    "ReLU": (lambda a: tb.relu(a), [(2, 3)]),
    "Exp": (lambda a: tb.exp(a), [(4,)]),
    "Log": (lambda a: tb.log(a * a + 1.0), [(4,)]),
    "Sum": (lambda a: a.sum(dim=1), [(3, 4)]),
    "Mean": (lambda a: a.mean(), [(3, 4)]),
    "GetItem (repeated index)": (lambda a: a[np.array([0, 2, 0])], [(3, 2)]),
}


@pytest.mark.parametrize("name", OPERATIONS)
def test_passes_correct_backward_of_every_operation(name):
    fn, shapes = OPERATIONS[name]
    inputs = [tensor(shape, seed) for seed, shape in enumerate(shapes)]
    if name == "ReLU":  # keep every element at least 0.1 away from the kink
        inputs[0].data += np.sign(inputs[0].data) * 0.1
    assert gradcheck(fn, *inputs) is True


class SwappedMul(tb.Function):
    """a * b whose backward hands each input the other's gradient: a planted mistake."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, grad):
        return grad * self.a, grad * self.b


def test_catches_planted_wrong_backward_and_says_where():
    a, b = tensor((2, 3), 0), tensor((2, 3), 1)
    with pytest.raises(GradcheckError) as caught:
        gradcheck(lambda a, b: SwappedMul.apply(a, b), a, b)
    message = str(caught.value)
    assert "argument a (shape (2, 3))" in message and "argument b (shape (2, 3))" in message
    position, index, analytic, numeric, error = caught.value.mismatches[0]
    assert (position, index) == (0, (0, 0))
    # Both carry the same output weight: backward gave weight * a where weight * b is right.
    assert analytic / numeric == pytest.approx(a.data[0, 0] / b.data[0, 0], rel=1e-6)
    assert error == pytest.approx(abs(analytic - numeric) / (abs(analytic) + abs(numeric)))
    assert f"element (0, 0): backward {analytic:.6g}, numeric {numeric:.6g}" in message


def test_catches_wrong_gradient_in_one_element_of_a_non_scalar_output():
    class WrongInOnePlace(tb.Function):
        def forward(self, a):
            return 2 * a

        def backward(self, grad):
            wrong = 2 * grad
            wrong[1, 2] *= 1.01
            return (wrong,)

    with pytest.raises(GradcheckError) as caught:
        gradcheck(lambda a: WrongInOnePlace.apply(a), tensor((2, 3), 0))
    assert [m[:2] for m in caught.value.mismatches] == [(0, (1, 2))]


def test_reports_an_input_that_received_no_gradient():
    with pytest.raises(GradcheckError, match="no gradient at all"):
        gradcheck(lambda a, b: a * Tensor(b.data), tensor((2,), 0), tensor((2,), 1))


def test_checks_only_inputs_that_require_grad_and_restores_their_grad():
    a, constant = tensor((3,), 0), Tensor(np.array([1.0, 2.0, 3.0]))
    a.grad = np.full(3, 7.0)
    assert gradcheck(lambda a, c: a * c, a, constant)
    assert np.array_equal(a.grad, np.full(3, 7.0)) and constant.grad is None


def test_refuses_when_nothing_requires_grad():
    with pytest.raises(ValueError, match="requires_grad=True"):
        gradcheck(lambda a: a * 2, Tensor([1.0, 2.0]))


@pytest.mark.parametrize("helper", ["gradcheck.py", "drawgraph.py"])
def test_student_helpers_import_nothing_but_numpy_and_the_standard_library(helper):
    """They ship in the release beside the student's toolbox.py, so they must not import it."""
    import ast
    import sys

    from toolbox_solution import SOURCE_DIR

    tree = ast.parse((SOURCE_DIR / helper).read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {
        node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
    }
    assert imported - {"numpy"} <= set(sys.stdlib_module_names), (
        f"{helper} imports {sorted(imported)}"
    )


def test_at_a_kink_any_value_between_the_one_sided_slopes_passes_with_a_warning():
    x = Tensor(np.array([-1.0, 0.0, 2.0]), requires_grad=True)
    with pytest.warns(UserWarning, match=r"argument x element \(1,\) is at a kink"):
        assert gradcheck(lambda x: tb.relu(x), x)


def test_at_a_kink_a_value_outside_the_slopes_still_fails(monkeypatch):
    def too_steep(self, grad):
        return (grad * (self.a > 0) + 3.0 * grad * (self.a == 0),)

    monkeypatch.setattr(tb.ReLU, "backward", too_steep)
    x = Tensor(np.array([-1.0, 0.0, 2.0]), requires_grad=True)
    with pytest.raises(GradcheckError, match=r"element \(1,\)"):
        gradcheck(lambda x: tb.relu(x), x)


def test_the_report_names_the_argument_and_the_last_operation(monkeypatch):
    monkeypatch.setattr(tb.Mul, "backward", lambda self, grad: (grad * self.b, grad))
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    w = Tensor(np.array([3.0, -1.0]), requires_grad=True)
    with pytest.raises(GradcheckError) as raised:
        gradcheck(lambda x, w: x * w, x, w)
    report = str(raised.value)
    assert "backward through the function (its last operation is Mul)" in report
    assert "argument w (shape (2,))" in report and "argument x" not in report
    assert "<lambda>" not in report and "input 1" not in report
