"""What the engine says when it is misused, and the PyTorch habits it keeps.

Errors must name what went wrong and what to do, so a student can act on
them. The last tests strip the solutions the way nbgrader does and check that
a student's starting point imports, runs forward passes, and fails loudly in
every backward still to be written.
"""

import sys
import types

import numpy as np
import pytest

from base.nbgrader_settings import load_config
from base.paths import COURSE_ROOT
from course.strip import strip_solutions
from toolbox_solution import nn
from toolbox_solution import toolbox as tb
from toolbox_solution.toolbox import Tensor


def leaf(data):
    return Tensor(data, requires_grad=True)


# ----- backward misuse -----------------------------------------------------


def test_second_backward_says_the_graph_was_freed_and_what_to_do():
    a = leaf(1.0)
    d = (a + leaf(2.0)) + a
    d.backward()
    with pytest.raises(RuntimeError, match="second time") as error:
        d.backward()
    assert "freed" in str(error.value) and "forward" in str(error.value)


def test_non_scalar_backward_without_gradient_asks_for_one():
    with pytest.raises(RuntimeError, match=r"needs a gradient.*\(2, 3\).*call backward\(grad\)"):
        (leaf(np.ones((2, 3))) * 2).backward()


def test_wrong_shaped_gradient_names_both_shapes():
    with pytest.raises(RuntimeError, match=r"shape \(3,\) for a tensor of shape \(2, 3\)"):
        (leaf(np.ones((2, 3))) * 2).backward(np.ones(3))


def test_backward_on_a_constant_says_how_to_track_gradients():
    with pytest.raises(RuntimeError, match="requires_grad=True"):
        (Tensor(1.0) * 2).backward()


STUDENT_MISTAKES = {
    "one gradient for two inputs": (
        lambda self, grad: grad,
        r"Mul\.backward returned 1 gradient\(s\) for 2 input\(s\)",
    ),
    "transposed gradient": (
        lambda self, grad: (grad.T, grad),
        r"Mul\.backward returned a gradient of shape \(3, 2\) for input 0 of shape \(2, 3\)",
    ),
    "None": (lambda self, grad: (grad, None), r"Mul\.backward returned None for input 1"),
}


@pytest.mark.parametrize("mistake", STUDENT_MISTAKES)
def test_a_broken_student_backward_is_named_in_the_error(monkeypatch, mistake):
    backward, message = STUDENT_MISTAKES[mistake]
    monkeypatch.setattr(tb.Mul, "backward", backward)
    with pytest.raises(RuntimeError, match=message):
        (leaf(np.ones((2, 3))) * leaf(np.ones((2, 3)))).sum().backward()


# ----- operations refusing bad input ----------------------------------------


def test_pow_with_a_tensor_exponent_says_how_to_write_it():
    with pytest.raises(TypeError, match=r"exponent.*exp\(log\(base\) \* exponent\)"):
        leaf([1.0, 2.0]) ** leaf(2.0)


def test_matmul_of_vectors_asks_for_columns():
    with pytest.raises(ValueError, match=r"\(3,\) and \(3, 1\).*columns of shape \(n, 1\)"):
        leaf([1.0, 2.0, 3.0]) @ leaf(np.ones((3, 1)))


BAD_TARGETS = {
    "too few labels": (np.array([0, 1]), ValueError, r"2 label\(s\).*batch of 3 column\(s\)"),
    "label out of range": (np.array([0, 4, 1]), ValueError, r"labels must lie in \[0, 4\)"),
    "negative label": (np.array([0, -1, 1]), ValueError, r"labels must lie in \[0, 4\)"),
    "float labels": (np.array([0.0, 1.0, 2.0]), TypeError, r"integer class labels.*float64"),
}


@pytest.mark.parametrize("case", BAD_TARGETS)
def test_cross_entropy_rejects_bad_targets(case):
    target, error, message = BAD_TARGETS[case]
    with pytest.raises(error, match=message):
        nn.CrossEntropyLoss().forward(leaf(np.zeros((4, 3))), target)


# ----- PyTorch habits -------------------------------------------------------


def test_gradients_accumulate_until_zero_grad():
    x = leaf([1.0, 2.0])
    for _ in range(2):
        (x * x).sum().backward()
    assert np.allclose(x.grad, 2 * (2 * x.data))
    x.zero_grad()
    assert x.grad is None
    (x * x).sum().backward()
    assert np.allclose(x.grad, 2 * x.data)


def test_intermediate_tensors_hold_their_gradients():
    x = leaf([1.0, 2.0, 3.0])
    y = x * 2
    z = tb.exp(y).sum()
    z.backward()
    assert np.allclose(z.grad, 1.0)
    assert np.allclose(y.grad, np.exp(y.data))
    assert np.allclose(x.grad, 2 * np.exp(y.data))


def test_constants_receive_no_gradient():
    x, c = leaf([1.0, 2.0]), Tensor([3.0, 4.0])
    (x * c).sum().backward()
    assert c.grad is None and np.allclose(x.grad, c.data)


def test_power_zero_has_zero_gradient_even_at_zero():
    x = leaf([0.0, 2.0])
    with np.errstate(all="raise"):  # no 0 * inf on the way
        (x**0).sum().backward()
    assert np.array_equal(x.grad, [0.0, 0.0])


NUMBERS_AND_ARRAYS = {
    "2 * t": (lambda t: 2 * t, lambda v: 2 * v, lambda v: 2 + 0 * v),
    "t - 1": (lambda t: t - 1, lambda v: v - 1, lambda v: 1 + 0 * v),
    "1 - t": (lambda t: 1 - t, lambda v: 1 - v, lambda v: -1 + 0 * v),
    "1 / t": (lambda t: 1 / t, lambda v: 1 / v, lambda v: -1 / v**2),
    "ndarray * t": (
        lambda t: np.array([3.0, -1.0]) * t,
        lambda v: np.array([3.0, -1.0]) * v,
        lambda v: np.array([3.0, -1.0]),
    ),
    "ndarray + t": (
        lambda t: np.array([3.0, -1.0]) + t,
        lambda v: np.array([3.0, -1.0]) + v,
        lambda v: 1 + 0 * v,
    ),
}


@pytest.mark.parametrize("case", NUMBERS_AND_ARRAYS)
def test_numbers_and_arrays_on_either_side(case):
    operation, value, derivative = NUMBERS_AND_ARRAYS[case]
    t = leaf([2.0, 4.0])
    out = operation(t)
    assert isinstance(out, Tensor), f"{case} gave a {type(out).__name__}, not a Tensor"
    assert np.allclose(out.data, value(t.data))
    out.sum().backward()
    assert np.allclose(t.grad, derivative(t.data))


def test_ndarray_matmul_tensor_is_a_tensor():
    t = leaf(np.eye(2))
    out = np.array([[1.0, 2.0]]) @ t
    assert isinstance(out, Tensor)
    out.sum().backward()
    assert np.allclose(t.grad, [[1.0, 1.0], [2.0, 2.0]])


# ----- the student's starting point ----------------------------------------


def stub_solutions(name):
    """source/backprop/<name>.py stubbed by the release's own stripping (nbgrader's
    ClearSolutions)."""
    path = COURSE_ROOT / "source" / "backprop" / f"{name}.py"
    return strip_solutions(path.read_text(), load_config(COURSE_ROOT), path)


@pytest.fixture(scope="module")
def stubbed():
    """The stubbed toolbox and nn, imported the way a student's folder imports them."""
    modules = {}
    with pytest.MonkeyPatch.context() as patch:
        for name in ("toolbox", "nn"):  # nn imports its sibling as plain `toolbox`
            text, _ = stub_solutions(name)
            assert "SOLUTION" not in text, f"{name}.py: a solution marker survived stripping"
            module = types.ModuleType(name)
            patch.setitem(sys.modules, name, module)
            exec(compile(text, f"stubbed {name}.py", "exec"), module.__dict__)
            modules[name] = module
        yield modules


def test_stubbing_leaves_one_not_implemented_per_solution_region():
    for name, regions in (("toolbox", 10), ("nn", 1)):
        text, replaced = stub_solutions(name)
        assert replaced == regions
        assert text.count("# YOUR CODE HERE\n        raise NotImplementedError()") == regions


STUDENT_OPERATIONS = {
    "Mul": lambda tb, x, y: x * y,
    "Div": lambda tb, x, y: x / y,
    "Pow": lambda tb, x, y: x**3,
    "MatMul": lambda tb, x, y: x @ y,
    "ReLU": lambda tb, x, y: tb.relu(x - 1.5),
    "Exp": lambda tb, x, y: tb.exp(x),
    "Log": lambda tb, x, y: tb.log(x),
    "Sum": lambda tb, x, y: x.sum(dim=0),
    "Mean": lambda tb, x, y: x.mean(),
    "GetItem": lambda tb, x, y: x[0, 1],
}
X, Y = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[0.5, -1.0], [2.0, 0.25]])


@pytest.mark.parametrize("operation", STUDENT_OPERATIONS)
def test_stubbed_operation_runs_forward_and_raises_in_backward(stubbed, operation):
    compute = STUDENT_OPERATIONS[operation]
    student = stubbed["toolbox"]
    out = compute(
        student, student.Tensor(X, requires_grad=True), student.Tensor(Y, requires_grad=True)
    )
    assert type(out.grad_fn).__name__ == operation
    assert np.allclose(out.data, compute(tb, Tensor(X), Tensor(Y)).data)
    with pytest.raises(NotImplementedError):
        out.backward(np.ones(out.shape))


def test_stubbed_add_still_works_as_the_worked_example(stubbed):
    student = stubbed["toolbox"]
    x, y = student.Tensor(X, requires_grad=True), student.Tensor(Y, requires_grad=True)
    (x + y).backward(np.ones((2, 2)))
    assert np.allclose(x.grad, 1.0) and np.allclose(y.grad, 1.0)


def test_stubbed_network_runs_forward_and_its_loss_raises_in_backward(stubbed):
    student_nn, student = stubbed["nn"], stubbed["toolbox"]
    network = student_nn.Network()
    network.add_layer(student_nn.LinearLayer(X, np.ones((2, 1))))
    network.add_layer(student_nn.ReLU())
    loss = student_nn.CrossEntropyLoss().forward(
        network.forward(student.Tensor(Y)), np.array([0, 1])
    )
    reference = nn.CrossEntropyLoss().forward(
        tb.relu(Tensor(X) @ Tensor(Y) + 1.0), np.array([0, 1])
    )
    assert np.isclose(loss.data, reference.data)
    with pytest.raises(NotImplementedError):
        loss.backward()


def test_tensors_are_accepted_as_data_and_as_gradient():
    x = tb.Tensor(tb.Tensor([1.0, 2.0]), requires_grad=True)
    (x * 3).backward(tb.Tensor([1.0, -1.0]))
    assert np.allclose(x.grad, [3.0, -3.0])
