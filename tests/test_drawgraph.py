"""draw_graph shows a Tensor's graph with values and gradients, as SVG with `dot` and as text
without."""

import shutil

import numpy as np
import pytest

from toolbox_solution import drawgraph
from toolbox_solution import toolbox as tb
from toolbox_solution.toolbox import Tensor


@pytest.fixture
def shared_node_graph():
    """a feeds b = 2a and the result r = b + a: one tensor used along two paths."""
    a = Tensor(1.5, requires_grad=True)
    b = a * 2.0
    r = b + a
    return a, b, r


def lines_by_name(text):
    return {line.split()[0]: line for line in text.splitlines()[1:]}


def test_text_lists_every_tensor_after_its_inputs_with_its_operation(shared_node_graph):
    a, b, r = shared_node_graph
    text = drawgraph.draw_graph(r, dict(a=a, b=b, r=r)).to_text()
    names = [line.split()[0] for line in text.splitlines()]
    assert names.index("a") < names.index("b") < names.index("r")
    lines = lines_by_name("\n" + text)
    assert "leaf" in lines["a"] and "value 1.5" in lines["a"] and "grad None" in lines["a"]
    assert "= Mul(a, t1)" in lines["b"] and "value 3" in lines["b"]
    assert "= Add(b, a)" in lines["r"] and "shape ()" in lines["r"]


def test_drawing_made_before_backward_shows_gradients_after_it(shared_node_graph):
    a, b, r = shared_node_graph
    drawing = drawgraph.draw_graph(r, dict(a=a, b=b, r=r))
    r.backward()
    lines = lines_by_name(repr(drawing))
    assert "grad 3" in lines["a"] and "grad 1" in lines["b"] and "grad 1" in lines["r"]


def test_drawing_made_after_backward_says_the_graph_was_freed(shared_node_graph):
    *_, r = shared_node_graph
    r.backward()
    text = repr(drawgraph.draw_graph(r))
    assert "freed" in text and "call draw_graph before backward()" in text


def test_summarises_large_arrays_and_labels_edges_by_operation():
    W = Tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    x = Tensor(np.ones((4, 1)))
    loss = tb.relu(W @ x).sum()
    dot = drawgraph.draw_graph(loss, dict(W=W, x=x, loss=loss)).to_dot()
    assert "shape (3, 4)" in dot and "mean 5.5, range [0, 11]" in dot
    for operation in ("MatMul", "ReLU", "Sum"):
        assert f'[label="{operation}"]' in dot
    assert dot.count("->") == 4


@pytest.mark.skipif(
    shutil.which("dot") is None, reason="needs Graphviz's dot (installed by .ci/run)"
)
def test_jupyter_gets_svg_when_dot_is_installed(shared_node_graph):
    a, b, r = shared_node_graph
    drawing = drawgraph.draw_graph(r, dict(a=a, b=b, r=r))
    r.backward()
    svg = drawing._repr_svg_()
    assert svg is not None and "<svg" in svg
    assert "grad 3" in svg and "Mul" in svg and "Add" in svg


def test_falls_back_to_text_and_says_so_without_dot(shared_node_graph, monkeypatch):
    a, b, r = shared_node_graph
    monkeypatch.setattr(drawgraph.shutil, "which", lambda program: None)
    drawing = drawgraph.draw_graph(r, dict(a=a, b=b, r=r))
    assert drawing._repr_svg_() is None  # Jupyter then shows the text from repr
    first_line, *rest = repr(drawing).splitlines()
    assert "`dot` program was not found" in first_line
    assert "\n".join(rest) == drawing.to_text()


def test_falls_back_to_text_when_dot_fails(shared_node_graph, monkeypatch, tmp_path):
    broken = tmp_path / "dot"
    broken.write_text("#!/bin/sh\necho broken >&2\nexit 1\n")
    broken.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    *_, r = shared_node_graph
    assert drawgraph.draw_graph(r)._repr_svg_() is None
