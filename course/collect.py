"""Unpack an LMS download into submitted/<student_id>/<assignment>/, nbgrader's layout.

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
is refused whole, as nothing tells whose they are. For example:

  Moodle, "Download all submissions" without a folder per student:
    Ada Lovelace_123456_assignsubmission_file_toolbox.py
    --id-pattern '(?P<student_id>[^_]+_[0-9]+)_assignsubmission_file_'
    -> submitted/Ada Lovelace_123456/backprop/toolbox.py
    (the id keeps Moodle's participant number: names are not unique, and the
    number maps grades back to Moodle)
  Canvas, "Download submissions" (a late hand-in is lovelaceada_LATE_12345_67890_toolbox.py):
    lovelaceada_12345_67890_toolbox.py
    --id-pattern '(?P<student_id>[^_]+)(?:_LATE)?_[0-9]+_[0-9]+_'
    -> submitted/lovelaceada/backprop/toolbox.py
  Canvas renames a file uploaded again (toolbox-1.py): rename it back in the
  download before collecting, or it is graded as missing.

A student's entries (folders, .zip archives, loose files) make one hand-in;
if two of them hold the same file, the student is skipped until one is removed.
A hand-in lacking a file students complete (nbgrader_config.py's
Autograde.exclude_overwriting) is collected with a warning, and a note points
out the synthetic students `course demo` left in the submitted folder.
Folders that hold nothing but one folder or one .zip (as when a student zips
the whole 'backprop' folder) are unwrapped, so the files land directly in
submitted/<student_id>/<assignment>/. Names inside archives are read as unzip
reads them: '\\' separates folders, and names are UTF-8 when their bytes are.

The assignment must have a folder in source/ or release/ of the course (--root).
Archives with absolute paths, '..' components, symbolic links or two members
landing on one path ('a/b' and 'a\\b', or a file 'a' and a folder 'a') are refused,
as are a student's .zip archives nested too deep or unpacking to more bytes in
all than a hand-in could need (a zip bomb's tricks). A submission already there
is kept unless --force replaces it (the replaced one moves to
submitted/.replaced/<student_id>/, which grading skips); one holding exactly the same files is
reported unchanged. Each student's folder appears complete or not at all; one
refused hand-in does not stop the others. Exit code: 0 when every hand-in was
collected or unchanged, 1 when some were skipped (the summary says why), 2 when
nothing was collected: the download could not be read, or holds loose files and
no --id-pattern says whose they are.
"""

import argparse
import filecmp
import os
import re
import shutil
import stat
import sys
import tempfile
import time
import unicodedata
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from base.errors import CourseError
from base.nbgrader_settings import load_config, student_files
from base.paths import COURSE_ROOT, known_assignments, outside_course
from base.text import first_free, roster_order, some_of, student_text
from course.demo_marker import MARKER, demo_students
from grader.outputs import RESERVED_NAMES

# in submitted/: hand-ins that --force replaced, kept; grading skips folders starting with '.'
REPLACED = ".replaced"
JUNK = {"__MACOSX", ".DS_Store", "Thumbs.db"}
MAX_UNPACKED_BYTES = (
    200 * 2**20
)  # per hand-in, all its archives together: far above real work, far below a zip bomb
MAX_DOWNLOAD_BYTES = (
    8 * 2**30
)  # the whole class's download: hundreds of hand-ins with notebook outputs fit
MAX_MEMBERS = (
    2000  # files and folders per hand-in, all its archives together: a hand-in has a handful
)
MAX_DOWNLOAD_MEMBERS = 200_000  # the whole class's download
UTF8_FLAG = 0x800  # general purpose bit 11: the member's name is UTF-8
ENCRYPTED_FLAG = 0x1  # general purpose bit 0: the member needs a password
MOODLE_PATTERN = "(?P<student_id>[^_]+_[0-9]+)_assignsubmission_file_"
MOODLE_ONLINE_TEXT = (
    "_assignsubmission_onlinetext_"  # Moodle's online-text answers, beside the file hand-ins
)
# the student's .zip, a zipped folder inside it and one more; deeper nesting is a zip bomb's trick
MAX_ZIP_DEPTH = 3
REMAKE_ARCHIVE = (
    "re-create the archive from the folder itself (e.g. 'zip -r name.zip folder') and collect again"
)


class UnsafeArchive(Exception):
    """An archive member that would escape or alias the folder it is unpacked into."""


@dataclass
class HandIn:
    """One student's archives as they are unpacked: a zip of a zip of ... counts against one depth
    and one byte cap."""

    student_id: str
    chain: list = field(default_factory=list)  # archive names, outermost first
    unpacked_bytes: int = 0
    unpacked_members: int = 0

    def unpack(self, archive, destination):
        self.chain.append(archive.name)
        where = f"student {self.student_id!r}: " + " > ".join(self.chain)
        if len(self.chain) > MAX_ZIP_DEPTH:
            raise UnsafeArchive(
                f"{where} nests .zip archives more than {MAX_ZIP_DEPTH} deep; "
                "unzip them, zip the folder once and collect again"
            )
        self.unpacked_bytes, self.unpacked_members = unpack_zip(
            archive, destination, (self.unpacked_bytes, self.unpacked_members), where
        )

    def count(self, members, where):
        """Count files a hand-in brings outside archives (a folder's) against its member cap."""
        self.unpacked_members += members
        if self.unpacked_members > MAX_MEMBERS:
            raise UnsafeArchive(too_many(where, self.unpacked_members, MAX_MEMBERS))


def too_many(where, members, limit):
    return (
        f"{where} holds {members} files and folders, more than the {limit} allowed for one "
        "hand-in; "
        "hand in the files the assignment asks for, not a whole project or data set"
    )


class Entry(NamedTuple):
    """One name at the top of the download, as part of a student's hand-in."""

    path: Path
    loose_name: str | None  # for a loose file, its name in the hand-in
    # what --id-pattern matched after the id: a Moodle number left out of it tells two people apart
    tag: str


@dataclass
class Summary:
    collected: list = field(default_factory=list)
    unchanged: list = field(
        default_factory=list
    )  # students whose submission already held exactly these files
    replaced: list = field(
        default_factory=list
    )  # students whose different submission --force replaced (and kept)
    ignored: list = field(
        default_factory=list
    )  # entries that are no hand-in: Moodle's online-text answers
    skipped: list = field(default_factory=list)  # (entry names, reason)
    missing: dict = field(
        default_factory=dict
    )  # student -> (files students complete it lacks, files it holds)

    def warning(self, student):
        """What to add to a student's line when their hand-in lacks files students complete."""
        if student not in self.missing:
            return ""
        missing, held = self.missing[student]
        holds = (
            f"; it holds {some_of(held)}" if held else "; it is empty"
        )  # a renamed file shows here
        return f" (no {', '.join(missing)}: grading will give 0 until they hand them in{holds})"


def add_arguments(parser):
    parser.epilog = __doc__.split("\n", 1)[1]  # the naming rules belong in --help
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("assignment", help="assignment name, e.g. backprop")
    parser.add_argument(
        "--zip",
        required=True,
        type=Path,
        metavar="FILE",
        help="the LMS download: a .zip file or a folder, holding students' folders, .zip archives "
        "or (with --id-pattern) loose files",
    )
    parser.add_argument(
        "--submitted",
        type=Path,
        default=Path("submitted"),
        metavar="DIR",
        help="where submissions go (default: submitted/)",
    )
    parser.add_argument(
        "--id-pattern",
        metavar="REGEX",
        help="regular expression with a (?P<student_id>...) group, matched at the start of each "
        "entry's name",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace students' existing submissions instead of skipping them (the old ones are "
        "kept in .replaced/)",
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=COURSE_ROOT,
        metavar="DIR",
        help="the course root, holding source/, release/ and nbgrader_config.py (default: this "
        "checkout)",
    )


def run(args):
    try:
        summary = collect(
            args.zip, args.submitted, args.assignment, args.id_pattern, args.force, args.root
        )
    except (UnsafeArchive, FileNotFoundError, ValueError, CourseError) as error:
        print(f"course collect: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(
            f"course collect: {error}; check that {args.submitted} can be written and has room, "
            "then collect again",
            file=sys.stderr,
        )
        return 2
    except zipfile.BadZipFile as error:
        print(
            f"course collect: {args.zip} is not a readable .zip ({error}); download it again or "
            "unpack it and pass the folder.",
            file=sys.stderr,
        )
        return 2
    print(
        f"Collected {len(summary.collected) + len(summary.replaced)} submission(s) into "
        f"{args.submitted / '<student_id>' / args.assignment}{outside_course(args.submitted)}"
    )
    lines = [("collected", student, summary.warning(student)) for student in summary.collected]
    lines += [
        (
            "replaced",
            student,
            ": the earlier hand-in is kept in "
            f"{args.submitted / REPLACED / student}/{summary.warning(student)}",
        )
        for student in summary.replaced
    ]
    lines += [
        ("unchanged", student, f": the same files are already there{summary.warning(student)}")
        for student in summary.unchanged
    ]
    lines += [("skipped", entry, f": {reason}") for entry, reason in summary.skipped]
    lines += [
        ("ignored", entry, ": Moodle's online-text answer, not a file of the hand-in")
        for entry in summary.ignored
    ]
    for (
        what,
        name,
        detail,
    ) in (
        lines
    ):  # names come from the download: escape sequences in them must not reach the terminal
        print(student_text(f"  {what:<9}  {name}{detail}", limit=2000))
    decorated = [s for s in summary.collected + summary.replaced if "_assignsubmission_" in s]
    if decorated and not args.id_pattern:
        print(
            student_text(
                f"note: {decorated[0]!r} is a folder name as Moodle makes them, taken whole as "
                "the student id; "
                "collect with Moodle's --id-pattern (see course collect --help) to keep the name "
                "and number only"
            )
        )
    print_demo_note(args.submitted)
    return 1 if summary.skipped else 0


def print_demo_note(submitted):
    """Point out the demo's synthetic students, who would be graded beside the real ones."""
    count = len(demo_students(submitted))  # those whose folders are still there
    if count:
        print(
            f"note: {submitted}/ also holds the {count} synthetic students of `course demo` "
            "(listed in "
            f"{submitted / MARKER}); delete them (or the whole folder) before grading real hand-ins"
        )


def collect(download, submitted_dir, assignment, id_pattern=None, force=False, root=COURSE_ROOT):
    """Unpack every student's hand-in from `download` (a .zip or a folder); returns a Summary."""
    download, submitted_dir = Path(download), Path(submitted_dir)
    known = known_assignments(root)
    if (
        assignment not in known
    ):  # a misspelt name would file every hand-in where grading never looks
        raise ValueError(
            f"there is no assignment {assignment!r} in {Path(root) / 'source'}/ or "
            f"{Path(root) / 'release'}/ "
            f"(there is: {', '.join(known) or 'none'}); check the name, or pass --root with the "
            "course folder"
        )
    completed = student_files(load_config(root), assignment)
    if not download.exists():
        raise FileNotFoundError(
            f"{download} does not exist; pass the LMS download (a .zip or a folder) with --zip"
        )
    try:
        pattern = re.compile(id_pattern) if id_pattern else None
    except re.error as error:
        raise ValueError(
            f"--id-pattern {id_pattern!r} is not a valid regular expression ({error})"
        ) from None
    if pattern is not None and "student_id" not in pattern.groupindex:
        raise ValueError(f"--id-pattern {id_pattern!r} needs a named group (?P<student_id>...)")
    submitted_dir.mkdir(parents=True, exist_ok=True)
    summary = Summary()
    with tempfile.TemporaryDirectory(dir=submitted_dir, prefix=".collect-") as staging:
        staging = Path(staging)
        if download.is_dir():
            top = download
        else:
            top = staging / "download"
            # a member with an unsafe name costs that file, not the class: it is listed
            refused = []
            unpack_zip(
                download, top, limits=(MAX_DOWNLOAD_BYTES, MAX_DOWNLOAD_MEMBERS), refuse=refused
            )
            summary.skipped += refused
        students = students_in(top, pattern, summary)
        for student_id in sorted(
            students, key=roster_order
        ):  # the order `course grade` lists them in
            entries = students[student_id]
            destination = submitted_dir / student_id / assignment
            try:
                outcome = collect_one(entries, student_id, destination, staging, force)
            except (UnsafeArchive, ValueError, OSError, zipfile.BadZipFile) as error:
                summary.skipped.append(
                    (", ".join(entry.path.name for entry in entries), str(error))
                )
                continue
            getattr(summary, outcome).append(student_id)
            missing = [name for name in completed if not (destination / name).is_file()]
            if missing:
                held = sorted(
                    path.relative_to(destination).as_posix()
                    for path in destination.rglob("*")
                    if path.is_file()
                )
                summary.missing[student_id] = (missing, held)
    return summary


def students_in(top, pattern, summary):
    """The download's entries by student id, as Entry lists; unnamable ones go to `summary.skipped`,
    Moodle's online-text answers (no part of a hand-in) to `summary.ignored`."""
    entries = [entry for entry in sorted(top.iterdir()) if entry.name not in JUNK]
    summary.ignored = [entry.name for entry in entries if MOODLE_ONLINE_TEXT in entry.name]
    entries = [entry for entry in entries if entry.name not in summary.ignored]
    loose = [entry for entry in entries if is_loose(entry)]
    if (
        loose and pattern is None
    ):  # collecting only the .zip uploads, under ids made of whole names, is worse than nothing
        raise ValueError(
            f"{loose[0].name!r} is a file on its own at the top of the download, not a student's "
            "folder or .zip, "
            "so nothing was collected. If the LMS gave each student's files one by one, pass "
            "--id-pattern to pick "
            f"the student id out of each name (Moodle: --id-pattern '{MOODLE_PATTERN}'); "
            "otherwise delete the file "
            "and collect again"
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
                    "hand-in's file; "
                    "delete the entry, or rename it to end in the file's real name, and collect "
                    "again"
                )
        name = match.group("student_id")
    name = unicodedata.normalize("NFC", name.strip())
    if not plain_name(name) or name.startswith("."):
        raise ValueError(f"{name!r} cannot be a student id; rename the entry")
    if (
        name in RESERVED_NAMES
    ):  # its results folder would take the place of that file in `course grade`'s output
        raise ValueError(
            f"{name!r} cannot be a student id: `course grade` writes a file by that name; rename "
            "the entry"
        )
    return name, Entry(entry, loose_name, tag)


def plain_name(name):
    """Whether `name` is one file or folder name: not empty, '.' or '..', and without separators."""
    return name not in {"", ".", ".."} and "/" not in name and "\\" not in name


def collect_one(entries, student_id, destination, staging, force):
    """Unpack one student's hand-in in the staging folder, then move it into place in one rename.

    Returns "unchanged" when the submission there already holds the same files (collecting a
    download
    again is no conflict), "replaced" when --force replaced another one, which is kept in
    submitted/.replaced/<student_id>/ (grading skips folders starting with '.'), else "collected".
    """
    work = Path(tempfile.mkdtemp(dir=staging, prefix="student-"))
    replaced = None
    try:
        root = merge(unpack_entries(entries, student_id, work), work / "merged", student_id)
        if destination.exists():
            if same_files(root, destination):
                return "unchanged"
            if not force:
                raise FileExistsError(
                    f"student {student_id!r} already has a different submission in {destination}; "
                    "pass --force to replace it (the old one is kept in .replaced/), or move it "
                    "away first"
                )
            kept = first_free(
                destination.parent.parent
                / REPLACED
                / student_id
                / f"{destination.name} {time.strftime('%Y-%m-%d %H%M%S')}"
            )
            kept.parent.mkdir(parents=True, exist_ok=True)
            replaced = destination.rename(
                kept
            )  # swap the old one out (kept, not deleted), the new one in
        destination.parent.mkdir(parents=True, exist_ok=True)
        root.rename(destination)
        return "collected" if replaced is None else "replaced"
    except OSError:
        if replaced:  # the old submission goes back into place
            replaced.rename(destination)
        raise
    # one student's leftovers at a time: a class of refused zip bombs does not fill the disk
    finally:
        shutil.rmtree(work, ignore_errors=True)


def unpack_entries(entries, student_id, work):
    """Each of a student's entries unpacked in a folder of its own: [(Entry, folder)]."""
    hand_in = HandIn(student_id)  # all the student's archives share one byte budget
    parts = []
    for index, entry in enumerate(entries):
        check_plain(entry.path, entry.path.parent)
        hand_in.chain = []  # nesting depth counts from each entry the student handed in
        folder = work / f"entry-{index}"
        if entry.loose_name is not None:
            hand_in.count(1, f"student {student_id!r}")
            folder.mkdir()
            shutil.copyfile(entry.path, folder / entry.loose_name)
        else:
            if entry.path.is_dir():
                hand_in.count(
                    sum(len(d) + len(f) for _, d, f in os.walk(entry.path)),
                    f"student {student_id!r}: {entry.path.name}",
                )
                copy_folder(entry.path, folder)
            else:
                hand_in.unpack(entry.path, folder)
            folder = unwrap(folder, work, hand_in)
        parts.append((entry, folder))
    return parts


def merge(parts, into, student_id):
    """One folder from a student's entries; a file two entries both hold is refused, since which one
    counts is the student's call."""
    if len(parts) == 1:
        return parts[0][1]
    files, folders = {}, {}  # path in the hand-in -> the entry it came from
    for entry, part in parts:
        for path in sorted(files_in(part)):
            other = (
                files.get(path)
                or folders.get(path)
                or next((files[p] for p in path.parents if p in files), None)
            )
            if other:
                raise ValueError(clash(student_id, other, entry, path))
            files[path] = entry
            folders.update({parent: entry for parent in path.parents if parent not in folders})
            (into / path).parent.mkdir(parents=True, exist_ok=True)
            (part / path).rename(into / path)
    return into


def clash(student_id, first, second, path):
    """Why two entries with one student id cannot make one hand-in: both hold `path`."""
    both = f"{first.path.name} and {second.path.name} both hold {path.as_posix()!r}"
    if first.tag == second.tag:
        return f"a second hand-in for student {student_id!r}: {both}; keep one and collect again"
    return (
        f"two hand-ins for student id {student_id!r}: {both}, and their names differ after the id "
        f"({first.tag!r}, {second.tag!r}), so they may be two people: put what tells them apart "
        "in the id "
        f"(Moodle: --id-pattern '{MOODLE_PATTERN}') and collect again, or if they are one, keep one"
    )


def same_files(folder, other):
    """Whether two folders hold the same file names with the same bytes."""
    names = files_in(folder)
    return names == files_in(other) and all(
        filecmp.cmp(folder / name, other / name, shallow=False) for name in names
    )


def files_in(folder):
    return {path.relative_to(folder) for path in folder.rglob("*") if not path.is_dir()}


def unwrap(folder, work, hand_in):
    """Descend through folders that hold only one folder, unpacking a lone .zip on the way; a .zip
    beside other files is unpacked beside them, as Moodle's loose files are: it is part of the
    hand-in."""
    while True:
        entries = [path for path in folder.iterdir() if path.name not in JUNK]
        zips = [path for path in entries if path.is_file() and path.suffix.lower() == ".zip"]
        if len(entries) == 1 and entries[0].is_dir():
            folder = entries[0]
        elif len(entries) == 1 and zips:
            folder = Path(tempfile.mkdtemp(dir=work, prefix="inner-"))
            hand_in.unpack(zips[0], folder)
        else:
            for archive in zips:
                spill(archive, folder, work, hand_in)
            return folder


def spill(archive, folder, work, hand_in):
    """Replace `archive` in `folder` by what it holds; a file it shares with the folder must be the
    same."""
    chain = list(hand_in.chain)  # a sibling archive is as deep as this one, not one deeper
    inner = Path(tempfile.mkdtemp(dir=work, prefix="inner-"))
    hand_in.unpack(archive, inner)
    inner = unwrap(inner, work, hand_in)
    hand_in.chain = chain
    for path in sorted(files_in(inner)):
        target = folder / path
        if target.exists() or any((folder / parent).is_file() for parent in path.parents):
            if target.is_file() and filecmp.cmp(inner / path, target, shallow=False):
                continue
            raise ValueError(
                f"student {hand_in.student_id!r}: {archive.name} holds {path.as_posix()!r} and so "
                "does the "
                f"folder beside it, with other contents; keep one and collect again"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        (inner / path).rename(target)
    archive.unlink()


def unpack_zip(archive, destination, already=(0, 0), where=None, limits=None, refuse=None):
    """Extract `archive` into `destination` after checking every member is a plain file or folder
    inside it.

    `already` (bytes, members) were unpacked before from the archives around this one; they count
    against the same caps, `limits` (a hand-in's unless given). Returns the new totals. Sizes are
    the
    ones the archive declares: zipfile stops reading a member at its declared size, so a lying
    header
    cannot unpack more. With a `refuse` list, an unsafe member is left out and listed there as
    (name, reason) instead of refusing the whole archive (a class's download: one bad name is one
    file).
    """
    with zipfile.ZipFile(archive) as zip_file:
        for member in zip_file.infolist():
            member.filename = member_name(member)  # what check_member checks is what extract writes
        members = [
            m for m in zip_file.infolist() if not JUNK.intersection(PurePosixPath(m.filename).parts)
        ]
        if refuse is not None:
            members = safe_members(archive, members, refuse)
        for member in members:
            check_member(archive, member)
        check_one_path_each(archive, members)
        byte_limit, member_limit = limits or (MAX_UNPACKED_BYTES, MAX_MEMBERS)
        total = already[0] + sum(member.file_size for member in members)
        count = already[1] + len(members)
        if total > byte_limit:
            raise UnsafeArchive(
                f"{where or archive.name} would unpack to {total / 2**20:.0f} MiB, more than the "
                f"{byte_limit / 2**20:.0f} MiB allowed; check what it contains"
            )
        if count > member_limit:
            raise UnsafeArchive(too_many(where or archive.name, count, member_limit))
        destination.mkdir(parents=True, exist_ok=True)
        for member in members:
            if member.flag_bits & ENCRYPTED_FLAG:
                raise UnsafeArchive(
                    f"{where or archive.name}: {member.filename!r} is password-protected; "
                    "zip it again without a password and collect again"
                )
            try:
                zip_file.extract(member, destination)
            except (
                NotImplementedError,
                EOFError,
                zlib.error,
            ) as error:  # a compression zipfile lacks, a damaged archive
                raise UnsafeArchive(
                    f"{where or archive.name}: {member.filename!r} cannot be unpacked ({error}); "
                    "download it again, or zip it again with plain zip compression"
                ) from None
    return total, count


def safe_members(archive, members, refuse):
    """The members that pass `check_member` and have a path to themselves; the others go to
    `refuse`, every one of those sharing a path (which of them counts is not ours to guess)."""
    passed = []
    for member in members:
        try:
            check_member(archive, member)
            passed.append(member)
        except UnsafeArchive as error:
            refuse.append(
                (
                    member.filename,
                    f"{error}; this file was left out, the rest of the download collected",
                )
            )
    paths = Counter(PurePosixPath(m.filename) for m in passed if not m.is_dir())
    folders = {parent for m in passed for parent in PurePosixPath(m.filename).parents}
    shared = {path for path, count in paths.items() if count > 1 or path in folders}
    for member in passed:
        if PurePosixPath(member.filename) in shared:
            refuse.append(
                (
                    member.filename,
                    f"{archive.name} holds {member.filename!r} more than once, or as a file and "
                    "a folder; every copy was left out, the rest of the download collected",
                )
            )
    return [member for member in passed if PurePosixPath(member.filename) not in shared]


def member_name(member):
    """A member's path as unzip and 7-Zip read it: '\\' (from Windows tools) is a folder separator,
    and a name without the UTF-8 flag is UTF-8 when its bytes are (zipfile assumes cp437)."""
    name = member.filename
    if not member.flag_bits & UTF8_FLAG:
        try:
            name = name.encode("cp437").decode("utf-8")
        except UnicodeError:
            pass  # really cp437 (or another legacy code page): keep zipfile's reading
    return name.replace("\\", "/")


def check_member(archive, member):
    name = member.filename
    parts = PurePosixPath(name).parts
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise UnsafeArchive(f"{archive.name} holds {name!r}, an absolute path; {REMAKE_ARCHIVE}")
    if ".." in parts:
        raise UnsafeArchive(
            f"{archive.name} holds {name!r}, which points outside the archive ('..'); "
            f"{REMAKE_ARCHIVE}"
        )
    if stat.S_ISLNK(member.external_attr >> 16):
        raise UnsafeArchive(
            f"{archive.name} holds {name!r}, a symbolic link; replace it by the file it points to "
            f"and {REMAKE_ARCHIVE}"
        )


def check_one_path_each(archive, members):
    """Refuse two members that extract to one path: the second would silently replace the first, or
    fail half-way."""
    files, folders = set(), set()
    for member in members:
        path = PurePosixPath(
            member.filename
        )  # as extract reads it: 'a//b', 'a/./b' and 'a/b' are one path
        folders.update(path.parents)
        if member.is_dir():
            folders.add(path)
        elif path in files:
            raise UnsafeArchive(f"{archive.name} holds {path.as_posix()!r} twice; {REMAKE_ARCHIVE}")
        else:
            files.add(path)
    both = sorted(files & folders)
    if both:
        raise UnsafeArchive(
            f"{archive.name} holds {both[0].as_posix()!r} both as a file and as a folder; "
            f"{REMAKE_ARCHIVE}"
        )


def copy_folder(source, destination):
    """Copy a hand-in folder, refusing symbolic links and anything but plain files and folders."""
    for root, dirs, files in os.walk(source):
        for name in dirs + files:
            check_plain(Path(root, name), source.parent)
    shutil.copytree(source, destination, ignore=shutil.ignore_patterns(*JUNK))


def check_plain(path, download):
    """Refuse a symbolic link or special file in a downloaded folder: it could bring in files from
    anywhere."""
    if path.is_symlink() or not (path.is_dir() or path.is_file()):
        raise UnsafeArchive(
            f"{path.relative_to(download)} is a symbolic link or a special file; replace it by a "
            "plain copy and collect again"
        )
