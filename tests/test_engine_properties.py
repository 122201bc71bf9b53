"""Every operation's backward agrees with central differences on random inputs.

Shapes, broadcasting, reduction axes and indices are drawn by hypothesis;
values keep away from kinks and domain edges (relu at 0, log and division
near 0), where a finite difference is not a derivative.
"""

import numpy as np
import pytest
from central_differences import assert_backward_matches_central_differences
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from toolbox_solution import nn
from toolbox_solution import toolbox as tb

engine_settings = settings(max_examples=60, deadline=None)

ANY = st.floats(-3, 3)
AWAY_FROM_ZERO = st.one_of(st.floats(-3, -0.5), st.floats(0.5, 3))
POSITIVE = st.floats(0.5, 3)
SMALL_SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)


def array_of(shape, elements=ANY):
    return hnp.arrays(np.float64, shape, elements=elements)


def check(data, operation, arrays, name):
    """Draw the output's gradient, then compare backward with central differences."""
    out_shape = operation(*(tb.Tensor(a) for a in arrays)).shape
    weights = data.draw(array_of(out_shape), label="output gradient")
    assert_backward_matches_central_differences(operation, arrays, weights, name)


BINARY = {
    "add": (lambda a, b: a + b, ANY),
    "sub": (lambda a, b: a - b, ANY),
    "mul": (lambda a, b: a * b, ANY),
    "div": (lambda a, b: a / b, AWAY_FROM_ZERO),
}


@pytest.mark.parametrize("name", BINARY)
@engine_settings
@given(
    data=st.data(), shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3)
)
def test_binary_operations_with_broadcasting(name, data, shapes):
    operation, second_elements = BINARY[name]
    a = data.draw(array_of(shapes.input_shapes[0]), label="a")
    b = data.draw(array_of(shapes.input_shapes[1], second_elements), label="b")
    check(data, operation, [a, b], name)


CONSTANT_ON_ONE_SIDE = {
    "number + t": lambda t: 2.5 + t,
    "t - number": lambda t: t - 1.0,
    "number - t": lambda t: 1.0 - t,
    "-t": lambda t: -t,
    "number * t": lambda t: 2.0 * t,
    "ndarray * t": lambda t: np.array([[0.5], [-1.5]]) * t,
    "t / number": lambda t: t / 4.0,
    "number / t": lambda t: 3.0 / t,
}


@pytest.mark.parametrize("name", CONSTANT_ON_ONE_SIDE)
@engine_settings
@given(data=st.data(), shape=hnp.array_shapes(min_dims=2, max_dims=2, min_side=2, max_side=2))
def test_operations_with_a_constant_on_one_side(name, data, shape):
    t = data.draw(array_of(shape, AWAY_FROM_ZERO), label="t")
    check(data, CONSTANT_ON_ONE_SIDE[name], [t], name)


@engine_settings
@given(data=st.data(), shape=SMALL_SHAPES, exponent=st.floats(-3, 3))
def test_pow_with_a_real_exponent_of_a_positive_base(data, shape, exponent):
    base = data.draw(array_of(shape, POSITIVE), label="base")
    check(data, lambda a: a**exponent, [base], f"pow {exponent}")


@engine_settings
@given(data=st.data(), shape=SMALL_SHAPES, exponent=st.integers(-3, 4))
def test_pow_with_an_integer_exponent_of_any_base(data, shape, exponent):
    base = data.draw(array_of(shape, AWAY_FROM_ZERO), label="base")
    check(data, lambda a: a**exponent, [base], f"pow {exponent}")


@engine_settings
@given(
    data=st.data(),
    sizes=st.tuples(*[st.integers(1, 4)] * 3),
    batch=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3),
)
def test_matmul_of_matrices_and_broadcast_stacks(data, sizes, batch):
    rows, inner, columns = sizes
    a = data.draw(array_of(batch.input_shapes[0] + (rows, inner)), label="a")
    b = data.draw(array_of(batch.input_shapes[1] + (inner, columns)), label="b")
    check(data, lambda x, y: x @ y, [a, b], "matmul")


UNARY = {
    "relu": (tb.relu, AWAY_FROM_ZERO),
    "exp": (tb.exp, ANY),
    "log": (tb.log, POSITIVE),
    "neg": (lambda t: -t, ANY),
}


@pytest.mark.parametrize("name", UNARY)
@engine_settings
@given(data=st.data(), shape=SMALL_SHAPES)
def test_elementwise_functions(name, data, shape):
    operation, elements = UNARY[name]
    x = data.draw(array_of(shape, elements), label="x")
    check(data, operation, [x], name)


def test_relu_takes_zero_as_its_derivative_at_the_kink():
    """Central differences cannot decide this; PyTorch's convention (and the notebook's) is 0."""
    x = tb.Tensor([-1.0, 0.0, 2.0], requires_grad=True)
    tb.relu(x).backward(np.full(3, 5.0))
    assert np.array_equal(x.grad, [0.0, 0.0, 5.0])


@st.composite
def shape_and_dim(draw):
    """A shape and a reduction: all axes (None), one axis (either sign) or a tuple of axes."""
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    ndim = len(shape)
    dim = draw(
        st.one_of(
            st.none(),
            st.integers(-ndim, ndim - 1),
            st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).map(tuple),
        )
    )
    return shape, dim


@pytest.mark.parametrize("name", ["sum", "mean"])
@engine_settings
@given(data=st.data(), case=shape_and_dim())
def test_reductions_along_each_axis(name, data, case):
    shape, dim = case
    x = data.draw(array_of(shape), label="x")
    check(data, lambda t: getattr(t, name)(dim=dim), [x], f"{name}(dim={dim})")


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_every_axis_of_a_3d_tensor_is_reduced_correctly(axis):
    """The drawn cases above may skip an axis; this one never does."""
    x = np.random.default_rng(axis).normal(size=(2, 3, 4))
    out_shape = np.delete(x.shape, axis)
    weights = np.random.default_rng(10 + axis).normal(size=out_shape)
    for name in ("sum", "mean"):
        assert_backward_matches_central_differences(
            lambda t, name=name: getattr(t, name)(dim=axis), [x], weights, f"{name}(dim={axis})"
        )


@st.composite
def shape_and_index(draw):
    """Basic indices (ints, slices, ellipsis) or integer arrays, which may repeat positions."""
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    index = draw(
        st.one_of(
            hnp.basic_indices(shape, allow_ellipsis=True),
            hnp.integer_array_indices(
                shape, result_shape=hnp.array_shapes(min_dims=1, max_dims=2, max_side=5)
            ),
        )
    )
    return shape, index


@engine_settings
@given(data=st.data(), case=shape_and_index())
def test_indexing(data, case):
    shape, index = case
    x = data.draw(array_of(shape), label="x")
    check(data, lambda t: t[index], [x], f"getitem {index!r}")


@engine_settings
@given(
    data=st.data(),
    rows=st.integers(1, 4),
    picks=st.lists(st.integers(0, 2), min_size=1, max_size=6),
)
def test_indexing_a_slice_and_repeated_columns(data, rows, picks):
    x = data.draw(array_of((rows, 3)), label="x")
    columns = np.array(picks)
    check(data, lambda t: t[:, columns], [x], f"getitem [:, {picks}]")


@st.composite
def logits_and_labels(draw):
    classes, batch = draw(st.integers(2, 5)), draw(st.integers(1, 4))
    logits = draw(array_of((classes, batch), st.floats(-5, 5)))
    labels = draw(hnp.arrays(np.int64, (batch,), elements=st.integers(0, classes - 1)))
    return logits, labels


@engine_settings
@given(case=logits_and_labels(), weight=st.floats(0.1, 3))
def test_fused_cross_entropy(case, weight):
    logits, labels = case
    loss = nn.CrossEntropyLoss()
    assert_backward_matches_central_differences(
        lambda t: loss.forward(t, labels), [logits], np.float64(weight), "CrossEntropyLoss"
    )


@engine_settings
@given(case=logits_and_labels(), offset=st.floats(-1000, 1000))
@example(
    case=(np.array([[1.0, 0.0], [0.0, 2.0]]), np.array([0, 1])), offset=800.0
)  # exp(800) overflows
def test_cross_entropy_ignores_a_common_shift_of_large_logits(case, offset):
    """Softmax is shift invariant; a stable loss stays finite and unchanged for logits in the
    hundreds."""
    logits, labels = case
    loss = nn.CrossEntropyLoss()
    shifted = loss.forward(tb.Tensor(logits + offset), labels).data
    assert np.isfinite(shifted)
    assert np.isclose(shifted, loss.forward(tb.Tensor(logits), labels).data, rtol=1e-9, atol=1e-9)


def shared(t):
    """A non-leaf tensor reached along two paths of different lengths."""
    h = t * 1.5
    return h + h * tb.exp(h)


SHARED_INPUTS = {
    "x + 2 * x": lambda t: t + 2 * t,
    "2 * x + x": lambda t: 2 * t + t,
    "x * exp(x) + x / (x * x + 1) - relu(x)": lambda t: (
        t * tb.exp(t) + t / (t * t + 1.0) - tb.relu(t)
    ),
    "h + h * exp(h), h = 1.5 x": shared,
}


@pytest.mark.parametrize("name", SHARED_INPUTS)
@engine_settings
@given(data=st.data(), shape=SMALL_SHAPES)
def test_a_tensor_used_along_several_paths_collects_every_contribution(name, data, shape):
    x = data.draw(array_of(shape, AWAY_FROM_ZERO), label="x")
    check(data, SHARED_INPUTS[name], [x], name)
