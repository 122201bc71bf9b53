"""Network layers, a loss and an optimiser built on the `toolbox` engine.

Data is laid out in columns, as in the lecture: one example is a column
vector of shape (features, 1) and a batch of examples has shape
(features, batch). A linear layer therefore computes `W @ x + b`.
"""
import numpy as np

import toolbox as tb
from toolbox import Tensor


class LinearLayer:
    """y = W @ x + b with W of shape (out, in) and b of shape (out, 1)."""

    def __init__(self, W, b):
        self.W = Tensor(W, requires_grad=True)
        self.b = Tensor(b, requires_grad=True)
        if self.W.ndim != 2 or self.b.shape != (self.W.shape[0], 1):
            raise ValueError(
                f"LinearLayer needs W of shape (out, in) and b of shape (out, 1); got W "
                f"{self.W.shape} and b {self.b.shape}."
            )

    @classmethod
    def initialised(cls, n_in, n_out, rng):
        """A layer with He-initialised weights (suits ReLU networks) and zero bias."""
        W = rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_out, n_in))
        return cls(W, np.zeros((n_out, 1)))

    def forward(self, x):
        return self.W @ x + self.b

    def parameters(self):
        return [self.W, self.b]


class ReLU:
    """Elementwise max(x, 0) as a layer."""

    def forward(self, x):
        return tb.relu(x)

    def parameters(self):
        return []


class Network:
    """Layers applied one after the other."""

    def __init__(self):
        self.layers = []

    def add_layer(self, layer):
        self.layers.append(layer)

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]


class SoftmaxCrossEntropy(tb.Function):
    """Mean cross-entropy between softmax(logits) and integer class labels.

    Fused into one graph node rather than composed from exp, sum and log:
    the forward pass can then use the log-sum-exp shift, which keeps it exact
    for logits in the hundreds where a plain exp overflows, and the backward
    pass is the short, well-known (softmax - one_hot) / batch instead of a
    chain of eight nodes, which is also much faster.
    """

    def forward(self, logits, target):
        columns = np.arange(logits.shape[1])
        shifted = logits - logits.max(axis=0, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=0, keepdims=True))
        self.probs, self.target, self.columns = np.exp(log_probs), target, columns
        return -log_probs[target, columns].mean()

    def backward(self, grad):
        # YOUR CODE HERE
        raise NotImplementedError()


class CrossEntropyLoss:
    """Mean softmax cross-entropy of logits (classes, batch) against class labels."""

    def forward(self, logits, target):
        """`target` is one class index (a single column) or an int array of shape (batch,)."""
        logits = tb.as_tensor(logits)
        return SoftmaxCrossEntropy.apply(logits, target=_checked_target(logits.shape, target))


def _checked_target(logits_shape, target):
    if len(logits_shape) != 2:
        raise ValueError(
            f"CrossEntropyLoss expects logits of shape (classes, batch), got {logits_shape}."
        )
    classes, batch = logits_shape
    target = np.asarray(target)
    if not np.issubdtype(target.dtype, np.integer):
        raise TypeError(f"CrossEntropyLoss expects integer class labels, got dtype {target.dtype}.")
    if target.ndim == 0:
        target = target.reshape(1)
    if target.shape != (batch,):
        raise ValueError(
            f"CrossEntropyLoss got {target.size} label(s) of shape {target.shape} for a batch "
            f"of {batch} column(s); pass one int per column, shape ({batch},)."
        )
    if target.min() < 0 or target.max() >= classes:
        raise ValueError(
            f"CrossEntropyLoss labels must lie in [0, {classes}), got {target.min()}..{target.max()}."
        )
    return target


class SGD:
    """Plain stochastic gradient descent: p <- p - lr * p.grad."""

    def __init__(self, parameters, lr):
        self.parameters = list(parameters)
        self.lr = lr

    def step(self):
        for p in self.parameters:
            if p.grad is not None:
                p.data -= self.lr * p.grad

    def zero_grad(self):
        for p in self.parameters:
            p.zero_grad()
