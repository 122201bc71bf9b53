"""The quick path of the given-code rule: a hand-in whose bytes outside the students' bodies are
the release's is unchanged without comparing syntax trees, and it never says so of one the trees
would refuse."""

import ast

import pytest
from handins import BACKPROP, solution, stubs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from base.handin import _bodies_cut, _given, _release_cut, changed_definition
from grader.submission import code_stub

RELEASED = {name: (BACKPROP.release_dir / name).read_text(encoding="utf-8") for name in solution()}


def quick(name, text):
    """Whether the quick path alone finds `text` (a hand-in's `name`) unchanged."""
    source = text.encode()
    free = _given(RELEASED[name], code_stub())[0]
    cut = _bodies_cut(ast.parse(source), source, free)
    return cut is not None and cut == _release_cut(RELEASED[name], code_stub())


def both_ways(name, text):
    """The rule's verdict with the quick path, and without it (on the file's bytes, parsed as the
    reader parses them)."""
    source = text.encode()
    with_source = changed_definition(RELEASED[name], ast.parse(source), code_stub(), source=source)
    return with_source, changed_definition(RELEASED[name], ast.parse(source), code_stub())


@pytest.mark.parametrize("files", [solution, stubs], ids=["solution", "stubs"])
def test_hand_ins_that_only_wrote_the_bodies_take_the_quick_path(files):
    for name, text in files().items():
        assert quick(name, text), name
        assert both_ways(name, text) == (None, None)


def test_comments_and_blank_lines_around_a_body_are_the_students():
    text = solution()["toolbox.py"].replace(
        "        return grad * self.b, grad * self.a\n",
        "\n        # my notes\n        return grad * self.b, grad * self.a  # both\n\n# ok\n",
        1,
    )
    assert text != solution()["toolbox.py"] and quick("toolbox.py", text)


@pytest.mark.parametrize(
    "edit",
    [
        # a body on its header's line: the cut would not be certain
        lambda text: text.replace(
            "def backward(self, grad):\n        ### BEGIN SOLUTION\n        return grad * self.b",
            "def backward(self, grad): return grad * self.b",
            1,
        ),
        lambda text: text.replace("\n", "\r\n"),  # Windows line ends: Python counts them apart
        lambda text: "\ufeff" + text,  # a byte order mark
    ],
    ids=["body on the header line", "carriage returns", "byte order mark"],
)
def test_what_the_quick_path_cannot_cut_goes_to_the_syntax_trees(edit):
    text = edit(solution()["toolbox.py"])
    assert text != solution()["toolbox.py"]
    assert not quick("toolbox.py", text)
    assert both_ways("toolbox.py", text) == (None, None)


def test_a_class_named_as_a_students_function_is_changed_code_not_a_crash():
    text = solution()["toolbox.py"].replace(
        "    def backward(self, grad):\n        ### BEGIN SOLUTION\n        return grad * self.b",
        "    class backward:\n        ### BEGIN SOLUTION\n        x = grad * self.b",
        1,
    )
    assert text != solution()["toolbox.py"] and not quick("toolbox.py", text)
    assert both_ways("toolbox.py", text) == ("Mul.backward", "Mul.backward")


def test_a_changed_given_line_between_two_bodies_is_named_as_before():
    text = solution()["toolbox.py"].replace(
        "class Div(Function):", "class Div(Function):\n    cheat = True", 1
    )
    assert not quick("toolbox.py", text)
    assert both_ways("toolbox.py", text) == ("Div", "Div")


# Pieces of Python that could fool a cut made from the text: line ends, comments, colons,
# strings, continuations, statements and indentation.
PIECES = ["\n", " ", "    ", "\t", "#", ":", "(", ")", '"""', "'", "\\", ";", "x", "pass"]
PIECES += ["return 0", "def f():", "class C:", "@staticmethod", "import os", "= 1", "\n    x = 1"]


def body_edges(name):
    """Where the students' bodies of the solution's `name` start and end (character offsets):
    where a cut made from the text could go wrong."""
    text = solution()[name]
    lines = [0]
    for line in text.splitlines(keepends=True):
        lines.append(lines[-1] + len(line))
    free = _given(RELEASED[name], code_stub())[0]
    edges = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef) and any(f.endswith(node.name) for f in free):
            first, last = node.body[0], node.body[-1]
            edges += [lines[node.lineno - 1], lines[first.lineno - 1]]
            edges += [lines[last.end_lineno - 1] + last.end_col_offset, lines[last.end_lineno]]
    return sorted(edges)


EDGES = {name: body_edges(name) for name in RELEASED}


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::SyntaxWarning")
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(["toolbox.py", "nn.py"]),
    st.lists(
        st.tuples(
            st.floats(0, 1, exclude_max=True),  # where: anywhere, or near an edge of a body
            st.one_of(st.none(), st.integers(-40, 40)),
            st.integers(0, 12),  # characters deleted there
            st.lists(st.sampled_from(PIECES), max_size=3),  # and pieces inserted
        ),
        min_size=1,
        max_size=3,
    ),
)
def test_the_quick_path_agrees_with_the_syntax_trees_on_any_edit(name, edits):
    """Random edits anywhere, most near the edges of the students' bodies: where the edited file
    still parses, the verdict with the quick path is the verdict without it."""
    text = solution()[name]
    for where, near_edge, deleted, inserted in edits:
        edges = EDGES[name]
        if near_edge is None:
            at = int(where * len(text))
        else:
            at = min(max(0, edges[int(where * len(edges))] + near_edge), len(text))
        text = text[:at] + "".join(inserted) + text[at + deleted :]
    try:
        ast.parse(text.encode())
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return
    with_source, without = both_ways(name, text)
    assert with_source == without
