"""The demo's marker in submitted/: which students `course demo` made, so nothing else is replaced or graded with them.

Kept apart from course/demo.py so that `course grade` and `course collect` can read it
without loading what the demo itself needs.
"""
# Written into submitted/ by the demo with the ids of the students it made, so that
# it only ever replaces those: a hand-in collected beside them stops the next demo.
MARKER = ".demo-class"


def demo_students(submitted):
    """The student ids the last demo wrote into `submitted`, from its marker (none without one;
    a marker from before the demo listed its students stands for the whole folder, as it then meant)."""
    marker = submitted / MARKER
    if not marker.is_file():
        return set()
    listed = marker.read_text(encoding="utf-8").splitlines()[1:]
    return set(listed) if listed else {path.name for path in submitted.iterdir()} - {MARKER}


def write_marker(submitted, roster):
    (submitted / MARKER).write_text("Made by `course demo`, which replaces these students on its next run:\n"
                                    + "".join(f"{student}\n" for student in roster), encoding="utf-8")
