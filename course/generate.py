"""Build a student release in a scratch folder: nbgrader for the notebook, ClearSolutions for the
helpers.

nbgrader's generate_assignment runs in a throwaway course directory holding
only the notebook, so the real course root gets no gradebook.db and no
half-written release; the gradebook is not needed to build a release, so
nbgrader's SaveCells step (and its database) is left out.
"""

import copy
import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.converters import GenerateAssignment
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import SaveCells
from nbgrader.utils import capture_log

from base.errors import CourseError
from course.strip import strip_solutions


@dataclass(frozen=True)
class ReleasedFile:
    name: str
    note: str


def prepared_for_release(notebook):
    """A copy of `notebook` that rebuilds to identical bytes and is not a jupytext pair.

    Cell ids derive from content: a graded cell is named by its grade_id, any
    other cell by a hash of its text, so editing one cell changes no other id.
    """
    notebook = copy.deepcopy(notebook)
    notebook.metadata.pop("jupytext", None)  # students get a plain notebook, not a jupytext pair
    taken = set()
    for cell in notebook.cells:
        base = (
            cell.metadata.get("nbgrader", {}).get("grade_id")
            or "cell-" + hashlib.sha1(f"{cell.cell_type}\n{cell.source}".encode()).hexdigest()[:8]
        )
        cell_id, copies = base, 1
        while cell_id in taken:
            copies += 1
            cell_id = f"{base}-{copies}"
        taken.add(cell_id)
        cell.id = cell_id
    return notebook


def build_release(notebook, source, name, config, scratch, show=str):
    """Write the release of assignment `name` under `scratch`; returns its folder and the files
    written.

    `notebook` is the assignment notebook (read from its .py); `source` the
    assignment's source folder, whose other files are released as helpers.
    """
    course = Path(scratch) / "course"
    (course / "source" / name).mkdir(parents=True)
    nbformat.write(prepared_for_release(notebook), course / "source" / name / f"{name}.ipynb")
    _generate_assignment(course, name, config, show(Path(source) / f"{name}.py"))
    release = course / "release" / name
    written = [
        ReleasedFile(f"{name}.ipynb", "solutions and hidden tests removed, graded cells locked")
    ]
    for path in _helpers(Path(source), name):
        target = release / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        count = 0
        if path.suffix == ".py":
            text, count = strip_solutions(path.read_text(encoding="utf-8"), config, show(path))
        if count:
            target.write_text(text, encoding="utf-8")
            written.append(
                ReleasedFile(
                    target.relative_to(release).as_posix(),
                    f"{count} solution region(s) replaced by the stub",
                )
            )
        else:
            shutil.copyfile(path, target)
            written.append(
                ReleasedFile(
                    target.relative_to(release).as_posix(), "copied as it is (no solution regions)"
                )
            )
    return release, sorted(written, key=lambda file: file.name)


def _helpers(source, name):
    """Every file of the source folder except the notebook pair, hidden files and Python caches."""
    pair = {source / f"{name}.py", source / f"{name}.ipynb"}

    def skipped(path):
        parts = path.relative_to(source).parts
        return (
            path in pair
            or path.suffix == ".pyc"
            or any(part.startswith(".") or part == "__pycache__" for part in parts)
        )

    return sorted(path for path in source.rglob("*") if path.is_file() and not skipped(path))


def _generate_assignment(course, name, config, shown):
    config = copy.deepcopy(config)
    config.CourseDirectory.root = str(course)
    config.GenerateAssignment.no_database = True
    coursedir = CourseDirectory(config=config)
    coursedir.assignment_id = name
    app = GenerateAssignment(coursedir=coursedir, config=config)
    app.preprocessors = [step for step in app.preprocessors if step is not SaveCells]
    app.force = True
    result = capture_log(app)
    if not result["success"]:
        reasons = [
            line
            for line in result.get("log", "").splitlines()
            if "[ERROR]" in line and "see the" not in line
        ]
        last = result.get("error", "").strip().splitlines()[-1:]
        raise CourseError(
            f"nbgrader generate_assignment failed on {shown}:\n  " + "\n  ".join(reasons + last)
        )
