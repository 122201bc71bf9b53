"""Prepare a hand-in for grading: a private copy, and the problems visible without running it.

Grading never touches the hand-in itself: the worker gets a copy of the files
students complete, and nothing else. The copy follows a symbolic link only
when it points inside the hand-in, so a link to the instructor's solution
gives the student nothing.
Missing files, bad encodings and syntax errors are found by reading the files
(nothing runs), so the student gets a precise message instead of a crash.
"""

import ast
import codecs
import io
import shutil
import tokenize
from pathlib import Path

from base.text import some_of
from grader.sandbox.limits import Limits


class Unusable(Exception):
    """A hand-in that cannot be graded; `status` goes into grades.csv, the message to the
    student."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def private_copy(folder, destination, files, max_kb=Limits.source_kb):
    """Copy the `files` students complete from the hand-in `folder` into `destination`; raise
    `Unusable` when one is missing, larger than `max_kb` or a link to a file outside the hand-in.

    Nothing else is copied: a module of the student's own beside them could shadow one
    numpy imports and change the given code from outside, and data sets would only cost time.
    """
    folder, destination = Path(folder), Path(destination)
    destination.mkdir(parents=True)
    linked = (
        folder.is_symlink() or folder.parent.is_symlink()
    )  # a linked hand-in could be anything, the solution included
    if linked or not folder.is_dir() or not any(folder.iterdir()):
        why = "is a link, not a folder" if linked else "is empty or missing"
        raise Unusable(
            "empty folder",
            f"the hand-in folder {folder.name}/ {why}: hand in the whole folder with "
            f"{' and '.join(files)}.",
        )
    inside = folder.resolve()
    found = {
        name: _link_target(folder / name, inside) if (folder / name).is_symlink() else folder / name
        for name in files
    }
    missing = [name for name, real in found.items() if real is None or not real.is_file()]
    if missing:
        linked = [name for name in missing if (folder / name).is_symlink()]
        why = (
            f" ({' and '.join(linked)}: a link to a file outside your hand-in; hand in the file "
            "itself)"
            if linked
            else ""
        )
        raise Unusable(
            "missing file",
            f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing from the "
            f"hand-in{why}: hand in your completed {' and '.join(missing)}. "
            f"The hand-in holds {_listing(folder)}.",
        )
    for name, real in found.items():
        if real.stat().st_size > max_kb << 10:
            raise Unusable(
                "too large",
                f"{name} is larger than {max_kb} kB, far more than the assignment needs: "
                "hand in the file you completed, without generated or pasted data.",
            )
        shutil.copyfile(real, destination / name)


def _listing(folder):
    """What a hand-in folder holds, for a student looking for a misnamed or misplaced file."""
    return some_of(
        sorted(path.name + ("/" if path.is_dir() else "") for path in folder.iterdir()), most=8
    )


def _link_target(link, inside):
    """The file a link points to if it lies inside the hand-in, else None."""
    try:
        real = link.resolve()
    except (OSError, RuntimeError):  # a loop of links
        return None
    return real if real.is_relative_to(inside) and real.is_file() else None


def check_readable(folder, files):
    """Each of `files`' syntax tree; raises `Unusable` if the private copy in `folder` cannot be
    read as Python."""
    trees = {}
    for name in files:
        path = Path(folder) / name
        raw = path.read_bytes()
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as error:
            line = raw[: error.start].count(b"\n") + 1
            raise Unusable(
                "bad encoding",
                f"{name} line {line} is not valid UTF-8 (byte {raw[error.start]:#04x}): save the "
                "file as UTF-8 and hand it in again.",
            ) from None
        declared = _declared_encoding(raw)
        if declared not in ("utf-8", "utf-8-sig"):
            raise Unusable(
                "bad encoding",
                f"{name} declares the encoding {declared!r} in a '# coding:' line: delete that "
                "line, "
                "save the file as UTF-8 and hand it in again.",
            )
        try:
            trees[name] = ast.parse(
                raw, filename=name
            )  # the bytes, as the worker's import reads them
        except (
            RecursionError,
            MemoryError,
        ):  # what Python's parser raises for expressions nested thousands deep
            raise Unusable(
                "syntax error",
                f"{name} nests an expression too deeply for Python to read: simplify it and "
                "hand it in again.",
            ) from None
        except (SyntaxError, ValueError) as error:  # ValueError: a null byte in the source
            raise Unusable(
                "syntax error",
                f"{name} line {getattr(error, 'lineno', '?')}: {getattr(error, 'msg', error)}. "
                "Fix it (the notebook's import cell shows the same error) and hand it in again.",
            ) from None
    return trees


def _declared_encoding(raw):
    """The encoding Python's import reads `raw` with: a '# coding:' line can name another than
    UTF-8,
    even one that turns '\\n' inside a comment into a line of code that only the import sees."""
    try:
        return codecs.lookup(tokenize.detect_encoding(io.BytesIO(raw).readline)[0]).name
    except (SyntaxError, LookupError):  # a codec Python does not know
        return "unknown"
