"""One hand-in through the checks: its private copy, the problems visible without running it, and
each check's verdict. A class run calls these directly; `pytest grader --submission` wraps the same
calls in a fixture and a test per check."""

from dataclasses import dataclass
from pathlib import Path

from base.handin import check_readable
from grader.cases import checks
from grader.judge import verdict
from grader.sandbox import choose_sandbox
from grader.session import WorkerFailed, WorkerSession, code_or_error
from grader.submission import check_given_code, given_texts, private_copy, within_limits


@dataclass(frozen=True)
class CheckResult:
    grade_id: str
    points: float
    passed: bool
    output: str

    @property
    def score(self):
        return self.points if self.passed else 0.0


def prepare(grading):
    """Build what grading every hand-in reads and none changes: the checks with their expected
    answers, and the release's given code parsed. Built once, in the process that forks the
    grading processes (`grader.run.grade_class`), they are shared by all of them, and a hand-in's
    reading fork (`within_limits`) does not parse the release again."""
    checks(grading.assignment, grading.seed)
    if not grading.allow_changed_code:
        given_texts(grading.assignment.release_dir, tuple(grading.assignment.files))


def open_session(folder, scratch, grading, worker=None):
    """A `WorkerSession` for the hand-in in `folder`, graded from a private copy in `scratch`;
    raises `Unusable` when it cannot be graded (missing files, syntax, changed given code).
    `worker` is the grading slot's warm worker, if it has one."""
    assignment = grading.assignment
    copy = Path(scratch) / (Path(folder).name or "submission")  # named as the student knows it
    private_copy(folder, copy, assignment.files, grading.limits.source_kb)
    prepare(grading)  # here, not in the reading fork, which forgets what it built

    def read():
        trees = check_readable(copy, assignment.files)
        if not grading.allow_changed_code:
            check_given_code(trees, assignment.release_dir)
        return code_or_error(copy, assignment.files)

    compiled = within_limits(read, grading.limits, assignment.files)
    sandbox = choose_sandbox(grading.sandbox)
    return WorkerSession(copy, sandbox, grading.limits, assignment, worker, compiled)


def check_outcome(check, session):
    """(passed, feedback) of one check: the visible cases, then the hidden ones, each request in a
    fork of the worker's. Raises `Unusable` when the hand-in turns out ungradable (its import)."""
    answers = []
    for cases in check.requests:
        try:
            answers.append(session.run(cases))
        except WorkerFailed as error:
            answers.append(error)
    return verdict(check, answers)
