"""As root without bubblewrap, `course grade` runs student code as an unprivileged account: it
cannot write what only root may, and what it leaves behind belongs to that account."""

import json
import os
import pwd
import re
import subprocess
import sys

import pytest
from handins import MAX_SCORE, prying, write_handin
from system_python import shared_python

import grader.sandbox.workers
from grader.sandbox import Sandbox
from grader.sandbox.account import USER_VARIABLE, entries_apart_from, worker_account
from grader.sandbox.workers import decide_sandbox, process_sandbox

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the drop happens only as root")


def test_a_root_grader_names_the_account_and_refuses_a_missing_or_root_one(monkeypatch):
    choose = decide_sandbox  # uncached: decide again under each setting
    monkeypatch.setenv(USER_VARIABLE, "nobody")
    try:
        chosen = choose("process")
    except RuntimeError as error:  # this interpreter is closed to nobody: the refusal says so
        assert "cannot read" in str(error) and USER_VARIABLE in str(error)
    else:
        assert chosen.account.uid == pwd.getpwnam("nobody").pw_uid
        assert chosen.name.endswith("student code as nobody)")
    monkeypatch.setenv(USER_VARIABLE, "no-such-user-here")
    with pytest.raises(RuntimeError, match="no user 'no-such-user-here'"):
        worker_account()
    monkeypatch.setenv(USER_VARIABLE, "root")
    assert choose("process") == Sandbox("process (bubblewrap not requested)", False)


def test_course_grade_as_root_runs_student_code_as_nobody(open_tmp_path, closed_course):
    tmp_path = open_tmp_path
    shared = tmp_path / "shared"  # every user may write here: the proof is written here
    shared.mkdir()
    shared.chmod(0o1777)
    python = shared_python(tmp_path / "venv")
    if python is None:
        pytest.skip(f"no system Python {sys.version_info[:2]} that every user can run")
    secret, root_only = tmp_path / "secret.txt", tmp_path / "root-only.txt"
    secret.write_text("secret")
    secret.chmod(0o600)  # as the solution is, where only root may read it
    root_only.write_text("kept")  # readable by all, writable by root
    handin = prying(secret, [root_only], proof_dir=shared)
    submitted = tmp_path / "submitted"
    write_handin(submitted / "pry" / "backprop", handin)
    out = tmp_path / "out"

    def grade():
        return subprocess.run(
            [python, "-m", "course", "grade", "backprop", "--submitted", submitted]
            + ["--out", out, "--sandbox", "process", "--jobs", "1"],
            capture_output=True,
            text=True,
            env={**os.environ, USER_VARIABLE: "nobody"},
            timeout=120,
        )

    # every worker runs as nobody: one that could read the class could load a classmate's code
    refused = grade()
    assert refused.returncode == 1
    assert f"nobody, who can read {submitted}: a hand-in could load classmates'" in refused.stderr
    assert f"chmod -R o-rwx {submitted}" in refused.stderr
    assert not out.exists()
    submitted.chmod(0o700)
    done = grade()
    assert done.returncode == 0, done.stderr
    results = json.loads((out / "pry" / "backprop" / "results.json").read_text())
    assert results["extra_data"]["sandbox"].endswith("student code as nobody)")
    assert results["score"] == MAX_SCORE, results["tests"][0]["output"]
    assert root_only.read_text() == "kept"
    assert [p.name for p in shared.iterdir()] == [f"uid-{pwd.getpwnam('nobody').pw_uid}"]
    assert "ran as this user" not in done.stdout


def test_an_account_that_can_read_the_solution_is_refused(open_tmp_path, monkeypatch):
    monkeypatch.setenv(USER_VARIABLE, "nobody")
    solution = open_tmp_path / "source"
    solution.mkdir()
    solution.chmod(0o755)  # as a checkout usually is: readable by every user
    with pytest.raises(RuntimeError, match=r"nobody, who can read .*source: a hand-in could load"):
        worker_account(course=open_tmp_path)
    solution.chmod(0o711)  # not listed, but a known path inside it opens all the same
    with pytest.raises(RuntimeError, match=r"nobody, who can read .*source: a hand-in could load"):
        worker_account(course=open_tmp_path)
    solution.chmod(0o700)
    assert worker_account(course=open_tmp_path) is not None


def test_every_entry_of_the_course_but_the_way_to_numpy_must_be_closed(open_tmp_path, monkeypatch):
    monkeypatch.setenv(USER_VARIABLE, "nobody")
    course = open_tmp_path / "course"
    for name in ("source", ".git", "tests", ".venv/lib/numpy"):
        (course / name).mkdir(parents=True)
    numpy = course / ".venv" / "lib" / "numpy" / "__init__.py"
    numpy.write_text("")
    for path in [course, *course.rglob("*")]:
        path.chmod(0o755)  # as a checkout usually is: readable by every user
    closed = entries_apart_from(course, [numpy])
    assert closed == [course / ".git", course / "source", course / "tests"]
    with pytest.raises(RuntimeError) as refused:
        worker_account([numpy], course=course)
    assert f"who can read {', '.join(map(str, closed))}: a hand-in could load" in str(refused.value)
    assert f"(chmod -R o-rwx {' '.join(map(str, closed))})" in str(refused.value)
    (course / ".git").chmod(0o711)  # not listed, but a known path inside it opens all the same
    (course / "tests").chmod(0o744)  # not entered, but its names (students' ids) listed
    (course / "source").chmod(0o700)
    shown = re.escape(f"who can read {course / '.git'}, {course / 'tests'}:")
    with pytest.raises(RuntimeError, match=shown):
        worker_account([numpy], course=course)
    for path in closed:
        path.chmod(0o700)
    assert worker_account([numpy], course=course) is not None


def test_the_process_sandbox_closes_the_whole_course_not_only_its_sources(
    open_tmp_path, monkeypatch
):
    monkeypatch.setenv(USER_VARIABLE, "nobody")
    course = open_tmp_path / "course"
    (course / ".git").mkdir(parents=True)  # every committed file, the solution included
    for path in (course, course / ".git"):
        path.chmod(0o755)
    monkeypatch.setattr(grader.sandbox.workers, "COURSE_ROOT", course)
    shown = re.escape(f"who can read {course / '.git'}: a hand-in could load")
    with pytest.raises(RuntimeError, match=shown):
        process_sandbox("bubblewrap not requested")


def test_the_history_of_a_course_kept_outside_it_is_closed_too(tmp_path):
    """A course inside a larger repository, or a worktree whose .git file points elsewhere: the
    history, the solution's included, lies outside the course folder."""
    repository = tmp_path / "repository"
    (repository / ".git").mkdir(parents=True)
    course = repository / "course"
    course.mkdir()
    assert entries_apart_from(course, []) == [repository / ".git"]
    main = tmp_path / "main" / ".git"
    (main / "worktrees" / "course").mkdir(parents=True)
    (main / "worktrees" / "course" / "commondir").write_text("../..\n")
    worktree = tmp_path / "worktree"
    worktree.mkdir()
    (worktree / ".git").write_text(f"gitdir: {main / 'worktrees' / 'course'}\n")
    assert entries_apart_from(worktree, []) == [
        main,
        main / "worktrees" / "course",
        worktree / ".git",
    ]
    inside = tmp_path / "larger" / "course"  # a course in a worktree of a larger repository
    inside.mkdir(parents=True)
    (inside.parent / ".git").write_text(f"gitdir: {main / 'worktrees' / 'course'}\n")
    found = [main, main / "worktrees" / "course", inside.parent / ".git"]
    assert entries_apart_from(inside, []) == sorted(found)
