"""benchmarks/graded_cells.py keeps the graded cells and the code cells they need, no others."""

import sys

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell

from base.paths import COURSE_ROOT

sys.path.insert(0, str(COURSE_ROOT / "benchmarks"))
from graded_cells import cells_to_keep, graded_sources  # noqa: E402

SOURCE = COURSE_ROOT / "source" / "backprop" / "backprop.ipynb"
RELEASE = COURSE_ROOT / "release" / "backprop" / "backprop.ipynb"


def graded(grade_id, source):
    metadata = {"nbgrader": {"grade": True, "grade_id": grade_id, "points": 1}}
    return new_code_cell(source, metadata=metadata)


def kept_code(cells, sources=None):
    return [
        cells[i].source for i in cells_to_keep(cells, sources or {}) if cells[i].cell_type == "code"
    ]


def test_the_course_notebook_keeps_its_imports_and_graded_cells_only():
    cells = nbformat.read(RELEASE, as_version=4).cells
    kept = set(cells_to_keep(cells, graded_sources(SOURCE)))
    code = [i for i, cell in enumerate(cells) if cell.cell_type == "code"]
    graded_cells = {i for i in code if cells[i].metadata.get("nbgrader", {}).get("grade")}
    [imports] = [i for i in code if "import toolbox as tb" in cells[i].source]
    assert graded_cells and kept & set(code) == graded_cells | {imports}
    assert all(cells[i].cell_type == "markdown" for i in kept - set(code))


def test_a_helper_a_graded_cell_calls_is_kept_and_its_own_needs_with_it():
    cells = [
        new_code_cell("import numpy as np\nscale = 2"),
        new_code_cell("def helper(x):\n    return np.sum(x) * scale"),
        new_code_cell("unused = helper([1])"),
        new_markdown_cell("Text costs nothing to run."),
        graded("sum", "assert helper([1, 2]) == 6"),
    ]
    assert kept_code(cells) == [cells[0].source, cells[1].source, cells[4].source]
    assert 3 in cells_to_keep(cells, {})


def test_a_name_the_graded_cell_binds_before_reading_needs_no_cell():
    cells = [new_code_cell("labels = load()"), graded("network", "labels = [0, 1]\nprint(labels)")]
    assert kept_code(cells) == [cells[1].source]


def test_graded_cells_are_read_as_nbgrader_runs_them():
    # the hidden tests of the source notebook call a helper the release's cell does not
    cells = [new_code_cell("def hidden_helper():\n    return 1"), graded("exp", "pass")]
    assert kept_code(cells) == [cells[1].source]
    assert kept_code(cells, {"exp": "assert hidden_helper() == 1"}) == [c.source for c in cells]


def test_a_cell_that_is_not_python_keeps_every_cell_before_it():
    cells = [
        new_code_cell("x = 1"),
        new_code_cell("%%bash\necho unknown reads"),
        new_code_cell("%load_ext autoreload\ny = 2"),
        graded("log", "assert y == 2"),
    ]
    assert kept_code(cells) == [c.source for c in cells]
