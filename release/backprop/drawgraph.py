"""Draw the computation graph behind a tensor, with values and gradients.

    drawing = draw_graph(loss)   # right after the forward pass
    drawing                      # shows shapes and values; gradients are still None
    loss.backward()
    drawing                      # shows the same graph again, now with gradients

`draw_graph` records the graph when you call it and reads the tensors'
`.data` and `.grad` each time the drawing is shown. That order matters:
backward() frees the graph (each `grad_fn.inputs` becomes None), so a graph
drawn only after backward has nothing left behind its output, but a drawing
made before backward keeps its own list of the tensors and sees the
gradients backward leaves on them.

Jupyter shows the drawing as a picture when Graphviz's `dot` program is
installed, and as text otherwise (the text says so). The module needs only
the tensors' `.data`, `.grad`, `.requires_grad` and `.grad_fn.inputs`, so it
draws graphs of any engine built like `toolbox`, including yours.
"""
import shutil
import subprocess

import numpy as np

__all__ = ["draw_graph", "GraphDrawing"]


def draw_graph(tensor, names=None):
    """Record the graph that computed `tensor`; display the result to see it.

    `names` optionally maps names to tensors, e.g. `dict(a=a, b=b)` or
    `globals()` in a notebook; tensors without a name are numbered.
    """
    return GraphDrawing(tensor, names)


class GraphDrawing:
    """A recorded graph: tensors in forward order and edges labelled by operation."""

    def __init__(self, root, names=None):
        self.tensors, self.edges, self.freed = _record(root)
        given = {id(value): name for name, value in (names or {}).items() if not name.startswith("_")}
        self.names = [given.get(id(tensor), f"t{number}") for number, tensor in enumerate(self.tensors)]

    # ----- plain text --------------------------------------------------------

    def to_text(self):
        """One line per tensor, inputs before the tensors computed from them."""
        made_by = {child: (operation, []) for _, child, operation in self.edges}
        for parent, child, _ in self.edges:
            made_by[child][1].append(self.names[parent])
        rows = []
        for number, tensor in enumerate(self.tensors):
            if number in made_by:
                operation, inputs = made_by[number]
                origin = f"= {operation}({', '.join(inputs)})"
            else:
                origin = _kind(tensor, number in self.freed)
            rows.append((self.names[number], origin, f"shape {np.shape(tensor.data)}",
                         f"value {_summary(tensor.data)}", f"grad {_summary(tensor.grad)}"))
        widths = [max(len(row[column]) for row in rows) for column in range(4)]
        return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[4]
                         for row in rows)

    def __repr__(self):
        if shutil.which("dot") is None:
            note = "computation graph as text (Graphviz's `dot` program was not found: install graphviz for a picture)"
        else:
            note = "computation graph as text (a notebook shows it as a picture drawn by Graphviz)"
        return "\n".join([note, *self._warnings(), self.to_text()])

    # ----- Graphviz ----------------------------------------------------------

    def to_dot(self):
        """The graph in Graphviz's DOT language: one box per tensor, one arrow per input."""
        lines = ["digraph computation {", "  rankdir=LR;", '  node [shape=box, fontname="monospace", fontsize=10];',
                 '  edge [fontname="monospace", fontsize=10];']
        for warning in self._warnings():
            lines.append(f'  labelloc=t; label="{_quote(warning)}";')
        for number, tensor in enumerate(self.tensors):
            needs_grad = getattr(tensor, "requires_grad", False)
            label = "\n".join([f"{self.names[number]}: {_kind(tensor, number in self.freed)}",
                               f"shape {np.shape(tensor.data)}",
                               f"value {_summary(tensor.data)}",
                               *([f"grad {_summary(tensor.grad)}"] if needs_grad else [])])
            style = "" if needs_grad else ', style=dashed, color=gray40'
            lines.append(f'  n{number} [label="{_quote(label)}"{style}];')
        for parent, child, operation in self.edges:
            lines.append(f'  n{parent} -> n{child} [label="{_quote(operation)}"];')
        lines.append("}")
        return "\n".join(lines)

    def to_svg(self):
        """The drawing as SVG text, or None when `dot` is missing or fails."""
        if shutil.which("dot") is None:
            return None
        try:
            result = subprocess.run(["dot", "-Tsvg"], input=self.to_dot(), capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.SubprocessError):
            return None
        return result.stdout if result.returncode == 0 else None

    def _repr_svg_(self):
        # Returning None makes Jupyter fall back to the text from __repr__.
        return self.to_svg()

    def _warnings(self):
        if not self.freed:
            return []
        return ["backward() had already freed part of this graph: call draw_graph before backward(), "
                "then display the drawing again after it to see the gradients"]


def _record(root):
    """Tensors reachable from `root` in forward order, edges (input, output, operation), freed nodes."""
    order, done, freed, edges = [], set(), set(), []
    stack = [(root, False)]
    while stack:
        tensor, expanded = stack.pop()
        if expanded:
            order.append(tensor)  # after all its inputs: forward order
        elif id(tensor) not in done:
            done.add(id(tensor))
            stack.append((tensor, True))
            stack.extend((parent, False) for parent in _inputs(tensor) if id(parent) not in done)
    position = {id(tensor): number for number, tensor in enumerate(order)}
    for tensor in order:
        fn = getattr(tensor, "grad_fn", None)
        if fn is None:
            continue
        if getattr(fn, "inputs", None) is None:
            freed.add(position[id(tensor)])
            continue
        for parent in fn.inputs:
            edges.append((position[id(parent)], position[id(tensor)], type(fn).__name__))
    return order, edges, freed


def _inputs(tensor):
    fn = getattr(tensor, "grad_fn", None)
    return tuple(getattr(fn, "inputs", None) or ())


def _kind(tensor, freed):
    if freed:
        return f"made by {type(tensor.grad_fn).__name__} (graph freed)"
    if getattr(tensor, "grad_fn", None) is not None:
        return type(tensor.grad_fn).__name__
    return "leaf" if getattr(tensor, "requires_grad", False) else "constant"


def _summary(array):
    """A short description of an array: the numbers when few, else mean and range."""
    if array is None:
        return "None"
    array = np.asarray(array, dtype=np.float64)
    if array.size == 1:
        return f"{array.item():.4g}"
    if array.size <= 6:
        return np.array2string(array, precision=3, separator=", ", max_line_width=10**6).replace("\n", "")
    return f"mean {array.mean():.3g}, range [{array.min():.3g}, {array.max():.3g}]"


def _quote(text):
    """Text inside a DOT string: backslashes and quotes escaped, newlines as centred line breaks."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
