"""The demo's marker in submitted/: which students `course demo` made, so nothing else is replaced
or graded with them.

Kept apart from course/demo.py so that `course grade` and `course collect` can read it
without loading what the demo itself needs.
"""

# Written into submitted/ by the demo with the ids of the students it made, so that
# it only ever replaces those: a hand-in collected beside them stops the next demo.
MARKER = ".demo-class"


def demo_students(submitted):
    """The students the last demo wrote into `submitted` whose folders are still there, from its
    marker.

    A marker line names a folder directly inside `submitted` or nothing, and a marker from before
    the
    demo listed its students names none: the demo then refuses rather than guess what is its own.
    """
    marker = submitted / MARKER
    if not marker.is_file():
        return set()
    listed = marker.read_text(encoding="utf-8").splitlines()[1:]
    return {
        name
        for name in listed
        if name and "/" not in name and not name.startswith(".") and (submitted / name).is_dir()
    }


def write_marker(submitted, roster):
    (submitted / MARKER).write_text(
        "Made by `course demo`, which replaces these students on its next run:\n"
        + "".join(f"{student}\n" for student in roster),
        encoding="utf-8",
    )
