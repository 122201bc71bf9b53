"""What grading writes for people, each a function of the `SubmissionResult`s `grader.run` returns.

`gradebook` writes grades.csv and every results.json, `pages` the feedback pages and the class
report from the templates in templates/. The gradebook names the course commands use are here;
`pages` is not, as it loads jinja2, which `course grade` needs only once grading is done.
"""

from grader.outputs.gradebook import (
    NOT_WRITABLE,
    RESERVED_NAMES,
    SIMILARITY_PAGE,
    gradebook_conflict,
    gradebook_differences,
    id_problem,
    read_rows,
    shown_id,
    stale_results,
    write_gradebook,
    write_grades_csv,
)

__all__ = [
    "NOT_WRITABLE",
    "RESERVED_NAMES",
    "SIMILARITY_PAGE",
    "gradebook_conflict",
    "gradebook_differences",
    "id_problem",
    "read_rows",
    "shown_id",
    "stale_results",
    "write_gradebook",
    "write_grades_csv",
]
