"""Put each student's feedback page where `nbgrader release_feedback` picks it up.

release_feedback copies feedback/<student_id>/<assignment>/<notebook>.html into the exchange under a
hash of the notebook's name and the hand-in's secret, and `nbgrader fetch_feedback` finds it with
the secret in the student's own copy of what they submitted: only that student can fetch it. So a
page is placed only for a hand-in that came through nbgrader's exchange (`collect` keeps its
submission_secret.txt and timestamp.txt, which release_feedback reads beside the page); a hand-in
from an LMS has neither, and its feedback goes back through the LMS.
"""

from pathlib import Path

from base.nbgrader_settings import course_directory
from base.plain_file import read_plain_file
from grader.outputs.gradebook import NOT_WRITABLE, not_written, write_atomically
from grader.outputs.pages import feedback_page

EXCHANGE_FILES = ("submission_secret.txt", "timestamp.txt")
EXCHANGE_FILE_BYTES = 4096  # a secret and a time: a few dozen bytes each


def from_exchange(folder):
    """Whether a hand-in folder came through nbgrader's exchange, so feedback can go back there:
    it holds the files release_feedback reads."""
    return folder is not None and all((folder / name).is_file() for name in EXCHANGE_FILES)


def write_exchange_feedback(config, assignment, results, folders, notebook):
    """Place the feedback of every hand-in from the exchange, keyed by the assignment's `notebook`
    (its file name, which fetch_feedback looks for in the student's copy: other notebooks there
    are the student's own, nbgrader grades none of them, and a page for each would let a hand-in
    fill the disk); returns (the results, with a row of their own for a page that could not be
    placed; the students whose page was placed)."""
    written, placed = [], []
    for result in results:
        folder = folders.get(result.student_id)
        if result.status == NOT_WRITABLE or not from_exchange(folder):
            written.append(result)
            continue
        if not (folder / notebook).is_file():
            why = f"no feedback page for nbgrader's fetch_feedback, which keys it by {notebook}"
            written.append(not_written(result, f"{why}: the hand-in has none (renamed?)"))
            continue
        directory = course_directory(config)  # here: loading nbgrader takes seconds
        target = Path(
            directory.format_path(directory.feedback_directory, result.student_id, assignment)
        )
        try:
            page = feedback_page(result, assignment)
            write_atomically(target / f"{Path(notebook).stem}.html", page)
            for name in EXCHANGE_FILES:
                text = read_plain_file(folder / name, EXCHANGE_FILE_BYTES).decode("utf-8")
                write_atomically(target / name, text)
        except (OSError, UnicodeError, ValueError) as error:
            written.append(
                not_written(result, f"the feedback page in {target} could not be written ({error})")
            )
            continue
        written.append(result)
        placed.append(result.student_id)
    return written, placed
