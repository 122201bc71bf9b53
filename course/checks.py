"""Run a notebook's cells against the code in a folder, in a kernel of its own, and report each
cell.

This is how both `course release` (stubs must fail, the solution must pass)
and `course validate` (a student's work in progress) judge code: the code
under test runs in a separate kernel process, never in the course's own, in a
scratch copy of the folder so that the folder itself is left untouched. Every
cell runs even after others fail, so one kernel start reports on all checks.
"""

import copy
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from nbclient.exceptions import DeadKernelError

from base.notebook import execute

# A frame of IPython's traceback in a file (not in the cell itself): "File /x/toolbox.py:246, in
# Mul.backward(self, grad)".
FILE_FRAME = re.compile(r"File (\S+?\.py):(\d+), in (\S+?)\(")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
# The kernel's own start-up warnings would drown the report.
QUIET_KERNEL = ["--IPKernelApp.log_level=ERROR"]
NOT_COPIED = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "*.ipynb", "*.pyc")


@dataclass(frozen=True)
class CellRun:
    """How one code cell went: `error` is None when it ran cleanly."""

    number: int  # 1-based position among all the notebook's cells
    grade_id: str | None
    points: float
    error: str | None
    may_raise: bool  # tagged raises-exception: an error there is part of the lesson

    @property
    def unexpected_error(self):
        return self.error is not None and not self.may_raise


def run_cells(notebook, folder, timeout=60, beside=None):
    """Run the code cells of (a copy of) `notebook` with a copy of `folder` as working directory;
    one CellRun each.

    Files of the folder `beside` (the release's helpers) that `folder` lacks are put in the copy
    too:
    a collected hand-in holds only the files students complete.
    """
    notebook = copy.deepcopy(notebook)
    with tempfile.TemporaryDirectory(prefix="course-checks-") as scratch:
        work = Path(scratch) / "work"
        shutil.copytree(folder, work, ignore=NOT_COPIED)
        if beside is not None and Path(beside).is_dir():
            shutil.copytree(
                beside, work, ignore=NOT_COPIED, dirs_exist_ok=True, copy_function=_copy_if_missing
            )
        died = False
        try:
            execute(
                notebook,
                work,
                timeout=timeout,
                allow_errors=True,
                interrupt_on_timeout=True,
                extra_arguments=QUIET_KERNEL,
            )
        except DeadKernelError:
            died = True
    code = [
        (number, cell)
        for number, cell in enumerate(notebook.cells, start=1)
        if cell.cell_type == "code"
    ]
    # When the kernel dies, the last cell that started is the culprit, and no later cell ran.
    started = [number for number, cell in code if cell.get("execution_count") is not None]
    culprit = (started[-1] if started else code[0][0]) if died and code else None
    runs = []
    for number, cell in code:
        meta = cell.metadata.get("nbgrader", {})
        if culprit is not None and number == culprit:
            error = (
                "the kernel died while running this cell: the code called exit() or crashed Python"
            )
        elif culprit is not None and number > culprit:
            error = f"not run: the kernel died in cell {culprit}"
        else:
            error = _error_of(cell, timeout)
        grade_id = meta.get("grade_id") if meta.get("grade") else None
        runs.append(
            CellRun(
                number,
                grade_id,
                float(meta.get("points", 0)),
                error,
                "raises-exception" in cell.metadata.get("tags", []),
            )
        )
    return runs


def _copy_if_missing(source, destination):
    if not Path(destination).exists():
        shutil.copy2(source, destination)


def up_to_last_check(notebook):
    """`notebook` cut after its last graded cell, so a check run skips whatever follows the
    checks."""
    graded = [
        number
        for number, cell in enumerate(notebook.cells)
        if cell.metadata.get("nbgrader", {}).get("grade")
    ]
    cut = copy.deepcopy(notebook)
    cut.cells = cut.cells[: graded[-1] + 1] if graded else []
    return cut


def _error_of(cell, timeout):
    """'Name: message', plus where in a .py file it was raised, or None when the cell raised
    nothing."""
    for output in cell.get("outputs", []):
        if output.get("output_type") != "error":
            continue
        message = f"{output.get('ename')}: {output.get('evalue')}".rstrip(": ")
        if (
            output.get("ename") == "KeyboardInterrupt"
        ):  # what nbclient's interrupt on timeout raises
            message = f"timed out: still running after {timeout:g} s, so it was interrupted"
        frames = FILE_FRAME.findall(ANSI.sub("", "\n".join(output.get("traceback", []))))
        if frames:
            path, line, function = frames[-1]
            message += f" (raised in {Path(path).name}:{line}, {function})"
        return message
    return None
