"""The assignment notebook runs against the solution, and the solution exists exactly once."""

import io
import re
import shutil
import subprocess
import textwrap
import tokenize

import nbformat
import pytest

import toolbox_solution
from base.notebook import execute, read_notebook
from base.paths import COURSE_ROOT

SOURCE = COURSE_ROOT / "source" / "backprop"


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """The source notebook run top to bottom in a copy of its folder, where toolbox.py is the
    solution, beside the release's check_handin.py (its last cell runs it)."""
    work = tmp_path_factory.mktemp("notebook") / "backprop"
    shutil.copytree(SOURCE, work, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(COURSE_ROOT / "release" / "backprop" / "check_handin.py", work)
    return execute(read_notebook(SOURCE / "backprop.py"), work, timeout=300)


def printed(cell):
    return "".join(
        output.get("text", "")
        for output in cell.get("outputs", [])
        if output.output_type == "stream"
    )


def test_notebook_runs_top_to_bottom_and_prints_the_seed_numbers(executed):
    code = [cell for cell in executed.cells if cell.cell_type == "code"]
    prints = [printed(cell) for cell in code]
    # d, c, b, a after one pass; after two passes (accumulated); after zero_grad in between.
    expected_runs = ["1.0\n1.0\n1.0\n2.0\n", "1.0\n1.0\n2.0\n4.0\n", "1.0\n1.0\n1.0\n2.0\n"]
    assert [p for p in prints if p in expected_runs] == expected_runs
    assert any(
        re.fullmatch(r"(<toolbox\.Add object at 0x[0-9a-f]+>\n){2}None\nNone\n", p) for p in prints
    )
    errors = [o for cell in code for o in cell.outputs if o.output_type == "error"]
    assert [e.ename for e in errors] == ["RuntimeError"], "only the backward-twice cell may raise"
    assert "freed" in errors[0].evalue
    assert any(p.startswith("test accuracy: ") for p in prints)
    # the last cell checks the hand-in as grading would: the solution is ready
    assert "11 of 11 public checks pass" in prints[-1]
    assert prints[-1].rstrip().endswith("Ready to hand in: toolbox.py, nn.py")


def comparable(notebook):
    return [(cell.cell_type, cell.source, cell.metadata) for cell in notebook.cells]


def test_training_section_renders_its_plot(executed):
    pictures = [
        o
        for cell in executed.cells
        for o in cell.get("outputs", [])
        if "image/png" in o.get("data", {})
    ]
    assert pictures, "the loss curve of the digits training should render as a picture"


def test_introduction_draws_the_graph(executed):
    drawings = [
        o
        for cell in executed.cells
        for o in cell.get("outputs", [])
        if "image/svg+xml" in o.get("data", {})
        or "Graphviz" in o.get("data", {}).get("text/plain", "")
    ]
    assert len(drawings) >= 2, "draw_graph should show the graph before and after backward"


def test_py_and_ipynb_pair_agree():
    script, notebook = (
        read_notebook(SOURCE / "backprop.py"),
        read_notebook(SOURCE / "backprop.ipynb"),
    )
    assert comparable(script) == comparable(notebook), (
        "backprop.py and backprop.ipynb differ; backprop.py is the truth: run "
        "`jupytext --sync source/backprop/backprop.py` (or `jupytext --to ipynb`) to update the "
        "pair"
    )


def test_reference_package_is_the_source_files_themselves():
    assert toolbox_solution.toolbox.__file__ == str(SOURCE / "toolbox.py")
    assert toolbox_solution.nn.__file__ == str(SOURCE / "nn.py")
    assert toolbox_solution.nn.tb is toolbox_solution.toolbox, (
        "nn must build on the reference toolbox"
    )


SKIPPED_TOKENS = {
    tokenize.COMMENT,
    tokenize.STRING,
    tokenize.NL,
    tokenize.INDENT,
    tokenize.DEDENT,
    tokenize.ENCODING,
    tokenize.ENDMARKER,
}


def code_statements(text):
    """`text`'s code, one line of tokens per statement, without indentation, comments or strings.

    A test may quote a solution line as a string (an edit it makes, a planted mistake);
    only code that runs could drift from the source.
    """
    tokens = tokenize.generate_tokens(io.StringIO(textwrap.dedent(text)).readline)
    return "".join(
        "\n" if t.type == tokenize.NEWLINE else t.string + " "
        for t in tokens
        if t.type not in SKIPPED_TOKENS
    )


def runnable_code(path):
    """The code statements of the file at `path`; none if Python cannot even tokenize it (it cannot
    run)."""
    try:
        return code_statements(path.read_text(errors="replace"))
    except (tokenize.TokenError, SyntaxError):
        return ""


def solution_regions(text):
    return re.findall(r"### BEGIN SOLUTION\n(.*?\n)\s*### END SOLUTION", text, flags=re.S)


def test_no_copy_of_the_solution_outside_source():
    """No other Python file in the repository holds a whole solution region as code."""
    regions = [
        code_statements(region)
        for name in ("toolbox.py", "nn.py")
        for region in solution_regions((SOURCE / name).read_text())
    ]
    assert len(regions) == 11 and all(regions)
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.py"],
        cwd=COURSE_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    others = [
        path for path in listed if not path.startswith("source/") and (COURSE_ROOT / path).is_file()
    ]
    assert "toolbox_solution/__init__.py" in others
    copies = [
        (path, region.splitlines()[-1])
        for path in others
        for region in regions
        if "\n" + region in "\n" + runnable_code(COURSE_ROOT / path)
    ]
    assert not copies, f"solution code copied outside source/ (it must live only there): {copies}"


def test_kernels_talk_over_unix_sockets_so_parallel_runs_never_race_for_a_port(tmp_path):
    """A TCP port picked free for one kernel can be bound by another starting beside it; that
    kernel then never answers (seen as a 60 s timeout when two test processes ran at once)."""
    probe = "from ipykernel.kernelapp import IPKernelApp\nprint(IPKernelApp.instance().transport)"
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(probe)])
    assert printed(execute(notebook, tmp_path).cells[0]) == "ipc\n"
