"""The suite's setting of the machine: where the account a process worker drops to (as root,
without bubblewrap) cannot run this interpreter, the suite's process workers run as root, as they
did before the drop; tests/test_worker_account.py runs the drop itself with an interpreter every
user can run."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from base.paths import COURSE_ROOT
from grader.sandbox.account import USER_VARIABLE, entries_apart_from, worker_account
from grader.sandbox.bubblewrap import NUMPY_DIR, PYTHON

try:
    worker_account((PYTHON, NUMPY_DIR / "__init__.py"))
except RuntimeError:
    os.environ.setdefault(USER_VARIABLE, "root")


@pytest.fixture
def open_tmp_path():
    """A temporary folder every user may pass through (pytest's own are closed to all but their
    owner), so a test can tell what an unprivileged account is refused by a file's own
    permissions."""
    folder = Path(tempfile.mkdtemp(prefix="open-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def closed_course():
    """The course folder closed to other users but for the way to numpy, while a test runs
    student code as one of them, as a course graded as root must have it (source/ holds the
    solutions, .git every file committed); opened again afterwards."""
    modes = {
        entry: entry.stat().st_mode & 0o777
        for entry in entries_apart_from(COURSE_ROOT, [NUMPY_DIR / "__init__.py"])
        if not entry.is_symlink()
    }
    try:
        for entry, mode in modes.items():
            entry.chmod(mode & 0o770)
        yield COURSE_ROOT
    finally:
        for entry, mode in modes.items():
            entry.chmod(mode)
