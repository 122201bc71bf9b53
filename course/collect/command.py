"""Unpack an LMS download into submitted/<student_id>/<assignment>/, nbgrader's layout.

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
import shutil
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from base.errors import CourseError
from base.nbgrader_settings import load_config, student_files
from base.paths import COURSE_ROOT, known_assignments, outside_course
from base.text import first_free, roster_order, some_of, student_text
from course.collect.archives import JUNK, HandIn, UnsafeArchive, check_plain, unpack_zip
from course.collect.lms import MOODLE, compile_id_pattern, naming_help, students_in
from course.demo_marker import MARKER, demo_students

# in submitted/: hand-ins that --force replaced, kept; grading skips folders starting with '.'
REPLACED = ".replaced"


@dataclass
class Summary:
    collected: list = field(default_factory=list)
    # students whose submission already held exactly these files
    unchanged: list = field(default_factory=list)
    # students whose different submission --force replaced (and kept)
    replaced: list = field(default_factory=list)
    # entries that are no hand-in: Moodle's online-text answers
    ignored: list = field(default_factory=list)
    skipped: list = field(default_factory=list)  # (entry names, reason)
    # student -> (files students complete it lacks, files it holds)
    missing: dict = field(default_factory=dict)

    def warning(self, student):
        """What to add to a student's line when their hand-in lacks files students complete."""
        if student not in self.missing:
            return ""
        missing, held = self.missing[student]
        # a renamed file shows here
        holds = f"; it holds {some_of(held)}" if held else "; it is empty"
        return f" (no {', '.join(missing)}: grading will give 0 until they hand them in{holds})"


def add_arguments(parser):
    # the naming rules belong in --help
    parser.epilog = naming_help() + __doc__.split("\n", 1)[1]
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
    # names come from the download: escape sequences in them must not reach the terminal
    for what, name, detail in lines:
        print(student_text(f"  {what:<9}  {name}{detail}", limit=2000))
    decorated = [s for s in summary.collected + summary.replaced if "_assignsubmission_" in s]
    if decorated and not args.id_pattern:
        print(
            student_text(
                f"note: {decorated[0]!r} is a folder name as Moodle makes them, taken whole as "
                "the student id; collect with Moodle's --id-pattern (see course collect --help) "
                "to keep the name and number only"
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
            f"(listed in {submitted / MARKER}); delete them (or the whole folder) before grading "
            "real hand-ins"
        )


def collect(download, submitted_dir, assignment, id_pattern=None, force=False, root=COURSE_ROOT):
    """Unpack every student's hand-in from `download` (a .zip or a folder); returns a Summary."""
    download, submitted_dir = Path(download), Path(submitted_dir)
    known = known_assignments(root)
    # a misspelt name would file every hand-in where grading never looks
    if assignment not in known:
        raise ValueError(
            f"there is no assignment {assignment!r} in {Path(root) / 'source'}/ or "
            f"{Path(root) / 'release'}/ (there is: {', '.join(known) or 'none'}); check the "
            "name, or pass --root with the course folder"
        )
    completed = student_files(load_config(root), assignment)
    if not download.exists():
        raise FileNotFoundError(
            f"{download} does not exist; pass the LMS download (a .zip or a folder) with --zip"
        )
    pattern = compile_id_pattern(id_pattern)
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
            unpack_zip(download, top, refuse=refused)
            summary.skipped += refused
        students = students_in(top, pattern, summary)
        # the order `course grade` lists them in
        for student_id in sorted(students, key=roster_order):
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


def collect_one(entries, student_id, destination, staging, force):
    """Unpack one student's hand-in in the staging folder, then move it into place in one rename.

    Returns "unchanged" when the submission there already holds the same files (collecting a
    download again is no conflict), "replaced" when --force replaced another one, which is kept
    in submitted/.replaced/<student_id>/ (grading skips folders starting with '.'), else
    "collected".
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
            # swap the old one out (kept, not deleted), the new one in
            replaced = destination.rename(kept)
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


def copy_folder(source, destination):
    """Copy a hand-in folder, refusing symbolic links and anything but plain files and folders."""
    for root, dirs, files in os.walk(source):
        for name in dirs + files:
            check_plain(Path(root, name), source.parent)
    shutil.copytree(source, destination, ignore=shutil.ignore_patterns(*JUNK))


def merge(parts, into, student_id):
    """One folder from a student's entries; a file two entries both hold is refused, since which
    one counts is the student's call."""
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
        f"in the id (Moodle: --id-pattern '{MOODLE.pattern}') and collect again, or if they are "
        "one, keep one"
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
    """Replace `archive` in `folder` by what it holds; a file it shares with the folder must be
    the same."""
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
                "does the folder beside it, with other contents; keep one and collect again"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        (inner / path).rename(target)
    archive.unlink()
