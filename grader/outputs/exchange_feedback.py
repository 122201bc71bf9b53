"""Put each student's feedback page where `nbgrader release_feedback` picks it up.

release_feedback copies feedback/<student_id>/<assignment>/<notebook>.html into the exchange under a
hash of the notebook's name and the hand-in's secret, and `nbgrader fetch_feedback` finds it with
the secret in the student's own copy of what they submitted: only that student can fetch it. So a
page is placed only for a hand-in that came through nbgrader's exchange (`collect` keeps its
submission_secret.txt and timestamp.txt, which release_feedback reads beside the page); a hand-in
from an LMS has neither, and its feedback goes back through the LMS.
"""

import itertools
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


def _keyed_by(folder, notebook):
    """The name of the notebook a hand-in's page is keyed by: the assignment's `notebook`, or the
    hand-in's one other notebook (renamed, as a second download is), else None. Never one page
    per notebook: a hand-in of thousands of them would fill the disk."""
    try:  # a folder the grader may not list is the student's own problem, not the class's
        if (folder / notebook).is_file():
            return notebook
        others = list(itertools.islice(folder.glob("*.ipynb"), 2))
        return others[0].name if len(others) == 1 and others[0].is_file() else None
    except OSError:
        return None


def write_exchange_feedback(config, assignment, results, folders, notebook):
    """Place the feedback of every hand-in from the exchange, keyed by the assignment's `notebook`
    (its file name, which fetch_feedback looks for in the student's copy; see `_keyed_by`);
    returns (the results, with a row of their own for a page that could not be placed; the
    students whose page was placed)."""
    written, placed = [], []
    for result in results:
        folder = folders.get(result.student_id)
        # a page only where fetch_feedback could find it: a notebook to key it by
        keyed_by = _keyed_by(folder, notebook) if from_exchange(folder) else None
        if result.status == NOT_WRITABLE or keyed_by is None:
            written.append(result)
            continue
        directory = course_directory(config)  # here: loading nbgrader takes seconds
        target = Path(
            directory.format_path(directory.feedback_directory, result.student_id, assignment)
        )
        try:
            page = feedback_page(result, assignment)
            write_atomically(target / f"{Path(keyed_by).stem}.html", page)
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
