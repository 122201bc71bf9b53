"""The course's nbgrader_config.py, loaded as nbgrader itself would, so every step shares its
rules."""

import contextlib
import os
import sys
from pathlib import Path

from traitlets.config.loader import PyFileConfigLoader

from base.errors import CourseError

CONFIG_NAME = "nbgrader_config.py"


def load_config(root):
    """nbgrader's configuration for the course in `root`, with its root made absolute."""
    root = Path(root).resolve()
    if not (root / CONFIG_NAME).is_file():
        raise CourseError(
            f"{root / CONFIG_NAME} does not exist; run this in the course root (the folder "
            f"holding {CONFIG_NAME})."
        )
    config = PyFileConfigLoader(CONFIG_NAME, path=str(root)).load_config()
    config.CourseDirectory.root = str(root)
    return config


def student_files(config, assignment):
    """The files students complete: those `Autograde.exclude_overwriting` keeps from being
    overwritten."""
    return list(config.Autograde.get("exclude_overwriting", {}).get(assignment, []))


def course_directory(config):
    """nbgrader's CourseDirectory for `config`: its folders, and the gradebook's database URL."""
    from nbgrader.coursedir import CourseDirectory  # here: nbgrader takes a second to import

    return CourseDirectory(config=config)


def gradebook_file(config):
    """The course's gradebook.db as a path, or None when the gradebook is not a local SQLite
    file (then it is taken to exist: a server database is set up on purpose). Read from the
    configuration without loading nbgrader, which takes seconds (its default: root/gradebook.db)."""
    root = config.CourseDirectory.root
    url = config.CourseDirectory.get("db_url") or f"sqlite:///{Path(root, 'gradebook.db')}"
    return Path(url[len("sqlite:///") :]) if url.startswith("sqlite:///") else None


@contextlib.contextmanager
def course_importable(root):
    """Let nbgrader_config.py name a plugin in a module of the course folder (`late.SubMarks`),
    as the nbgrader commands run from there allow."""
    sys.path.insert(0, str(root))
    try:
        yield
    finally:
        sys.path.remove(str(root))


def open_gradebook(config):
    """nbgrader's Gradebook of the course. To make a new gradebook.db nbgrader runs the `alembic`
    program, installed beside this Python: it is put on PATH for a command run from an
    environment that was not activated."""
    from nbgrader.api import Gradebook

    here, path = os.path.dirname(sys.executable), os.environ.get("PATH", "")
    if here not in path.split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join(filter(None, [path, here]))
    directory = course_directory(config)
    return Gradebook(directory.db_url, directory.course_id)
