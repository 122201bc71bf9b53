"""Read a class's hand-ins as untrusted text: what each student wrote, and what could not be read.

Nothing here runs a hand-in: files are read as bytes (links are not followed, size is bounded),
decoded as UTF-8 and parsed. A file that is missing, a link, too large or not UTF-8 is a problem
listed against its student; a file that is not valid Python is compared whole, since the release's
code in it is boilerplate anyway.
"""

from dataclasses import dataclass
from pathlib import Path

from grader.similarity.parts import written_parts


@dataclass(frozen=True)
class Reading:
    """What one student wrote, part by part, and what went wrong."""

    student: str
    parts: tuple  # (header naming the file and the part, its text)
    problems: tuple  # sentences naming the file and what the instructor can do

    @property
    def text(self):
        """Every part under its header line, as compared and shown."""
        return "".join(f"{header}\n{body}\n" for header, body in self.parts)

    @property
    def headers(self):
        """(start, end) of each header line in `text`: ours, never marked as shared code."""
        spans, at = [], 0
        for header, body in self.parts:
            spans.append((at, at + len(header)))
            at += len(header) + len(body) + 2
        return spans


def read_handin(student, folder, given, max_kb):
    """The Reading of the hand-in in `folder`; `given` is {file: the released text}."""
    folder = Path(folder)
    if folder.is_symlink() or not folder.is_dir():
        why = "is a link" if folder.is_symlink() else "is not a folder"
        where = f"{folder.parent.name}/{folder.name}/"
        return Reading(student, (), (f"{where} {why}: collect the hand-in again.",))
    parts, problems = [], []
    for name, given_text in given.items():
        try:
            text = _read(folder / name, max_kb)
        except _Unreadable as problem:
            problems.append(f"{name} {problem}")
            continue
        parts += _written(name, given_text, text)
    return Reading(student, tuple(parts), tuple(problems))


class _Unreadable(Exception):
    """Why a file of a hand-in cannot be compared."""


def _read(path, max_kb):
    if path.is_symlink():
        raise _Unreadable("is a link, not a file: ask the student to hand in the file itself")
    if not path.exists():
        raise _Unreadable("is missing from the hand-in")
    if not path.is_file():
        raise _Unreadable("is not a file: ask the student to hand in the file itself")
    try:
        if path.stat().st_size > max_kb << 10:
            raise _Unreadable(f"is larger than {max_kb} kB, more than a hand-in needs")
        raw = path.read_bytes()
    except OSError as error:
        raise _Unreadable(f"cannot be read ({error.strerror}): check its permissions") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise _Unreadable(
            f"line {line} is not UTF-8: ask the student to save it as UTF-8"
        ) from None


def _written(name, given_text, text):
    """[(header, text)] of each part of one file the student wrote."""
    try:
        parts = [(part.label, part.text) for part in written_parts(given_text, text)]
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        parts = [("the whole file (not valid Python)", text)]
    return [(f"# {name}: {label}", body.rstrip() + "\n") for label, body in parts]
