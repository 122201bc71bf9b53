"""The backprop assignment's checks: the cases of each graded cell, and what its hidden cases try.

Each builder takes a random generator and returns the check's cases: the notebook's visible case
with its numbers, then hidden ones: the notebook's
hidden tests and seeded random cases with broadcasting, reductions along
each axis, repeated indices, relu at exactly 0 and networks. Each case goes through one
operation and, at most, the `Add` students were given, so a check does not
depend on the others (the network check needs matmul, relu and the loss).

Expected answers come from `toolbox_solution`, and a hand-in's values and
gradients must match them to rtol 1e-6. Central differences of the
reference's forward pass are the second opinion on those answers: the
engine's property tests and tests/test_grading_cases.py (the grader's own
case builders, eight seeds) check that they agree wherever the function is
smooth. Comparing each hand-in with central differences too would add
nothing: they agree with the reference to about 1e-9, far inside the
tolerance, and at a kink (relu at 0) they are not an answer at all. The
expected answers depend on no submission, so they are computed once per run, before the
grading processes fork, and only for the cases and twins kept (`grader.cases.Case`).

A backward that differentiates its node's forward numerically agrees with
the chain rule to about 1e-9 on ordinary numbers, and a complex step is
exact. Two kinds of hidden case stop it when it takes one forward pass per
input entry: one entry a million to a trillion times the others (see
`_one_huge`), where rounding swamps real differences, and a `large` case
whose every node has tens of thousands of input entries, where those passes
take far longer than a check's time, while the chain rule takes
milliseconds. (A node whose Jacobian has a structure can be differentiated in
few passes by whoever knows that structure, which is most of knowing the
derivative: an elementwise node's is diagonal, so one complex-step pass gives
it; a matmul's output row i depends on row i of the left factor only, so one
pass per column does. No case can tell such a backward from the chain rule.)
"""

import functools

import numpy as np

import toolbox_solution
from grader.assignments.backprop.compute import evaluate, json_index
from grader.cases import Case

REFERENCE = {"toolbox": toolbox_solution.toolbox, "nn": toolbox_solution.nn}
ANSWER = functools.partial(evaluate, REFERENCE)  # a request's expected answer


def case(title, inputs, steps=None, output="y", grad=None, visible=False, smooth=True, **network):
    """A case over named float inputs; every input's gradient is checked."""
    inputs = {name: np.array(value, dtype=np.float64) for name, value in inputs.items()}
    wanted = [name for name in inputs if name != "x"] if network else list(inputs)
    request = {"inputs": inputs, "wants": wanted, **network}
    if not network:
        request.update(steps=steps, output=output, grad=grad)
    return Case(title, visible, request, ANSWER, smooth)


# Sizes of the large cases, set by how quick each node's forward pass is, so that one pass per input
# entry takes 5 to 30 times a check's 1.5 s here, even with the other core busy, while the chain
# rule takes milliseconds (benchmarks/large_case_margin.py measures both).
LARGE = [250, 256]  # 64,000 entries per operand of a binary operation
# 108,800 entries, for nodes whose forward pass is quickest (x ** 2, relu, picking rows)
QUICK = [320, 340]


def large(title, rng, inputs, steps=None, grad=None, target=None, **network):
    """A hidden case too large to differentiate numerically (one forward pass per input entry)
    within a check's time, yet quick for the chain rule. `inputs` maps names to (kind, shape) (see
    `compute.GENERATORS`): the worker draws them from a seed and answers with whole gradients,
    which the judge compares entry by entry (its value is the given forward's: not asked for)."""
    spec = {"seed": int(rng.integers(2**31)), "inputs": inputs, "grad": grad, "target": target}
    wants = [name for name in inputs if name != "x"] if network else list(inputs)
    request = {"generate": spec, "wants": wants, "value": False, **network}
    if not network:
        request.update(steps=steps, output="y")
    return Case(title, False, request, ANSWER, smooth=False)


def one_op(operation, *operands, **options):
    """Steps applying one operation to inputs (names) or numbers."""
    return [["y", operation, list(operands), options]]


def _away_from_zero(rng, shape, low=0.5, high=2.0):
    return rng.uniform(low, high, shape) * rng.choice([-1.0, 1.0], shape)


def _one_huge(rng, shape, scale=1e12):
    """Normal numbers with one entry `scale` times larger. Rounding at that size swamps what any
    other
    entry adds to a sum over all of them, so a backward that differentiates the forward numerically
    (sum(forward(x + h) * grad) - ...) cannot get the other entries right; one computed by the chain
    rule gets every entry right to the last few bits. Not `smooth`: central differences fail here
    too."""
    array = rng.normal(size=shape)
    array[np.unravel_index(rng.integers(array.size), shape)] *= scale
    return array


BROADCAST_PAIRS = [
    ((3, 4), (3, 4)),
    ((3, 4), (4,)),
    ((2, 1, 3), (4, 3)),
    ((5,), ()),
    ((2, 3), (1, 3)),
    ((4, 1), (1, 5)),
]


def _binary_cases(rng, operation):
    """Random operands of broadcasting shapes (the right one away from 0, for division), a number,
    an input twice."""
    cases = []
    for left_shape, right_shape in BROADCAST_PAIRS:
        a, b = rng.normal(size=left_shape), _away_from_zero(rng, right_shape)
        grad = rng.normal(size=np.broadcast_shapes(left_shape, right_shape))
        cases.append(
            case(
                f"random {left_shape} {operation} {right_shape}",
                {"a": a, "b": b},
                one_op(operation, "a", "b"),
                grad=grad,
            )
        )
    cases.append(
        case(
            f"{operation} with a number on the left",
            {"a": _away_from_zero(rng, (3, 2))},
            one_op(operation, 2.5, "a"),
            grad=rng.normal(size=(3, 2)),
        )
    )
    cases.append(
        case(
            f"{operation} of a tensor with itself",
            {"a": _away_from_zero(rng, (2, 3))},
            one_op(operation, "a", "a"),
            grad=rng.normal(size=(2, 3)),
        )
    )
    cases.append(
        case(
            f"{operation} with one huge upstream gradient entry",
            {"a": rng.normal(size=(3, 4)), "b": _away_from_zero(rng, (4,))},
            one_op(operation, "a", "b"),
            grad=_one_huge(rng, (3, 4)),
            smooth=False,
        )
    )
    cases.append(
        large(
            f"large {operation}",
            rng,
            {"a": ("mixed", LARGE), "b": ("away from 0", LARGE)},
            one_op(operation, "a", "b"),
            grad=LARGE,
        )
    )
    return cases


def multiplication(rng):
    return [
        case(
            "c = a * b; c.backward(2.0)",
            {"a": 2.0, "b": 3.0},
            one_op("mul", "a", "b"),
            grad=2.0,
            visible=True,
        ),
        case(
            "3 * (x * w) - x",
            {"x": [[1.0, -2.0, 3.0], [0.5, 4.0, -1.0]], "w": [2.0, -1.0, 0.5]},
            [
                ["xw", "mul", ["x", "w"], {}],
                ["t", "mul", [3.0, "xw"], {}],
                ["y", "sub", ["t", "x"], {}],
            ],
            grad=np.ones((2, 3)),
        ),
        *_binary_cases(rng, "mul"),
    ]


def division(rng):
    return [
        case(
            "c = a / b; c.backward(0.5)",
            {"a": [1.0, 2.0], "b": [3.0, 4.0]},
            one_op("div", "a", "b"),
            grad=0.5,
            visible=True,
        ),
        case(
            "1 / x + x / 2",
            {"x": [[1.0, 2.0], [4.0, -0.5]]},
            [
                ["r", "div", [1.0, "x"], {}],
                ["h", "div", ["x", 2.0], {}],
                ["y", "add", ["r", "h"], {}],
            ],
            grad=np.ones((2, 2)),
        ),
        *_binary_cases(rng, "div"),
    ]


def power(rng):
    cases = [
        case(
            "b = A ** 4; b.backward(G)",
            {"A": [[1.0, 2.0], [3.0, 4.0]]},
            one_op("pow", "A", exponent=4.0),
            grad=np.array([[-1.0, 0.0], [1.0, 2.0]]),
            visible=True,
        ),
        case(
            "x ** 0.5 + x ** -1",
            {"x": [0.5, 2.0, 9.0]},
            [
                ["r", "pow", ["x"], {"exponent": 0.5}],
                ["i", "pow", ["x"], {"exponent": -1.0}],
                ["y", "add", ["r", "i"], {}],
            ],
            grad=np.ones(3),
        ),
    ]
    for exponent, base in (
        (2.0, rng.normal(size=(3, 4))),
        (3.0, rng.normal(size=(2, 3, 2))),
        (0.5, rng.uniform(0.5, 3, (4,))),
        (-1.5, rng.uniform(0.5, 3, (2, 2))),
        (1.0, rng.normal(size=(3,))),
        (0.0, rng.normal(size=(2, 2))),
    ):
        cases.append(
            case(
                f"random x ** {exponent}",
                {"x": base},
                one_op("pow", "x", exponent=exponent),
                grad=rng.normal(size=base.shape),
            )
        )
    cases.append(
        case(
            "x ** 3 with one huge upstream gradient entry",
            {"x": rng.normal(size=(3, 4))},
            one_op("pow", "x", exponent=3.0),
            grad=_one_huge(rng, (3, 4)),
            smooth=False,
        )
    )
    cases.append(
        large(
            "large x ** 2",
            rng,
            {"x": ("mixed", QUICK)},
            one_op("pow", "x", exponent=2.0),
            grad=QUICK,
        )
    )
    return cases


def matmul(rng):
    cases = [
        case(
            "d = c @ A @ b; d.backward(-1.5)",
            {"A": [[1.0, 2.0], [3.0, 4.0]], "b": [[1.0], [2.0]], "c": [[3.0, 4.0]]},
            [["cA", "matmul", ["c", "A"], {}], ["y", "matmul", ["cA", "b"], {}]],
            grad=-1.5,
            visible=True,
        ),
        case(
            "P @ Q, not square",
            {"P": np.arange(6.0).reshape(2, 3), "Q": np.arange(12.0).reshape(3, 4) - 5},
            one_op("matmul", "P", "Q"),
            grad=np.arange(8.0).reshape(2, 4) / 7,
        ),
    ]
    for left, right in (
        ((1, 1), (1, 1)),
        ((3, 5), (5, 2)),
        ((4, 3), (3, 1)),
        ((1, 4), (4, 6)),
        ((2, 3, 4), (4, 2)),
        ((3, 2), (2, 2, 5)),
    ):
        out = np.broadcast_shapes(left[:-2], right[:-2]) + (left[-2], right[-1])
        cases.append(
            case(
                f"random {left} @ {right}",
                {"a": rng.normal(size=left), "b": rng.normal(size=right)},
                one_op("matmul", "a", "b"),
                grad=rng.normal(size=out),
            )
        )
    cases.append(
        case(
            "(3, 4) @ (4, 5) with one huge upstream gradient entry",
            {"a": rng.normal(size=(3, 4)), "b": rng.normal(size=(4, 5))},
            one_op("matmul", "a", "b"),
            grad=_one_huge(rng, (3, 5)),
            smooth=False,
        )
    )
    cases.append(
        case(
            "(3, 4) @ (4, 5) with one huge entry in the left factor",
            {"a": _one_huge(rng, (3, 4)), "b": rng.normal(size=(4, 5))},
            one_op("matmul", "a", "b"),
            grad=rng.normal(size=(3, 5)),
            smooth=False,
        )
    )
    cases.append(
        large(
            "large (170, 170) @ (170, 170)",
            rng,
            {"a": ("mixed", [170, 170]), "b": ("mixed", [170, 170])},
            one_op("matmul", "a", "b"),
            grad=[170, 170],
        )
    )
    return cases


def _unary(operation, inputs, rng, kind, huge_at=None, large_shape=LARGE):
    """Random cases of shapes `inputs`, one with a huge upstream gradient entry at input `huge_at`
    (default:
    the last), and a large one of inputs of `kind`."""
    cases = [
        case(
            f"random {operation} of shape {x.shape}",
            {"x": x},
            one_op(operation, "x"),
            grad=rng.normal(size=x.shape),
        )
        for x in inputs
    ]
    x = inputs[-1] if huge_at is None else huge_at
    return cases + [
        case(
            f"{operation} with one huge upstream gradient entry",
            {"x": x},
            one_op(operation, "x"),
            grad=_one_huge(rng, x.shape),
            smooth=False,
        ),
        large(
            f"large {operation}",
            rng,
            {"x": (kind, large_shape)},
            one_op(operation, "x"),
            grad=large_shape,
        ),
    ]


def relu(rng):
    zeros = rng.normal(size=(3, 4))
    zeros[rng.random((3, 4)) < 0.5] = 0.0
    return [
        case(
            "b = relu(A); b.backward(G)",
            {"A": [[-1.0, -2.0], [0.5, 2.0], [1.0, 5.0]]},
            one_op("relu", "A"),
            grad=np.array([[4.0, 3.0], [2.0, 1.0], [0.0, -1.0]]),
            visible=True,
        ),
        case(
            "relu(x) at exactly 0, where the gradient is taken as 0 (pass grad where x > 0)",
            {"x": [-1.0, 0.0, 2.0]},
            one_op("relu", "x"),
            grad=np.array([5.0, 5.0, 5.0]),
            visible=True,
            smooth=False,
        ),
        case(
            "relu at exactly 0",
            {"x": [-1.0, 0.0, 2.0]},
            one_op("relu", "x"),
            grad=np.full(3, 5.0),
            smooth=False,
        ),
        case(
            "relu at exactly 0, random",
            {"x": zeros},
            one_op("relu", "x"),
            grad=rng.normal(size=(3, 4)),
            smooth=False,
        ),
        case(
            "relu(x + x)",
            {"x": _away_from_zero(rng, (2, 3), 0.1)},
            [["t", "add", ["x", "x"], {}], ["y", "relu", ["t"], {}]],
            grad=rng.normal(size=(2, 3)),
        ),
        *_unary(
            "relu",
            [_away_from_zero(rng, s, 0.1) for s in ((5,), (3, 4), (2, 3, 2))],
            rng,
            "away from 0",
            huge_at=rng.uniform(
                0.1, 2.0, (3, 4)
            ),  # positive: a huge entry where relu is 0 would add nothing
            large_shape=QUICK,
        ),
    ]


def exp(rng):
    return [
        case(
            "b = exp(A); b.backward(G)",
            {"A": [[-1.0], [2.0]]},
            one_op("exp", "A"),
            grad=np.array([[-1.0], [2.0]]),
            visible=True,
        ),
        case(
            "exp(x + x)",
            {"x": [[0.0, 1.0, -3.0]]},
            [["t", "add", ["x", "x"], {}], ["y", "exp", ["t"], {}]],
            grad=np.ones((1, 3)),
        ),
        *_unary(
            "exp",
            [rng.normal(size=s) for s in ((5,), (3, 4), (2, 3, 2))],
            rng,
            "mixed",
            large_shape=[300, 300],
        ),
    ]


def log(rng):
    return [
        case(
            "b = log(A); b.backward(1.5)",
            {"A": [0.1, 1.0, 2.0, np.exp(100.0)]},
            one_op("log", "A"),
            grad=1.5,
            visible=True,
            smooth=False,
        ),
        case(
            "log(x + x)",
            {"x": [[0.5, 3.0], [1.0, 8.0]]},
            [["t", "add", ["x", "x"], {}], ["y", "log", ["t"], {}]],
            grad=np.ones((2, 2)),
        ),
        *_unary(
            "log",
            [rng.uniform(0.5, 4.0, s) for s in ((5,), (3, 4), (2, 3, 2))],
            rng,
            "positive",
            large_shape=[300, 300],
        ),
    ]


def _reductions(operation, rng):
    cases = []
    for shape, dims in (
        ((4,), (None, 0)),
        ((3, 4), (None, 0, 1, -1)),
        ((2, 3, 4), (None, 0, 1, 2, -2)),
    ):
        for dim in dims:
            x = rng.normal(size=shape)
            out_shape = np.asarray(getattr(x, operation)(axis=dim)).shape
            cases.append(
                case(
                    f"random {operation}(dim={dim}) of shape {shape}",
                    {"x": x},
                    one_op(operation, "x", dim=dim),
                    grad=rng.normal(size=out_shape),
                )
            )
    cases.append(
        case(
            f"{operation}(dim=1) with one huge upstream gradient entry",
            {"x": rng.normal(size=(3, 4))},
            one_op(operation, "x", dim=1),
            grad=_one_huge(rng, (3,)),
            smooth=False,
        )
    )
    cases.append(
        case(
            f"{operation} of an input with one huge entry",
            {"x": _one_huge(rng, (3, 4))},
            one_op(operation, "x"),
            grad=rng.normal(),
            smooth=False,
        )
    )
    # A reduction's forward pass is quick, so a pass per entry needs more entries to take long:
    # 200,000.
    cases.append(
        large(
            f"large {operation}(dim=0)",
            rng,
            {"x": ("mixed", [400, 500])},
            one_op(operation, "x", dim=0),
            grad=[500],
        )
    )
    return cases


def summation(rng):
    return [
        case(
            "b = A.sum(dim=1).sum(); b.backward(2.5)",
            {"A": [[1.0, 2.0], [3.0, 4.0]]},
            [["s", "sum", ["A"], {"dim": 1}], ["y", "sum", ["s"], {}]],
            grad=2.5,
            visible=True,
        ),
        case(
            "R.sum(dim=1).backward([10, 20]): the summed axis is restored before broadcasting",
            {"R": [[1.0, 2.0], [3.0, 4.0]]},
            one_op("sum", "R", dim=1),
            grad=np.array([10.0, 20.0]),
            visible=True,
        ),
        case(
            "x.sum(dim=0)",
            {"x": np.arange(6.0).reshape(2, 3)},
            one_op("sum", "x", dim=0),
            grad=np.array([1.0, 2.0, 3.0]),
        ),
        *_reductions("sum", rng),
    ]


def mean(rng):
    return [
        case(
            "b = A.mean(); b.backward()",
            {"A": [[1.0, 2.0], [3.0, 4.0]]},
            one_op("mean", "A"),
            visible=True,
        ),
        case(
            "x.mean(dim=1)",
            {"x": np.arange(6.0).reshape(2, 3)},
            one_op("mean", "x", dim=1),
            grad=np.array([3.0, 6.0]),
        ),
        *_reductions("mean", rng),
    ]


def indexing(rng):
    cases = [
        case(
            "b = A[0, 1]; b.backward(5.0)",
            {"A": [[1.0, 2.0], [3.0, 4.0]]},
            one_op("getitem", "A", index=[0, 1]),
            grad=5.0,
            visible=True,
        ),
        case(
            "v[[0, 2, 0]]: a repeated index gets the gradient of every pick (np.add.at)",
            {"v": [1.0, 2.0, 3.0]},
            one_op("getitem", "v", index=[np.array([0, 2, 0])]),
            grad=np.array([1.0, 10.0, 100.0]),
            visible=True,
        ),
        case(
            "repeated indices",
            {"x": np.arange(4.0)},
            one_op("getitem", "x", index=[np.array([0, 2, 0, 0])]),
            grad=np.array([1.0, 2.0, 3.0, 4.0]),
        ),
        case(
            "a slice",
            {"x": np.arange(6.0).reshape(2, 3)},
            one_op(
                "getitem", "x", index=[{"slice": [None, None, None]}, {"slice": [1, None, None]}]
            ),
            grad=np.ones((2, 2)),
        ),
    ]
    x = rng.normal(size=(4, 5))
    for title, index in (
        ("random rows, repeated", [rng.integers(0, 4, 7)]),
        ("random pairs, repeated", [rng.integers(0, 4, 6), rng.integers(0, 5, 6)]),
        ("a negative index and a strided slice", [-1, {"slice": [None, None, 2]}]),
        ("a column", [{"slice": [None, None, None]}, 3]),
    ):
        out_shape = x[json_index(index)].shape
        cases.append(
            case(
                title,
                {"x": x},
                one_op("getitem", "x", index=index),
                grad=rng.normal(size=out_shape),
            )
        )
    index = [rng.integers(0, 4, 7)]
    cases.append(
        case(
            "random rows with one huge upstream gradient entry",
            {"x": x},
            one_op("getitem", "x", index=index),
            grad=_one_huge(rng, x[json_index(index)].shape),
            smooth=False,
        )
    )
    rows = rng.integers(0, QUICK[0], QUICK[0])  # picking rows is quick, like a reduction
    cases.append(
        large(
            "large, random rows, repeated",
            rng,
            {"x": ("mixed", QUICK)},
            one_op("getitem", "x", index=[rows]),
            grad=[rows.size, QUICK[1]],
        )
    )
    return cases


def _network(title, sizes, x, target, rng, visible=False, params=None, smooth=True):
    layers, inputs = [], {"x": x}
    for position, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        if position:
            layers.append("relu")
        index = len(layers)
        layers.append("linear")
        W, b = (
            params[position]
            if params
            else (rng.normal(size=(n_out, n_in)), rng.normal(size=(n_out, 1)) * 0.1)
        )
        inputs[f"W{index}"], inputs[f"b{index}"] = W, b
    return case(
        title,
        inputs,
        visible=visible,
        smooth=smooth,
        layers=layers,
        target=np.asarray(target, dtype=np.int64),
    )


def _misclassified_giant(rng, sizes, batch):
    """A random network and batch in which one example is a million times larger than the others and
    classified wrongly, so its loss is huge too: what it adds to every sum swamps the others'
    share."""
    params = [
        (rng.normal(size=(n_out, n_in)), rng.normal(size=(n_out, 1)) * 0.1)
        for n_in, n_out in zip(sizes, sizes[1:])
    ]
    x = rng.normal(size=(sizes[0], batch))
    x[:, 0] *= 1e6
    hidden = x
    for position, (W, b) in enumerate(params):
        hidden = W @ (np.maximum(hidden, 0.0) if position else hidden) + b
    target = rng.integers(0, sizes[-1], batch)
    target[0] = (np.argmax(hidden[:, 0]) + 1) % sizes[-1]
    return _network(
        "a batch with one huge example", sizes, x, target, rng, params=params, smooth=False
    )


def _large_network(rng, sizes, batch):
    layers, inputs = [], {"x": ("mixed", [sizes[0], batch])}
    for position, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        if position:
            layers.append("relu")
        inputs[f"W{len(layers)}"], inputs[f"b{len(layers)}"] = (
            ("mixed", [n_out, n_in]),
            ("mixed", [n_out, 1]),
        )
        layers.append("linear")
    return large(
        f"a large network {sizes}, batch {batch}",
        rng,
        inputs,
        target=[sizes[-1], batch],
        layers=layers,
    )


def network(rng):
    seed_params = [
        ([[1.0, 2.0], [3.0, 4.0]], [[1.0], [2.0]]),
        ([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], [[1.0], [2.0], [3.0]]),
    ]
    batch_params = [
        ([[0.5, -1.0], [1.5, 2.0], [-0.5, 0.3]], [[0.1], [-0.2], [0.3]]),
        ([[1.0, -1.0, 0.5], [0.2, 0.4, -0.6]], [[0.0], [0.1]]),
    ]
    return [
        _network(
            "the notebook's network, one example, target 1",
            (2, 2, 3),
            [[1.0], [2.0]],
            1,
            rng,
            visible=True,
            params=seed_params,
        ),
        _network(
            "a batch of two examples: the loss is their mean",
            (2, 3),
            [[1.0, -1.0], [2.0, 0.5]],
            [0, 2],
            rng,
            visible=True,
            params=[([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [[0.0], [0.0], [-3.0]])],
        ),
        _network(
            "a batch of 4",
            (2, 3, 2),
            [[1.0, -2.0, 0.5, 3.0], [2.0, 1.0, -1.0, 0.5]],
            [0, 1, 1, 0],
            rng,
            params=batch_params,
        ),
        _network(
            "random batched network", (4, 6, 3), rng.normal(size=(4, 8)), rng.integers(0, 3, 8), rng
        ),
        _network(
            "random deeper network",
            (3, 5, 4, 5),
            rng.normal(size=(3, 6)),
            rng.integers(0, 5, 6),
            rng,
        ),
        _network(
            "random single layer (the loss alone)",
            (5, 4),
            rng.normal(size=(5, 7)),
            rng.integers(0, 4, 7),
            rng,
        ),
        _misclassified_giant(rng, (4, 6, 3), 8),
        _large_network(
            rng, (128, 200, 200), 200
        ),  # every node's input, the logits too, has over 25,000 entries
    ]


# grade_id -> the function making its cases
BUILDERS = {
    "multiplication": multiplication,
    "division": division,
    "power": power,
    "matmul": matmul,
    "relu": relu,
    "exp": exp,
    "log": log,
    "sum": summation,
    "mean": mean,
    "indexing": indexing,
    "network": network,
}
HUGE = "one entry a trillion times the others"
_BINARY = (
    "broadcasting shapes, a number on the left, a tensor with itself and an upstream "
    f"gradient with {HUGE}"
)
_UNARY = f"other shapes, an input used twice and an upstream gradient with {HUGE}"
_REDUCTION = (
    "each axis (dim=None, 0, 1, -1, -2) of 1-, 2- and 3-D inputs, and inputs or "
    f"upstream gradients with {HUGE}"
)
# grade_id -> what its hidden cases try, in words: categories, never the inputs (each also has a
# large one)
HIDDEN_KINDS = {
    "multiplication": _BINARY,
    "division": _BINARY,
    "power": f"exponents 0, 1, negative and fractional, and {HUGE}",
    "matmul": f"non-square, vector-shaped and batched (3-D) operands, and {HUGE}",
    "relu": f"inputs at exactly 0 (where the derivative is taken as 0), relu(x + x) and {HUGE}",
    "exp": _UNARY,
    "log": _UNARY,
    "sum": _REDUCTION,
    "mean": _REDUCTION,
    "indexing": "repeated indices (their gradients add up), negative indices, strided slices and "
    f"{HUGE}",
    "network": "batches, a deeper network, the loss alone and a batch with one huge, "
    "misclassified example",
}
