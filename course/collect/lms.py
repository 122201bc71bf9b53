"""How an LMS download names students' hand-ins; adding an LMS is adding one Preset to PRESETS.

The download (--zip) is a .zip file or a folder. Each entry at its top level is
a student's hand-in: a folder, or a .zip archive, named after the student.
The student id is that name without its .zip suffix ("ada lovelace.zip" ->
"ada lovelace"); spaces and non-ASCII letters are kept, but names of files
`course grade` writes (grades.csv, report.html) are refused. When the LMS adds
decorations, --id-pattern gives a regular expression whose named group
(?P<student_id>...) picks the id out of the start of the name, as in nbgrader's
zip_collect. With it, plain files at the top level (not .zip) are a student's
files handed in one by one: each lands in the student's folder under the rest
of its name after the match. Without it, a download holding such loose files
is refused whole, as nothing tells whose they are.
"""

import re
import textwrap
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from course.collect.archives import JUNK
from grader.outputs.gradebook import RESERVED_NAMES


@dataclass(frozen=True)
class Preset:
    """One LMS's naming in one place, so its --help example cannot drift from its pattern."""

    name: str
    download: str  # the LMS's download, as its menu names it
    pattern: str  # the --id-pattern for it
    example: str  # one entry's name in that download
    note: str = ""

    def help(self):
        """The example and where it lands, worked out by the pattern so that the two agree."""
        match = re.match(self.pattern, self.example)
        lines = [
            f"{self.name}, {self.download}:",
            f"  {self.example}",
            f"  --id-pattern '{self.pattern}'",
            f"  -> submitted/{match['student_id']}/backprop/{self.example[match.end() :]}",
            *(f"  {line}" for line in textwrap.wrap(self.note, 75)),
        ]
        return "".join(f"  {line}\n" for line in lines)


MOODLE = Preset(
    name="Moodle",
    download='"Download all submissions" without a folder per student',
    pattern="(?P<student_id>[^_]+_[0-9]+)_assignsubmission_file_",
    example="Ada Lovelace_123456_assignsubmission_file_toolbox.py",
    note="(the id keeps Moodle's participant number: names are not unique, and the number maps "
    "grades back to Moodle)",
)
PRESETS = (
    MOODLE,
    Preset(
        name="Canvas",
        download='"Download submissions" (a late hand-in is '
        "lovelaceada_LATE_12345_67890_toolbox.py)",
        pattern="(?P<student_id>[^_]+)(?:_LATE)?_[0-9]+_[0-9]+_",
        example="lovelaceada_12345_67890_toolbox.py",
        note="Canvas renames a file uploaded again (toolbox-1.py): rename it back in the download "
        "before collecting, or it is graded as missing.",
    ),
)
# Moodle's online-text answers, beside the file hand-ins
MOODLE_ONLINE_TEXT = "_assignsubmission_onlinetext_"


def naming_help():
    """The naming rules and every preset's example, for `course collect --help`."""
    rules = __doc__.split("\n", 1)[1].rstrip()
    return f"{rules} For example:\n\n" + "".join(preset.help() for preset in PRESETS)


class Entry(NamedTuple):
    """One name at the top of the download, as part of a student's hand-in."""

    path: Path
    loose_name: str | None  # for a loose file, its name in the hand-in
    # what --id-pattern matched after the id: a Moodle number left out of it tells two people apart
    tag: str


def compile_id_pattern(id_pattern):
    """--id-pattern compiled, or None without one; refused unless it has the group naming the id."""
    try:
        pattern = re.compile(id_pattern) if id_pattern else None
    except re.error as error:
        raise ValueError(
            f"--id-pattern {id_pattern!r} is not a valid regular expression ({error})"
        ) from None
    if pattern is not None and "student_id" not in pattern.groupindex:
        raise ValueError(f"--id-pattern {id_pattern!r} needs a named group (?P<student_id>...)")
    return pattern


def students_in(top, pattern, summary):
    """The download's entries by student id, as Entry lists; unnamable ones go to
    `summary.skipped`, Moodle's online-text answers (no part of a hand-in) to `summary.ignored`."""
    entries = [entry for entry in sorted(top.iterdir()) if entry.name not in JUNK]
    summary.ignored = [entry.name for entry in entries if MOODLE_ONLINE_TEXT in entry.name]
    entries = [entry for entry in entries if entry.name not in summary.ignored]
    loose = [entry for entry in entries if is_loose(entry)]
    # collecting only the .zip uploads, under ids made of whole names, is worse than nothing
    if loose and pattern is None:
        raise ValueError(
            f"{loose[0].name!r} is a file on its own at the top of the download, not a student's "
            "folder or .zip, so nothing was collected. If the LMS gave each student's files one "
            "by one, pass --id-pattern to pick the student id out of each name "
            f"(Moodle: --id-pattern '{MOODLE.pattern}'); otherwise delete the file and collect "
            "again"
        )
    students = {}
    for entry in entries:
        try:
            student_id, part = split_name(entry, pattern)
        except ValueError as error:
            summary.skipped.append((entry.name, str(error)))
        else:
            students.setdefault(student_id, []).append(part)
    return students


def is_loose(entry):
    """Whether an entry is a file on its own (neither folder nor .zip), as Moodle and Canvas hand
    them out."""
    return not entry.is_dir() and entry.suffix.lower() != ".zip"


def split_name(entry, pattern):
    """The student id an entry's name stands for (NFC-normalised: macOS zips store names
    decomposed), and the Entry."""
    loose = is_loose(entry)
    name = entry.name[: -len(".zip")] if entry.name.lower().endswith(".zip") else entry.name
    loose_name, tag = None, ""
    if pattern is not None:
        match = pattern.match(name)
        if not match or not match.group("student_id"):
            raise ValueError(
                f"--id-pattern '{pattern.pattern}' does not match this name; fix the pattern or "
                "rename the entry"
            )
        tag = name[match.end("student_id") : match.end()]
        if loose:
            loose_name = name[match.end() :]
            if not loose_name:
                raise ValueError(
                    "--id-pattern matches the whole name, which leaves no file name; end the "
                    "pattern where the file name starts"
                )
            if not plain_name(loose_name) or loose_name in JUNK:
                raise ValueError(
                    f"{loose_name!r}, the name left after --id-pattern's match, cannot be a "
                    "hand-in's file; delete the entry, or rename it to end in the file's real "
                    "name, and collect again"
                )
        name = match.group("student_id")
    name = unicodedata.normalize("NFC", name.strip())
    if not plain_name(name) or name.startswith("."):
        raise ValueError(f"{name!r} cannot be a student id; rename the entry")
    # its results folder would take the place of that file in `course grade`'s output
    if name in RESERVED_NAMES:
        raise ValueError(
            f"{name!r} cannot be a student id: `course grade` writes a file by that name; rename "
            "the entry"
        )
    return name, Entry(entry, loose_name, tag)


def plain_name(name):
    """Whether `name` is one file or folder name: not empty, '.' or '..', and without
    separators."""
    return name not in {"", ".", ".."} and "/" not in name and "\\" not in name
