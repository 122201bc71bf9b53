"""The pytest grader: trusted checks in the judge, untrusted code in a sandboxed worker.

`grader.worker` runs a submission's code (only ever inside `grader.sandbox`),
the pytest checks in `grader/test_backprop.py` compare what it returns with
`toolbox_solution`, and `grader.run` grades a class.
"""

from base.paths import COURSE_ROOT

ASSIGNMENT = "backprop"  # the assignment graded (its grading is in grader/assignments/backprop/)
# What students received: the grader's copy of the given code and of each check's grade id and
# points.
RELEASE_DIR = COURSE_ROOT / "release" / ASSIGNMENT
