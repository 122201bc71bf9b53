"""The pytest grader: trusted checks in the judge, untrusted code in a sandboxed worker.

`grader.sandbox` runs a submission's code, the checks in `grader/test_checks.py` compare what it
returns with the reference's answers (each assignment's in `grader.assignments`), `grader.judge`
decides, `grader.run` grades a class and `grader.outputs` writes what people read.
"""

import base  # noqa: F401  (first: it sets how many threads numpy's BLAS starts)
