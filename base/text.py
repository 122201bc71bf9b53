"""Small rules for text that reaches people: names in order, long lists in a line, names that
replace nothing, and text from a hand-in made safe to show."""

import itertools
import unicodedata
from pathlib import Path


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


def student_text(value, limit=500):
    """Text from a submission (a message, a folder name) cut to `limit` characters, control
    characters shown as escapes.

    It ends up in a terminal, grades.csv and feedback pages: an escape sequence must not clear or
    retitle the screen.
    """
    text = str(value)[:limit]
    if text.isprintable():  # most are: one pass in C instead of one call per character
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
