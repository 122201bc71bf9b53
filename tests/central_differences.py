"""Gradients by central differences: the independent yardstick for the engine's backward.

The engine is only trusted where it agrees with (f(x + eps) - f(x - eps)) / 2 eps,
computed in float64 from forward passes alone.
"""

import numpy as np

from toolbox_solution.toolbox import Tensor

EPS = 1e-6
# Right gradients agree to about 1e-9 here; a wrong one is off by more than 1e-2.
TOLERANCE = 1e-6
# Rounding leaves about 1e-10 of noise in a difference quotient, which swamps the
# relative error of a gradient that is (nearly) zero; below this the two agree anyway.
ABSOLUTE_NOISE = 1e-7


def numerical_gradients(scalar_function, arrays, eps=EPS):
    """d scalar_function(*arrays) / d array, for each array, one element at a time."""
    arrays = [np.array(array, dtype=np.float64) for array in arrays]
    gradients = []
    for array in arrays:
        gradient = np.zeros_like(array)
        for index in np.ndindex(array.shape):
            original = array[index]
            array[index] = original + eps
            above = scalar_function(*arrays)
            array[index] = original - eps
            below = scalar_function(*arrays)
            array[index] = original
            gradient[index] = (above - below) / (2 * eps)
        gradients.append(gradient)
    return gradients


def relative_error(a, b):
    """|a - b| / (|a| + |b|) in the Euclidean norm, guarded against two zeros."""
    return np.linalg.norm(a - b) / max(1e-8, np.linalg.norm(a) + np.linalg.norm(b))


def agrees(gradient, numeric):
    """A backward gradient matches central differences: small relative error, or both (nearly)
    zero."""
    return (
        relative_error(gradient, numeric) < TOLERANCE
        or np.linalg.norm(gradient - numeric) < ABSOLUTE_NOISE
    )


def assert_backward_matches_central_differences(operation, arrays, output_weights, name):
    """Check every input's gradient of sum(operation(*inputs) * output_weights).

    `operation` maps Tensors to a Tensor; backward receives `output_weights`
    as the output's gradient, so every output element contributes.
    """
    inputs = [Tensor(array, requires_grad=True) for array in arrays]
    operation(*inputs).backward(output_weights)

    def weighted_output(*values):
        return float((operation(*(Tensor(v) for v in values)).data * output_weights).sum())

    expected = numerical_gradients(weighted_output, arrays)
    for position, (tensor, numeric) in enumerate(zip(inputs, expected)):
        assert tensor.grad is not None, f"{name}: input {position} received no gradient"
        assert tensor.grad.shape == numeric.shape, (
            f"{name}: input {position} has shape {numeric.shape} but its gradient "
            f"{tensor.grad.shape}"
        )
        assert agrees(tensor.grad, numeric), (
            f"{name}: gradient of input {position} is off by relative error "
            f"{relative_error(tensor.grad, numeric):.2e}\n"
            f"backward:\n{tensor.grad}\ncentral differences:\n{numeric}"
        )
