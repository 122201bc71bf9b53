"""Archive safety: a hand-in unpacks only to plain files and folders inside its own folder, and
only as much as a hand-in could need, so a hostile or broken archive costs its owner, not the class.
"""

import re
import stat
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import PurePosixPath

JUNK = {"__MACOSX", ".DS_Store", "Thumbs.db"}
# per hand-in, all its archives together: far above real work, far below a zip bomb
MAX_UNPACKED_BYTES = 200 * 2**20
# the whole class's download: hundreds of hand-ins with notebook outputs fit
MAX_DOWNLOAD_BYTES = 8 * 2**30
# files and folders per hand-in, all its archives together: a hand-in has a handful
MAX_MEMBERS = 2000
MAX_DOWNLOAD_MEMBERS = 200_000  # the whole class's download
UTF8_FLAG = 0x800  # general purpose bit 11: the member's name is UTF-8
ENCRYPTED_FLAG = 0x1  # general purpose bit 0: the member needs a password
# the student's .zip, a zipped folder inside it and one more; deeper nesting is a zip bomb's trick
MAX_ZIP_DEPTH = 3
REMAKE_ARCHIVE = (
    "re-create the archive from the folder itself (e.g. 'zip -r name.zip folder') and collect again"
)


class UnsafeArchive(Exception):
    """An archive member that would escape or alias the folder it is unpacked into."""


@dataclass
class HandIn:
    """One student's archives as they are unpacked: a zip of a zip of ... counts against one
    depth and one byte cap."""

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
        "hand-in; hand in the files the assignment asks for, not a whole project or data set"
    )


def unpack_zip(archive, destination, already=(0, 0), where=None, refuse=None):
    """Extract `archive` into `destination` after checking every member is a plain file or folder
    inside it.

    `already` (bytes, members) were unpacked before from the archives around this one; they count
    against the same caps. Returns the new totals. Sizes are the ones the archive declares:
    zipfile stops reading a member at its declared size, so a lying header cannot unpack more.
    With a `refuse` list the archive is the class's download: it has the download's caps, and an
    unsafe member is left out and listed there as (name, reason) instead of refusing the whole
    archive (one bad name is one file).
    """
    with zipfile.ZipFile(archive) as zip_file:
        for member in zip_file.infolist():
            member.filename = member_name(member)  # what check_member checks is what extract writes
        members = [
            m for m in zip_file.infolist() if not JUNK.intersection(PurePosixPath(m.filename).parts)
        ]
        if refuse is None:
            byte_limit, member_limit = MAX_UNPACKED_BYTES, MAX_MEMBERS
        else:
            byte_limit, member_limit = MAX_DOWNLOAD_BYTES, MAX_DOWNLOAD_MEMBERS
            members = safe_members(archive, members, refuse)
        for member in members:
            check_member(archive, member)
        check_one_path_each(archive, members)
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
            # a compression zipfile lacks, a damaged archive
            except (NotImplementedError, EOFError, zlib.error) as error:
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
    """Refuse two members that extract to one path: the second would silently replace the first,
    or fail half-way."""
    files, folders = set(), set()
    for member in members:
        # as extract reads it: 'a//b', 'a/./b' and 'a/b' are one path
        path = PurePosixPath(member.filename)
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


def check_plain(path, download):
    """Refuse a symbolic link or special file in a downloaded folder: it could bring in files from
    anywhere."""
    if path.is_symlink() or not (path.is_dir() or path.is_file()):
        raise UnsafeArchive(
            f"{path.relative_to(download)} is a symbolic link or a special file; replace it by a "
            "plain copy and collect again"
        )
