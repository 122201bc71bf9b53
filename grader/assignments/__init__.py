"""Each assignment's grading, in a package named after it beside this file.

Such a package holds `compute.py` (what its cases compute: the sandboxed worker loads it from its
file, so it imports the standard library and numpy only) and `cases.py` (its checks' cases:
`BUILDERS` and `HIDDEN_KINDS`). The rest of the grader knows no operation by name: adding an
operation, or an assignment, is a change in that package plus the notebook's graded cell.
"""

import importlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from base.nbgrader_settings import load_config, student_files
from base.paths import COURSE_ROOT

ASSIGNMENTS_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Assignment:
    """What the grader needs of one assignment: what students received, and how it is checked."""

    name: str
    release_dir: Path  # the notebook and the given code students received
    files: tuple  # the files students complete and hand in, e.g. ("toolbox.py", "nn.py")
    package: str  # the importable package of its grading: compute.py and cases.py

    @property
    def notebook(self):
        return self.release_dir / f"{self.name}.ipynb"

    @property
    def modules(self):
        """The modules the worker imports from the hand-in: one per file students complete."""
        return tuple(Path(name).stem for name in self.files)

    @property
    def compute_file(self):
        """The file the sandboxed worker loads to compute the cases."""
        return Path(importlib.util.find_spec(f"{self.package}.compute").origin)

    def cases(self):
        """The module of the checks' cases: `BUILDERS` and `HIDDEN_KINDS`."""
        return importlib.import_module(f"{self.package}.cases")


def known_gradings():
    """The assignments whose grading lives here."""
    return sorted(p.name for p in ASSIGNMENTS_DIR.iterdir() if (p / "cases.py").is_file())


def assignment_named(name, root=COURSE_ROOT):
    """The assignment `name` of the course at `root`, graded by grader/assignments/<name>/."""
    if name not in known_gradings():
        raise ValueError(
            f"the grader has no checks for the assignment {name!r} (it has: "
            f"{', '.join(known_gradings())}); add grader/assignments/{name}/ with compute.py "
            "and cases.py (see docs/maintainers.md)."
        )
    files = tuple(student_files(load_config(root), name))
    return Assignment(name, root / "release" / name, files, f"grader.assignments.{name}")
