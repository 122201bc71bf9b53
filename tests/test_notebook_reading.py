"""Grading reads each check's grade id and points from the released notebook, as plain JSON."""

import dataclasses
import json

import pytest
from handins import BACKPROP, SEED

from base.notebook import graded_cells, read_ipynb, read_notebook
from base.paths import COURSE_ROOT
from grader.cases import checks

SOURCE = COURSE_ROOT / "source" / "backprop" / "backprop.py"


def ids_and_points(cells):
    return [(cell.grade_id, cell.points) for cell in cells]


def test_the_release_carries_the_sources_ids_and_points():
    from_source = ids_and_points(graded_cells(read_notebook(SOURCE)))
    assert len(from_source) == 11
    assert ids_and_points(graded_cells(read_ipynb(BACKPROP.notebook))) == from_source
    assert [(check.grade_id, check.points) for check in checks(BACKPROP, SEED)] == from_source


def test_checks_take_their_points_from_the_notebook(tmp_path):
    notebook = read_ipynb(BACKPROP.notebook)
    graded = [
        cell for cell in notebook["cells"] if cell["metadata"].get("nbgrader", {}).get("grade")
    ]
    graded[0]["metadata"]["nbgrader"]["points"] = 4
    (tmp_path / "backprop.ipynb").write_text(json.dumps(notebook), encoding="utf-8")
    assert checks(dataclasses.replace(BACKPROP, release_dir=tmp_path), seed=0)[0].points == 4.0


def test_a_missing_or_broken_release_says_what_to_do(tmp_path):
    with pytest.raises(
        FileNotFoundError,
        match=r"backprop.ipynb is missing: run `course release backprop` before grading",
    ):
        checks(dataclasses.replace(BACKPROP, release_dir=tmp_path), seed=0)
    (tmp_path / "backprop.ipynb").write_text("<<<<<<< HEAD\n{}", encoding="utf-8")
    with pytest.raises(
        ValueError,
        match=r"backprop.ipynb is not a readable notebook .*; restore it .* or run `course "
        r"release` again",
    ):
        checks(dataclasses.replace(BACKPROP, release_dir=tmp_path), seed=0)
