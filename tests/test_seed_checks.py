"""The assignment notebook's checks, with its numbers, against the reference engine."""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

from toolbox_solution import nn
from toolbox_solution import toolbox as tb
from toolbox_solution.toolbox import Tensor


def add_twice(passes, zero_grad_between):
    """d = (a + b) + a, run `passes` times; returns the grads of d, c, b, a."""
    a = Tensor(1.0, requires_grad=True)
    b = Tensor(2.0, requires_grad=True)
    for number in range(passes):
        if zero_grad_between and number:
            a.zero_grad()
            b.zero_grad()
        c = a + b
        d = c + a
        d.backward()
    return [float(t.grad) for t in (d, c, b, a)]


@pytest.mark.parametrize(
    "passes, zero_grad_between, expected",
    [
        pytest.param(1, False, [1, 1, 1, 2], id="one pass"),
        pytest.param(2, False, [1, 1, 2, 4], id="two passes accumulate"),
        pytest.param(2, True, [1, 1, 1, 2], id="zero_grad between passes"),
    ],
)
def test_intro_gradients_of_d_c_b_a(passes, zero_grad_between, expected):
    assert add_twice(passes, zero_grad_between) == expected


def test_results_of_operations_point_to_their_operation_and_leaves_to_none():
    a = Tensor(1.0, requires_grad=True)
    b = Tensor(2.0, requires_grad=True)
    c = a + b
    d = c + a
    assert isinstance(d.grad_fn, tb.Add) and isinstance(c.grad_fn, tb.Add)
    assert d.grad_fn.inputs == (c, a)
    assert "Add object at 0x" in repr(d.grad_fn)
    assert a.grad_fn is None and b.grad_fn is None


def test_second_backward_raises_runtime_error():
    a = Tensor(1.0, requires_grad=True)
    d = (a + Tensor(2.0, requires_grad=True)) + a
    d.backward()
    with pytest.raises(RuntimeError):
        d.backward()


@dataclass
class Check:
    """One graded cell of the notebook: inputs, the computation, the seed gradient, expectations."""

    inputs: dict
    compute: Callable
    seed_grad: object  # None: call backward() without a gradient
    expected: dict  # input name (or "out") -> expected gradient


SQUARE = [[1.0, 2.0], [3.0, 4.0]]

CHECKS = {
    "multiplication": Check(
        {"a": 2.0, "b": 3.0}, lambda a, b: a * b, 2.0, {"a": 6.0, "b": 4.0, "out": 2.0}
    ),
    "division": Check(
        {"a": [1.0, 2.0], "b": [3.0, 4.0]},
        lambda a, b: a / b,
        0.5,
        {"a": [1 / 6, 1 / 8], "b": [-1 / 18, -1 / 16]},
    ),
    "power": Check(
        {"A": SQUARE},
        lambda A: A**4,
        np.array([[-1.0, 0], [1.0, 2.0]]),
        {"A": [[-4.0, 0.0], [108.0, 512.0]]},
    ),
    "matmul": Check(
        {"A": SQUARE, "b": [[1.0], [2.0]], "c": [[3.0, 4.0]]},
        lambda A, b, c: c @ A @ b,
        -1.5,
        {
            "A": [[-4.5, -9.0], [-6.0, -12.0]],
            "b": [[-22.5], [-33.0]],
            "c": [[-7.5, -16.5]],
            "out": [[-1.5]],
        },
    ),
    "relu": Check(
        {"A": [[-1.0, -2], [0.5, 2.0], [1.0, 5.0]]},
        lambda A: tb.relu(A),
        np.array([[4.0, 3.0], [2.0, 1.0], [0.0, -1.0]]),
        {"A": [[0.0, 0.0], [2.0, 1.0], [0.0, -1.0]]},
    ),
    "exp": Check(
        {"A": [[-1.0], [2.0]]},
        lambda A: tb.exp(A),
        np.array([[-1.0], [2.0]]),
        {"A": np.exp([[-1.0], [2.0]]) * np.array([[-1.0], [2.0]])},
    ),
    "log": Check(
        {"A": [0.1, 1.0, 2.0, np.exp(100.0)]},
        lambda A: tb.log(A),
        1.5,
        {"A": [15.0, 1.5, 0.75, 1.5 * np.exp(-100.0)]},
    ),
    "sum": Check({"A": SQUARE}, lambda A: A.sum(dim=1).sum(), 2.5, {"A": 2.5 * np.ones((2, 2))}),
    "mean": Check({"A": SQUARE}, lambda A: A.mean(), None, {"A": 0.25 * np.ones((2, 2))}),
    "indexing": Check({"A": SQUARE}, lambda A: A[0, 1], 5.0, {"A": [[0.0, 5.0], [0.0, 0.0]]}),
}


@pytest.mark.parametrize("grade_id", CHECKS)
def test_operation_check(grade_id):
    check = CHECKS[grade_id]
    tensors = {name: Tensor(value, requires_grad=True) for name, value in check.inputs.items()}
    out = check.compute(**tensors)
    if check.seed_grad is None:
        out.backward()
    else:
        out.backward(check.seed_grad)
    tensors["out"] = out
    for name, expected in check.expected.items():
        assert np.linalg.norm(tensors[name].grad - np.asarray(expected)) < 1e-6, (
            f"{grade_id}: {name}.grad is {tensors[name].grad}, expected {expected}"
        )


def test_network_check():
    network = nn.Network()
    network.add_layer(nn.LinearLayer(np.array(SQUARE), np.array([[1.0], [2.0]])))
    network.add_layer(nn.ReLU())
    network.add_layer(
        nn.LinearLayer(
            np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), np.array([[1.0], [2.0], [3.0]])
        )
    )
    logits = network.forward(Tensor(np.array([[1.0], [2.0]])))
    assert np.allclose(logits.data, [[33.0], [72.0], [111.0]])

    nn.CrossEntropyLoss().forward(logits, 1).backward()

    expected = {
        (0, "W"): [[2.0, 4.0], [2.0, 4.0]],
        (0, "b"): [[2.0], [2.0]],
        (2, "W"): [[8.00168889e-34, 1.73369926e-33], [-6.0, -13.0], [6.0, 13.0]],
        (2, "b"): [[1.33361482e-34], [-1.0], [1.0]],
    }
    for (layer, name), gradient in expected.items():
        actual = getattr(network.layers[layer], name).grad
        assert np.linalg.norm(actual - np.array(gradient)) < 1e-6, (
            f"layers[{layer}].{name}.grad is {actual}"
        )
