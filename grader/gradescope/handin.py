"""Find the hand-in in what a student uploaded: the files themselves, a folder holding them, or a
.zip of either (Gradescope unpacks an uploaded zip, or hands it over as it is)."""

import os
import zipfile
from pathlib import Path, PurePosixPath

from grader.submission import Unusable

JUNK = ("__MACOSX", ".")  # what archivers add, and hidden folders: never the hand-in
MAX_DEPTH = 4  # folders below the upload searched; a hand-in is at most a folder or two down


def folders_of(upload):
    """The upload folder and the folders in it (links not followed), shallowest first."""
    found = []
    for folder, subfolders, _ in os.walk(upload):
        depth = len(Path(folder).relative_to(upload).parts)
        subfolders[:] = sorted(
            name for name in subfolders if not name.startswith(JUNK) and depth < MAX_DEPTH
        )
        found.append((depth, Path(folder)))
    return [folder for _, folder in sorted(found, key=lambda pair: pair[0])]


def find_handin(upload, files, unpack_to, max_kb):
    """The folder to grade: the shallowest one in `upload` that holds all of `files`, else those
    files from a .zip in it (written into `unpack_to`), else the folder holding most of them (so
    grading names the missing ones)."""
    upload = Path(upload)
    folders = folders_of(upload)
    for folder in folders:
        if all((folder / name).is_file() for name in files):
            return folder
    for folder in folders:
        for archive in sorted(folder.glob("*.[zZ][iI][pP]")):
            if archive.is_file() and not archive.is_symlink():
                if unpack_files(archive, files, unpack_to, max_kb):
                    return unpack_to
    return max(folders, key=lambda folder: sum((folder / name).is_file() for name in files))


def unpack_files(archive, files, destination, max_kb):
    """Write `files` from the zip `archive` into `destination`, each from the shallowest member of
    that name; True when all were there. Only those names are written, so no member can land
    elsewhere; a member over `max_kb` is refused before it is unpacked."""
    try:
        with zipfile.ZipFile(archive) as bundle:
            members = {}
            for info in sorted(bundle.infolist(), key=lambda info: info.filename.count("/")):
                path = PurePosixPath(info.filename)
                if info.is_dir() or any(part.startswith(JUNK) for part in path.parts[:-1]):
                    continue
                members.setdefault(path.name, info)
            if not all(name in members for name in files):
                return False
            destination.mkdir(parents=True, exist_ok=True)
            for name in files:
                with bundle.open(members[name]) as source:
                    data = source.read((max_kb << 10) + 1)
                if members[name].file_size > max_kb << 10 or len(data) > max_kb << 10:
                    raise Unusable(
                        "too large",
                        f"{name} in {archive.name} is larger than {max_kb} kB, far more than the "
                        "assignment needs: upload the file you completed.",
                    )
                (destination / name).write_bytes(data)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError) as error:
        raise Unusable(
            "unreadable archive",
            f"{archive.name} cannot be unpacked ({error}); upload the files themselves, or a zip "
            "made with 'zip -r'.",
        ) from None
    return True
