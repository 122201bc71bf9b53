"""Prepare a hand-in for grading: a private copy, and the problems visible without running it.

Grading never touches the hand-in itself: the worker gets a copy. The copy
keeps a symbolic link only when it points inside the hand-in (then as a plain
file), so a link to the instructor's solution gives the student nothing.
Missing files, bad encodings and syntax errors are found by reading the files
(nothing runs), so the student gets a precise message instead of a crash.
"""
import ast
import os
import shutil
from pathlib import Path

from course import COURSE_ROOT
from course.nbgrader_settings import load_config, student_files

REQUIRED_FILES = tuple(student_files(load_config(COURSE_ROOT), "backprop"))  # the files students complete
MAX_HANDIN_MB = 20
MAX_SOURCE_KB = 1024  # a completed toolbox.py is about 15 kB; the limit keeps parsing cheap in the trusted process


class Unusable(Exception):
    """A hand-in that cannot be graded; `status` goes into grades.csv, the message to the student."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def private_copy(folder, destination):
    """Copy `folder` into `destination`; return the links left out because they point outside it."""
    folder, destination = Path(folder), Path(destination)
    destination.mkdir(parents=True)
    if folder.is_symlink() or folder.parent.is_symlink():  # a linked hand-in could be anything, the solution included
        return [folder.name]
    inside = folder.resolve()
    skipped, copied = [], 0
    for root, dirs, files in os.walk(folder):
        relative = Path(root).relative_to(folder)
        (destination / relative).mkdir(parents=True, exist_ok=True)
        for name in dirs + files:
            source = Path(root) / name
            real = _link_target(source, inside) if source.is_symlink() else source
            if real is None:
                skipped.append(str(relative / name))
            elif real.is_file():
                copied += real.stat().st_size
                if copied > MAX_HANDIN_MB << 20:
                    raise Unusable("too large", f"the hand-in holds more than {MAX_HANDIN_MB} MB: hand in the assignment's "
                                                "files without data sets or outputs.")
                shutil.copyfile(real, destination / relative / name)
        dirs[:] = [d for d in dirs if not (Path(root) / d).is_symlink()]
    return skipped


def _link_target(link, inside):
    """The file a link points to if it lies inside the hand-in, else None."""
    try:
        real = link.resolve()
    except (OSError, RuntimeError):  # a loop of links
        return None
    return real if real.is_relative_to(inside) and real.is_file() else None


def check_readable(folder, skipped=()):
    """Each required file's syntax tree; raises `Unusable` if the hand-in in `folder` (a private copy) cannot be graded."""
    folder = Path(folder)
    if not folder.is_dir() or not any(folder.iterdir()):
        raise Unusable(
            "empty folder",
            f"the hand-in folder {folder.name}/ is empty or missing: hand in the whole folder with "
            f"{' and '.join(REQUIRED_FILES)}.",
        )
    trees = {}
    for name in REQUIRED_FILES:
        path = folder / name
        if not path.is_file():
            why = " (it is a link to a file outside your hand-in; hand in the file itself)" if name in skipped else ""
            raise Unusable("missing file", f"{name} is missing from the hand-in{why}: hand in your completed {name}.")
        if path.stat().st_size > MAX_SOURCE_KB << 10:
            raise Unusable("too large", f"{name} is larger than {MAX_SOURCE_KB} kB, far more than the assignment needs: "
                                        "hand in the file you completed, without generated or pasted data.")
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            line = raw[: error.start].count(b"\n") + 1
            raise Unusable(
                "bad encoding",
                f"{name} line {line} is not valid UTF-8 (byte {raw[error.start]:#04x}): save the file as UTF-8 and hand it in again.",
            ) from None
        try:
            trees[name] = ast.parse(text, filename=name)
        except (RecursionError, MemoryError):  # what Python's parser raises for expressions nested thousands deep
            raise Unusable("syntax error", f"{name} nests an expression too deeply for Python to read: simplify it and "
                                           "hand it in again.") from None
        except (SyntaxError, ValueError) as error:  # ValueError: a null byte in the source
            raise Unusable(
                "syntax error",
                f"{name} line {getattr(error, 'lineno', '?')}: {getattr(error, 'msg', error)}. Fix it (the notebook's import cell shows the same error) and hand it in again.",
            ) from None
    return trees
