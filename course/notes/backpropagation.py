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
# # Notes on backpropagation
#
# Training a model means choosing its parameters so that it disagrees with
# the data as little as possible, and the workhorse for that is gradient
# descent: compute the gradient of the loss with respect to every parameter
# and take a small step against it. Two things make the gradient hard to get
# by hand. The loss of a real model is a long composition of functions, so
# differentiating it symbolically is tedious and error-prone; and a model may
# have millions of parameters, so computing each partial derivative on its
# own would repeat the same work millions of times.
#
# Backpropagation answers both. It breaks the computation into elementary
# steps whose derivatives are easy, and it reuses intermediate results, so
# one backward pass costs about as much as one forward pass and yields the
# derivative with respect to every input at once.

# %% [markdown]
# ## The chain rule on a small example
#
# Take the squared error of a straight line $w_0 + w_1 x$ fitted to one point
# $(x, y)$:
#
# $$ f(x, \boldsymbol{w}, y) = \left(w_0 + w_1 x - y\right)^2 . $$
#
# To minimise it over $\boldsymbol{w} = (w_0, w_1)$ we need
# $\partial f / \partial w_0$ and $\partial f / \partial w_1$. We could
# differentiate directly, but it is more instructive to cut $f$ into
# elementary operations, each with derivatives we know:
#
# | step | local derivatives |
# |---|---|
# | $a = w_1 x$ | $\partial a/\partial w_1 = x$, $\partial a/\partial x = w_1$ |
# | $b = a + w_0$ | $\partial b/\partial a = 1$, $\partial b/\partial w_0 = 1$ |
# | $c = b - y$ | $\partial c/\partial b = 1$, $\partial c/\partial y = -1$ |
# | $d = c^2$ | $\partial d/\partial c = 2c$ |
#
# so that $f = d(c(b(a(w_1, x), w_0), y))$. The chain rule multiplies the
# local derivatives along the way from $f$ down to the variable we care about;
# since $f$ is $d$, $\partial f/\partial d = 1$ and
#
# $$
# \frac{\partial f}{\partial w_1}
# = \frac{\partial d}{\partial c}\frac{\partial c}{\partial b}\frac{\partial b}{\partial a}\frac{\partial a}{\partial w_1}
# = 2c \cdot 1 \cdot 1 \cdot x = 2\,(w_0 + w_1 x - y)\,x ,
# \qquad
# \frac{\partial f}{\partial w_0} = 2c \cdot 1 \cdot 1 = 2\,(w_0 + w_1 x - y).
# $$
#
# Both products begin with the same factors $\frac{\partial d}{\partial c}\frac{\partial c}{\partial b}$.
# Computing them once, from the output backwards, and handing the partial
# product on to the next step is the whole trick. In code, with the point
# $(x, y) = (3, 7)$ and the line $w_0 = -2$, $w_1 = 2$:

# %%
x, y = 3.0, 7.0
w0, w1 = -2.0, 2.0

# forward pass: every intermediate value, from the inputs to the output
a = w1 * x
b = a + w0
c = b - y
d = c**2

# backward pass: every derivative of f, from the output to the inputs
df_dd = 1.0
df_dc = df_dd * 2 * c  # reused by everything below c
df_db = df_dc * 1.0
df_da = df_db * 1.0
df_dw0 = df_db * 1.0
df_dw1 = df_da * x
df_dy = df_dc * -1.0

print(f"c = {c}, f = {d}")
print(f"df/dw0 = {df_dw0}, df/dw1 = {df_dw1}, df/dy = {df_dy}")
assert (df_dw0, df_dw1) == (-6.0, -18.0)

# %% [markdown]
# ## The computational graph
#
# The same computation drawn as a graph has one node per value and one edge
# per use of a value by an operation. The **forward pass** walks the graph
# from the inputs to the output and stores every node's value. The
# **backward pass** walks it the other way: it starts with
# $\partial f/\partial f = 1$ at the output and, at each node, multiplies the
# gradient that arrived by the node's local derivatives and sends the
# products on to the node's inputs.
#
# Below, the assignment's `Tensor` engine computes $f$ for the numbers above
# and `draw_graph` shows the graph it recorded. The drawing is made after the
# forward pass and displayed after the backward pass, so each box shows the
# node's value and its gradient.

# %%
from toolbox_solution.drawgraph import draw_graph
from toolbox_solution.toolbox import Tensor

x, y = Tensor(3.0, requires_grad=True), Tensor(7.0, requires_grad=True)
w0, w1 = Tensor(-2.0, requires_grad=True), Tensor(2.0, requires_grad=True)
a = w1 * x
b = a + w0
c = b - y
f = c**2
drawing = draw_graph(f, dict(x=x, y=y, w0=w0, w1=w1, a=a, b=b, c=c, f=f))
f.backward()
assert (w0.grad, w1.grad, y.grad) == (-6.0, -18.0, 6.0)
drawing

# %% [markdown]
# Read the gradients as instructions. $c = -3$ and $\partial f/\partial c = 2c = -6$:
# increasing $c$ would decrease $f$, which makes sense, since $f = c^2$ and
# $c$ is negative. Likewise $\partial f/\partial y = 6$: the line passes
# below the point ($b = 4 < y = 7$), so raising $y$ moves the point further
# away and $f$ grows; gradient descent lowers $y$. (The subtraction $c = b - y$
# appears in the drawing as an addition of $-y$, which is how the engine
# builds it.)
#
# Goodfellow, Bengio and Courville's *Deep Learning* (section 6.5) sums the
# procedure up: the gradient of the output with respect to itself is 1;
# multiplying by the Jacobian of each operation, one after the other, carries
# it back through the graph to any ancestor.
#
# A few operations have gradients worth remembering by their shape (as in
# Stanford's CS231n notes):
#
# - **add** hands the incoming gradient unchanged to each of its inputs;
# - **max** routes the whole gradient to the largest input and nothing to the others;
# - **multiply** hands each input the incoming gradient times the *other*
#   input, so the smaller factor receives the larger gradient.

# %% [markdown]
# ## A scalar implementation
#
# To compute gradients mechanically we need three things:
#
# 1. an order in which to visit the nodes, forward and backward;
# 2. each node's output, kept from the forward pass, because local
#    derivatives depend on it;
# 3. each operation's derivative with respect to its inputs.
#
# Each operation is a small class: `forward` computes and stores what
# `backward` will need, and `backward(dz)` turns the gradient `dz` of the
# final output with respect to this node into one gradient per input.

# %%
from abc import ABC, abstractmethod

import numpy as np


class Operation(ABC):
    """A node that computes a value from its inputs' values and can differentiate it.

    `inputs` are the names of the nodes it reads. `local_grad` collects the
    gradient of the graph's output with respect to this node during the
    backward pass, so it is reset on every forward pass.
    """

    def __init__(self, inputs):
        self.inputs = inputs
        self.output = None
        self.local_grad = 0.0

    def forward(self, *values):
        self.local_grad = 0.0
        self.output = self._forward(*values)

    @abstractmethod
    def _forward(self, *values):
        """Return the node's value (and keep what backward needs)."""

    @abstractmethod
    def backward(self, dz):
        """Return one gradient per input, given dz = d output / d this node."""


class Input:
    """A leaf of the graph: a value set from outside."""

    def __init__(self, value):
        self.output = value
        self.local_grad = 0.0


class Add(Operation):
    def _forward(self, p, q):
        return p + q

    def backward(self, dz):
        return [dz, dz]


class Sub(Operation):
    def _forward(self, p, q):
        return p - q

    def backward(self, dz):
        return [dz, -dz]


class Multiply(Operation):
    def _forward(self, p, q):
        self.p, self.q = p, q
        return p * q

    def backward(self, dz):
        return [self.q * dz, self.p * dz]


class Div(Operation):
    def _forward(self, p, q):
        self.p, self.q = p, q
        return p / q

    def backward(self, dz):
        return [dz / self.q, -dz * self.p / self.q**2]


class Square(Operation):
    def _forward(self, p):
        self.p = p
        return p * p

    def backward(self, dz):
        return [2 * self.p * dz]


class Sigmoid(Operation):
    def _forward(self, p):
        return 1.0 / (1.0 + np.exp(-p))

    def backward(self, dz):
        # sigma'(p) = sigma(p) (1 - sigma(p)): the stored output is all it needs.
        return [self.output * (1.0 - self.output) * dz]


# %% [markdown]
# The graph keeps the nodes by name. To find an order, it walks breadth-first
# from the output: the output, then its inputs, then their inputs, and so on.
# Backward visits the operations in that order, each adding its share to its
# inputs' `local_grad`; forward visits them in the reverse order, so that
# inputs are computed before the nodes that read them.

# %%
class ComputationalGraph:
    """Named input and operation nodes, with a forward and a backward pass over them."""

    def __init__(self):
        self.inputs = {}
        self.operations = {}
        self.nodes = {}

    def add_inputs(self, **values):
        for name, value in values.items():
            self.inputs[name] = self.nodes[name] = Input(value)

    def add_computation_node(self, name, operation, inputs):
        self.operations[name] = self.nodes[name] = operation(inputs)

    def _get_traverse_order(self, root):
        """Operation names, breadth-first from `root`: once for every path that reaches them."""
        order, queue = [], [root]
        while queue:
            name = queue.pop(0)
            if name in self.operations:
                order.append(name)
                queue.extend(self.operations[name].inputs)
        return order

    def forward(self, root):
        for name in reversed(self._get_traverse_order(root)):
            node = self.nodes[name]
            node.forward(*(self.nodes[i].output for i in node.inputs))
        for leaf in self.inputs.values():
            leaf.local_grad = 0.0

    def backward(self, root):
        self.nodes[root].local_grad = 1.0
        for name in self._get_traverse_order(root):
            node = self.nodes[name]
            for parent, gradient in zip(node.inputs, node.backward(node.local_grad)):
                self.nodes[parent].local_grad += gradient

    def get_gradient(self, name):
        return self.nodes[name].local_grad


# %% [markdown]
# ### Example 1: a function of two variables
#
# $$ f(x, y) = \frac{x + \sigma(y)}{\sigma(x) + (x + y)^2}, \qquad \sigma(t) = \frac{1}{1 + e^{-t}}, $$
#
# at $(x, y) = (2, -4)$. The helper `seed_example` builds its graph so we can
# run it again later with a different traversal.

# %%
def seed_example(graph_class):
    cg = graph_class()
    cg.add_inputs(x=2.0, y=-4.0)
    cg.add_computation_node("sigy", Sigmoid, ("y",))
    cg.add_computation_node("num", Add, ("x", "sigy"))
    cg.add_computation_node("sigx", Sigmoid, ("x",))
    cg.add_computation_node("xpy", Add, ("x", "y"))
    cg.add_computation_node("sq", Square, ("xpy",))
    cg.add_computation_node("denom", Add, ("sigx", "sq"))
    cg.add_computation_node("f", Div, ("num", "denom"))
    return cg


cg = seed_example(ComputationalGraph)
cg.forward("f")
cg.backward("f")
dx, dy = cg.get_gradient("x"), cg.get_gradient("y")
print(f"df/dx = {dx}, df/dy = {dy}")
assert np.isclose(dx, 0.5348320870757595) and np.isclose(dy, 0.342460382923052)

# %% [markdown]
# Are these right? A gradient can always be checked against **central
# differences**, which need nothing but the forward pass:
# $\partial f/\partial x \approx (f(x + \varepsilon, y) - f(x - \varepsilon, y)) / 2\varepsilon$.

# %%
def sigmoid(t):
    return 1.0 / (1.0 + np.exp(-t))


def f_direct(x, y):
    return (x + sigmoid(y)) / (sigmoid(x) + (x + y) ** 2)


def central_difference(function, point, index, eps=1e-6):
    above, below = list(point), list(point)
    above[index] += eps
    below[index] -= eps
    return (function(*above) - function(*below)) / (2 * eps)


numeric = [central_difference(f_direct, (2.0, -4.0), i) for i in (0, 1)]
print(f"central differences: df/dx = {numeric[0]:.10f}, df/dy = {numeric[1]:.10f}")
assert np.allclose([dx, dy], numeric, rtol=1e-7)

# %% [markdown]
# Notice that $x$ feeds three operations ($\sigma(x)$, $x + \sigma(y)$ and
# $x + y$), yet the answer is right. That is because $x$ is an *input*: the
# walk never puts inputs in its order, it only adds gradients into them, and
# addition does not care about the order or the number of contributions.
#
# ### Example 2: the line fit from the beginning

# %%
def line_fit(graph_class):
    cg = graph_class()
    cg.add_inputs(x=3.0, y=7.0, w0=-2.0, w1=2.0)
    cg.add_computation_node("w1_times_x", Multiply, ("w1", "x"))
    cg.add_computation_node("prediction", Add, ("w0", "w1_times_x"))
    cg.add_computation_node("l", Sub, ("prediction", "y"))
    cg.add_computation_node("f", Square, ("l",))
    return cg


cg = line_fit(ComputationalGraph)
cg.forward("f")
cg.backward("f")
print(f"df/dw0 = {cg.get_gradient('w0')}, df/dw1 = {cg.get_gradient('w1')}")
assert (cg.get_gradient("w0"), cg.get_gradient("w1")) == (-6.0, -18.0)

# %% [markdown]
# The same numbers as by hand.
#
# ### Example 3: finding a minimum by gradient descent
#
# $$ f(x, y) = x^2 + y^2 + 400x + 8y $$
#
# has its minimum where both partial derivatives vanish, $2x + 400 = 0$ and
# $2y + 8 = 0$, at $(-200, -4)$. Gradient descent should approach it: fifty
# steps of rate 0.1 from the origin, each one a forward pass, a backward pass
# and a step against the gradient.

# %%
def quadratic(graph_class):
    cg = graph_class()
    cg.add_inputs(x=0.0, y=0.0, a=400.0, b=8.0)
    cg.add_computation_node("sqx", Square, ("x",))
    cg.add_computation_node("sqy", Square, ("y",))
    cg.add_computation_node("ax", Multiply, ("a", "x"))
    cg.add_computation_node("by", Multiply, ("b", "y"))
    cg.add_computation_node("sqxpsqy", Add, ("sqx", "sqy"))
    cg.add_computation_node("axpby", Add, ("ax", "by"))
    cg.add_computation_node("f", Add, ("sqxpsqy", "axpby"))
    return cg


def descend(cg, steps=50, rate=0.1):
    for _ in range(steps):
        cg.forward("f")
        cg.backward("f")
        cg.inputs["x"].output -= rate * cg.get_gradient("x")
        cg.inputs["y"].output -= rate * cg.get_gradient("y")
    return cg.inputs["x"].output, cg.inputs["y"].output


minimum = descend(quadratic(ComputationalGraph))
print("minimum found at", minimum)
assert np.allclose(minimum, (-199.9971455046146, -3.9999429100922916))

# %% [markdown]
# Each step shrinks the distance to the minimum by the factor
# $1 - 2 \cdot 0.1 = 0.8$, so after 50 steps $200 \cdot 0.8^{50} \approx 0.003$
# remains in $x$. On the contour plot of $f$ the point sits in the centre of
# the innermost contour:

# %%
import matplotlib.pyplot as plt

grid_x, grid_y = np.meshgrid(np.linspace(-800, 800, 400), np.linspace(-400, 400, 200))
values = grid_x**2 + grid_y**2 + 400 * grid_x + 8 * grid_y
fig, ax = plt.subplots(figsize=(6, 3))
contours = ax.contourf(grid_x, grid_y, values, levels=20, cmap="cool")
fig.colorbar(contours, ax=ax, label="$f(x, y)$")
ax.scatter(*minimum, c="red", label="minimum found")
ax.set(xlabel="$x$", ylabel="$y$", aspect="equal")
ax.legend(loc="upper right")
plt.show()

# %% [markdown]
# ## When the breadth-first walk goes wrong
#
# In all three examples only *inputs* were shared. Networks also reuse
# *intermediate* results: a value computed once and read by two later
# operations. A small case is the SiLU activation (also known as swish)
# applied to $s = x + y$:
#
# $$ g(x, y) = s\,\sigma(s), \qquad s = x + y. $$
#
# The node $s$ feeds both $\sigma(s)$ and the product. Its gradient must
# collect both contributions,
# $\partial g/\partial s = \sigma(s) + s\,\sigma(s)(1 - \sigma(s))$,
# *before* it is passed on to $x$ and $y$.

# %%
def silu_example(graph_class):
    cg = graph_class()
    cg.add_inputs(x=2.0, y=-4.0)
    cg.add_computation_node("s", Add, ("x", "y"))
    cg.add_computation_node("sig", Sigmoid, ("s",))
    cg.add_computation_node("g", Multiply, ("s", "sig"))
    return cg


def silu_direct(x, y):
    return (x + y) * sigmoid(x + y)


def gradients(cg, root, names):
    cg.forward(root)
    cg.backward(root)
    return [cg.get_gradient(name) for name in names]


expected = [central_difference(silu_direct, (2.0, -4.0), i) for i in (0, 1)]
breadth_first = gradients(silu_example(ComputationalGraph), "g", ["x", "y"])
print("order visited:     ", silu_example(ComputationalGraph)._get_traverse_order("g"))
print("breadth-first walk: dg/dx = %.6f, dg/dy = %.6f" % tuple(breadth_first))
print("central differences: dg/dx = %.6f, dg/dy = %.6f" % tuple(expected))
assert not np.allclose(breadth_first, expected, rtol=1e-3), "the breadth-first walk should be wrong here"

# %% [markdown]
# The order shows what happened: `s` is reached twice, once directly from `g`
# and once through `sig`. The first time, its `local_grad` holds only the
# contribution of the product, $\sigma(s)$, and that partial gradient goes
# on to $x$ and $y$. The second time it holds both contributions and sends
# them all again. The product's share is counted twice:

# %%
s = 2.0 - 4.0
assert np.allclose(breadth_first, np.array(expected) + sigmoid(s))

# %% [markdown]
# ## The fix: a topological order
#
# Backward may visit a node only when every node that reads it has already
# handed over its contribution, and it must visit it exactly once. An order
# with that property is a (reversed) **topological order** of the graph. A
# depth-first search gives one: a node is appended after all of its inputs
# are, and reversing the list puts every node before its inputs.

# %%
class TopologicalGraph(ComputationalGraph):
    """The same graph, with each operation visited once, after every node that reads it."""

    def _get_traverse_order(self, root):
        order, visited = [], set()

        def visit(name):
            if name in visited or name not in self.operations:
                return
            visited.add(name)
            for parent in self.operations[name].inputs:
                visit(parent)
            order.append(name)  # after all of its inputs

        visit(root)
        return order[::-1]  # the output first, every node before its inputs


topological = gradients(silu_example(TopologicalGraph), "g", ["x", "y"])
print("order visited:     ", silu_example(TopologicalGraph)._get_traverse_order("g"))
print("topological order:  dg/dx = %.6f, dg/dy = %.6f" % tuple(topological))
assert np.allclose(topological, expected, rtol=1e-7)

# %% [markdown]
# The fix changes nothing where the old walk was right: the three examples
# give the same numbers.

# %%
assert np.allclose(gradients(seed_example(TopologicalGraph), "f", ["x", "y"]), [0.5348320870757595, 0.342460382923052])
assert np.allclose(descend(quadratic(TopologicalGraph)), (-199.9971455046146, -3.9999429100922916))
assert gradients(line_fit(TopologicalGraph), "f", ["w0", "w1"]) == [-6.0, -18.0]
print("the topological order reproduces all three examples")

# %% [markdown]
# ## From here to the assignment
#
# The assignment's engine works on arrays instead of numbers, but its
# skeleton is the one above. Each operation is a `Function` with a `forward`
# and a `backward`; instead of names, every `Tensor` keeps a reference to the
# `Function` that made it (`grad_fn`) and that function keeps its inputs; and
# `Tensor.backward()` visits the graph in topological order
# (`Tensor._graph_in_topological_order`), so every tensor receives all of its
# gradient before passing it on. Here is the first example once more, built
# from tensors, with its graph drawn:

# %%
from toolbox_solution import toolbox as tb


def tensor_sigmoid(t):
    return 1 / (1 + tb.exp(-t))


x, y = Tensor(2.0, requires_grad=True), Tensor(-4.0, requires_grad=True)
f = (x + tensor_sigmoid(y)) / (tensor_sigmoid(x) + (x + y) ** 2)
drawing = draw_graph(f, dict(x=x, y=y, f=f))
f.backward()
print(f"df/dx = {x.grad}, df/dy = {y.grad}")
assert np.allclose([x.grad, y.grad], [0.5348320870757595, 0.342460382923052])
drawing

# %% [markdown]
# In the assignment you write the `backward` of each operation; the engine
# takes care of the order.
#
# *Sources: the examples and their numbers follow mikoff's blog post on
# automatic differentiation (github.com/mikoff/blog_projects,
# `auto_differentation`); the summary of the procedure paraphrases
# Goodfellow, Bengio and Courville, Deep Learning (MIT Press, 2016),
# section 6.5; the gradient patterns are from Stanford's CS231n notes.*
