"""The grading slots' first workers, started before the checks are built.

Building the checks keeps one core busy for a tenth of a second, and a worker takes as long to
start (bubblewrap, Python, numpy). So under bubblewrap the process that forks the grading slots
starts their first workers beforehand, on the core the building leaves idle, and the first one's
greeting is bubblewrap's trial run (`choose_sandbox`). Each slot takes one over after the fork
(`Worker.adopt`); the forking process stops and reaps them (`grader.run.grade_class`).
"""

import os
import shutil
import subprocess

from grader.sandbox import Sandbox, choose_sandbox
from grader.session import Worker


def start_workers(grading, count):
    """Up to `count` workers under bubblewrap, started now, before the checks are built: a
    grading slot takes each. None unless bubblewrap is asked for or may be (`--sandbox auto`) and
    installed; `ready_workers` says whether it works here. A worker that cannot be started is no
    error here: the grading slots start their own, as before."""
    if grading.sandbox == "process" or shutil.which("bwrap") is None:
        return []
    workers = []
    try:
        for _ in range(count):
            workers.append(Worker(Sandbox("bubblewrap", True), grading.limits, grading.assignment))
            workers[-1].start()
    except (OSError, subprocess.SubprocessError):
        close_all(workers)
        return []
    except BaseException:
        close_all(workers)
        raise
    return workers


def ready_workers(grading, workers):
    """Decide the sandbox (`choose_sandbox`), the first worker's greeting being bubblewrap's trial
    run; the `workers` that may grade, none if bubblewrap does not work here. Raises, having
    stopped them, if bubblewrap was asked for and does not work."""
    greeted = bool(workers) and workers[0].greet() is None
    try:
        sandbox = choose_sandbox(grading.sandbox, worker_greeted=greeted)
    except RuntimeError:
        close_all(workers)
        raise
    if greeted and sandbox.use_bwrap and can_adopt(workers[0]):
        return workers
    close_all(workers)
    return []


def can_adopt(worker):
    """Whether a grading slot can wait for a worker it did not start (`Worker.adopt`): a pidfd
    takes Linux 5.3, and some container profiles refuse it."""
    try:
        os.close(os.pidfd_open(worker.process.pid))
    except (OSError, AttributeError):
        return False
    return True


def close_all(workers):
    """Stop each of `workers`."""
    for worker in workers:
        worker.close()
