"""The course's command line: release, validate, collect, grade and demo."""

import itertools
import sys
import unicodedata
from pathlib import Path

COURSE_ROOT = Path(__file__).resolve().parent.parent


def roster_order(student_id):
    """Sort key for student ids, as a class list has them: case and accents ignored first
    ('Émile' beside 'emma', not after 'zoe'), then the exact id."""
    plain = "".join(
        c for c in unicodedata.normalize("NFKD", student_id) if not unicodedata.combining(c)
    )
    return plain.casefold(), student_id


def some_of(names, most=5):
    """'a, b, c and 4 more': a long list named in one line of a message."""
    names = list(names)
    return ", ".join(names[:most]) + (f" and {len(names) - most} more" if len(names) > most else "")


def first_free(path):
    """`path`, or the first of `path-1`, `path-2`, ... (numbered before its suffix) that does not
    exist:
    where something is kept aside, nothing kept before is replaced."""
    path = Path(path)
    numbered = (
        path.with_name(f"{path.stem}-{number}{path.suffix}") for number in itertools.count(1)
    )
    return next(
        candidate for candidate in itertools.chain([path], numbered) if not candidate.exists()
    )


def outside_course(folder):
    """' (here: /abs/folder; the course folder is ...)' when a relative `folder` does not lie in the
    course
    folder, as when a command runs from elsewhere: it then reads and writes there, not in the
    course."""
    folder = Path(folder)
    if folder.is_absolute() or Path.cwd().resolve() == COURSE_ROOT.resolve():
        return ""
    return f" (here: {folder.resolve()}; the course folder is {COURSE_ROOT})"


def known_assignments(root=COURSE_ROOT):
    """The assignments of the course in `root`: its folders in source/ or in release/."""
    folders = [Path(root, kind) for kind in ("source", "release")]
    return sorted(
        {
            path.name
            for folder in folders
            if folder.is_dir()
            for path in folder.iterdir()
            if path.is_dir() and not path.name.startswith(".")
        }
    )  # not a swap `course release` left


# nbformat validates notebooks with jsonschema, which loads the optional rfc3987_syntax
# package when it is installed (jupyter_server pulls it in) and compiles 39 grammars
# there: 1.5 s on every command, for IRI formats no notebook schema uses. Without it,
# jsonschema simply skips those formats.
sys.modules.setdefault("rfc3987_syntax", None)
