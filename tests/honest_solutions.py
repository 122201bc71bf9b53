"""Correct solutions written independently, in clearly different styles: the honest class.

The similarity check is calibrated on them (no pair may score above its threshold) and its tests
plant copies among them. Each style is the body of every solution region (by class), plus any
helper functions its author added at the end of a file. tests/test_honest_solutions.py grades
them, so each is a correct solution, as the calibration assumes.
"""

from handins import REGION_FILES, with_regions

TEXTBOOK = {  # the shortest answers, as the lecture writes them
    "Mul": "return grad * self.b, grad * self.a\n",
    "Div": "return grad / self.b, -grad * self.a / self.b**2\n",
    "Pow": (
        "if self.exponent == 0:\n"
        "    return (np.zeros_like(self.a),)\n"
        "return (grad * self.exponent * self.a ** (self.exponent - 1),)\n"
    ),
    "MatMul": "return grad @ self.b.swapaxes(-1, -2), self.a.swapaxes(-1, -2) @ grad\n",
    "ReLU": "return (grad * (self.a > 0),)\n",
    "Exp": "return (grad * self.out,)\n",
    "Log": "return (grad / self.a,)\n",
    "Sum": (
        "if self.dim is not None:\n"
        "    grad = np.expand_dims(grad, self.dim)\n"
        "return (np.broadcast_to(grad, self.shape),)\n"
    ),
    "Mean": (
        "if self.dim is not None:\n"
        "    grad = np.expand_dims(grad, self.dim)\n"
        "return (np.broadcast_to(grad / self.count, self.shape),)\n"
    ),
    "GetItem": "out = np.zeros(self.shape)\nnp.add.at(out, self.index, grad)\nreturn (out,)\n",
    "SoftmaxCrossEntropy": (
        "dlogits = self.probs.copy()\n"
        "dlogits[self.target, self.columns] -= 1.0\n"
        "return (grad * dlogits / len(self.columns),)\n"
    ),
}

NAMED = {  # every gradient in a variable of its own
    "Mul": "grad_a = grad * self.b\ngrad_b = grad * self.a\nreturn grad_a, grad_b\n",
    "Div": (
        "grad_a = grad / self.b\n"
        "grad_b = -grad * self.a / (self.b * self.b)\n"
        "return grad_a, grad_b\n"
    ),
    "Pow": (
        "if self.exponent == 0:\n"
        "    return (np.zeros_like(grad),)\n"
        "local = self.exponent * self.a ** (self.exponent - 1)\n"
        "return (grad * local,)\n"
    ),
    "MatMul": (
        "b_t = np.swapaxes(self.b, -1, -2)\n"
        "a_t = np.swapaxes(self.a, -1, -2)\n"
        "grad_a = grad @ b_t\n"
        "grad_b = a_t @ grad\n"
        "return grad_a, grad_b\n"
    ),
    "ReLU": "positive = self.a > 0\ngrad_a = grad * positive\nreturn (grad_a,)\n",
    "Exp": "grad_a = grad * self.out\nreturn (grad_a,)\n",
    "Log": "grad_a = grad / self.a\nreturn (grad_a,)\n",
    "Sum": (
        "if self.dim is None:\n"
        "    grad_a = np.full(self.shape, grad)\n"
        "else:\n"
        "    copies = self.shape[self.dim]\n"
        "    grad_a = np.repeat(np.expand_dims(grad, self.dim), copies, axis=self.dim)\n"
        "return (grad_a,)\n"
    ),
    "Mean": (
        "if self.dim is None:\n"
        "    grad_a = np.full(self.shape, grad / self.count)\n"
        "else:\n"
        "    grad_a = np.ones(self.shape) * np.expand_dims(grad, self.dim) / self.count\n"
        "return (grad_a,)\n"
    ),
    "GetItem": (
        "grad_a = np.zeros(self.shape)\nnp.add.at(grad_a, self.index, grad)\nreturn (grad_a,)\n"
    ),
    "SoftmaxCrossEntropy": (
        "batch = len(self.columns)\n"
        "one_hot = np.zeros_like(self.probs)\n"
        "one_hot[self.target, self.columns] = 1.0\n"
        "grad_logits = (self.probs - one_hot) / batch\n"
        "return (grad * grad_logits,)\n"
    ),
}

NUMPY_CALLS = {  # numpy's functions instead of operators; einsum for the products
    "Mul": "return np.multiply(grad, self.b), np.multiply(grad, self.a)\n",
    "Div": (
        "return np.divide(grad, self.b), np.negative(np.divide(np.multiply(grad, self.a), "
        "np.square(self.b)))\n"
    ),
    "Pow": (
        "if self.exponent == 0:\n"
        "    return (np.zeros(np.shape(self.a)),)\n"
        "return (np.multiply(grad, self.exponent * np.power(self.a, self.exponent - 1)),)\n"
    ),
    "MatMul": (
        'left = np.einsum("...ik,...jk->...ij", grad, self.b)\n'
        'right = np.einsum("...ki,...kj->...ij", self.a, grad)\n'
        "return left, right\n"
    ),
    "ReLU": "return (np.where(self.a > 0, grad, 0.0),)\n",
    "Exp": "return (np.multiply(grad, self.out),)\n",
    "Log": "return (np.divide(grad, self.a),)\n",
    "Sum": (
        "expanded = grad if self.dim is None else np.expand_dims(grad, axis=self.dim)\n"
        "return (np.broadcast_to(expanded, self.shape).copy(),)\n"
    ),
    "Mean": (
        "expanded = grad if self.dim is None else np.expand_dims(grad, axis=self.dim)\n"
        "return (np.divide(np.broadcast_to(expanded, self.shape), self.count),)\n"
    ),
    "GetItem": (
        "size = int(np.prod(self.shape))\n"
        "source = np.arange(size).reshape(self.shape)[self.index]\n"
        "weights = np.broadcast_to(grad, source.shape).ravel()\n"
        "counts = np.bincount(source.ravel(), weights=weights, minlength=size)\n"
        "return (counts.reshape(self.shape),)\n"
    ),
    "SoftmaxCrossEntropy": (
        "labels = np.eye(self.probs.shape[0])[:, self.target]\n"
        "return (grad * (self.probs - labels) / self.probs.shape[1],)\n"
    ),
}

HELPERS = {  # two helper functions carry the shared steps
    "Mul": "return (self.b * grad, self.a * grad)\n",
    "Div": "inv = 1.0 / self.b\nreturn (grad * inv, -grad * self.a * inv * inv)\n",
    "Pow": (
        "e = self.exponent\n"
        "slope = e * self.a ** (e - 1) if e != 0 else 0.0 * self.a\n"
        "return (slope * grad,)\n"
    ),
    "MatMul": "return (grad @ _swap_last(self.b), _swap_last(self.a) @ grad)\n",
    "ReLU": "return ((self.a > 0) * grad,)\n",
    "Exp": "return (self.out * grad,)\n",
    "Log": "return (grad * (1.0 / self.a),)\n",
    "Sum": "return (_spread(grad, self.dim, self.shape),)\n",
    "Mean": "return (_spread(grad, self.dim, self.shape) / self.count,)\n",
    "GetItem": (
        "total = np.zeros(self.shape)\nnp.add.at(total, self.index, grad)\nreturn (total,)\n"
    ),
    "SoftmaxCrossEntropy": (
        "d = self.probs.copy()\n"
        "d[self.target, self.columns] = d[self.target, self.columns] - 1\n"
        "return (d * (grad / d.shape[1]),)\n"
    ),
    "toolbox.py": (
        "def _swap_last(x):\n"
        "    return np.swapaxes(x, -1, -2)\n"
        "\n\n"
        "def _spread(grad, dim, shape):\n"
        "    if dim is not None:\n"
        "        grad = np.expand_dims(grad, dim)\n"
        "    return np.broadcast_to(grad, shape)\n"
    ),
}

BEGINNER = {  # comments, single letters, a loop where numpy would index
    "Mul": (
        "# d(a*b)/da = b and d(a*b)/db = a\n"
        "da = self.b * grad\n"
        "db = self.a * grad\n"
        "return (da, db)\n"
    ),
    "Div": (
        "# quotient rule\n"
        "da = grad / self.b\n"
        "db = grad * (-self.a / self.b ** 2)\n"
        "return (da, db)\n"
    ),
    "Pow": (
        "n = self.exponent\n"
        "if n == 0:\n"
        "    return (0 * self.a,)\n"
        "return (n * self.a ** (n - 1) * grad,)\n"
    ),
    "MatMul": (
        "at = self.a.swapaxes(-2, -1)\n"
        "bt = self.b.swapaxes(-2, -1)\n"
        "return (grad @ bt, at @ grad)\n"
    ),
    "ReLU": "mask = (self.a > 0).astype(float)\nreturn (mask * grad,)\n",
    "Exp": "# the derivative of exp is exp itself\nreturn (self.out * grad,)\n",
    "Log": "return (grad * self.a ** -1,)\n",
    "Sum": (
        "g = np.asarray(grad)\n"
        "if self.dim is not None:\n"
        "    g = np.expand_dims(g, axis=self.dim)\n"
        "out = np.zeros(self.shape) + g\n"
        "return (out,)\n"
    ),
    "Mean": (
        "g = np.asarray(grad) / self.count\n"
        "if self.dim is not None:\n"
        "    g = np.expand_dims(g, axis=self.dim)\n"
        "return (np.zeros(self.shape) + g,)\n"
    ),
    "GetItem": "da = np.zeros(self.shape)\nnp.add.at(da, self.index, grad)\nreturn (da,)\n",
    "SoftmaxCrossEntropy": (
        "d = np.array(self.probs)\n"
        "for k in range(len(self.columns)):\n"
        "    d[self.target[k], self.columns[k]] -= 1.0\n"
        "d /= len(self.columns)\n"
        "return (grad * d,)\n"
    ),
}

ONE_LINERS = {  # one expression per backward
    "Mul": "return tuple(grad * other for other in (self.b, self.a))\n",
    "Div": "return grad / self.b, grad * self.a * -(self.b ** -2.0)\n",
    "Pow": (
        "return ((self.exponent * self.a ** (self.exponent - 1) * grad) if self.exponent "
        "else np.zeros(self.a.shape),)\n"
    ),
    "MatMul": "return grad @ np.moveaxis(self.b, -1, -2), np.moveaxis(self.a, -1, -2) @ grad\n",
    "ReLU": "return (grad * np.heaviside(self.a, 0.0),)\n",
    "Exp": "return tuple([grad * self.out])\n",
    "Log": "return (np.true_divide(grad, self.a),)\n",
    "Sum": (
        "return (np.broadcast_to(grad if self.dim is None else np.expand_dims(grad, self.dim), "
        "self.shape),)\n"
    ),
    "Mean": (
        "return (np.broadcast_to((grad if self.dim is None else np.expand_dims(grad, self.dim)) "
        "/ self.count, self.shape),)\n"
    ),
    "GetItem": (
        "acc = np.zeros(int(np.prod(self.shape)))\n"
        "where = np.arange(acc.size).reshape(self.shape)[self.index]\n"
        "np.add.at(acc, where, grad)\n"
        "return (acc.reshape(self.shape),)\n"
    ),
    "SoftmaxCrossEntropy": (
        "return (grad / self.columns.size * (self.probs - (np.arange(self.probs.shape[0])"
        "[:, None] == self.target)),)\n"
    ),
}

RESHAPING = {  # shapes spelt out: reshape to keep the summed axis, masks written in place
    "Mul": "ga, gb = grad * self.b, grad * self.a\nreturn ga, gb\n",
    "Div": "quotient = self.a / self.b\nreturn grad / self.b, -grad * quotient / self.b\n",
    "Pow": (
        "if not self.exponent:\n"
        "    return (np.zeros_like(self.a),)\n"
        "return (grad * self.exponent * np.power(self.a, self.exponent - 1),)\n"
    ),
    "MatMul": (
        "axes = list(range(self.a.ndim))\n"
        "axes[-2:] = axes[-1], axes[-2]\n"
        "a_t = self.a.transpose(axes)\n"
        "axes = list(range(self.b.ndim))\n"
        "axes[-2:] = axes[-1], axes[-2]\n"
        "return grad @ self.b.transpose(axes), a_t @ grad\n"
    ),
    "ReLU": "out = np.array(grad, copy=True)\nout[self.a <= 0] = 0.0\nreturn (out,)\n",
    "Exp": "return (self.out * np.asarray(grad),)\n",
    "Log": "reciprocal = 1 / self.a\nreturn (reciprocal * grad,)\n",
    "Sum": (
        "keep = [1] * len(self.shape) if self.dim is None else list(self.shape)\n"
        "if self.dim is not None:\n"
        "    keep[self.dim] = 1\n"
        "return (np.ones(self.shape) * np.reshape(grad, keep),)\n"
    ),
    "Mean": (
        "keep = [1] * len(self.shape) if self.dim is None else list(self.shape)\n"
        "if self.dim is not None:\n"
        "    keep[self.dim] = 1\n"
        "return (np.ones(self.shape) * np.reshape(grad, keep) / self.count,)\n"
    ),
    "GetItem": (
        "grad_in = np.zeros(self.shape)\nnp.add.at(grad_in, self.index, grad)\nreturn (grad_in,)\n"
    ),
    "SoftmaxCrossEntropy": (
        "batch = self.probs.shape[1]\n"
        "delta = self.probs.copy()\n"
        "delta[self.target, np.arange(batch)] -= 1\n"
        "return (delta * grad / batch,)\n"
    ),
}

STYLES = {
    "textbook": TEXTBOOK,
    "named": NAMED,
    "numpy calls": NUMPY_CALLS,
    "helpers": HELPERS,
    "beginner": BEGINNER,
    "one-liners": ONE_LINERS,
    "reshaping": RESHAPING,
}


def honest_files(style):
    """{file: text} of the hand-in written in `style`: its bodies in the solution regions, its
    helpers at the end of their file."""
    files = with_regions({cls: body for cls, body in style.items() if cls in REGION_FILES})
    for name, helpers in style.items():
        if name not in REGION_FILES:
            files[name] = files[name].rstrip("\n") + "\n\n\n" + helpers
    return files
