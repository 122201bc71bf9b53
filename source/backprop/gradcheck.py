"""Check an operation's backward against central differences, element by element.

A wrong backward rarely crashes: it returns numbers of the right shape that
are simply wrong, and a network trained with them learns slowly or not at
all. `gradcheck` finds such mistakes directly, by comparing what backward
says with what the forward pass alone measures:

    d L / d x[i]  ~  (L(x[i] + eps) - L(x[i] - eps)) / (2 eps)

It uses only `.data`, `.grad` and `.backward(grad)` of the tensors it is
given, so it works with any engine that has them, including your own.
"""
import inspect
import warnings

import numpy as np

__all__ = ["gradcheck", "GradcheckError"]

MAX_REPORTED = 5


class GradcheckError(AssertionError):
    """backward and central differences disagree; `mismatches` lists where.

    Each mismatch is a tuple (input position, element index, backward value,
    numeric value, relative error).
    """

    def __init__(self, message, mismatches):
        super().__init__(message)
        self.mismatches = mismatches


def gradcheck(fn, *tensors, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """Return True if backward through `fn` agrees with central differences; raise otherwise.

    `fn(*tensors)` must return a tensor. Every argument created with
    `requires_grad=True` is checked, one element at a time. A non-scalar
    output is reduced to the number sum(weights * output) with fixed random
    weights, so every output element (and every mistake in it) counts.

    An element agrees when |backward - numeric| <= atol + rtol * |numeric|
    (PyTorch's gradcheck uses the same defaults). Otherwise `GradcheckError`
    (an AssertionError) names the input, the element, both values and the
    relative error |a - b| / max(1e-8, |a| + |b|): about 1e-9 for a right
    gradient in float64, above 1e-2 for a wrong one.

    At a kink (relu at exactly 0) the two one-sided differences disagree and
    the derivative is not defined: any backward value between them is accepted
    there, and a warning names the element. Use float64 inputs away from domain
    edges (log near 0), where eps is too coarse. The inputs' `.grad` are
    restored afterwards.
    """
    checked = [position for position, tensor in enumerate(tensors) if getattr(tensor, "requires_grad", False)]
    if not checked:
        raise ValueError("gradcheck: none of the tensors requires grad; create them with requires_grad=True.")
    saved_grads = [tensors[position].grad for position in checked]
    try:
        weights, analytic, last_operation = _backward_gradients(fn, tensors, checked, seed)
        mismatches, kinks = [], []
        for position, backward_grad in zip(checked, analytic):
            numeric = _numeric_gradient(fn, tensors, tensors[position], weights, eps)
            if backward_grad is None:
                backward_grad = np.zeros_like(numeric)
            for mismatch in _disagreements(position, backward_grad, numeric, atol, rtol):
                sides = _one_sided(fn, tensors, tensors[position], weights, eps, mismatch[1])
                if _between(mismatch[2], sides, atol, rtol):
                    kinks.append((mismatch, sides))
                else:
                    mismatches.append(mismatch)
    finally:
        for position, grad in zip(checked, saved_grads):
            tensors[position].grad = grad
    names = _argument_names(fn, len(tensors))
    for (position, index, analytic_value, _, _), (left, right) in kinks:
        warnings.warn(
            f"gradcheck: {names[position]} element {tuple(int(i) for i in index)} is at a kink "
            f"(slope {left:.6g} from the left, {right:.6g} from the right): the derivative is "
            f"not defined there, so backward's {analytic_value:.6g} is accepted.",
            stacklevel=2,
        )
    if mismatches:
        ungraded = {position for position, grad in zip(checked, analytic) if grad is None}
        report = _report(fn, tensors, names, last_operation, mismatches, ungraded)
        raise GradcheckError(report, mismatches)
    return True


def _backward_gradients(fn, tensors, checked, seed):
    """The output weights and each checked input's gradient of sum(weights * fn(...)), or None."""
    for position in checked:
        tensors[position].grad = None
    output = fn(*tensors)
    last_operation = type(output.grad_fn).__name__ if output.grad_fn is not None else None
    shape = np.shape(output.data)
    if shape:
        # Magnitudes between 0.5 and 1.5 with random signs: no output element is ignored.
        rng = np.random.default_rng(seed)
        weights = rng.uniform(0.5, 1.5, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    else:
        weights = np.array(1.0)
    output.backward(weights)
    gradients = []
    for position in checked:
        tensor = tensors[position]
        if tensor.grad is None:
            gradients.append(None)
            continue
        grad = np.array(tensor.grad, dtype=np.float64)
        if grad.shape != tensor.data.shape:
            name = _argument_names(fn, len(tensors))[position]
            raise GradcheckError(
                f"gradcheck: {name} has shape {tensor.data.shape} but backward gave it a "
                f"gradient of shape {grad.shape}; a gradient must have its input's shape.",
                [],
            )
        gradients.append(grad)
    return weights, gradients, last_operation


def _numeric_gradient(fn, tensors, tensor, weights, eps):
    """Central differences of sum(weights * fn(...)) for every element of `tensor`."""
    values = tensor.data
    gradient = np.zeros_like(values, dtype=np.float64)
    for index in np.ndindex(values.shape):
        original = values[index]
        values[index] = original + eps
        above = float(np.sum(weights * fn(*tensors).data))
        values[index] = original - eps
        below = float(np.sum(weights * fn(*tensors).data))
        values[index] = original
        gradient[index] = (above - below) / (2 * eps)
    return gradient


def _one_sided(fn, tensors, tensor, weights, eps, index):
    """The slopes of sum(weights * fn(...)) just left and just right of `tensor[index]`."""
    values = tensor.data
    original = values[index]
    level = float(np.sum(weights * fn(*tensors).data))
    values[index] = original - eps
    below = float(np.sum(weights * fn(*tensors).data))
    values[index] = original + eps
    above = float(np.sum(weights * fn(*tensors).data))
    values[index] = original
    return (level - below) / eps, (above - level) / eps


def _between(value, sides, atol, rtol):
    """Whether the one-sided slopes disagree (a kink) and `value` lies between them."""
    low, high = sorted(sides)
    if np.isclose(low, high, rtol=rtol, atol=atol):
        return False
    slack = atol + rtol * max(abs(low), abs(high))
    return low - slack <= value <= high + slack


def _argument_names(fn, count):
    """How the report names each argument: by its parameter name where fn has one, else by its
    place counted from 1."""
    try:
        parameters = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        parameters = []
    return [
        f"argument {parameters[i]}" if i < len(parameters) else f"argument {i + 1}"
        for i in range(count)
    ]


def _disagreements(position, analytic, numeric, atol, rtol):
    wrong = ~np.isclose(analytic, numeric, rtol=rtol, atol=atol)
    return [
        (position, index, float(analytic[index]), float(numeric[index]), _relative_error(analytic[index], numeric[index]))
        for index in zip(*np.nonzero(wrong))
    ]


def _relative_error(a, b):
    return float(abs(a - b) / max(1e-8, abs(a) + abs(b)))


def _report(fn, tensors, names, last_operation, mismatches, ungraded):
    name = getattr(fn, "__name__", type(fn).__name__)
    if name == "<lambda>":
        name = "the function"
    through = f" (its last operation is {last_operation})" if last_operation else ""
    lines = [f"gradcheck: backward through {name}{through} disagrees with central differences:"]
    for position in sorted({m[0] for m in mismatches}):
        wrong = [m for m in mismatches if m[0] == position]
        lines.append(
            f"  {names[position]} (shape {tensors[position].data.shape}): "
            f"{len(wrong)} of {tensors[position].data.size} element(s) wrong"
            + (" (backward gave it no gradient at all: is it used through .data?)" if position in ungraded else "")
        )
        for _, index, analytic, numeric, error in wrong[:MAX_REPORTED]:
            lines.append(
                f"    element {tuple(int(i) for i in index)}: backward {analytic:.6g}, "
                f"numeric {numeric:.6g}, relative error {error:.1e}"
            )
        if len(wrong) > MAX_REPORTED:
            lines.append(f"    ... and {len(wrong) - MAX_REPORTED} more")
    lines.append("Look at the backward of the operations inside fn: each must return d(output)/d(input) times grad.")
    return "\n".join(lines)
