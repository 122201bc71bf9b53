"""The floor under `course` and `grader`: where the course lives, how nbgrader is set up, how a
notebook is read, and the small text rules every message follows. It imports nothing of ours.

Loaded before numpy by both, it keeps their linear algebra to one thread: the grader's own arrays
are small, and the threads of a BLAS library spin after each call, on the cores the sandboxed
workers need (a tenth of a class run's CPU). Whoever sets these variables keeps their values.
"""

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")
