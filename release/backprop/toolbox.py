"""A small autograd engine on numpy, in the spirit of PyTorch.

A `Tensor` wraps a float64 array. Each operation on tensors that require
gradients creates a `Function` node, stored in the result's `grad_fn`, that
remembers its inputs and whatever its backward pass needs. `Tensor.backward()`
visits these nodes from the output back to the leaves (in reverse topological
order) and hands each node the gradient of its output.

Your task: complete the `backward` method of every operation below.

- `backward(grad)` receives the gradient of the final result with respect to
  this operation's output (an array shaped like the output) and returns one
  gradient per input, as a tuple in the order of the inputs.
- You may ignore broadcasting: return each gradient shaped like the
  broadcast result, and the engine sums it back to the input's shape
  (see `reduce_to_shape`), just as PyTorch does.
- `Add` is done for you; read it first.
- Change only the bodies marked `# YOUR CODE HERE`. You may add imports (of
  the standard library or numpy: the grader has nothing else) and helper
  functions with new names; any other change to the given code makes the
  grader give the hand-in 0 points, since that code is what the checks rely on.
"""
import numbers

import numpy as np


class Tensor:
    """A float64 array that can record the operations applied to it."""

    # Lets `ndarray * Tensor` reach Tensor.__rmul__ instead of numpy's broadcasting.
    __array_ufunc__ = None

    def __init__(self, data, requires_grad=False):
        self.data = np.array(data.data if isinstance(data, Tensor) else data, dtype=np.float64)
        self.requires_grad = bool(requires_grad)
        self.grad = None
        self.grad_fn = None

    @classmethod
    def _result(cls, data, grad_fn):
        """Wrap an operation's output without copying it."""
        out = cls.__new__(cls)
        out.data = np.asarray(data, dtype=np.float64)
        out.requires_grad = grad_fn is not None
        out.grad = None
        out.grad_fn = grad_fn
        return out

    @property
    def shape(self):
        return self.data.shape

    @property
    def ndim(self):
        return self.data.ndim

    def __repr__(self):
        flag = ", requires_grad=True" if self.requires_grad else ""
        body = np.array2string(self.data, prefix="Tensor(", separator=", ")
        return f"Tensor({body}{flag})"

    # ----- gradients -------------------------------------------------------

    def zero_grad(self):
        """Forget the accumulated gradient (gradients add up until you do)."""
        self.grad = None

    def backward(self, grad=None):
        """Backpropagate from this tensor, accumulating `.grad` on every tensor reached.

        `grad` is the gradient of some final quantity with respect to this
        tensor; it may be left out when the tensor holds a single element.
        The graph is freed afterwards, as in PyTorch.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward() was called on a tensor that does not require grad and has no "
                "grad_fn; create the inputs with Tensor(..., requires_grad=True)."
            )
        order = self._graph_in_topological_order()
        pending = {self: self._seed_gradient(grad)}
        for node in order:
            node_grad = pending.pop(node)
            # A copy: an operation may hand the same array to several inputs.
            node.grad = node_grad.copy() if node.grad is None else node.grad + node_grad
            fn = node.grad_fn
            if fn is None:
                continue
            input_grads = fn.backward(node_grad)
            for position, (parent, parent_grad) in enumerate(
                _one_per_input(fn, input_grads)
            ):
                if parent.requires_grad:
                    parent_grad = reduce_to_shape(parent_grad, parent.shape, fn, position)
                    previous = pending.get(parent)
                    pending[parent] = parent_grad if previous is None else previous + parent_grad
            fn.free()

    def _seed_gradient(self, grad):
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward() needs a gradient for a tensor of shape {self.shape}: a gradient "
                    "can be implied only for single-element outputs; call backward(grad) with an "
                    "array of that shape."
                )
            grad = 1.0
        grad = np.asarray(grad.data if isinstance(grad, Tensor) else grad, dtype=np.float64)
        if grad.shape != self.shape and grad.ndim != 0:
            raise RuntimeError(
                f"backward() got a gradient of shape {grad.shape} for a tensor of shape "
                f"{self.shape}; pass a gradient of shape {self.shape} or a single number."
            )
        return np.broadcast_to(grad, self.shape).copy()

    def _graph_in_topological_order(self):
        """Tensors that need gradients, each after every tensor computed from it."""
        order, visited = [], set()
        stack = [(self, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            # Marked when expanded, not when pushed: a tensor reached again along a
            # longer path must still come after every tensor computed from it.
            if node in visited:
                continue
            visited.add(node)
            stack.append((node, True))
            fn = node.grad_fn
            if fn is None:
                continue
            if fn.inputs is None:
                raise RuntimeError(
                    "Trying to backward through the graph a second time: its intermediate "
                    "values were freed by the first backward(). Run the forward computation "
                    "again to build a new graph, then call backward() on the new result."
                )
            for parent in fn.inputs:
                if parent.requires_grad and parent not in visited:
                    stack.append((parent, False))
        order.reverse()
        return order

    # ----- operators -------------------------------------------------------

    def __add__(self, other):
        return Add.apply(self, other)

    def __radd__(self, other):
        return Add.apply(other, self)

    def __neg__(self):
        return Mul.apply(self, -1.0)

    def __sub__(self, other):
        return Add.apply(self, -as_tensor(other))

    def __rsub__(self, other):
        return Add.apply(other, -self)

    def __mul__(self, other):
        return Mul.apply(self, other)

    def __rmul__(self, other):
        return Mul.apply(other, self)

    def __truediv__(self, other):
        return Div.apply(self, other)

    def __rtruediv__(self, other):
        return Div.apply(other, self)

    def __pow__(self, exponent):
        if isinstance(exponent, bool) or not isinstance(exponent, numbers.Real):
            raise TypeError(
                f"Tensor ** expects a Python number as exponent, got {type(exponent).__name__}; "
                "write exp(log(base) * exponent) for tensor exponents."
            )
        return Pow.apply(self, exponent=float(exponent))

    def __matmul__(self, other):
        return MatMul.apply(self, other)

    def __rmatmul__(self, other):
        return MatMul.apply(other, self)

    def __getitem__(self, index):
        return GetItem.apply(self, index=_plain_index(index))

    def sum(self, dim=None):
        """Sum over all elements, or over axis (or axes) `dim`, dropping it."""
        return Sum.apply(self, dim=dim)

    def mean(self, dim=None):
        """Mean over all elements, or over axis (or axes) `dim`, dropping it."""
        return Mean.apply(self, dim=dim)


def as_tensor(value):
    """Return `value` as a Tensor; numbers and arrays become constants."""
    return value if isinstance(value, Tensor) else Tensor(value)


def _plain_index(index):
    """Replace Tensors inside an index by integer arrays."""
    if isinstance(index, tuple):
        return tuple(_plain_index(part) for part in index)
    if isinstance(index, Tensor):
        return index.data.astype(np.intp)
    return index


def _one_per_input(fn, input_grads):
    """Pair each input of `fn` with its gradient, checking that there is one each."""
    if not isinstance(input_grads, (tuple, list)):
        input_grads = (input_grads,)
    if len(input_grads) != len(fn.inputs):
        raise RuntimeError(
            f"{type(fn).__name__}.backward returned {len(input_grads)} gradient(s) for "
            f"{len(fn.inputs)} input(s); return a tuple with one gradient per input."
        )
    return zip(fn.inputs, input_grads)


def reduce_to_shape(grad, shape, fn=None, position=0):
    """Sum a gradient over the axes broadcasting added, so it matches `shape`.

    This is the one place where broadcasting is undone, so no operation has to.
    """
    where = f"{type(fn).__name__}.backward" if fn is not None else "a backward function"
    if grad is None:
        raise RuntimeError(
            f"{where} returned None for input {position}; return an array of the input's shape."
        )
    grad = np.asarray(grad, dtype=np.float64)
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra < 0 or any(
        have != want and want != 1 for have, want in zip(grad.shape[extra:], shape)
    ):
        raise RuntimeError(
            f"{where} returned a gradient of shape {grad.shape} for input {position} of "
            f"shape {shape}; it must have the input's shape (or the broadcast output's shape)."
        )
    grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(axis for axis, want in enumerate(shape) if want == 1 and grad.shape[axis] != 1)
    return grad.sum(axis=stretched, keepdims=True) if stretched else grad


class Function:
    """One node of the graph: an operation's forward and backward side by side.

    `apply` runs `forward` on the inputs' arrays and, if any input requires
    gradients, records the node as the output's `grad_fn`. Subclasses store in
    `self` whatever `backward` will need.
    """

    inputs = None

    @classmethod
    def apply(cls, *inputs, **options):
        tensors = tuple(as_tensor(value) for value in inputs)
        fn = cls()
        data = fn.forward(*(tensor.data for tensor in tensors), **options)
        if not any(tensor.requires_grad for tensor in tensors):
            return Tensor._result(data, None)
        fn.inputs = tensors
        return Tensor._result(data, fn)

    def forward(self, *arrays, **options):
        raise NotImplementedError

    def backward(self, grad):
        raise NotImplementedError

    def free(self):
        """Drop the inputs and saved arrays once backward has used them."""
        vars(self).clear()
        self.inputs = None

    def __repr__(self):
        return f"<{type(self).__module__}.{type(self).__name__} object at {id(self):#x}>"


class Add(Function):
    """a + b. Worked example: addition passes the gradient on unchanged to both inputs."""

    def forward(self, a, b):
        return a + b

    def backward(self, grad):
        return grad, grad


class Mul(Function):
    """a * b, elementwise."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, grad):
        # YOUR CODE HERE
        raise NotImplementedError()


class Div(Function):
    """a / b, elementwise."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, grad):
        # YOUR CODE HERE
        raise NotImplementedError()


class Pow(Function):
    """a ** exponent, for a constant number `exponent`."""

    def forward(self, a, exponent):
        self.a, self.exponent = a, exponent
        return a**exponent

    def backward(self, grad):
        # YOUR CODE HERE
        raise NotImplementedError()


class MatMul(Function):
    """a @ b, matrix product of (stacks of) matrices."""

    def forward(self, a, b):
        if a.ndim < 2 or b.ndim < 2:
            raise ValueError(
                f"@ expects matrices, got shapes {a.shape} and {b.shape}; store vectors as "
                "columns of shape (n, 1)."
            )
        self.a, self.b = a, b
        return a @ b

    def backward(self, grad):
        # YOUR CODE HERE
        raise NotImplementedError()


class ReLU(Function):
    """max(a, 0), elementwise; its derivative at exactly 0 is taken as 0."""

    def forward(self, a):
        self.a = a
        return np.maximum(a, 0.0)

    def backward(self, grad):
        # YOUR CODE HERE
        raise NotImplementedError()


class Exp(Function):
    """e ** a, elementwise."""

    def forward(self, a):
        self.out = np.exp(a)
        return self.out

    def backward(self, grad):
        # YOUR CODE HERE
        raise NotImplementedError()


class Log(Function):
    """Natural logarithm, elementwise."""

    def forward(self, a):
        self.a = a
        return np.log(a)

    def backward(self, grad):
        # YOUR CODE HERE
        raise NotImplementedError()


class Sum(Function):
    """Sum over all elements (dim=None) or over axis `dim`, which disappears."""

    def forward(self, a, dim):
        self.shape, self.dim = a.shape, dim
        return a.sum(axis=dim)

    def backward(self, grad):
        # YOUR CODE HERE
        raise NotImplementedError()


class Mean(Function):
    """Mean over all elements (dim=None) or over axis `dim`, which disappears."""

    def forward(self, a, dim):
        out = a.mean(axis=dim)
        self.shape, self.dim, self.count = a.shape, dim, a.size // max(np.size(out), 1)
        return out

    def backward(self, grad):
        # YOUR CODE HERE
        raise NotImplementedError()


class GetItem(Function):
    """a[index] for basic and integer-array indices; repeated indices add up."""

    def forward(self, a, index):
        self.shape, self.index = a.shape, index
        return a[index]

    def backward(self, grad):
        # YOUR CODE HERE
        raise NotImplementedError()


def relu(x):
    """Elementwise max(x, 0)."""
    return ReLU.apply(x)


def exp(x):
    """Elementwise e ** x."""
    return Exp.apply(x)


def log(x):
    """Elementwise natural logarithm."""
    return Log.apply(x)
