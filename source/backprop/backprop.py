# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Backpropagation
#
# The lecture derived backpropagation: the gradient of a result with respect
# to every quantity it was computed from, obtained by applying the chain rule
# once per operation, from the result back to the inputs. In this assignment
# you complete a small automatic-differentiation engine that works the way
# PyTorch's autograd does.
#
# The engine lives in `toolbox.py` (the `Tensor` class and its operations) and
# `nn.py` (layers and a loss built on top of it). Edit those two files; this
# notebook checks them. Write your code in the bodies marked `# YOUR CODE HERE`;
# you may add imports (of the standard library or numpy) and helper functions
# of your own, but leave the rest as given: the grader gives 0 points to a
# hand-in whose given code was changed.

# %%
# %load_ext autoreload
# %autoreload 2

import numpy as np

import nn
import toolbox as tb
from drawgraph import draw_graph
from gradcheck import gradcheck
from toolbox import Tensor

# %% [markdown]
# ## How the engine records a computation
#
# Run the next cells to see the idea at work.

# %%
a = Tensor(1.0, requires_grad=True)
b = Tensor(2.0, requires_grad=True)

c = a + b
d = c + a

# %% [markdown]
# `draw_graph` records the graph behind a tensor. Shown now, it has values but
# no gradients yet; shown again after `backward()`, it has both.

# %%
drawing = draw_graph(d, dict(a=a, b=b, c=c, d=d))
drawing

# %%
d.backward()
drawing

# %%
print(d.grad)
print(c.grad)
print(b.grad)
print(a.grad)

# %% [markdown]
# After `d.backward()` every tensor that took part in computing `d` carries a
# `grad` attribute: the derivative of `d` with respect to that tensor. Since
# $c = a + b$ and $d = c + a$,
#
# $$
# \frac{\partial d}{\partial c} = 1, \qquad
# \frac{\partial d}{\partial b} = \frac{\partial d}{\partial c}\frac{\partial c}{\partial b} = 1, \qquad
# \frac{\partial d}{\partial a} = \frac{\partial d}{\partial c}\frac{\partial c}{\partial a} + 1 = 2 .
# $$
#
# `a` reaches `d` along two paths, and the contributions of both paths add up.
#
# How does `a` learn what happened to it later? Each operation creates an
# object that records its inputs, and the tensor it produces keeps a
# reference to that object in `grad_fn`:

# %%
c = a + b
d = c + a

print(d.grad_fn)
print(c.grad_fn)
print(b.grad_fn)
print(a.grad_fn)

# %% [markdown]
# `c` and `d` come out of additions; `a` and `b` were created directly, so
# their `grad_fn` is `None`. Chained together, the `grad_fn` objects form the
# computation graph. `d.backward()` is short for `d.backward(1.)`: it starts
# with the gradient 1 at `d` and passes gradients back through the graph to
# every tensor created with `requires_grad=True` (the default is `False`).
#
# What happens if we call `backward` twice?

# %% tags=["raises-exception"]
a = Tensor(1.0, requires_grad=True)
b = Tensor(2.0, requires_grad=True)

c = a + b
d = c + a

d.backward()
d.backward()

# %% [markdown]
# The second call fails: the first one freed the graph. Keeping intermediate
# values alive costs memory, and a new forward pass builds a new graph anyway.
#
# Now look at what the gradients do over two forward and backward passes:

# %%
a = Tensor(1.0, requires_grad=True)
b = Tensor(2.0, requires_grad=True)

c = a + b
d = c + a
d.backward()

c = a + b
d = c + a
d.backward()

print(d.grad)
print(c.grad)
print(b.grad)
print(a.grad)

# %% [markdown]
# `a` and `b` now hold the sum of both passes' gradients. Gradients
# accumulate, so the gradients of parameters you optimise must be reset after
# each step:

# %%
a = Tensor(1.0, requires_grad=True)
b = Tensor(2.0, requires_grad=True)

c = a + b
d = c + a
d.backward()
a.zero_grad()
b.zero_grad()

c = a + b
d = c + a
d.backward()

print(d.grad)
print(c.grad)
print(b.grad)
print(a.grad)

# %% [markdown]
# ## Your turn
#
# Read `toolbox.py` until you see how it builds the graph; `Add` is a worked
# example. Then implement the `backward` method of every other operation, and
# the backward of the loss in `nn.py`. Each cell below checks one operation;
# run them as you go.
#
# When a check fails, `gradcheck(fn, *inputs)` tells you more: it compares
# what your backward returns with central differences of the forward pass,
# and names the input and element where they disagree. Below it checks the
# worked example, `+` with broadcasting; put the operation you are working on
# in its place, e.g. `lambda x, w: x * w` or `lambda x, w: tb.exp(x)`.

# %%
x = Tensor(np.array([[1.0, -2.0], [0.5, 3.0]]), requires_grad=True)
w = Tensor(np.array([2.0, -1.5]), requires_grad=True)
gradcheck(lambda x, w: x + w, x, w)

# %% nbgrader={"grade": true, "grade_id": "multiplication", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
a = Tensor(2.0, requires_grad=True)
b = Tensor(3.0, requires_grad=True)

c = a * b
c.backward(2.0)
print(a.grad)
print(b.grad)
print(c.grad)
assert np.abs(a.grad - 6.0) < 1e-6, f"Mul: d(a*b)/da should be b; expected a.grad = 6, got {a.grad}"
assert np.abs(b.grad - 4.0) < 1e-6, f"Mul: d(a*b)/db should be a; expected b.grad = 4, got {b.grad}"
### BEGIN HIDDEN TESTS
x = Tensor(np.array([[1.0, -2.0, 3.0], [0.5, 4.0, -1.0]]), requires_grad=True)
w = Tensor(np.array([2.0, -1.0, 0.5]), requires_grad=True)
y = 3 * (x * w) - x
y.backward(np.ones((2, 3)))
assert np.allclose(x.grad, 3 * w.data - 1), "Mul: wrong gradient when one input is broadcast"
assert np.allclose(w.grad, 3 * x.data.sum(axis=0)), "Mul: broadcast input's gradient must be summed"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "division", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
a = Tensor(np.array([1.0, 2.0]), requires_grad=True)
b = Tensor(np.array([3.0, 4.0]), requires_grad=True)

c = a / b
c.backward(0.5)

assert np.allclose(a.grad, [1 / 6, 1 / 8]), f"Div: expected a.grad = [1/6, 1/8] (grad / b), got {a.grad}"
assert np.allclose(b.grad, [-1 / 18, -1 / 16]), f"Div: expected b.grad = [-1/18, -1/16] (-grad * a / b**2), got {b.grad}"
### BEGIN HIDDEN TESTS
x = Tensor(np.array([[1.0, 2.0], [4.0, -0.5]]), requires_grad=True)
y = 1 / x + x / 2.0
y.backward(np.ones((2, 2)))
assert np.allclose(x.grad, -1 / x.data**2 + 0.5), "Div: wrong gradient with a number on one side"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "power", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
A = Tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True)

b = A**4
b.backward(np.array([[-1.0, 0], [1.0, 2.0]]))

assert np.allclose(A.grad, [[-4.0, 0.0], [108.0, 512.0]]), f"Pow: expected 4 * A**3 * grad, got {A.grad}"
### BEGIN HIDDEN TESTS
x = Tensor(np.array([0.5, 2.0, 9.0]), requires_grad=True)
y = x**0.5 + x**-1
y.backward(np.ones(3))
assert np.allclose(x.grad, 0.5 * x.data**-0.5 - x.data**-2), "Pow: wrong gradient for fractional or negative exponents"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "matmul", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
A = Tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True)
b = Tensor(np.array([[1.0], [2.0]]), requires_grad=True)
c = Tensor(np.array([[3.0, 4.0]]), requires_grad=True)

d = c @ A @ b
d.backward(-1.5)
print(A.grad)
print(c.grad)
print(b.grad)
print(d.grad)
assert np.allclose(A.grad, [[-4.5, -9.0], [-6.0, -12.0]]), (
    f"MatMul: expected A.grad = [[-4.5, -9], [-6, -12]], got {A.grad}"
)
assert np.allclose(b.grad, [[-22.5], [-33.0]]), (
    f"MatMul: expected b.grad = [[-22.5], [-33]], got {b.grad}"
)
assert np.allclose(c.grad, [[-7.5, -16.5]]), (
    f"MatMul: expected c.grad = [[-7.5, -16.5]], got {c.grad}"
)
### BEGIN HIDDEN TESTS
P = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
Q = Tensor(np.arange(12.0).reshape(3, 4) - 5, requires_grad=True)
G = np.arange(8.0).reshape(2, 4) / 7
(P @ Q).backward(G)
assert np.allclose(P.grad, G @ Q.data.T), "MatMul: wrong gradient for the left factor of a non-square product"
assert np.allclose(Q.grad, P.data.T @ G), "MatMul: wrong gradient for the right factor of a non-square product"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "relu", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
A = Tensor(np.array([[-1.0, -2], [0.5, 2.0], [1.0, 5.0]]), requires_grad=True)

b = tb.relu(A)
b.backward(np.array([[4.0, 3.0], [2.0, 1.0], [0.0, -1.0]]))

assert np.allclose(A.grad, [[0.0, 0.0], [2.0, 1.0], [0.0, -1.0]]), f"ReLU: gradient passes only where A > 0, got {A.grad}"

# At exactly 0 relu has no derivative; like PyTorch, this engine takes it as 0.
x = Tensor(np.array([-1.0, 0.0, 2.0]), requires_grad=True)
tb.relu(x).backward(np.array([5.0, 5.0, 5.0]))
print(x.grad)
assert np.allclose(x.grad, [0.0, 0.0, 5.0]), (
    "ReLU: at exactly 0 the gradient is taken as 0: pass grad where x > 0, not x >= 0; "
    f"expected [0, 0, 5], got {x.grad}"
)
### BEGIN HIDDEN TESTS
x = Tensor(np.array([[0.0, -3.0], [1.5, 0.0]]), requires_grad=True)
tb.relu(x + x).backward(np.array([[1.0, 2.0], [3.0, 4.0]]))
assert np.allclose(x.grad, [[0.0, 0.0], [6.0, 0.0]]), (
    "ReLU: wrong gradient for relu(x + x) with zeros"
)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "exp", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
A = Tensor(np.array([[-1.0], [2.0]]), requires_grad=True)

b = tb.exp(A)
b.backward(np.array([[-1.0], [2.0]]))

assert np.allclose(A.grad, np.exp(A.data) * np.array([[-1.0], [2.0]])), f"Exp: expected exp(A) * grad, got {A.grad}"
### BEGIN HIDDEN TESTS
x = Tensor(np.array([[0.0, 1.0, -3.0]]), requires_grad=True)
tb.exp(2 * x).backward(np.ones((1, 3)))
assert np.allclose(x.grad, 2 * np.exp(2 * x.data)), "Exp: wrong gradient inside a chain"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "log", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
A = Tensor(np.array([0.1, 1.0, 2.0, np.exp(100.0)]), requires_grad=True)

b = tb.log(A)
b.backward(1.5)

assert np.allclose(A.grad, [15.0, 1.5, 0.75, 1.5 * np.exp(-100.0)]), f"Log: expected grad / A, got {A.grad}"
### BEGIN HIDDEN TESTS
x = Tensor(np.array([[0.5, 3.0], [1.0, 8.0]]), requires_grad=True)
tb.log(x * x).backward(np.ones((2, 2)))
assert np.allclose(x.grad, 2 / x.data), "Log: wrong gradient inside a chain"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "sum", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
A = Tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True)

b = A.sum(dim=1)
b = b.sum()
b.backward(2.5)

assert np.allclose(A.grad, 2.5 * np.ones((2, 2))), f"Sum: every element should get the gradient 2.5, got {A.grad}"

# Summing along dim=1 removes that axis; backward must put it back (np.expand_dims)
# before spreading the gradient over the input's shape.
R = Tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True)
R.sum(dim=1).backward(np.array([10.0, 20.0]))
print(R.grad)
assert np.allclose(R.grad, [[10.0, 10.0], [20.0, 20.0]]), (
    "Sum: row i of sum(dim=1) gets grad[i]; restore the summed axis with "
    f"np.expand_dims(grad, dim) before broadcasting; expected [[10, 10], [20, 20]], got {R.grad}"
)
### BEGIN HIDDEN TESTS
x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
x.sum(dim=0).backward(np.array([1.0, 2.0, 3.0]))
assert np.allclose(x.grad, [[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]]), "Sum: wrong gradient for sum(dim=0)"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "mean", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
A = Tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True)

b = A.mean()
b.backward()

assert np.allclose(A.grad, 0.25 * np.ones((2, 2))), f"Mean: every element should get 1/4, got {A.grad}"
### BEGIN HIDDEN TESTS
x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
x.mean(dim=1).backward(np.array([3.0, 6.0]))
assert np.allclose(x.grad, [[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]]), "Mean: wrong gradient for mean(dim=1)"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "indexing", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
A = Tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True)

b = A[0, 1]
b.backward(5.0)

assert np.allclose(A.grad, 5.0 * np.array([[0.0, 1.0], [0.0, 0.0]])), f"GetItem: only A[0, 1] should get the gradient, got {A.grad}"

# An index picked twice gets the gradient of both picks.
v = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
v[np.array([0, 2, 0])].backward(np.array([1.0, 10.0, 100.0]))
print(v.grad)
assert np.allclose(v.grad, [101.0, 0.0, 10.0]), (
    "GetItem: gradients of repeated indices add up: use np.add.at(result, index, grad), "
    f"not result[index] = grad; expected [101, 0, 10], got {v.grad}"
)
### BEGIN HIDDEN TESTS
x = Tensor(np.arange(4.0), requires_grad=True)
x[np.array([0, 2, 0, 0])].backward(np.array([1.0, 2.0, 3.0, 4.0]))
assert np.allclose(x.grad, [8.0, 0.0, 2.0, 0.0]), "GetItem: gradients of repeated indices must add up"
y = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
y[:, 1:].backward(np.ones((2, 2)))
assert np.allclose(y.grad, [[0.0, 1.0, 1.0], [0.0, 1.0, 1.0]]), "GetItem: wrong gradient for a slice"
### END HIDDEN TESTS

# %% [markdown]
# If every check above passes, gradients flow through a whole network. The
# loss's backward in `nn.py` is yours to write too.

# %% nbgrader={"grade": true, "grade_id": "network", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
network = nn.Network()
network.add_layer(nn.LinearLayer(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1.0], [2.0]])))
network.add_layer(nn.ReLU())
network.add_layer(nn.LinearLayer(np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), np.array([[1.0], [2.0], [3.0]])))

loss = nn.CrossEntropyLoss()

data = Tensor(np.array([[1.0], [2.0]]))
target = 1

l = loss.forward(network.forward(data), target)
l.backward()

assert np.allclose(network.layers[0].W.grad, [[2.0, 4.0], [2.0, 4.0]]), (
    f"Network: expected the first layer's W.grad = [[2, 4], [2, 4]], got {network.layers[0].W.grad}"
)
assert np.allclose(network.layers[0].b.grad, [[2.0], [2.0]]), (
    f"Network: expected the first layer's b.grad = [[2], [2]], got {network.layers[0].b.grad}"
)
W2_expected = [[8.00168889e-34, 1.73369926e-33], [-6.0, -13.0], [6.0, 13.0]]
assert np.allclose(network.layers[2].W.grad, W2_expected), (
    "Network: expected the last layer's W.grad = [[0, 0], [-6, -13], [6, 13]], "
    f"got {network.layers[2].W.grad}"
)
assert np.allclose(network.layers[2].b.grad, [[1.33361482e-34], [-1.0], [1.0]]), (
    f"Network: expected the last layer's b.grad = [[0], [-1], [1]], got {network.layers[2].b.grad}"
)

# A batch of two examples (one per column): the loss is the mean over the batch.
logits = Tensor(np.array([[1.0, -1.0], [2.0, 0.5], [0.0, 3.0]]), requires_grad=True)
loss.forward(logits, np.array([0, 2])).backward()
print(logits.grad)
expected = [
    [-0.3776357645, 0.0083222593],
    [0.3326204779, 0.0372977786],
    [0.0450152866, -0.0456200379],
]
assert np.allclose(logits.grad, expected), (
    "CrossEntropyLoss: the loss is the mean over the batch, so backward divides by the batch "
    f"size (2 here); expected {expected}, got {logits.grad}"
)
### BEGIN HIDDEN TESTS
batch_net = nn.Network()
batch_net.add_layer(nn.LinearLayer(np.array([[0.5, -1.0], [1.5, 2.0], [-0.5, 0.3]]), np.array([[0.1], [-0.2], [0.3]])))
batch_net.add_layer(nn.ReLU())
batch_net.add_layer(nn.LinearLayer(np.array([[1.0, -1.0, 0.5], [0.2, 0.4, -0.6]]), np.array([[0.0], [0.1]])))
inputs = np.array([[1.0, -2.0, 0.5, 3.0], [2.0, 1.0, -1.0, 0.5]])
labels = np.array([0, 1, 1, 0])
batch_loss = nn.CrossEntropyLoss().forward(batch_net.forward(Tensor(inputs)), labels)
batch_loss.backward()
logits = batch_net.forward(Tensor(inputs)).data
probs = np.exp(logits - logits.max(axis=0)) / np.exp(logits - logits.max(axis=0)).sum(axis=0)
one_hot = np.eye(2)[:, labels]
hidden = np.maximum(batch_net.layers[0].W.data @ inputs + batch_net.layers[0].b.data, 0)
assert np.allclose(batch_net.layers[2].W.grad, (probs - one_hot) @ hidden.T / 4), "Network: wrong gradient for a batch of 4"
assert np.allclose(batch_net.layers[2].b.grad, (probs - one_hot).mean(axis=1, keepdims=True)), "Network: wrong bias gradient for a batch"
### END HIDDEN TESTS

# %% [markdown]
# ## Training a network on handwritten digits (not graded)
#
# With all backward functions in place, your engine can train a real
# classifier. The digits data set ships with scikit-learn: 1797 images of
# 8x8 pixels. A network with one hidden layer of 64 units, trained with
# mini-batch SGD, recognises more than 95% of the test images.

# %%
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits

digits = load_digits()
rng = np.random.default_rng(0)
order = rng.permutation(len(digits.target))
images, labels = digits.data[order].T / 16.0, digits.target[order]
train_x, test_x = images[:, :1500], images[:, 1500:]
train_y, test_y = labels[:1500], labels[1500:]

model = nn.Network()
model.add_layer(nn.LinearLayer.initialised(64, 64, rng))
model.add_layer(nn.ReLU())
model.add_layer(nn.LinearLayer.initialised(64, 10, rng))
criterion = nn.CrossEntropyLoss()
optimiser = nn.SGD(model.parameters(), lr=0.1)

losses = []
for epoch in range(30):
    for start in rng.permutation(1500 // 30) * 30:
        batch = slice(start, start + 30)
        optimiser.zero_grad()
        batch_loss = criterion.forward(model.forward(Tensor(train_x[:, batch])), train_y[batch])
        batch_loss.backward()
        optimiser.step()
        losses.append(batch_loss.data.item())

predictions = model.forward(Tensor(test_x)).data.argmax(axis=0)
test_accuracy = (predictions == test_y).mean()
print(f"test accuracy: {test_accuracy:.1%}")

fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(losses, linewidth=0.8)
ax.set(xlabel="SGD step", ylabel="training loss", title=f"test accuracy {test_accuracy:.1%}")
plt.show()
assert test_accuracy >= 0.95, "training should reach at least 95% test accuracy"

# %% [markdown]
# ## Before you hand in
#
# Hand in `toolbox.py` and `nn.py`, under those names. The cell below checks them as grading
# will, before anything runs: both files present, saved as UTF-8, valid Python, and the given
# code left as it was released (grading gives 0 points otherwise; a `print` or `assert` you left
# in given code is ignored). Then it runs every public check above on them. The same check runs
# from a terminal in this folder: `python check_handin.py`.

# %%
import check_handin

check_handin.main();
