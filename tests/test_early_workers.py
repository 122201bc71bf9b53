"""The grading slots' first workers start under bubblewrap before the checks are built, and the
first one's greeting is bubblewrap's trial run."""

import os
import signal
import subprocess

import pytest
from handins import MAX_SCORE, graded, solution, with_regions, write_handin
from test_warm_worker import HONEST_THEN_A_STRAY_BYTE

import course.class_grading
import course.grade
import grader.run
import grader.sandbox.workers
from course.cli import build_parser
from grader.first_workers import ready_workers, start_workers
from grader.sandbox import Limits, Sandbox, choose_sandbox
from grader.session import Worker

SLOW = Limits(case_seconds=10, submission_seconds=60)


def given_workers(grading, count):
    """The workers `course grade` hands its grading slots."""
    return ready_workers(grading, start_workers(grading, count))


@pytest.fixture
def undecided(monkeypatch):
    """No sandbox chosen yet in this process; the trial runs bubblewrap gets are counted."""
    if not choose_sandbox().use_bwrap:
        pytest.skip(f"bubblewrap cannot run here ({choose_sandbox().name})")
    trials, real_trial = [], grader.sandbox.workers.trial_problem

    def counted_trial():
        trials.append("trial run")
        return real_trial()

    monkeypatch.setattr(grader.sandbox.workers, "_chosen", {})
    monkeypatch.setattr(grader.sandbox.workers, "trial_problem", counted_trial)
    return trials


def test_the_first_workers_start_before_the_checks_and_greet_as_the_trial_run(
    tmp_path, monkeypatch, undecided
):
    created, running_while_built = [], []
    real_init, real_prepare = Worker.__init__, course.class_grading.prepare

    def kept_init(worker, *args):
        real_init(worker, *args)
        created.append(worker)

    def watched_prepare(grading):
        running_while_built.extend(w.process is not None and not w.greeted for w in created)
        real_prepare(grading)

    monkeypatch.setattr(Worker, "__init__", kept_init)
    monkeypatch.setattr(course.class_grading, "prepare", watched_prepare)
    class_ = [(name, write_handin(tmp_path / name / "backprop", solution())) for name in "ab"]
    submitted = ["--submitted", str(tmp_path)]
    args = build_parser("grade").parse_args(["grade", "backprop", "--jobs", "3", *submitted])
    grading, workers = course.class_grading.ready_to_grade(args, *course.grade.start_early(args))

    assert running_while_built == [True, True]
    assert undecided == [], "bubblewrap got a trial run of its own"
    assert choose_sandbox(args.sandbox).use_bwrap
    assert [w.greeted for w in workers] == [True, False]  # the second greets its slot
    processes = [w.process for w in workers]

    starts = tmp_path / "starts"  # written by the grading processes, read here
    real_start = Sandbox.start

    def counted_start(sandbox, *args):
        with open(starts, "a") as file:
            file.write("started\n")
        return real_start(sandbox, *args)

    monkeypatch.setattr(Sandbox, "start", counted_start)
    results = grader.run.grade_class(class_, grading, 2, progress=False, workers=workers)
    assert [r.score for r in results] == [MAX_SCORE, MAX_SCORE]
    assert not starts.exists(), "a grading slot started a worker instead of the one it was given"
    assert all(process.returncode is not None for process in processes), "left unreaped"


def test_a_slot_replaces_the_worker_it_was_given_once_a_check_breaks_it(tmp_path, undecided):
    """The given worker is not the slot's child: it is stopped and waited for all the same."""
    grading = graded(SLOW, "auto", True)
    workers = ready_workers(grading, start_workers(grading, 1))
    (given,) = [w.process for w in workers]
    breaks = with_regions({"Mul": HONEST_THEN_A_STRAY_BYTE})
    class_ = [("first", write_handin(tmp_path / "first", breaks))]
    class_ += [("second", write_handin(tmp_path / "second", solution()))]
    first, second = grader.run.grade_class(class_, grading, 1, progress=False, workers=workers)
    assert [c.grade_id for c in first.checks if not c.passed] == ["multiplication"]
    assert second.score == MAX_SCORE, [c.output for c in second.checks if not c.passed]
    assert given.returncode is not None


@pytest.mark.parametrize("wanted", ["auto", "bubblewrap"])
def test_without_a_greeting_bubblewraps_own_trial_run_decides(monkeypatch, undecided, wanted):
    monkeypatch.setattr(grader.sandbox.workers, "trial_problem", lambda: "no namespaces here")
    real_prefix = grader.sandbox.workers.bwrap_prefix

    def refused_prefix(*args):  # bubblewrap refuses to start the workers: none greets
        return real_prefix(*args) + ["--no-such-option"]

    monkeypatch.setattr(grader.sandbox.workers, "bwrap_prefix", refused_prefix)
    grading = graded(Limits(), wanted)
    workers = start_workers(grading, 2)
    if wanted == "auto":
        assert ready_workers(grading, workers) == []
        assert choose_sandbox("auto").name.startswith("process (bubblewrap does not work here")
    else:
        with pytest.raises(RuntimeError, match="bubblewrap does not work here: no namespaces"):
            ready_workers(grading, workers)
    assert [w.process for w in workers] == [None, None], "a worker was left running"


def test_without_bubblewrap_no_worker_starts_early(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    assert start_workers(graded(Limits(), "auto"), 2) == []
    assert start_workers(graded(Limits(), "process"), 2) == []


def test_a_worker_taken_over_by_a_fork_is_waited_for_until_it_has_ended():
    """The fork is not its parent: it waits on a pidfd, and never reports an exit status it
    cannot know."""
    worker = Worker(Sandbox("bubblewrap", True), Limits(), graded().assignment)
    worker.start()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the grading slot
        os.close(read_end)
        worker.adopt()
        try:
            worker.process.wait(timeout=0.2)
            said = "returned while the worker ran"
        except subprocess.TimeoutExpired:
            os.killpg(worker.process.pid, signal.SIGKILL)
            said = f"then {worker.process.wait(timeout=10)}"
        os.write(write_end, said.encode())
        os._exit(0)
    os.close(write_end)
    said = os.read(read_end, 100).decode()
    os.waitpid(pid, 0)
    os.close(read_end)
    assert said == "then None"
    assert worker.process.wait(timeout=10) == -signal.SIGKILL  # its parent reaps it
    worker.close()


def test_workers_no_grading_process_takes_are_stopped_at_once(tmp_path, undecided):
    grading = graded(SLOW, "auto", True)
    workers = ready_workers(grading, start_workers(grading, 2))
    processes = [w.process for w in workers]
    class_ = [("ada", write_handin(tmp_path / "ada", solution()))]
    (result,) = grader.run.grade_class(class_, grading, 2, progress=False, workers=workers)
    assert result.score == MAX_SCORE
    assert workers[1].process is None  # the spare: stopped by the parent
    assert all(process.returncode is not None for process in processes)


def test_a_stopped_grading_process_leaves_no_worker_or_cgroup(tmp_path, monkeypatch, undecided):
    grading = graded(SLOW, "auto", True)
    workers = ready_workers(grading, start_workers(grading, 1))
    (given,) = [w.process for w in workers]
    folders = list(given.cgroup.folders) if given.cgroup else []
    monkeypatch.setattr(grader.run, "_serve", lambda *args: os._exit(3))  # it dies at once
    class_ = [("ada", write_handin(tmp_path / "ada", solution()))]
    (result,) = grader.run.grade_class(class_, grading, 1, progress=False, workers=workers)
    assert result.status == "grader error" and "ended (exit status 3)" in result.message
    assert given.returncode is not None
    assert [folder for folder in folders if folder.exists()] == []


def test_workers_that_cannot_start_or_be_taken_over_leave_it_to_the_slots(monkeypatch, undecided):
    grading = graded(SLOW, "auto", True)

    def refused(*args):
        raise PermissionError("cgroup.procs: permission denied")

    with monkeypatch.context() as patched:
        patched.setattr(Sandbox, "start", refused)
        assert start_workers(grading, 2) == []
    workers = start_workers(grading, 2)
    monkeypatch.setattr(os, "pidfd_open", refused)  # Linux before 5.3, or a container's filter
    assert ready_workers(grading, workers) == []
    assert [w.process for w in workers] == [None, None]
