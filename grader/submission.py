"""Prepare a hand-in for grading: a private copy, and the problems visible without running it.

Grading never touches the hand-in itself: the worker gets a copy of the files students complete,
and nothing else. The copy follows a symbolic link only when it points inside the hand-in, so a
link to the instructor's solution gives the student nothing. The rules (missing files, sizes,
encodings, syntax, changed given code) are base.handin's, which students run too.
"""

import functools
import shutil
from pathlib import Path

from base.handin import Unusable, check_given_code_unchanged, found_files
from base.nbgrader_settings import load_config
from base.paths import COURSE_ROOT
from base.text import roster_order

__all__ = [
    "Unusable",
    "check_given_code",
    "code_stub",
    "find_submissions",
    "given_texts",
    "private_copy",
]


def find_submissions(submitted_dir, assignment):
    """(student_id, folder) for every student folder in `submitted_dir`, in the order a class list
    has them."""
    students = sorted(
        (
            p.name
            for p in Path(submitted_dir).iterdir()
            if p.is_dir() and not p.name.startswith(".")
        ),
        key=roster_order,
    )
    return [(student, Path(submitted_dir) / student / assignment) for student in students]


def private_copy(folder, destination, files, max_kb):
    """Copy the `files` students complete from the hand-in `folder` into `destination`; raise
    `Unusable` when one is missing, larger than `max_kb` or a link to a file outside the hand-in.

    Nothing else is copied: a module of the student's own beside them could shadow one
    numpy imports and change the given code from outside, and data sets would only cost time.
    """
    Path(destination).mkdir(parents=True)
    for name, real in found_files(folder, files, max_kb).items():
        shutil.copyfile(real, Path(destination) / name)


@functools.cache
def code_stub(root=COURSE_ROOT):
    """nbgrader's stub for a solution region, which marks the bodies that are the students'."""
    return load_config(root).ClearSolutions.code_stub["python"]


@functools.cache
def given_texts(release_dir, names):
    """{name: the released text} of the files `names`, read once (the reader parses them)."""
    given = {}
    for name in names:
        if not (release_dir / name).is_file():
            raise FileNotFoundError(
                f"{release_dir / name} is missing: run `course release {release_dir.name}` before "
                "grading."
            )
        given[name] = (release_dir / name).read_text(encoding="utf-8")
    return given


def check_given_code(trees, release_dir):
    """Raise `Unusable` when a hand-in's file ({name: syntax tree}) differs from the release's
    outside the stubbed bodies."""
    check_given_code_unchanged(trees, given_texts(release_dir, tuple(trees)), code_stub())
