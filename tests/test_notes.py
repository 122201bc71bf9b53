"""The lecture notes run, reproduce the lecture's numbers and show their plots and graphs."""
import pytest

from course import COURSE_ROOT
from course.notebook import execute, read_notebook

NOTES = COURSE_ROOT / "course" / "notes" / "backpropagation.py"


def outputs(notebook, kind):
    return [output for cell in notebook.cells for output in cell.get("outputs", []) if kind in output.get("data", {})]


@pytest.fixture(scope="module")
def notes():
    # The notes assert their numbers themselves; execute raises on the first failed assertion.
    return execute(read_notebook(NOTES), NOTES.parent, timeout=300)


def test_notes_assert_the_lecture_numbers():
    source = NOTES.read_text(encoding="utf-8")
    for number in ("0.5348320870757595", "0.342460382923052", "-199.9971455046146", "-3.9999429100922916", "-18.0"):
        assert number in source
    assert "the breadth-first walk should be wrong here" in source


def test_notes_execute_and_show_the_contour_plot_and_graphs(notes):
    assert outputs(notes, "image/png"), "the gradient-descent contour plot should render"
    assert outputs(notes, "image/svg+xml") or any("Graphviz" in str(o) for c in notes.cells for o in c.get("outputs", []))


def test_notes_pair_agrees():
    paired = read_notebook(NOTES.with_suffix(".ipynb"))
    assert [c.source for c in paired.cells] == [c.source for c in read_notebook(NOTES).cells]
