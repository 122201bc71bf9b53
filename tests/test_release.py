"""`course release`: the committed release is what the source gives, and bad sources are refused.

Every test works on a copy of the course tree in a temporary folder; the real
source/ and release/ are only read.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from base.paths import COURSE_ROOT
from course.cli import main

RELEASED = COURSE_ROOT / "release" / "backprop"


@pytest.fixture
def course(tmp_path):
    """A copy of what a release needs: nbgrader_config.py and source/backprop."""
    shutil.copy2(COURSE_ROOT / "nbgrader_config.py", tmp_path)
    shutil.copytree(
        COURSE_ROOT / "source" / "backprop",
        tmp_path / "source" / "backprop",
        ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"),
    )
    return tmp_path


@pytest.fixture
def old_release(course):
    """A previous release in the copy, to show that a refused release leaves it alone."""
    folder = course / "release" / "backprop"
    folder.mkdir(parents=True)
    (folder / "toolbox.py").write_text("# the release students already have\n")
    return folder


def files_of(folder):
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(Path(folder).rglob("*"))
        if path.is_file()
    }


def edit(path, old, new):
    text = path.read_text()
    assert old in text, f"the test's anchor {old!r} is no longer in {path.name}; update the test"
    path.write_text(text.replace(old, new, 1))


def refused(course, capsys, name="backprop"):
    """Run the release on the copy, expect a refusal, and return its message."""
    assert main(["release", name, "--root", str(course)]) == 1
    return capsys.readouterr().err


def test_a_release_from_a_fresh_copy_equals_the_committed_one(course):
    done = subprocess.run(
        [sys.executable, "-m", "course", "release", "backprop", "--root", str(course)],
        capture_output=True,
        text=True,
        cwd=course,
    )
    assert done.returncode == 0, done.stderr
    assert "total           15 points" in done.stdout
    assert not list(course.glob("*.db")), "nbgrader's gradebook must not appear in the course root"
    produced, committed = files_of(course / "release" / "backprop"), files_of(RELEASED)
    assert sorted(produced) == sorted(committed), (
        "release/backprop is out of date: run `course release backprop` and commit it"
    )
    stale = [name for name in produced if produced[name] != committed[name]]
    assert not stale, (
        f"{', '.join(stale)} in release/backprop differ from what the source gives: run `course "
        "release backprop` and commit it"
    )


def test_planted_solution_and_hidden_test_lines_and_a_free_check_are_refused(
    course, old_release, capsys
):
    source = course / "source" / "backprop"
    edit(
        source / "toolbox.py",
        "class Mul(Function):",
        "# hint: return grad * self.b, grad * self.a\nclass Mul(Function):",
    )
    edit(
        source / "nn.py",
        "class CrossEntropyLoss:",
        '# assert np.allclose(x.grad, 2 / x.data), "Log: wrong gradient inside a chain"\nclass '
        "CrossEntropyLoss:",
    )
    free = (
        '# %% nbgrader={"grade": true, "grade_id": "free", "locked": true, "points": 1, '
        '"schema_version": 3, "solution": false, "task": false}\nassert 1 + 1 == 2\n\n'
    )
    edit(
        source / "backprop.py",
        "# %% [markdown]\n# ## Training",
        free + "# %% [markdown]\n# ## Training",
    )
    message = refused(course, capsys)
    assert (
        "release/backprop/toolbox.py" in message and "repeats source/backprop/toolbox.py" in message
    )
    assert "'# hint: return grad * self.b, grad * self.a'" in message
    assert "release/backprop/nn.py" in message and "repeats source/backprop/backprop.py" in message
    assert "check 'free'" in message and "passes against the stubs" in message
    assert files_of(old_release) == {"toolbox.py": b"# the release students already have\n"}


def test_a_notebook_failing_with_the_solution_is_refused(course, old_release, capsys):
    edit(
        course / "source" / "backprop" / "toolbox.py",
        "return grad / self.b, -grad * self.a / self.b**2",
        "return grad / self.b, grad * self.a / self.b**2",
    )
    message = refused(course, capsys)
    assert (
        "source/backprop/backprop.py cell" in message
        and "(check 'division') fails against the solution: AssertionError: Div" in message
    )
    assert files_of(old_release) == {"toolbox.py": b"# the release students already have\n"}


@pytest.mark.parametrize(
    "file_name, old, new, expected",
    [
        (
            "toolbox.py",
            "        return grad * self.b, grad * self.a\n",
            "        ### BEGIN SOLUTION\n        return grad * self.b, grad * self.a\n",
            "source/backprop/toolbox.py:{}: 'BEGIN SOLUTION' inside the region opened at line {}; "
            "regions cannot be nested",
        ),
        (
            "nn.py",
            "        ### BEGIN SOLUTION\n",
            "",
            "source/backprop/nn.py:{}: 'END SOLUTION' without a 'BEGIN SOLUTION' before it",
        ),
        (
            "backprop.py",
            '### END HIDDEN TESTS\n\n# %% nbgrader={"grade": true, "grade_id": "division"',
            '\n# %% nbgrader={"grade": true, "grade_id": "division"',
            "source/backprop/backprop.py:{}: the region opened here is not closed before the next "
            "cell starts at line {}",
        ),
        (
            "backprop.py",
            '"grade_id": "power", "locked": true, "points": 1, ',
            '"grade_id": "power", "locked": true, ',
            "source/backprop/backprop.py: graded cell {} needs both 'grade_id' and 'points'",
        ),
        (
            "nn.py",
            "        ### END SOLUTION\n",
            "",
            "source/backprop/nn.py:{}: the region opened here is never closed",
        ),
        (
            "backprop.py",
            '"grade_id": "exp", ',
            "",
            "source/backprop/backprop.py: graded cell {} needs both 'grade_id' and 'points'",
        ),
    ],
    ids=[
        "nested-markers",
        "end-without-begin",
        "region-across-cells",
        "graded-cell-without-points",
        "unclosed-region",
        "graded-cell-without-id",
    ],
)
def test_malformed_sources_are_refused_with_file_and_line(
    course, old_release, capsys, file_name, old, new, expected
):
    edit(course / "source" / "backprop" / file_name, old, new)
    message = refused(course, capsys)
    numbers = re.search(re.escape(expected).replace(r"\{\}", r"(\d+)"), message)
    assert numbers, message
    lines = (course / "source" / "backprop" / file_name).read_text().splitlines()
    if file_name != "backprop.py" or "region" in expected:  # a line number: it points at a marker
        assert "###" in lines[int(numbers.group(1)) - 1]
    assert files_of(old_release) == {"toolbox.py": b"# the release students already have\n"}


def test_an_unknown_assignment_is_named_with_the_ones_there_are(course, capsys):
    assert "source/nope does not exist; assignments in source: backprop" in refused(
        course, capsys, "nope"
    )
    assert "'../backprop' is not an assignment name" in refused(course, capsys, "../backprop")


@pytest.mark.parametrize(
    "missing, expected",
    [
        ("nn.py", "source/backprop/nn.py is missing: nbgrader_config.py lists it"),
        ("backprop.py", "source/backprop/backprop.py is missing"),
    ],
)
def test_a_missing_source_file_is_named(course, old_release, capsys, missing, expected):
    (course / "source" / "backprop" / missing).unlink()
    assert expected in refused(course, capsys)
    assert files_of(old_release) == {"toolbox.py": b"# the release students already have\n"}


def test_a_separately_edited_ipynb_stops_the_release_and_is_kept(course, old_release, capsys):
    paired = course / "source" / "backprop" / "backprop.ipynb"
    notebook = nbformat.read(paired, as_version=4)
    notebook.cells[0].source += "\n\nA sentence typed into the notebook."
    nbformat.write(notebook, paired)
    later = (course / "source" / "backprop" / "backprop.py").stat().st_mtime + 10
    os.utime(paired, (later, later))
    edited = paired.read_bytes()
    message = refused(course, capsys)
    assert "source/backprop/backprop.ipynb was edited after source/backprop/backprop.py" in message
    assert "jupytext --sync" in message
    assert paired.read_bytes() == edited
    assert files_of(old_release) == {"toolbox.py": b"# the release students already have\n"}


def test_an_edited_py_updates_its_ipynb(course):
    from course.pairing import sync_pair

    script = course / "source" / "backprop" / "backprop.py"
    edit(script, "# # Backpropagation", "# # Backpropagation, step by step")
    later = script.stat().st_mtime + 10
    os.utime(script, (later, later))
    assert "updated" in sync_pair(script)
    assert (
        nbformat.read(script.with_suffix(".ipynb"), as_version=4)
        .cells[0]
        .source.startswith("# Backpropagation, step by step")
    )


def test_nbgrader_errors_are_reported_and_refused(course, old_release, capsys):
    # a solution region in a cell that is not a solution cell: nbgrader refuses it
    edit(
        course / "source" / "backprop" / "backprop.py",
        "d.backward()\ndrawing\n\n# %%\nprint(d.grad)",
        "d.backward()\ndrawing\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n\n# %%\nprint(d.grad)",
    )
    message = refused(course, capsys)
    assert "nbgrader generate_assignment failed on source/backprop/backprop.py" in message
    assert "Solution region detected in a non-solution cell" in message
    assert files_of(old_release) == {"toolbox.py": b"# the release students already have\n"}


def test_the_stub_files_import_run_forward_passes_and_their_backward_raises(tmp_path):
    script = """
import numpy as np
import nn, toolbox as tb
x = tb.Tensor(np.array([[1.0], [2.0]]), requires_grad=True)
net = nn.Network()
net.add_layer(nn.LinearLayer(np.eye(3, 2), np.zeros((3, 1))))
net.add_layer(nn.ReLU())
loss = nn.CrossEntropyLoss().forward(net.forward(x), 1)
assert np.isfinite(loss.data).all()
(x + x).backward(np.ones((2, 1)))          # Add is the worked example
assert np.allclose(x.grad, 2.0)
try:
    loss.backward()
except NotImplementedError:
    print("stub reached")
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=RELEASED,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "stub reached"


def test_files_put_into_the_release_by_hand_are_not_deleted(course, capsys):
    assert main(["release", "backprop", "--root", str(course)]) == 0
    (course / "release" / "backprop" / "ERRATA.md").write_text("Check 3 had a typo.\n")
    (course / "release" / "backprop" / "__pycache__").mkdir()
    (course / "release" / "backprop" / "__pycache__" / "toolbox.cpython-311.pyc").write_bytes(b"\0")
    (course / "release" / "backprop" / ".DS_Store").write_bytes(
        b"\0"
    )  # a file browser's, not the instructor's
    capsys.readouterr()
    message = refused(course, capsys)
    assert (
        "release/backprop/ERRATA.md is not made by the release (only what is in source/ is "
        "released)" in message
    )
    assert "move it into source/backprop/ to release it" in message and "__pycache__" not in message
    assert ".DS_Store" not in message
    assert (course / "release" / "backprop" / "ERRATA.md").read_text() == "Check 3 had a typo.\n"


def test_a_release_whose_given_code_changed_says_what_old_hand_ins_will_get(course, capsys):
    assert main(["release", "backprop", "--root", str(course)]) == 0
    assert "note: the given code" not in capsys.readouterr().out
    edit(
        course / "source" / "backprop" / "toolbox.py",
        "return np.maximum(a, 0.0)",
        "return np.maximum(a, 0.0) + 0.0",
    )
    assert main(["release", "backprop", "--root", str(course)]) == 0
    out = capsys.readouterr().out
    assert (
        "note: the given code of toolbox.py differs from the previous release/backprop/toolbox.py "
        "(ReLU.forward): "
        "hand-ins made from the previous release will be refused as 'changed given code'"
    ) in out
