"""Grade hand-ins with the pytest checks: one hand-in per pytest session, a class in parallel.

Each hand-in is one `pytest.main` over `grader/` with a `ResultCollector`
plugin, in a process forked for it after the checks and their expected answers
are built, so every hand-in costs a fork, a pytest session and one sandboxed
worker. A grading process that dies (outside bubblewrap a submission can kill
it) costs that hand-in a "grader error" row, not the class run.
"""

import multiprocessing
import multiprocessing.connection
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from tqdm import tqdm

from base.text import roster_order
from grader.cases import checks
from grader.plugin import CheckResult, GradingPlugin, ResultCollector
from grader.sandbox import cgroup, choose_sandbox
from grader.sandbox.reaper import adopt_orphans, kill_adopted

GRADER_DIR = Path(__file__).resolve().parent


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


# Plugins a grading session does not need: unraisableexception alone costs two full gc.collect()
# per session, and installed third-party plugins (found by scanning every package's metadata) are
# not loaded at all.
UNUSED_PLUGINS = (
    "terminal",
    "cacheprovider",
    "unraisableexception",
    "threadexception",
    "doctest",
    "junitxml",
    "pastebin",
    "legacypath",
    "logging",
    "faulthandler",
    "stepwise",
    "warnings",
)


def pytest_arguments(folder):
    """pytest's command line for one hand-in; how it is graded comes as a `GradingPlugin`."""
    return [
        str(GRADER_DIR),
        f"--submission={folder}",
        "--capture=no",
        "--assert=plain",
        "--disable-plugin-autoload",
        *(argument for name in UNUSED_PLUGINS for argument in ("-p", f"no:{name}")),
    ]


def grade_submission(student_id, folder, grading):
    """Run the checks on the hand-in in `folder`, graded as `grading` says, and say how it did."""
    collector = ResultCollector()
    exit_code = pytest.main(pytest_arguments(folder), plugins=[collector, GradingPlugin(grading)])
    results = tuple(
        collector.results.get(check.grade_id)
        or CheckResult(check.grade_id, check.points, False, "not run")
        for check in checks(grading.assignment, grading.seed)
    )
    if collector.unusable is not None:
        status, message = collector.unusable.status, str(collector.unusable)
        results = unrun(results, status)
    elif collector.grader_failed:
        others = "" if len(collector.grader_failed) == len(results) else "; the other checks stand"
        status, message = (
            "grader error",
            (
                f"the grader itself failed in {', '.join(collector.grader_failed)} (see that "
                f"check's output){others}. Please tell the instructor."
            ),
        )
    elif (
        exit_code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) or not collector.results
    ):
        status, message = (
            "grader error",
            f"pytest stopped ({exit_code!r}) before grading; please tell the instructor.",
        )
    else:
        status, message = "graded", ""
    sandbox = choose_sandbox(grading.sandbox).name
    limits = cgroup.describe(grading.limits)
    return SubmissionResult(student_id, status, message, results, sandbox, limits, grading.seed)


def find_submissions(submitted_dir, assignment):
    """(student_id, folder) for every student folder in `submitted_dir`, in the order a class list
    has them."""
    students = sorted(
        (
            p.name
            for p in Path(submitted_dir).iterdir()
            if p.is_dir() and not p.name.startswith(".")
        ),
        key=roster_order,
    )
    return [(student, Path(submitted_dir) / student / assignment) for student in students]


def _serve(connection):
    """A grading process: grade each (job, scratch) the parent sends, until it sends None."""
    for job, scratch in iter(connection.recv, None):
        # the private copy goes here; the parent removes it even if this process is killed
        tempfile.tempdir = scratch
        try:
            result = grade_submission(*job)
        except (
            Exception
        ) as error:  # a bug of the grader's: that hand-in's row says so, the class goes on
            student_id, _, grading = job
            result = not_graded(
                student_id,
                grading,
                f"the grader itself failed ({type(error).__name__}: {error}); "
                "please tell the instructor.",
            )
        connection.send(result)
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
    """What a grading process sent, or None if it died first."""
    try:
        return connection.recv()
    except EOFError:
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


def grade_class(submissions, grading, jobs=1, progress=True):
    """Grade every (student_id, folder) in `jobs` forked grading processes; results in the order
    given.

    The parent knows which hand-in each grading process has, so one that dies
    is replaced and costs only that hand-in.
    """
    # decided once, before forking, so every job agrees
    isolated = choose_sandbox(grading.sandbox).use_bwrap
    checks(grading.assignment, grading.seed)
    if not isolated:
        adopt_orphans()  # a worker that kills its grading process leaves orphans: they come here
    context = multiprocessing.get_context("fork")
    waiting, idle, busy, done = list(submissions), [], {}, {}
    allowed = grading.limits.stall_seconds()

    def start_grader():
        connection, child = context.Pipe()
        process = context.Process(target=_serve, args=(child,), daemon=True)
        process.start()
        child.close()
        return connection, process

    try:
        with tqdm(
            total=len(waiting), desc="grading", unit="hand-in", disable=None if progress else True
        ) as bar:  # None: no bar when output is not a terminal
            while waiting or busy:
                while waiting and len(busy) < jobs:
                    connection, process = idle.pop() if idle else start_grader()
                    student_id, folder = waiting[0]
                    scratch = tempfile.mkdtemp(prefix="grading-")
                    try:
                        connection.send(((student_id, folder, grading), scratch))
                    except OSError:  # this grading process died while idle: start another
                        shutil.rmtree(scratch)
                        connection.close()
                        process.join()
                        continue
                    waiting.pop(0)
                    busy[connection] = (process, student_id, scratch, time.monotonic() + allowed)
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
                    process, student_id, scratch, _ = busy.pop(connection)
                    result = None if connection in stalled else _receive(connection)
                    if result is not None:
                        done[student_id] = result
                        idle.append((connection, process))
                    else:  # died, or stopped (outside bubblewrap a hand-in can SIGSTOP it) or stuck
                        process.kill()
                        connection.close()
                        process.join()
                        what = (
                            f"took more than {allowed:g} s"
                            if connection in stalled
                            else f"ended (exit status {process.exitcode})"
                        )
                        done[student_id] = _lost(student_id, what, grading)
                        if not isolated:
                            kill_adopted(
                                {p.pid for p, *_ in busy.values()} | {p.pid for _, p in idle}
                            )
                    shutil.rmtree(scratch, ignore_errors=True)
                    bar.update()
    finally:  # on an error or Ctrl-C busy ones are stopped too, and their private copies removed
        for connection, (process, _, scratch, _) in busy.items():
            process.kill()
            process.join()
            connection.close()
            shutil.rmtree(scratch, ignore_errors=True)
        if busy and not isolated:
            kill_adopted({p.pid for _, p in idle})  # what the stopped ones' workers started
        for connection, process in idle:
            try:
                connection.send(None)
            except OSError:  # already gone
                pass
            process.join()
            connection.close()
    cgroup.sweep_stale(grading.limits)
    return [done[student_id] for student_id, _ in submissions]
