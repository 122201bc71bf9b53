"""Where the course lives, and which assignments it has."""

from pathlib import Path

COURSE_ROOT = Path(__file__).resolve().parent.parent


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
    )
