"""One hand-in through the checks: its private copy, the problems visible without running it, and
each check's verdict. A class run calls these directly; `pytest grader --submission` wraps the same
calls in a fixture and a test per check."""

from dataclasses import dataclass
from pathlib import Path

from grader.cases import checks
from grader.judge import verdict
from grader.reading import read_within_limits
from grader.sandbox import choose_sandbox
from grader.sandbox.worker import HANDIN_FOLDER
from grader.session import WorkerFailed, WorkerSession
from grader.submission import code_stub, given_texts, private_copy


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
    answers, nbgrader's code stub, and the release's given code read. Built once, in the process
    that forks the grading processes (`grader.run.grade_class`), they are shared by all of them."""
    checks(grading.assignment, grading.seed)
    code_stub()
    if not grading.allow_changed_code:
        given_texts(grading.assignment.release_dir, tuple(grading.assignment.files))


def open_session(folder, scratch, grading, worker=None):
    """A `WorkerSession` for the hand-in in `folder`, graded from a private copy in `scratch`;
    raises `Unusable` when it cannot be graded (missing files, syntax, changed given code).
    `worker` is the grading slot's warm worker, if it has one."""
    assignment = grading.assignment
    copy = Path(scratch) / (Path(folder).name or "submission")  # named as the student knows it
    private_copy(folder, copy, assignment.files, grading.limits.source_kb)
    prepare(grading)
    given = None
    if not grading.allow_changed_code:
        given = given_texts(assignment.release_dir, tuple(assignment.files))
    compiled = read_within_limits(
        copy, assignment.files, HANDIN_FOLDER, given, code_stub(), grading.limits
    )
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
    outcome = verdict(check, answers)  # judged while the fork ends
    try:
        session.end_check()
    except WorkerFailed as error:
        return verdict(check, [*answers[:-1], error])
    return outcome
