"""What the backprop assignment's cases compute: the one definition, run on the hand-in's engine in
the sandbox and on `toolbox_solution` by the judge.

This file runs inside the sandbox beside the worker, so it imports the standard library and numpy
only; the engine comes as `modules` ({"toolbox": ..., "nn": ...}).
"""

import operator

import numpy as np


def json_index(parts):
    """An index tuple from its JSON form: ints, [start, stop, step] slices and int arrays."""

    def part(p):
        if isinstance(p, dict) and "slice" in p:
            return slice(*p["slice"])
        return p

    return tuple(part(p) for p in parts)


OPERATIONS = {
    "add": lambda tb, a, b: operator.add(a, b),
    "sub": lambda tb, a, b: operator.sub(a, b),
    "mul": lambda tb, a, b: operator.mul(a, b),
    "div": lambda tb, a, b: operator.truediv(a, b),
    "matmul": lambda tb, a, b: operator.matmul(a, b),
    "pow": lambda tb, a, exponent: a**exponent,
    "relu": lambda tb, a: tb.relu(a),
    "exp": lambda tb, a: tb.exp(a),
    "log": lambda tb, a: tb.log(a),
    "sum": lambda tb, a, dim=None: a.sum(dim=dim),
    "mean": lambda tb, a, dim=None: a.mean(dim=dim),
    "getitem": lambda tb, a, index: a[json_index(index)],
}


def weyl_sequence(count, step=2**0.5 - 1):
    """`count` numbers spread evenly over [-1, 1), neighbours far apart (a Weyl sequence): as varied
    as random draws for testing a gradient, and cheaper."""
    points = np.arange(count, dtype=np.float64)
    points *= step
    points -= np.floor(points)  # the fractional part; numpy's % takes several times as long
    points *= 2.0
    points -= 1.0
    return points


# Every large input is a window of this one sequence, at a place its seed and stream choose, copied
# once into the input's kind: one pass over its numbers, where computing them took ten. Built once,
# when this module loads: in the worker, before any fork, so no check pays for it.
WINDOW = 1 << 18  # the most numbers one input may take
SEQUENCE = weyl_sequence(2 * WINDOW)
SEQUENCE.setflags(write=False)
STREAM_STRIDE = 37_123  # how far apart the windows of one case's inputs start


def spread(seed, count, stream):
    """`count` numbers of `SEQUENCE` over [-1, 1) for input `stream` of the case `seed` draws: a
    read-only view (each kind makes its own array from it)."""
    if count > WINDOW:
        raise ValueError(f"a generated input holds at most {WINDOW} numbers, not {count}")
    start = (seed + stream * STREAM_STRIDE) % WINDOW
    return SEQUENCE[start : start + count]


def _away_from_zero(u):
    magnitude = np.abs(u)
    magnitude *= 1.5
    magnitude += 0.5
    return np.copysign(magnitude, u, out=magnitude)


def _positive(u):
    values = np.multiply(u, 0.75)
    values += 1.25
    return values


# how a "generate" request turns numbers spread over [-1, 1) into a new array of an input's kind
GENERATORS = {
    "mixed": lambda u: np.multiply(u, 2.0),
    "positive": _positive,
    "away from 0": _away_from_zero,
}


def generated(spec):
    """The inputs (and upstream gradient, and targets) a "generate" request describes by kind and
    shape:
    a large case travels as a seed, not as megabytes of numbers."""
    seed, drawn = spec["seed"], {"inputs": {}}
    for stream, (name, (kind, shape)) in enumerate(spec["inputs"].items()):
        drawn["inputs"][name] = GENERATORS[kind](spread(seed, int(np.prod(shape)), stream)).reshape(
            shape
        )
    if spec.get("grad") is not None:
        count = int(np.prod(spec["grad"]))
        drawn["grad"] = np.array(spread(seed, count, len(spec["inputs"]))).reshape(spec["grad"])
    if spec.get("target") is not None:
        classes, size = spec["target"]
        drawn["target"] = (np.arange(size) * 7 + seed) % classes
    return drawn


def evaluate(modules, case, backward=True):
    """Run one case with the engine in `modules`: the output's value and the wanted gradients.

    A case is either a chain of operations ("steps" over named "inputs", each
    input a leaf with requires_grad=True, backward from "output" with "grad")
    or a "network" of "linear"/"relu" layers with a cross-entropy loss. A large
    case "generate"s its inputs from a seed; its value is not asked for ("value": False),
    as the forward pass is the given code's and the answer is large enough as it is.
    """
    tb, nn = modules["toolbox"], modules["nn"]
    if "generate" in case:
        case = {**case, **generated(case["generate"])}
    inputs = case["inputs"]
    if "layers" in case:
        leaves, network = {}, nn.Network()
        for position, layer in enumerate(case["layers"]):
            if layer == "relu":
                network.add_layer(nn.ReLU())
                continue
            linear = nn.LinearLayer(inputs[f"W{position}"], inputs[f"b{position}"])
            leaves[f"W{position}"], leaves[f"b{position}"] = linear.W, linear.b
            network.add_layer(linear)
        result = nn.CrossEntropyLoss().forward(
            network.forward(tb.Tensor(inputs["x"])), case["target"]
        )
        grad = None
    else:
        leaves = {name: tb.Tensor(array, requires_grad=True) for name, array in inputs.items()}
        tensors = dict(leaves)
        for name, operation, args, options in case["steps"]:
            operands = [tensors[a] if isinstance(a, str) else a for a in args]
            tensors[name] = OPERATIONS[operation](tb, *operands, **options)
        result, grad = tensors[case["output"]], case.get("grad")
    if backward:
        result.backward() if grad is None else result.backward(grad)
    grads = {name: leaves[name].grad for name in case["wants"]} if backward else {}
    return {"value": result.data if case.get("value", True) else None, "grads": grads}
