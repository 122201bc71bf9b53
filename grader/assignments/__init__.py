"""Each assignment's grading, in a package named after it: `compute` (what its cases compute,
run in the sandbox and by the judge) and `cases` (its checks' cases, `BUILDERS` and
`HIDDEN_KINDS`). The rest of the grader knows no operation by name."""

import importlib
from pathlib import Path

ASSIGNMENTS_DIR = Path(__file__).resolve().parent


def compute_file(assignment):
    """The file the sandboxed worker loads to compute `assignment`'s cases."""
    return ASSIGNMENTS_DIR / assignment / "compute.py"


def compute_module(assignment):
    """`assignment`'s compute module, as the judge imports it."""
    return importlib.import_module(f"grader.assignments.{assignment}.compute")


def cases_module(assignment):
    """`assignment`'s cases: its `BUILDERS` and `HIDDEN_KINDS`."""
    return importlib.import_module(f"grader.assignments.{assignment}.cases")
