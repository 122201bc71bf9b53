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


def spread(seed, count, stream):
    """`count` numbers spread evenly over [-1, 1), neighbours far apart (a Weyl sequence): as varied
    as
    random draws for testing a gradient, and a few times cheaper, which matters for large cases."""
    step = np.sqrt(PRIMES[stream % len(PRIMES)]) % 1.0
    points = np.arange(1.0, count + 1.0)
    points *= step
    points += seed * 0.6180339887498949
    points -= np.floor(points)  # the fractional part; numpy's % takes several times as long
    points *= 2.0
    points -= (
        1.0  # in place throughout: each new array of a large case costs page faults in a fresh fork
    )
    return points


PRIMES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37)


def _away_from_zero(u):
    magnitude = np.abs(u)
    magnitude *= 1.5
    magnitude += 0.5
    return np.copysign(magnitude, u, out=magnitude)


# how a "generate" request turns numbers spread over [-1, 1) into an input of a kind, in place
GENERATORS = {
    "mixed": lambda u: np.multiply(u, 2.0, out=u),
    "positive": lambda u: np.add(np.multiply(u, 0.75, out=u), 1.25, out=u),
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
        drawn["grad"] = spread(seed, int(np.prod(spec["grad"])), len(spec["inputs"])).reshape(
            spec["grad"]
        )
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
