"""Grade a class: grading slots in parallel, each with a warm sandboxed worker.

A grading slot is a process forked after the checks and their expected answers are built. It
keeps one sandboxed worker (bubblewrap, Python and numpy started once) and runs each hand-in's
checks on it directly (`grader.checking`; `pytest grader --submission` is the same checks for
one hand-in). Each check runs in a fresh fork of the worker, so no hand-in shares a process,
memory or a scratch file with another. A slot that dies (outside bubblewrap a submission can
kill it) costs that hand-in a "grader error" row, not the class run.

Under bubblewrap the slots' first workers start before the checks are built
(`grader.first_workers`); each slot takes one over, and this process reaps them.
"""

import contextlib
import functools
import gc
import multiprocessing
import multiprocessing.connection
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass

from base.handin import Unusable
from grader.cases import checks
from grader.checking import CheckResult, check_outcome, open_session, prepare
from grader.first_workers import close_all
from grader.reading import helper_pids
from grader.sandbox import cgroup, choose_sandbox
from grader.sandbox.reaper import adopt_orphans, kill_adopted
from grader.session import Worker, kill_group


@dataclass(frozen=True)
class SubmissionResult:
    student_id: str
    status: str  # "graded", or why not: "empty folder", "missing file", "syntax error", ...
    message: str  # empty when graded; otherwise what the student can do about it
    checks: tuple  # CheckResult per grade_id, in notebook order
    sandbox: str
    limits: str = ""  # which kernel limits bound its worker (grader.sandbox.cgroup.describe)
    seed: int | None = None  # of the hidden cases' random inputs (see grader.grading.Grading)
    # when it was handed in (ISO 8601, UTC; "" when nothing says) and what lateness cost: the
    # score stays the raw score, so a penalty is always shown beside it, never folded in
    timestamp: str = ""
    seconds_late: float = 0.0
    late_penalty: float = 0.0

    @property
    def score(self):
        return sum(check.score for check in self.checks)

    @property
    def final_score(self):
        return max(0.0, self.score - self.late_penalty)

    @property
    def max_score(self):
        return sum(check.points for check in self.checks)


def grade_submission(student_id, folder, grading, worker=None):
    """Run the checks on the hand-in in `folder`, graded as `grading` says, and say how it did.
    `worker` is the grading slot's warm worker; without one, the hand-in gets a worker of its own.
    """
    all_checks = checks(grading.assignment, grading.seed)
    row = functools.partial(
        SubmissionResult,
        student_id,
        sandbox=choose_sandbox(grading.sandbox).name,
        limits=cgroup.describe(grading.limits),
        seed=grading.seed,
    )
    results, grader_failed = [], []
    with tempfile.TemporaryDirectory(prefix="grader-") as scratch:
        try:
            session = open_session(folder, scratch, grading, worker)
        except Unusable as error:
            return row(error.status, str(error), unrun(all_checks, error.status))
        try:
            for check in all_checks:
                try:
                    passed, feedback = check_outcome(check, session)
                except Unusable as error:
                    return row(error.status, str(error), unrun(all_checks, error.status))
                except Exception as error:  # the grader's bug: this check says so
                    grader_failed.append(check.grade_id)
                    passed, feedback = False, grader_failure(error)
                results.append(CheckResult(check.grade_id, check.points, passed, feedback))
        finally:
            session.close()
    if not grader_failed:
        return row("graded", "", tuple(results))
    others = "" if len(grader_failed) == len(results) else "; the other checks stand"
    message = (
        f"the grader itself failed in {', '.join(grader_failed)} (see that check's output)"
        f"{others}. Please tell the instructor."
    )
    return row("grader error", message, tuple(results))


def grader_failure(error):
    """A check's output when the grader itself raised while running it."""
    return (
        f"the grader itself failed here ({type(error).__name__}: {error}); please tell the "
        "instructor."
    )


def _serve(connection, scratch, grading, worker=None, others=()):
    """A grading slot: grade each (student_id, folder) the parent sends on one warm worker,
    until it sends None. Private copies go to `scratch`, which the parent removes even if this
    process is killed. `worker`, if given, was started by the parent; `others` it started are
    other slots'."""
    tempfile.tempdir = scratch
    for other in others:
        other.release()
    if worker is None:
        worker = Worker(choose_sandbox(grading.sandbox), grading.limits, grading.assignment)
    else:
        worker.adopt()
    try:
        for student_id, folder in iter(connection.recv, None):
            try:
                worker.start()  # it starts up while the hand-in is copied and read
                result = grade_submission(student_id, folder, grading, worker)
            except Exception as error:  # the grader's bug: this row says so
                result = not_graded(
                    student_id,
                    grading,
                    f"the grader itself failed ({type(error).__name__}: {error}); "
                    "please tell the instructor.",
                )
            connection.send(result)
    finally:
        worker.close()
    cgroup.sweep(
        cgroup.WorkerCgroup.leftover, patience=2.0
    )  # this process ends by os._exit: no exit handler


def unrun(checks, status):
    """A failed CheckResult per check of a hand-in that was not graded: the row's message says why,
    once, not once per check."""
    said = f"not graded ({status}): see the message above"
    return tuple(CheckResult(c.grade_id, c.points, False, said) for c in checks)


def not_graded(student_id, grading, message, status="grader error", sandbox=None):
    """A row for a hand-in that was not graded: every check failed with `message`. `sandbox`
    names where it would have run, if not the one `grading` asks for."""
    results = unrun(checks(grading.assignment, grading.seed), status)
    sandbox = sandbox or choose_sandbox(grading.sandbox).name
    return SubmissionResult(student_id, status, message, results, sandbox, seed=grading.seed)


def _receive(connection):
    """What a grading process sent, or None if it died first (a reset connection: it died with
    the hand-in it was sent unread)."""
    try:
        return connection.recv()
    except (EOFError, ConnectionResetError):
        return None


def _lost(student_id, what, grading):
    """The row of a hand-in whose grading process died, or stalled, before it could report."""
    cause = (
        "outside bubblewrap the hand-in's code can do that. Grade it again with bubblewrap, or by "
        "hand."
        if not choose_sandbox(grading.sandbox).use_bwrap
        else "grade it again alone (--jobs 1), with more --submission-seconds, and tell the "
        "instructor if it recurs."
    )
    return not_graded(
        student_id, grading, f"the process grading this hand-in {what} before it reported; {cause}"
    )


class _NoBar(contextlib.nullcontext):
    def __enter__(self):
        return self

    def update(self):
        pass


def progress_bar(total, progress):
    """A progress bar on a terminal (tqdm, loaded only then: a hundredth of a second), else none."""
    if not (progress and sys.stderr.isatty()):
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, desc="grading", unit="hand-in")


def grade_class(submissions, grading, jobs=1, progress=True, workers=()):
    """Grade every (student_id, folder) in `jobs` forked grading processes; results in the order
    given. Each of the first ones takes one of `workers` (`grader.first_workers`); this process
    stops and reaps them.

    The parent knows which hand-in each grading process has, so one that dies
    is replaced and costs only that hand-in.
    """
    # decided once, before forking, so every job agrees
    isolated = choose_sandbox(grading.sandbox).use_bwrap
    prepare(grading)
    if not isolated:
        adopt_orphans()  # a worker that kills its grading process leaves orphans: they come here
    # what the grading processes inherit stays out of their collections, and so shared
    gc.freeze()
    context = multiprocessing.get_context("fork")
    waiting, idle, busy, done = list(submissions), [], {}, {}
    allowed = grading.limits.stall_seconds()
    # {grading process: the worker process it was given}; the workers no grading process needs
    # are stopped now
    handed, slots = {}, min(jobs, len(waiting))
    close_all(workers[slots:])
    workers = list(workers[:slots])

    def start_grader():
        connection, child = context.Pipe()
        scratch = tempfile.mkdtemp(prefix="grading-")
        worker = workers[0] if workers else None
        process = context.Process(
            target=_serve, args=(child, scratch, grading, worker, tuple(workers[1:])), daemon=True
        )
        process.start()
        child.close()
        if worker is not None:
            handed[process] = worker.process
            workers.pop(0).release()
        return connection, process, scratch

    def stop(process, connection, scratch):
        process.kill()
        process.join()
        if process in handed:  # its worker would outlive it: bubblewrap ends with this process
            kill_group(handed[process])
        connection.close()
        shutil.rmtree(scratch, ignore_errors=True)

    try:
        with progress_bar(len(waiting), progress) as bar:
            while waiting or busy:
                while waiting and len(busy) < jobs:
                    connection, process, scratch = idle.pop() if idle else start_grader()
                    student_id, folder = waiting[0]
                    try:
                        connection.send((student_id, folder))
                    except OSError:  # this grading process died while idle: start another
                        stop(process, connection, scratch)
                        continue
                    waiting.pop(0)
                    deadline = time.monotonic() + allowed
                    busy[connection] = (process, scratch, student_id, deadline)
                first_deadline = min(deadline for *_, deadline in busy.values())
                ready = multiprocessing.connection.wait(
                    list(busy), timeout=max(0.0, first_deadline - time.monotonic())
                )
                stalled = [
                    c
                    for c, (*_, deadline) in busy.items()
                    if c not in ready and deadline <= time.monotonic()
                ]
                for connection in ready + stalled:
                    process, scratch, student_id, _ = busy.pop(connection)
                    result = None if connection in stalled else _receive(connection)
                    if result is not None:
                        done[student_id] = result
                        idle.append((connection, process, scratch))
                    else:  # died, or stopped (outside bubblewrap a hand-in can SIGSTOP it) or stuck
                        stop(process, connection, scratch)
                        what = (
                            f"took more than {allowed:g} s"
                            if connection in stalled
                            else f"ended (exit status {process.exitcode})"
                        )
                        done[student_id] = _lost(student_id, what, grading)
                        if not isolated:
                            kill_adopted(
                                {p.pid for p, *_ in busy.values()}
                                | {p.pid for _, p, _ in idle}
                                | helper_pids()
                            )
                    bar.update()
    finally:  # on an error or Ctrl-C busy ones are stopped too, and their private copies removed
        for connection, (process, scratch, *_) in busy.items():
            stop(process, connection, scratch)
        if busy and not isolated:
            # what the stopped ones' workers started
            kill_adopted({p.pid for _, p, _ in idle} | helper_pids())
        for connection, *_ in idle:  # all told first: they stop their workers side by side
            try:
                connection.send(None)
            except OSError:  # already gone
                pass
        for connection, process, scratch in idle:
            process.join()
            connection.close()
            shutil.rmtree(scratch, ignore_errors=True)
        close_all(workers)  # not handed to any
        for worker_process in handed.values():  # each slot stopped its own: reap them
            kill_group(worker_process)
            worker_process.wait()
            if worker_process.cgroup:  # already gone, unless its slot was stopped
                worker_process.cgroup.remove()
        cgroup.sweep(cgroup.WorkerCgroup.leftover, patience=2.0)  # while their last ones die
        gc.unfreeze()
    cgroup.sweep_stale(grading.limits)
    return [done[student_id] for student_id, _ in submissions]
