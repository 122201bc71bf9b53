"""When each hand-in came in and what lateness costs it, by nbgrader's own rules.

The time is the `timestamp.txt` nbgrader's `submit` writes into a hand-in (its `collect` keeps it;
an LMS download has none, and `course collect` records no time). The due date is the assignment's
in the course's gradebook (`nbgrader db assignment add NAME --duedate ...`), moved by an extension
granted there. The penalty is what the late-submission plugin of nbgrader_config.py gives
(`AssignLatePenalties.plugin_class`: nbgrader's own with `LateSubmissionPlugin.penalty_method`
'none' or 'zero', or the instructor's class), held between 0 and the score as nbgrader holds it.
The raw score is kept; the penalty is shown beside it.
"""

from dataclasses import dataclass, replace
from datetime import timedelta

from base.nbgrader_settings import course_importable, gradebook_file, open_gradebook
from base.plain_file import read_plain_file

TIMESTAMP = "timestamp.txt"


@dataclass(frozen=True)
class Deadline:
    """The assignment's due date (naive UTC, as nbgrader stores it) and students' extensions."""

    due: object = None  # datetime, or None when no due date is set
    extensions: dict = None  # student id -> timedelta

    def for_student(self, student_id):
        if self.due is None:
            return None
        return self.due + (self.extensions or {}).get(student_id, timedelta(0))


TIMESTAMP_BYTES = 100  # nbgrader writes about 26


def submission_time(folder):
    """(the hand-in's time in naive UTC or None, a problem with its timestamp.txt or None)."""
    path = folder / TIMESTAMP
    if not path.is_file():
        return None, None
    from nbgrader.utils import parse_utc  # here: only hand-ins from nbgrader's exchange need it

    text = ""
    try:  # the student's text, parsed by another's code: whatever goes wrong is this hand-in's
        text = read_plain_file(path, TIMESTAMP_BYTES).decode("utf-8", errors="replace").strip()
        return parse_utc(text), None
    except Exception as error:
        held = repr(text[:60]) if text else f"nothing readable ({error})"
        return None, (
            f"{path} holds {held}, not a time nbgrader can read, so no late penalty was "
            "worked out; write the hand-in time there (e.g. 2026-01-31 17:05:00 UTC) and grade "
            "again"
        )


def deadline(config, assignment):
    """The due date and extensions recorded in the course's gradebook, if it has one."""
    path = gradebook_file(config)
    if path is not None and not path.is_file():
        return Deadline()  # opening it would create an empty gradebook (nor is nbgrader loaded)
    from nbgrader.api import MissingEntry

    with open_gradebook(config) as gradebook:
        try:
            recorded = gradebook.find_assignment(assignment)
        except MissingEntry:
            return Deadline()
        extensions = {
            submission.student_id: submission.extension
            for submission in recorded.submissions
            if submission.extension is not None
        }
        return Deadline(recorded.duedate, extensions)


def penalty_plugin(config, root):
    """The late-submission plugin nbgrader's autograde would use for this course."""
    from nbgrader.preprocessors import AssignLatePenalties

    with course_importable(root):
        assigner = AssignLatePenalties(config=config)
        assigner.init_plugin()
    return assigner.plugin_inst


def with_lateness(results, folders, due, plugin):
    """`results` with their hand-in time, seconds late and penalty; and the problems found, one
    (student, message) per unreadable timestamp.txt (that student gets no penalty). `plugin()`
    gives the penalty plugin, loaded only if someone is late: nbgrader takes seconds to load."""
    dated, problems = [], []
    for result in results:
        when, problem = submission_time(folders[result.student_id])
        if problem:
            problems.append((result.student_id, problem))
        if when is None:
            dated.append(result)
            continue
        limit = due.for_student(result.student_id)
        late = max(0.0, (when - limit).total_seconds()) if limit is not None else 0.0
        penalty = 0.0
        if late > 0:
            given = plugin().late_submission_penalty(result.student_id, result.score, late)
            penalty = min(max(float(given or 0.0), 0.0), result.score)
        stamp = f"{when.isoformat(sep=' ')} UTC"  # whole: formgrader compares it with the file's
        dated.append(replace(result, timestamp=stamp, seconds_late=late, late_penalty=penalty))
    return dated, problems
