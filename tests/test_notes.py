"""The lecture notes execute and reproduce the seed's numbers and the breadth-first failure."""

import pytest

from base.notebook import execute, read_notebook
from base.paths import COURSE_ROOT

NOTES = COURSE_ROOT / "course" / "notes"


@pytest.fixture(scope="module")
def printed():
    notebook = execute(read_notebook(NOTES / "backpropagation.py"), NOTES, timeout=300)
    outputs = [
        output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs
    ]
    assert not [o for o in outputs if o.output_type == "error"]
    return "".join(o.get("text", "") for o in outputs if o.output_type == "stream"), outputs


def test_notes_print_the_seed_numbers(printed):
    text, _ = printed
    assert "df/dx = 0.53483" in text and "df/dy = 0.34246" in text
    assert "df/dw0 = -6.0, df/dw1 = -18.0" in text
    assert "minimum found at (-199.997" in text and "-3.99994" in text


def test_notes_show_the_breadth_first_failure_and_the_topological_fix(printed):
    text, _ = printed
    assert "order visited:      ['g', 's', 'sig', 's']" in text
    assert "breadth-first walk: dg/dx = 0.028419" in text
    assert "topological order:  dg/dx = -0.090784" in text
    source = (NOTES / "backpropagation.py").read_text()
    assert "assert not np.allclose(breadth_first, expected" in source
    assert "assert np.allclose(topological, expected" in source


def test_notes_render_the_contour_plot_and_graph_drawings(printed):
    _, outputs = printed
    kinds = [kind for o in outputs for kind in o.get("data", {})]
    assert "image/png" in kinds and kinds.count("image/svg+xml") + kinds.count("text/plain") >= 2


def test_notes_pair_agrees():
    script, notebook = (
        read_notebook(NOTES / "backpropagation.py"),
        read_notebook(NOTES / "backpropagation.ipynb"),
    )
    assert [c.source for c in script.cells] == [c.source for c in notebook.cells], (
        "run `jupytext --sync course/notes/backpropagation.py` to update the .ipynb"
    )
