"""Grade hand-ins with the pytest checks: one hand-in per pytest session, a class in parallel.

Each hand-in is one in-process `pytest.main` over `grader/` with a
`ResultCollector` plugin. Processes doing this are forked once per job after
the checks and their expected answers are built, so every hand-in costs a
pytest session and one sandboxed worker, nothing more.
"""
import multiprocessing
from dataclasses import dataclass, fields
from pathlib import Path

import pytest
from tqdm import tqdm

from grader.cases import checks
from grader.plugin import CheckResult, ResultCollector
from grader.sandbox import Limits, choose_sandbox

GRADER_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class SubmissionResult:
    student_id: str
    status: str  # "graded", or why not: "empty folder", "missing file", "syntax error", ...
    message: str  # empty when graded; otherwise what the student can do about it
    checks: tuple  # CheckResult per grade_id, in notebook order
    sandbox: str

    @property
    def score(self):
        return sum(check.score for check in self.checks)

    @property
    def max_score(self):
        return sum(check.points for check in self.checks)


def pytest_arguments(folder, limits, sandbox):
    options = [f"--{field.name.replace('_', '-')}={getattr(limits, field.name)}" for field in fields(Limits)]
    # Plugins a grading session does not need; unraisableexception alone costs two full gc.collect() per session.
    unused = ("terminal", "cacheprovider", "unraisableexception", "threadexception", "doctest", "junitxml", "pastebin",
              "legacypath", "logging", "faulthandler", "stepwise", "warnings")
    return [str(GRADER_DIR), f"--submission={folder}", f"--sandbox={sandbox}", "--capture=no", "--assert=plain", *options,
            *(argument for name in unused for argument in ("-p", f"no:{name}"))]


def grade_submission(student_id, folder, limits=Limits(), sandbox="auto"):
    """Run the checks on the hand-in in `folder` and say how it did."""
    collector = ResultCollector()
    exit_code = pytest.main(pytest_arguments(folder, limits, sandbox), plugins=[collector])
    results = tuple(
        collector.results.get(check.grade_id) or CheckResult(check.grade_id, check.points, False, "not run")
        for check in checks()
    )
    if collector.unusable is not None:
        status, message = collector.unusable.status, str(collector.unusable)
        results = tuple(CheckResult(r.grade_id, r.points, False, f"not graded: {message}") for r in results)
    elif collector.grader_failed or exit_code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) or not collector.results:
        status, message = "grader error", f"pytest stopped with {exit_code!r} before grading; please tell the instructor."
    else:
        status, message = "graded", ""
    return SubmissionResult(student_id, status, message, results, choose_sandbox(sandbox).name)


def find_submissions(submitted_dir, assignment):
    """(student_id, folder) for every student folder in `submitted_dir`, sorted by id."""
    students = sorted(p for p in Path(submitted_dir).iterdir() if p.is_dir() and not p.name.startswith("."))
    return [(student.name, student / assignment) for student in students]


def _grade(job):
    return grade_submission(*job)


def grade_class(submissions, jobs=1, limits=Limits(), sandbox="auto", progress=True):
    """Grade every (student_id, folder) with `jobs` processes; results in the order given."""
    choose_sandbox(sandbox)  # decided once, before forking, so every job agrees
    checks()
    work = [(student_id, folder, limits, sandbox) for student_id, folder in submissions]
    bar = dict(total=len(work), desc="grading", unit="hand-in", disable=not progress)
    if jobs <= 1 or len(work) <= 1:
        return [_grade(job) for job in tqdm(work, **bar)]
    with multiprocessing.get_context("fork").Pool(min(jobs, len(work))) as pool:
        done = {result.student_id: result for result in tqdm(pool.imap_unordered(_grade, work), **bar)}
    return [done[student_id] for student_id, _ in submissions]
