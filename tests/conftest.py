"""The suite's setting of the machine: where the account a process worker drops to (as root,
without bubblewrap) cannot run this interpreter, the suite's process workers run as root, as they
did before the drop; tests/test_worker_account.py runs the drop itself with an interpreter every
user can run."""

import os

from grader.sandbox.account import USER_VARIABLE, worker_account
from grader.sandbox.bubblewrap import NUMPY_DIR, PYTHON

try:
    worker_account((PYTHON, NUMPY_DIR / "__init__.py"))
except RuntimeError:
    os.environ.setdefault(USER_VARIABLE, "root")
