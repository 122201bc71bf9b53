"""Read and run the assignment notebook: its graded cells and a top-to-bottom execution."""

import copy
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class GradedCell:
    grade_id: str
    points: float
    source: str


def read_notebook(path):
    """The notebook at `path` (.py percent script or .ipynb) as an nbformat node."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"notebook {path} does not exist")
    # here, not at the top: with nbformat it takes half a second, and grading never needs it
    import jupytext

    return jupytext.read(path)


def read_ipynb(path):
    """A .ipynb file as plain JSON: no jupytext or nbformat to import, for commands that only read
    metadata."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as file:
            return json.load(file)
    except FileNotFoundError:
        raise FileNotFoundError(f"notebook {path} does not exist") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError(
            f"{path} is not a readable notebook ({error}); restore it from version control or run "
            "`course release` again"
        ) from None


def graded_cells(notebook, path="notebook"):
    """The autograded test cells in order, with their grade id and points."""
    cells = []
    for number, cell in enumerate(notebook["cells"], start=1):
        meta = cell["metadata"].get("nbgrader", {})
        if not meta.get("grade"):
            continue
        if "grade_id" not in meta or "points" not in meta:
            raise ValueError(
                f"{path}: graded cell {number} needs both 'grade_id' and 'points' in its nbgrader "
                "metadata"
            )
        source = cell["source"]  # a list of lines in a .ipynb file
        cells.append(
            GradedCell(
                meta["grade_id"],
                float(meta["points"]),
                source if isinstance(source, str) else "".join(source),
            )
        )
    return cells


def public_notebook(notebook, config=None):
    """A copy of `notebook` without its hidden-test blocks: the checks students can see and run.

    Uses nbgrader's ClearHiddenTests (delimiters from `config`, a traitlets
    Config such as the course's nbgrader_config.py), the rule generate_assignment applies.
    """
    from nbgrader.preprocessors import ClearHiddenTests

    public, _ = ClearHiddenTests(config=config).preprocess(copy.deepcopy(notebook), {})
    return public


def execute(notebook, workdir, timeout=120, **options):
    """Run every cell with `workdir` as the current directory; raises on the first error.

    `options` go to nbclient's NotebookClient, e.g. allow_errors=True to run every cell.
    The kernel talks over Unix sockets in a folder of its own, not TCP ports: a free port
    picked for one kernel can be taken by another starting beside it (two test processes,
    two instructors on one server), and that kernel then never answers.
    """
    # here, not at the top: grading reads notebooks but never runs one
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient

    with tempfile.TemporaryDirectory(prefix="course-kernel-") as sockets:
        manager = AsyncKernelManager(
            kernel_name="python3", transport="ipc", ip=str(Path(sockets) / "socket")
        )
        client = NotebookClient(
            notebook,
            km=manager,
            timeout=timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(workdir)}},
            **options,
        )
        client.execute()
    return notebook
