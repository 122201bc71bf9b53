"""The grader awards exactly what a hand-in's code earns, and `course grade` writes a row for
everyone."""

import argparse
import csv
import dataclasses
import hashlib
import io
import json
import multiprocessing
import os
import re
import resource
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from handins import (
    BACKPROP,
    CHECKS_USING,
    FILES,
    MAX_SCORE,
    POINTS,
    SEED,
    SOURCE,
    grade_handin,
    graded,
    only_done,
    solution,
    stubs,
    tree_digest,
    with_regions,
    write_handin,
)

import grader.reading
import grader.run
import grader.sandbox
from base.handin import Unusable, check_readable
from base.paths import COURSE_ROOT
from course import class_grading as grade_command
from course.cli import main as course
from course.grade import add_arguments as add_grade_arguments
from grader.cases import _arrays, checks
from grader.checking import prepare
from grader.grading import grading_from
from grader.judge import hidden_hint, judge_case, verdict
from grader.outputs import gradebook_differences
from grader.sandbox import Limits, Sandbox, checks_cannot_start_processes, choose_sandbox
from grader.sandbox.cgroup import describe
from grader.sandbox.worker import (
    HANDIN_FOLDER,
    WIRE_DTYPES,
    Payload,
    ProtocolError,
    decode_case,
    encode_case,
    payload_array,
)
from grader.sandbox.workers import decide_sandbox
from grader.session import Worker, WorkerFailed, WorkerSession
from grader.submission import find_submissions, private_copy

FAST = Limits(case_seconds=5, submission_seconds=30)
GRADER_DIR = Path(grader.run.__file__).parent


def grade(tmp_path, files, name="student"):
    return grade_handin(name, write_handin(tmp_path / name / "backprop", files), FAST)


def passed(result):
    return {check.grade_id for check in result.checks if check.passed}


def test_the_solution_earns_full_marks(tmp_path):
    result = grade(tmp_path, solution())
    assert (result.status, result.score, result.max_score) == ("graded", MAX_SCORE, MAX_SCORE)
    assert all(check.output.startswith("all ") for check in result.checks)


def test_the_release_stubs_earn_nothing(tmp_path):
    result = grade(tmp_path, stubs())
    assert (result.status, result.score) == ("graded", 0)
    assert "NotImplementedError" in result.checks[0].output


@pytest.mark.parametrize(
    "done", [{"Mul", "Sum", "GetItem"}, {"MatMul", "ReLU", "SoftmaxCrossEntropy", "Log"}]
)
def test_some_backward_functions_done_earn_exactly_their_checks(tmp_path, done):
    earned = {
        grade_id
        for grade_id in POINTS
        if all(cls in done for cls, uses in CHECKS_USING.items() if grade_id in uses)
    }
    result = grade(tmp_path, only_done(done))
    assert passed(result) == earned
    assert result.score == sum(POINTS[grade_id] for grade_id in earned)


WRONG = {
    "Mul": "return grad * self.a, grad * self.b\n",
    "Pow": "return (grad * self.a ** (self.exponent - 1),)\n",
    "ReLU": "return (grad * (self.a >= 0),)\n",
    "Mean": "return (np.broadcast_to(grad, self.shape) / self.count,)\n",
    "GetItem": "out = np.zeros(self.shape)\nout[self.index] = grad\nreturn (out,)\n",
    "SoftmaxCrossEntropy": "dlogits = self.probs.copy()\ndlogits[self.target, self.columns] -= "
    "1.0\nreturn (grad * dlogits,)\n",
}


@pytest.mark.parametrize("cls", sorted(WRONG))
def test_a_wrong_gradient_costs_the_check_of_its_operation(tmp_path, cls):
    result = grade(tmp_path, with_regions({cls: WRONG[cls]}))
    failed = set(POINTS) - passed(result)
    assert CHECKS_USING[cls][0] in failed
    assert failed <= set(CHECKS_USING[cls])


def test_feedback_explains_visible_cases_and_never_counts_hidden_ones(tmp_path):
    # a mean that forgets its dim is right on the notebook's A.mean(), wrong along an axis
    forgets_dim = "return (np.broadcast_to(grad / self.count, self.shape),)\n"
    result = grade(tmp_path, with_regions({"Mul": WRONG["Mul"], "Mean": forgets_dim}))
    outputs = {check.grade_id: check.output for check in result.checks}
    assert "c = a * b; c.backward(2.0): expected a.grad =\n6." in outputs["multiplication"]
    assert "your code returned\n4." in outputs["multiplication"]
    # only hidden cases catch it: that some fail (never how many: the hand-in chooses which fail,
    # so a count could spell a hidden input), and a case of the same kind drawn for the feedback,
    # expected against returned; never the hidden inputs
    (mean,) = (check for check in checks(BACKPROP, SEED) if check.grade_id == "mean")
    some, twin, *_ = outputs["mean"].split("\n")
    assert some == f"fails some of its {len(mean.hidden)} hidden cases; {hidden_hint(mean)}"
    # which hidden cases failed is the hand-in's choice, so it could spell their inputs: not said
    assert "hidden cases that failed" not in outputs["mean"]
    assert re.match(r"a case like '(.+?)' with numbers drawn for this feedback", twin)
    shown = re.match(r"a case like '(.+?)'", twin).group(1)
    assert "dim=" in shown and "dim=None" not in shown and shown in mean.twins
    hidden = next(case for case in mean.hidden if case.title == shown)
    assert not np.array_equal(
        hidden.request["inputs"]["x"], mean.twins[shown].request["inputs"]["x"]
    )
    assert "in Mean.backward" in outputs["mean"]
    # each check's hint names what its hidden cases try
    assert "each axis" in hidden_hint(mean)
    assert (
        "hidden cases try" not in outputs["multiplication"]
    )  # the notebook's own case failing is the thing to fix first


def test_every_check_names_the_kinds_of_its_hidden_cases():
    hints = {check.grade_id: hidden_hint(check) for check in checks(BACKPROP, SEED)}
    assert "repeated indices (their gradients add up)" in hints["indexing"]
    assert "each axis" in hints["sum"] and "broadcasting" in hints["division"]


def test_plain_pytest_grades_one_folder(tmp_path):
    good = write_handin(tmp_path / "good", solution())
    bad = write_handin(tmp_path / "bad", stubs())
    command = [
        sys.executable,
        "-m",
        "pytest",
        "grader",
        "-q",
        "-p",
        "no:cacheprovider",
        "--case-seconds=5",
    ]
    ran = subprocess.run(
        command + [f"--submission={good}"], capture_output=True, text=True, cwd=SOURCE.parent.parent
    )
    assert ran.returncode == 0, ran.stdout
    assert f"{len(POINTS)} passed" in ran.stdout
    ran = subprocess.run(
        command + [f"--submission={bad}"], capture_output=True, text=True, cwd=SOURCE.parent.parent
    )
    assert ran.returncode == 1 and f"{len(POINTS)} failed" in ran.stdout
    ran = subprocess.run(command, capture_output=True, text=True, cwd=SOURCE.parent.parent)
    assert ran.returncode == pytest.ExitCode.USAGE_ERROR and "--submission PATH" in ran.stderr
    ran = subprocess.run(
        command + [f"--submission={tmp_path / 'mistyped'}"],
        capture_output=True,
        text=True,
        cwd=SOURCE.parent.parent,
    )
    assert (
        ran.returncode == pytest.ExitCode.USAGE_ERROR
        and "mistyped does not exist; pass the folder holding" in ran.stderr
    )


def test_hand_ins_are_graded_in_class_list_order(tmp_path):
    for student in ("zoe", "Émile", "emma", "Bob", "bob", "ada"):
        (tmp_path / student).mkdir()
    (tmp_path / ".collect-leftover").mkdir()
    assert [student for student, _ in find_submissions(tmp_path, "backprop")] == [
        "ada",
        "Bob",
        "bob",
        "Émile",
        "emma",
        "zoe",
    ]


def test_course_grade_writes_a_row_and_results_for_every_hand_in(tmp_path, capsys, monkeypatch):
    submitted, out = tmp_path / "submitted", tmp_path / "out"
    write_handin(submitted / "Zoë Ñandú 3" / "backprop", solution())
    write_handin(submitted / "stubs student" / "backprop", stubs())
    write_handin(submitted / "no nn" / "backprop", {"toolbox.py": solution()["toolbox.py"]})
    write_handin(
        submitted / "syntax" / "backprop",
        {**solution(), "nn.py": solution()["nn.py"] + "\ndef broken(:\n"},
    )
    write_handin(submitted / "latin1" / "backprop", solution()).joinpath("toolbox.py").write_bytes(
        b"# caf\xe9\n" + solution()["toolbox.py"].encode()
    )
    (submitted / "empty" / "backprop").mkdir(parents=True)
    (submitted / "no folder").mkdir()
    before = tree_digest(submitted)
    monkeypatch.setattr(
        sys.stderr, "isatty", lambda: True
    )  # as in a terminal, where the progress bar shows

    code = course(
        [
            "grade",
            "backprop",
            f"--submitted={submitted}",
            f"--out={out}",
            "--jobs=2",
            "--case-seconds=5",
        ]
    )

    assert code == 0
    assert tree_digest(submitted) == before
    with open(out / "grades.csv", encoding="utf-8") as file:
        rows = {row["student_id"]: row for row in csv.DictReader(file)}
    assert list(next(iter(rows.values()))) == [
        "assignment",
        "student_id",
        "score",
        "max_score",
        *POINTS,
        "timestamp",
        "hours_late",
        "late_penalty",
        "final_score",
        "status",
        "message",
    ]
    assert {row["assignment"] for row in rows.values()} == {"backprop"}
    status = {student: (row["status"], float(row["score"])) for student, row in rows.items()}
    assert status == {
        "Zoë Ñandú 3": ("graded", MAX_SCORE),
        "stubs student": ("graded", 0),
        "no nn": ("missing file", 0),
        "syntax": ("syntax error", 0),
        "latin1": ("bad encoding", 0),
        "empty": ("empty folder", 0),
        "no folder": ("empty folder", 0),
    }
    assert "nn.py is missing" in rows["no nn"]["message"]
    assert (
        "the hand-in folder backprop/ is empty or missing" in rows["no folder"]["message"]
    )  # the folder the student knows
    assert rows["syntax"]["message"].startswith(
        f"nn.py line {solution()['nn.py'].count(chr(10)) + 2}: "
    )
    assert "toolbox.py line 1 is not valid UTF-8 (byte 0xe9)" in rows["latin1"]["message"]
    assert (
        rows["Zoë Ñandú 3"]["multiplication"] == f"{POINTS['multiplication']:g}"
        and rows["Zoë Ñandú 3"]["message"] == ""
    )

    results = json.loads(
        (out / "Zoë Ñandú 3" / "backprop" / "results.json").read_text(encoding="utf-8")
    )
    assert results["score"] == results["max_score"] == MAX_SCORE
    assert [test["name"] for test in results["tests"]] == list(POINTS)
    assert {key for test in results["tests"] for key in test} == {
        "name",
        "score",
        "max_score",
        "status",
        "output",
        "visibility",
    }
    assert results["extra_data"]["sandbox"] == choose_sandbox().name
    seeds = {
        json.loads(path.read_text(encoding="utf-8"))["extra_data"]["cases_seed"]
        for path in out.glob("*/backprop/results.json")
    }
    assert len(seeds) == 1 and isinstance(results["extra_data"]["cases_seed"], int)
    assert (
        results["extra_data"]["limits"] == describe(Limits())
        and "memory 1024 MB" in results["extra_data"]["limits"]
    )
    broken = json.loads((out / "no nn" / "backprop" / "results.json").read_text(encoding="utf-8"))
    assert broken["score"] == 0 and "nn.py is missing" in broken["output"]
    assert not [path for path in out.rglob("*") if path.name.endswith(".tmp")]
    # the pages too: the class report and a feedback page for a hand-in that was not graded
    assert (out / "report.html").is_file()
    assert (out / "no nn" / "backprop" / "feedback.html").is_file()
    printed = capsys.readouterr()
    assert "Zoë Ñandú 3" in printed.out and f"{out / 'grades.csv'}" in printed.out
    assert "grading" in printed.err  # the progress bar


def test_without_bubblewrap_a_limited_process_grades_and_says_so(tmp_path):
    limits = Limits(case_seconds=5, submission_seconds=30)
    good = grade_handin(
        "good", write_handin(tmp_path / "good", solution()), limits, sandbox="process"
    )
    exits = write_handin(tmp_path / "exits", with_regions({"Div": "import os\nos._exit(3)\n"}))
    bad = grade_handin("exits", exits, limits, sandbox="process")
    assert (good.score, good.sandbox) == (MAX_SCORE, "process (bubblewrap not requested)")
    assert passed(bad) == set(POINTS) - {"division"}
    assert "exit status 3" in next(c.output for c in bad.checks if c.grade_id == "division")


def test_student_code_cannot_import_what_is_installed_beside_numpy(tmp_path):
    # tqdm is installed in the grader's environment, next to numpy; outside bubblewrap that folder
    # is visible.
    borrowing = write_handin(
        tmp_path / "borrows",
        with_regions({"Mul": "import tqdm\nreturn grad * self.b, grad * self.a\n"}),
    )
    result = grade_handin(
        "borrows", borrowing, Limits(case_seconds=5, submission_seconds=30), sandbox="process"
    )
    assert passed(result) == set(POINTS) - {"multiplication"}
    assert "ModuleNotFoundError: No module named 'tqdm'" in next(
        c.output for c in result.checks if c.grade_id == "multiplication"
    )


@pytest.mark.parametrize("guarded", [True, False])
@pytest.mark.parametrize("sandbox", ["bubblewrap", "process"])
def test_the_worker_sets_a_process_limit_only_where_seccomp_is_missing(
    tmp_path, monkeypatch, sandbox, guarded
):
    """With the guard, checks start no process and the kernel's limit, which counts all of the
    user's
    threads (and none of root's), would only fail honest hand-ins; without it, it is set on the
    worker
    itself: in bubblewrap's namespace, or on top of what the user runs now."""
    if sandbox == "bubblewrap" and not choose_sandbox().use_bwrap:
        pytest.skip(f"bubblewrap cannot run here ({choose_sandbox().name})")
    monkeypatch.setattr(grader.sandbox.workers, "checks_cannot_start_processes", lambda: guarded)
    tells = write_handin(
        tmp_path / "tells",
        with_regions(
            {
                "Mul": "import resource\nraise "
                "RuntimeError(resource.getrlimit(resource.RLIMIT_NPROC))\n"
            }
        ),
    )
    output = next(
        c.output
        for c in grade_handin("tells", tells, Limits(processes=5), sandbox=sandbox).checks
        if c.grade_id == "multiplication"
    )
    soft, hard = map(int, re.search(r"RuntimeError: \((-?\d+), (-?\d+)\)", output).groups())
    if guarded:
        assert (soft, hard) == resource.getrlimit(
            resource.RLIMIT_NPROC
        )  # the grader's own, untouched
    else:
        assert soft == hard and (
            soft == 5 if sandbox == "bubblewrap" else soft > 5 + threading.active_count()
        )


@pytest.mark.parametrize("guarded", [True, False])
def test_grading_as_root_warns_only_where_checks_could_start_processes(
    tmp_path, capsys, monkeypatch, guarded
):
    monkeypatch.setattr(grade_command.os, "geteuid", lambda: 0)
    monkeypatch.setattr(grade_command, "checks_cannot_start_processes", lambda: guarded)
    write_handin(tmp_path / "submitted" / "ada" / "backprop", stubs())
    assert (
        course(
            [
                "grade",
                "backprop",
                f"--submitted={tmp_path / 'submitted'}",
                f"--out={tmp_path / 'out'}",
                "--jobs=1",
            ]
        )
        == 0
    )
    assert (
        "graded as root on a machine where checks cannot be kept from starting processes"
        in capsys.readouterr().out
    ) != guarded


def test_checks_here_cannot_start_processes():
    assert (
        checks_cannot_start_processes()
    )  # Linux on x86-64 or arm64 with seccomp: every machine this kit supports


def test_a_hand_in_that_uses_up_its_time_fails_the_checks_left(tmp_path):
    spinning = write_handin(tmp_path / "spins", with_regions({"Pow": "while True:\n    pass\n"}))
    result = grade_handin("spins", spinning, Limits(case_seconds=10, submission_seconds=2))
    order = list(POINTS)
    assert passed(result) == set(order[: order.index("power")])
    assert all("grading time" in check.output for check in result.checks[order.index("power") :])


def test_the_private_copy_holds_only_the_graded_files(tmp_path):
    handin = write_handin(tmp_path / "handin", solution())
    (handin / "pickle.py").write_text(
        "import os; os._exit(0)\n"
    )  # would shadow a module numpy imports
    (handin / "data").mkdir()
    private_copy(handin, tmp_path / "copy", FILES, Limits().source_kb)
    assert sorted(p.name for p in (tmp_path / "copy").iterdir()) == sorted(FILES)


def test_the_private_copy_follows_only_links_inside_the_hand_in(tmp_path):
    handin = write_handin(tmp_path / "handin", {"toolbox.py": "x = 1\n", "mine.py": "y = 2\n"})
    (handin / "nn.py").symlink_to(handin / "mine.py")
    private_copy(handin, tmp_path / "copy", FILES, Limits().source_kb)
    assert (tmp_path / "copy" / "nn.py").read_text() == "y = 2\n" and not (
        tmp_path / "copy" / "nn.py"
    ).is_symlink()
    (handin / "toolbox.py").unlink()
    (handin / "toolbox.py").symlink_to(SOURCE / "toolbox.py")
    with pytest.raises(Unusable, match="link to a file outside your hand-in") as raised:
        private_copy(handin, tmp_path / "copy2", FILES, Limits().source_kb)
    assert (
        raised.value.status == "missing file" and not (tmp_path / "copy2" / "toolbox.py").exists()
    )


def test_a_missing_file_message_lists_what_the_hand_in_holds(tmp_path):
    handin = write_handin(tmp_path / "handin", {"toolbox.py": "x = 1\n", "NN.py": "y = 2\n"})
    (handin / "backprop").mkdir()
    with pytest.raises(
        Unusable,
        match=r"hand in your completed nn\.py\. The hand-in holds NN\.py, backprop/, toolbox\.py\.",
    ):
        private_copy(handin, tmp_path / "copy", FILES, Limits().source_kb)


def test_files_are_read_as_the_import_reads_them(tmp_path):
    utf8 = write_handin(
        tmp_path / "utf8",
        {name: "# -*- coding: utf-8 -*-\n" + text for name, text in solution().items()},
    )
    assert set(check_readable(utf8, FILES)) == set(FILES)
    escaped = write_handin(
        tmp_path / "escaped",
        {**solution(), "nn.py": "# coding: unicode_escape\nx = 1  # \\nimport os\n"},
    )
    with pytest.raises(
        Unusable, match="nn.py declares the encoding 'unicode-escape'.*delete that line"
    ) as raised:
        check_readable(escaped, FILES)
    assert raised.value.status == "bad encoding"


def test_a_missing_file_message_names_every_missing_file(tmp_path):
    handin = write_handin(
        tmp_path / "handin", {"backprop.ipynb": "{}"}
    )  # only the notebook, as some students do
    with pytest.raises(
        Unusable,
        match=r"toolbox\.py and nn\.py are missing from the hand-in: .* holds backprop\.ipynb\.",
    ):
        private_copy(handin, tmp_path / "copy", FILES, Limits().source_kb)


def test_a_hand_in_of_thousands_of_files_is_named_from_its_first_thousand(tmp_path):
    """Naming what a folder holds looks at 1000 entries at most: a folder of a million files
    would cost the grading process seconds."""
    handin = write_handin(tmp_path / "handin", {f"{n:04}.txt": "" for n in range(1500)})
    with pytest.raises(
        Unusable, match=r"holds \d{4}\.txt, .* and 992 more \(of its first 1000 entries\)\."
    ):
        private_copy(handin, tmp_path / "copy", FILES, Limits().source_kb)


def test_a_file_too_large_to_be_code_is_not_copied(tmp_path):
    handin = write_handin(tmp_path / "handin", solution())
    with open(handin / "nn.py", "ab") as file:
        file.truncate((Limits().source_kb << 10) + 1)
    with pytest.raises(Unusable, match=f"nn.py is larger than {Limits().source_kb} kB") as raised:
        private_copy(handin, tmp_path / "copy", FILES, Limits().source_kb)
    assert raised.value.status == "too large" and not (tmp_path / "copy" / "nn.py").exists()


def test_a_linked_hand_in_folder_is_not_followed(tmp_path):
    (tmp_path / "student").mkdir()
    (tmp_path / "student" / "backprop").symlink_to(SOURCE, target_is_directory=True)
    with pytest.raises(Unusable, match="is a link, not a folder"):
        private_copy(
            tmp_path / "student" / "backprop", tmp_path / "copy", FILES, Limits().source_kb
        )
    assert list((tmp_path / "copy").iterdir()) == []


def test_bubblewrap_is_used_only_when_a_trial_run_works(tmp_path, monkeypatch, capsys):
    choose = decide_sandbox  # uncached: decide again under the faked PATH
    monkeypatch.setenv("PATH", str(tmp_path))
    assert choose("auto") == Sandbox("process (bubblewrap not installed)", False)
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n")
    fake.chmod(0o755)
    assert choose("auto") == Sandbox("process (bubblewrap does not work here)", False)
    assert "No permissions to create new namespace" in capsys.readouterr().err
    with pytest.raises(RuntimeError, match="bubblewrap does not work here"):
        choose("bubblewrap")


def test_a_request_carries_its_arrays_raw_and_they_arrive_writable_and_unchanged():
    check = next(c for c in checks(BACKPROP, SEED) if c.grade_id == "indexing")
    requests = [case.request for case in check.cases]
    payload = Payload()
    wire = json.dumps([encode_case(request, payload) for request in requests])
    received = bytearray(bytes(payload))  # as the worker reads it
    decoded = [decode_case(case, received) for case in json.loads(wire)]
    pairs = [
        (sent, got)
        for request, again in zip(requests, decoded)
        for sent, got in zip(_arrays(request), _arrays(again))
    ]
    assert len(pairs) > 20 and {sent.dtype.name for sent, _ in pairs} == set(WIRE_DTYPES)
    for sent, got in pairs:
        assert got.dtype == sent.dtype and np.array_equal(got, sent) and got.flags.writeable
    for bad in (np.zeros(3, dtype=np.float32), np.array([object()]), np.array(["x"])):
        with pytest.raises(ProtocolError, match="must be one of"):
            encode_case({"x": bad}, Payload())
    payload, big_endian = Payload(), np.arange(4.0, dtype=">f8")
    description = encode_case(big_endian, payload)
    assert np.array_equal(decode_case(description, bytearray(bytes(payload))), big_endian)


def case_digests(seed):
    """Digests of the visible and of the hidden cases' requests drawn from `seed`."""
    digests = []
    for visible in (True, False):
        payload = Payload()
        cases = [c for check in checks(BACKPROP, seed) for c in check.cases if c.visible == visible]
        text = json.dumps([encode_case(case.request, payload) for case in cases])
        digests.append(hashlib.sha256(text.encode() + bytes(payload)).hexdigest())
    return digests


def test_hidden_random_inputs_change_every_run_unless_a_seed_is_given():
    """A hand-in can leak the hidden inputs it saw through its feedback; they must be useless in the
    next run, unless the instructor asks to repeat one with --seed."""
    parser = argparse.ArgumentParser()
    add_grade_arguments(parser)
    runs = [
        grading_from(parser.parse_args(["backprop", *seed]), "backprop", COURSE_ROOT)
        for seed in ([], [], ["--seed", "7"])
    ]
    assert runs[0].seed != runs[1].seed and runs[2].seed == 7
    (visible, hidden), (visible_again, hidden_again) = (case_digests(r.seed) for r in runs[:2])
    assert visible == visible_again  # the notebook's cases are the notebook's
    assert hidden != hidden_again
    checks.cache_clear()
    assert case_digests(7) == case_digests(7)  # drawn afresh from the same seed: the same


def test_an_unknown_assignment_leaves_the_gradebook_alone(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "grades.csv").write_text("student_id,score\nada,15\n")
    (tmp_path / "submitted" / "ada" / "backprop").mkdir(parents=True)
    assert (
        course(["grade", "backprpo", f"--submitted={tmp_path / 'submitted'}", f"--out={out}"]) == 1
    )
    assert "no assignment 'backprpo'" in capsys.readouterr().err
    assert (out / "grades.csv").read_text() == "student_id,score\nada,15\n"


@pytest.mark.parametrize(
    "option", ["--case-seconds=0", "--memory-mb=-1", "--processes=two", "--jobs=0"]
)
def test_limits_and_jobs_must_be_numbers_above_zero(option, capsys):
    with pytest.raises(SystemExit):
        course(["grade", "backprop", option])
    assert f"argument {option.split('=')[0]}:" in capsys.readouterr().err


def test_limit_options_explain_themselves():
    parser = argparse.ArgumentParser()
    add_grade_arguments(parser)
    text = " ".join(parser.format_help().split())
    assert "limit: CPU seconds of each process running student code (default 30)" in text
    assert "limit: case seconds" not in text


def test_pytest_grader_says_why_a_hand_in_is_not_graded_once_per_check_without_traceback(tmp_path):
    handin = write_handin(tmp_path / "handin", {"toolbox.py": "x = 1\n"})
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(GRADER_DIR),
            f"--submission={handin}",
            "-q",
            "-rN",
            "-p",
            "no:cacheprovider",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 1
    assert done.stdout.count("not graded (missing file): nn.py is missing from the hand-in") == len(
        POINTS
    )
    assert "Traceback" not in done.stdout and "raise Unusable" not in done.stdout
    helped = subprocess.run(
        [sys.executable, "-m", "pytest", str(GRADER_DIR), "--help"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert helped.returncode == 0 and "--submission=PATH" in helped.stdout


@pytest.mark.parametrize(
    "existing, says",
    [
        (
            "assignment,student_id,score\nbackprop,ada,15\nsoftmax,bob,9\n",
            "holds grades of softmax, which grading 'backprop' would replace",
        ),
        # as a spreadsheet saves it
        ("\ufeffassignment,student_id,score\nsoftmax,ada,15\n", "holds grades of softmax"),
        ("student_id,score\nada,15\n", "holds grades of an unnamed assignment"),
        ("caf\xe9,15\n", "exists but cannot be read"),
    ],
)
def test_a_gradebook_with_other_grades_is_not_replaced(tmp_path, capsys, existing, says):
    out = tmp_path / "out"
    out.mkdir()
    (out / "grades.csv").write_bytes(existing.encode("latin-1" if "\xe9" in existing else "utf-8"))
    before = (out / "grades.csv").read_bytes()
    write_handin(tmp_path / "submitted" / "ada" / "backprop", stubs())
    assert (
        course(["grade", "backprop", f"--submitted={tmp_path / 'submitted'}", f"--out={out}"]) == 1
    )
    assert says in capsys.readouterr().err
    assert (out / "grades.csv").read_bytes() == before and not (out / "ada").exists()


def test_regrading_replaces_its_own_gradebook_and_keeps_hand_edits(tmp_path, capsys):
    out, submitted = tmp_path / "out", tmp_path / "submitted"
    write_handin(submitted / "ada" / "backprop", stubs())
    write_handin(submitted / "bob" / "backprop", stubs())
    grade = ["grade", "backprop", f"--submitted={submitted}", f"--out={out}", "--jobs=1"]
    for _ in range(2):
        assert course(grade) == 0
    # unedited: replaced, nothing kept
    assert sorted(p.name for p in out.glob("*.csv")) == ["grades.csv"]

    # a TA's correction
    edited = (out / "grades.csv").read_text().replace("backprop,ada,0,", "backprop,ada,2,")
    (out / "grades.csv").write_text(edited)
    (submitted / "bob").rename(tmp_path / "bob withdrew")
    capsys.readouterr()
    assert course(grade) == 0
    printed = capsys.readouterr().out
    (kept,) = out.glob("grades.edited-*.csv")
    assert kept.read_text() == edited and f"so it is kept in {kept}" in printed
    assert (
        "  ada: score was '2' there, is '0' now" in printed
        and "  bob: not in the new gradebook" in printed
    )
    assert "backprop,ada,0," in (out / "grades.csv").read_text()
    assert "still holds results of 1 student(s) with no hand-in" in printed and "(bob)" in printed

    (
        out / ".grades.csv.sha256"
    ).unlink()  # as from a version that kept no digest: it cannot tell, so it keeps
    assert course(grade) == 0
    assert len(list(out.glob("grades.edited-*.csv"))) == 2


def test_gradebooks_without_student_ids_are_not_compared(tmp_path):
    (tmp_path / "kept.csv").write_text("name,score\nada,2\n")
    (tmp_path / "new.csv").write_text("assignment,student_id,score\nbackprop,ada,0\n")
    assert gradebook_differences(tmp_path / "kept.csv", tmp_path / "new.csv") is None
    (tmp_path / "kept.csv").write_text("student_id,score\nada,2\n")
    assert gradebook_differences(tmp_path / "kept.csv", tmp_path / "new.csv") == [
        ("ada", "score", "2", "0")
    ]


def test_an_output_path_that_is_a_file_is_refused_before_grading(tmp_path, capsys):
    (tmp_path / "submitted" / "ada" / "backprop").mkdir(parents=True)
    (tmp_path / "out").write_text("not a folder")
    assert (
        course(
            [
                "grade",
                "backprop",
                f"--submitted={tmp_path / 'submitted'}",
                f"--out={tmp_path / 'out'}",
            ]
        )
        == 1
    )
    assert "is a file" in capsys.readouterr().err


def test_a_class_run_starts_no_pytest_session_and_one_worker_per_slot(tmp_path, monkeypatch):
    """A pytest session per hand-in cost as much as its checks; a worker per hand-in more."""
    import grader.session

    def no_session(*args, **kwargs):
        raise AssertionError("a class run started a pytest session")

    starts = tmp_path / "starts"  # written by the grading processes, read here
    real_start = grader.session.Worker.start

    def counted_start(worker):
        if worker.process is None:  # not one already running
            with open(starts, "a") as file:
                file.write("started\n")
        real_start(worker)

    monkeypatch.setattr(pytest, "main", no_session)
    monkeypatch.setattr(grader.session.Worker, "start", counted_start)
    class_ = [
        (name, write_handin(tmp_path / name / "backprop", files))
        for name, files in (("ada", solution()), ("bob", stubs()), ("cy", solution()))
    ]
    results = grader.run.grade_class(class_, graded(FAST), jobs=1, progress=False)
    assert [r.score for r in results] == [15, 0, 15]
    # where a worker may not serve another hand-in (see Sandbox.reuses_workers): a worker each
    started = starts.read_text().splitlines()
    assert len(started) == (1 if choose_sandbox().reuses_workers else 3)


@pytest.mark.parametrize(
    "appended, status, says",
    [
        (
            "x = " + "1+" * 300_000 + "1\n",
            "syntax error",
            "nn.py nests an expression too deeply for Python to read",
        ),  # RecursionError
        (
            "x = " + "-" * 200_000 + "1\n",
            "syntax error",
            "nn.py nests an expression too deeply for Python to read",
        ),  # MemoryError
        ("# " + "padding " * 150_000 + "\n", "too large", "nn.py is larger than 1024 kB"),
        (
            "x = 1\0\n",
            "syntax error",
            f"nn.py line {solution()['nn.py'].count(chr(10)) + 1} holds a null byte",
        ),
        (
            "def helper():\n    return " + "lambda: " * 1100 + "0\n",
            "too complex",
            "nn.py nests functions or constants too deeply",
        ),  # its code cannot be marshalled
    ],
)
def test_source_the_parser_cannot_take_is_refused_with_a_reason(tmp_path, appended, status, says):
    handin = write_handin(
        tmp_path / "ada" / "backprop", {**solution(), "nn.py": solution()["nn.py"] + appended}
    )
    result = grade_handin("ada", handin)
    assert (result.status, result.score) == (status, 0) and says in result.message


def test_a_number_too_long_to_print_in_a_helper_is_graded_as_any_other(tmp_path):
    """Python refuses to write an int of more than 4300 digits as text, which comparing syntax
    trees as text (ast.dump) once needed."""
    helper = "\n\ndef helper():\n    return 0x" + "f" * 4000 + "\n"
    handin = write_handin(
        tmp_path / "ada" / "backprop", {**solution(), "nn.py": solution()["nn.py"] + helper}
    )
    result = grade_handin("ada", handin)
    assert (result.status, result.score) == ("graded", MAX_SCORE), result.message


def test_compiler_warnings_stay_out_of_the_instructors_terminal(tmp_path, capfd):
    """A warning a line, for 90,000 lines, flooded the terminal and stalled an unread stderr."""
    helper = "\n\ndef helper(x):\n" + "    x is 1\n" * 3  # SyntaxWarning: "is" with a literal
    handin = write_handin(
        tmp_path / "ada" / "backprop", {**solution(), "nn.py": solution()["nn.py"] + helper}
    )
    grader.reading._close_readers()  # the next reader starts with this test's stderr
    assert grade_handin("ada", handin).score == 15
    assert "Warning" not in capfd.readouterr().err


def test_grading_without_a_release_says_to_make_one(tmp_path, capsys, monkeypatch):
    unreleased = dataclasses.replace(BACKPROP, release_dir=tmp_path / "release")
    monkeypatch.setattr(
        "course.class_grading.prepare",
        lambda grading: prepare(dataclasses.replace(grading, assignment=unreleased)),
    )
    write_handin(tmp_path / "submitted" / "ada" / "backprop", stubs())
    assert (
        course(
            [
                "grade",
                "backprop",
                f"--submitted={tmp_path / 'submitted'}",
                f"--out={tmp_path / 'out'}",
            ]
        )
        == 1
    )
    assert (
        "backprop.ipynb is missing: run `course release backprop` before grading"
        in capsys.readouterr().err
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("out_under_submitted", [True, False])
def test_results_and_hand_ins_in_overlapping_folders_are_refused(
    tmp_path, capsys, out_under_submitted
):
    submitted = tmp_path / "submitted"
    write_handin(submitted / "ada" / "backprop", solution())
    out = submitted / "ada" if out_under_submitted else tmp_path
    before = tree_digest(submitted)
    assert course(["grade", "backprop", f"--submitted={submitted}", f"--out={out}"]) == 1
    assert "overlap: results would be written among the hand-ins" in capsys.readouterr().err
    assert tree_digest(submitted) == before


def test_a_graded_cell_without_cases_is_a_clear_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("grader.assignments.backprop.cases.BUILDERS", {})
    checks.cache_clear()
    try:
        write_handin(tmp_path / "submitted" / "ada" / "backprop", solution())
        assert (
            course(
                [
                    "grade",
                    "backprop",
                    f"--submitted={tmp_path / 'submitted'}",
                    f"--out={tmp_path / 'out'}",
                ]
            )
            == 1
        )
    finally:
        checks.cache_clear()
    assert (
        "has a graded cell 'multiplication' that grader/assignments/backprop/cases.py has no cases"
        in capsys.readouterr().err
    )


def test_a_failure_of_the_grader_itself_names_the_checks_it_hit(tmp_path, monkeypatch):
    def broken_judge(*answer):
        raise ZeroDivisionError("planted")

    monkeypatch.setattr("grader.judge.answered_right", broken_judge)  # every answer meets it
    result = grade(tmp_path, solution())
    assert result.status == "grader error"
    assert result.message.startswith(
        f"the grader itself failed in {', '.join(POINTS)} (see that check's output)"
    )
    assert all(
        check.output.startswith("the grader itself failed here (ZeroDivisionError: planted)")
        for check in result.checks
    )


def test_a_grading_process_that_raises_costs_only_that_hand_in(tmp_path, monkeypatch):
    real = grader.run.grade_submission

    def fails_for_ada(student_id, *rest):
        if student_id == "ada":
            raise OSError("planted")
        return real(student_id, *rest)

    monkeypatch.setattr("grader.run.grade_submission", fails_for_ada)
    class_ = [
        (name, write_handin(tmp_path / name / "backprop", solution())) for name in ("ada", "bob")
    ]
    ada, bob = grader.run.grade_class(class_, graded(FAST), jobs=1, progress=False)
    assert ada.status == "grader error" and ada.score == 0
    assert ada.message == "the grader itself failed (OSError: planted); please tell the instructor."
    assert bob.status == "graded" and bob.score == MAX_SCORE


def test_an_interrupted_class_run_stops_its_grading_processes_and_removes_their_copies(
    tmp_path, monkeypatch
):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(scratch))
    started = []

    def interrupted(connections, timeout=None):
        started.extend(multiprocessing.active_children())
        raise KeyboardInterrupt

    monkeypatch.setattr("multiprocessing.connection.wait", interrupted)
    class_ = [
        (name, write_handin(tmp_path / name / "backprop", solution())) for name in ("ada", "bob")
    ]
    with pytest.raises(KeyboardInterrupt):
        grader.run.grade_class(class_, graded(FAST), jobs=2, progress=False)
    assert len(started) == 2 and not any(process.is_alive() for process in started)
    assert list(scratch.iterdir()) == []


def test_a_worker_that_cannot_start_leaves_no_pipe_open(tmp_path):
    class CannotStart:
        use_bwrap = True  # nothing to restore or adopt: only the pipes are at stake

        def start(self, *args):
            raise OSError("planted")

    session = WorkerSession(write_handin(tmp_path, solution()), CannotStart(), FAST, BACKPROP)
    before = len(os.listdir("/proc/self/fd"))
    with pytest.raises(OSError, match="planted"):
        session.run("[]")
    assert len(os.listdir("/proc/self/fd")) == before


def test_one_students_folder_passed_as_the_class_is_refused(tmp_path, capsys):
    write_handin(tmp_path / "submitted" / "Li Wei" / "backprop", solution())
    assert (
        course(
            [
                "grade",
                "backprop",
                f"--submitted={tmp_path / 'submitted' / 'Li Wei'}",
                f"--out={tmp_path / 'out'}",
            ]
        )
        == 1
    )
    assert (
        "Li Wei/ looks like one student's folder (it holds backprop/, no student folder does)"
        in capsys.readouterr().err
    )
    assert not (tmp_path / "out").exists()


def test_a_gradebook_a_spreadsheet_saved_with_semicolons_is_kept_and_compared(tmp_path, capsys):
    out, submitted = tmp_path / "out", tmp_path / "submitted"
    write_handin(submitted / "ada" / "backprop", stubs())
    grade = ["grade", "backprop", f"--submitted={submitted}", f"--out={out}", "--jobs=1"]
    assert course(grade) == 0
    rows = list(csv.reader((out / "grades.csv").read_text(encoding="utf-8").splitlines()))
    rows[1][2] = "2,5"  # a TA's correction, in a locale with a decimal comma
    (out / "grades.csv").write_text(
        "\ufeff" + "\n".join(";".join(row) for row in rows) + "\n", encoding="utf-8"
    )
    capsys.readouterr()
    assert course(grade) == 0
    printed = capsys.readouterr().out
    assert "  ada: score was '2,5' there, is '0' now" in printed
    assert len(list(out.glob("grades.edited-*.csv"))) == 1


class Answering:
    """A stand-in sandbox whose worker says it is ready, then writes `answer` (bytes), kept in the
    file `where`, as its answer, and waits to be stopped."""

    use_bwrap = True

    def __init__(self, answer, where):
        self.answer, self.where = answer, where

    def start(self, scratch_dir, pipes, limits, assignment):
        request_fd, response_fd, notice_fd = pipes
        self.where.write_bytes(self.answer)
        write = (
            f"import os, sys; os.write({notice_fd}, b'{{\"ready\": true}}\\n'); "
            f'os.write({response_fd}, open(sys.argv[1], "rb").read()); '
            "import time; time.sleep(60)"  # alive until stopped: the request pipe stays open
        )
        return subprocess.Popen(
            [sys.executable, "-c", write, str(self.where)],
            pass_fds=pipes,
            start_new_session=True,
        )


def answering_session(tmp_path, answer):
    """A session whose worker answers `answer` to its first request."""
    handin = write_handin(tmp_path / "backprop", solution())
    session = WorkerSession(handin, Answering(answer, tmp_path / "answer"), FAST, BACKPROP)
    return session


def test_an_answer_too_long_to_be_honest_is_refused_before_it_is_parsed(tmp_path):
    flood = b'{"id": 1, "results": [' + b"{}," * (700 << 10) + b"{}]}\n"  # 2 MB of JSON
    session = answering_session(tmp_path, flood)
    with pytest.raises(
        Exception, match="did not follow the protocol \\(an answer line longer than 1 MB\\)"
    ):
        session.run(checks(BACKPROP, SEED)[0].requests[0])


def test_an_answer_announcing_more_arrays_than_the_request_needs_is_refused_unread(tmp_path):
    request = checks(BACKPROP, SEED)[0].requests[-1]
    announced = f'{{"id": 1, "results": [], "payload": {request.max_payload + 1}}}\n'.encode()
    session = answering_session(tmp_path, announced)
    with pytest.raises(Exception, match="did not follow the protocol .* twice the expected ones"):
        session.run(request)


def test_the_answer_format_takes_only_float_arrays_that_lie_inside_the_payload():
    payload = Payload()
    described = payload.add(np.arange(6.0).reshape(2, 3))
    data = b"".join(payload.chunks)
    assert np.array_equal(payload_array(described, data), np.arange(6.0).reshape(2, 3))
    for bad in (
        {**described, "shape": [4, 3]},
        {**described, "at": 8},
        {**described, "at": -8},
        {**described, "dtype": "int64"},
        {**described, "extra": 1},
        {**described, "at": 1.0},
        [1.0, 2.0],
    ):
        with pytest.raises(ProtocolError):
            payload_array(bad, data)


def test_feedback_quotes_a_malformed_answer_only_in_part():
    case = checks(BACKPROP, SEED)[0].cases[0]
    answer = {"value": {"dtype": list(range(1 << 16)), "shape": [], "at": 0}, "grads": {}}
    assert len(judge_case(case, answer, b"")) < 300
    answer = {"value": {"dtype": "float64", "shape": [1] * 100000, "at": 0}, "grads": {}}
    assert len(judge_case(case, answer, b"\0" * 8)) < 300


HOSTILE_IDS = [b"grades.csv", b"=1+1", b"'=1+1", b"bad\xffutf8", b"back\\slash", b"=" + b"x" * 254]


def test_a_student_whose_outputs_cannot_be_named_gets_a_row_and_the_class_is_graded(
    tmp_path, capsys
):
    submitted, out = tmp_path / "submitted", tmp_path / "out"
    for name in HOSTILE_IDS + [b"ada", b"zoe"]:
        write_handin(Path(os.fsdecode(bytes(submitted) + b"/" + name)) / "backprop", solution())
    assert (
        course(["grade", "backprop", f"--submitted={submitted}", f"--out={out}", "--jobs=2"]) == 1
    )
    printed = capsys.readouterr()
    rows = {
        row["student_id"]: row
        for row in csv.DictReader(io.StringIO((out / "grades.csv").read_text(encoding="utf-8")))
    }
    assert len(rows) == len(HOSTILE_IDS) + 2  # one row each, the hostile ones included
    # two ids a spreadsheet shows apart, in folders apart
    for honest in ("ada", "zoe", "'=1+1", "''=1+1"):
        assert rows[honest]["status"] == "graded" and float(rows[honest]["score"]) == MAX_SCORE, (
            rows[honest]
        )
        assert (out / honest / "backprop" / "feedback.html").is_file()
    bad = {student: row for student, row in rows.items() if row["status"] != "graded"}
    assert sorted(bad) == sorted(["grades.csv", "bad\\xffutf8", "back\\slash", "'=" + "x" * 254])
    assert all(
        row["status"] == "bad student id" and "Rename the folder" in row["message"]
        for row in bad.values()
    )
    assert "4 student folder(s) could not be graded" in printed.out
    assert (out / "report.html").is_file() and (out / "grades.csv").read_text(
        encoding="utf-8"
    ).count("\n") == 9


def test_a_result_that_cannot_be_written_is_that_students_row(tmp_path, monkeypatch):
    from grader.outputs import gradebook

    real = gradebook.write_atomically

    def full_for_bob(path, text):
        if "bob" in Path(path).parts:
            raise OSError(28, "No space left on device")
        return real(path, text)

    monkeypatch.setattr(gradebook, "write_atomically", full_for_bob)
    results = [grade(tmp_path, solution(), name) for name in ("ada", "bob")]
    written, grades, _ = gradebook.write_gradebook(tmp_path / "out", "backprop", results)
    assert [r.status for r in written] == ["graded", "results not written"]
    assert "No space left on device" in written[1].message and written[1].score == MAX_SCORE
    assert (
        "bob,15,15" in grades.read_text()
        and (tmp_path / "out" / "ada" / "backprop" / "results.json").is_file()
    )


def test_a_stalled_grading_process_costs_only_that_hand_in(tmp_path, monkeypatch):
    real = grader.run.grade_submission

    def stalls_for_ada(student_id, *rest):
        if student_id == "ada":
            os.kill(
                os.getpid(), signal.SIGSTOP
            )  # as a hand-in outside bubblewrap can do to the process grading it
        return real(student_id, *rest)

    monkeypatch.setattr("grader.run.grade_submission", stalls_for_ada)
    monkeypatch.setattr(Limits, "stall_seconds", lambda limits: 8)  # bob needs well under a second
    class_ = [
        (name, write_handin(tmp_path / name / "backprop", solution())) for name in ("ada", "bob")
    ]
    ada, bob = grader.run.grade_class(class_, graded(FAST), jobs=2, progress=False)
    assert ada.status == "grader error" and ada.message.startswith(
        "the process grading this hand-in took more than 8 s"
    )
    assert bob.status == "graded" and bob.score == MAX_SCORE


EQUIVALENT_BODIES = {  # the same derivatives, rounded differently: every check must still pass
    "Div": "return grad / self.b, -(grad * (self.a / self.b)) / self.b\n",
    "Pow": "if self.exponent == 0:\n    return (0.0 * self.a,)\nreturn (self.exponent * (self.a "
    "** (self.exponent - 1) * grad),)\n",
    "MatMul": "return np.matmul(grad, np.swapaxes(self.b, -1, -2)), (np.swapaxes(grad, -1, -2) @ "
    "self.a).swapaxes(-1, -2)\n",
    "ReLU": "return (np.where(self.a > 0, grad, 0.0),)\n",
    "Exp": "return (self.out * grad,)\n",
    "Log": "return (grad * (1.0 / self.a),)\n",
    "Mean": "if self.dim is not None:\n    grad = np.expand_dims(grad, self.dim)\nreturn "
    "(np.broadcast_to(grad, self.shape) * (1.0 / self.count),)\n",
    "SoftmaxCrossEntropy": "d = self.probs.copy()\nd[self.target, self.columns] -= 1.0\nreturn "
    "((grad / len(self.columns)) * d,)\n",
}


def test_equivalent_formulas_earn_full_marks_on_every_case(tmp_path):
    assert passed(grade(tmp_path, with_regions(EQUIVALENT_BODIES))) == set(POINTS)


def test_the_same_class_graded_twice_with_the_same_seed_gives_the_same_files(tmp_path):
    submitted = tmp_path / "submitted"
    write_handin(submitted / "ada" / "backprop", solution())
    write_handin(submitted / "bob" / "backprop", with_regions({"ReLU": WRONG["ReLU"]}))
    (submitted / "cy" / "backprop").mkdir(parents=True)
    outputs = []
    for run in ("first", "again"):
        out = tmp_path / run
        arguments = ["grade", "backprop", f"--submitted={submitted}", f"--out={out}"]
        assert course([*arguments, "--seed=11", "--case-seconds=5"]) == 0
        outputs.append(tree_digest(out))
    assert outputs[0] == outputs[1]
    results = json.loads((tmp_path / "first" / "bob" / "backprop" / "results.json").read_text())
    assert results["extra_data"]["cases_seed"] == 11
    assert "seed 11" in (tmp_path / "first" / "report.html").read_text()


def test_a_case_drawn_for_feedback_that_was_not_answered_is_not_said_to_pass():
    (mul,) = (check for check in checks(BACKPROP, SEED) if check.grade_id == "multiplication")
    visible, hidden = mul.requests
    wrong = [{"value": None, "grads": {}} for _ in hidden.cases]
    passed, feedback = verdict(mul, [WorkerFailed("the fork ended", "ended"), (wrong, b"")])
    assert not passed and "fails some of its 11 hidden cases" in feedback
    assert "drawn for this feedback" not in feedback


def test_a_negative_seed_is_refused_by_the_command_line(capsys):
    with pytest.raises(SystemExit):
        course(["grade", "backprop", "--seed", "-3"])
    assert "-3 is below 0; a seed is a whole number from 0 up" in capsys.readouterr().err


def test_a_progress_bar_only_on_a_terminal(monkeypatch):
    """tqdm costs a hundredth of a second to load: a run whose output is a file, a pipe or a
    test's never loads it."""
    script = (
        "import sys, grader.run\n"
        "with grader.run.progress_bar(3, True) as bar:\n"
        "    bar.update()\n"
        "print('tqdm' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.stdout.split() == ["False"], done.stderr
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    with grader.run.progress_bar(3, True) as bar:
        bar.update()
        assert bar.n == 1  # tqdm's count
    with grader.run.progress_bar(3, progress=False) as bar:
        assert not hasattr(bar, "n")


def folded_sums(helpers, terms):
    """Helpers students may add (new names, nothing run at import) whose constants the compiler
    builds term by term, keeping every partial sum: 13 bytes of source a term, 4096 * terms**2 / 2
    bytes a helper. (How deep a sum is folded depends on how deep the compiler is called: short
    ones are folded from any depth.)"""
    total = " + ".join(["'x' * 4096"] * terms)
    return "".join(f"\n\ndef helper{k}():\n    return {total}\n" for k in range(helpers))


def nested_bulk(depth, size_kb):
    """Classes nested `depth` deep around `size_kb` of statements: each level is checked again."""
    nest = "".join(" " * level + f"class Deep{level}:\n" for level in range(depth))
    return "\n" + nest + " " * depth + "a;" * (size_kb << 9) + "a\n"


@pytest.mark.parametrize(
    "bulk, limits",
    [
        (folded_sums(6, 400), Limits(memory_mb=256)),  # about 2 GB unlimited
        (nested_bulk(95, 900), Limits(case_seconds=1)),  # about 140 s and 2 GB unlimited
    ],
    ids=["constants the compiler folds", "bulk nested deep"],
)
def test_reading_a_hand_in_is_limited_and_costs_only_its_row(tmp_path, bulk, limits):
    files = solution()
    files["toolbox.py"] += bulk
    costly = write_handin(tmp_path / "costly" / "backprop", files)
    honest = write_handin(tmp_path / "honest" / "backprop", solution())
    grading = graded(limits)
    first, second = grader.run.grade_class(
        [("costly", costly), ("honest", honest)], grading, jobs=1, progress=False
    )
    assert first.status == "too complex", first.message
    assert "simplify what makes it large" in first.message
    assert second.status == "graded" and second.score == MAX_SCORE


def read_release(limits=FAST, given=None, folder=None):
    """The release's own files read as a hand-in (with `given` checked against them)."""
    from grader.reading import read_within_limits

    folder = folder or BACKPROP.release_dir
    return read_within_limits(folder, BACKPROP.files, HANDIN_FOLDER, given, "", limits)


def test_reading_a_hand_in_keeps_within_hard_limits_already_set():
    """A grading container may set hard limits below what reading asks for: reading then keeps to
    them, where asking for more would fail every hand-in."""
    script = (
        "import resource\n"
        "from grader.reading import read_within_limits\n"
        "from grader.sandbox import Limits\n"
        "for kind in (resource.RLIMIT_AS, resource.RLIMIT_CPU):\n"
        "    low = 1 << 40 if kind == resource.RLIMIT_AS else 3600\n"
        "    resource.setrlimit(kind, (low, low))\n"
        "limits = Limits(memory_mb=1 << 21, case_seconds=1 << 20)\n"
        f"code, error = read_within_limits({str(BACKPROP.release_dir)!r}, {BACKPROP.files!r}, "
        "'/hand-in', None, '', limits)\n"
        "print(sorted(code), error)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=COURSE_ROOT
    )
    assert done.stdout.split() == ["['nn',", "'toolbox']", "None"], done.stderr


def test_reading_that_runs_out_is_the_hand_ins_row_and_any_other_end_the_graders(tmp_path):
    """Out of CPU time is what a costly hand-in causes; another end of the reader, or an error in
    it, is the grader's own, and must not be blamed on the student."""
    from grader.reading import helper_pids

    slow = write_handin(tmp_path / "slow", {**solution(), "nn.py": nested_bulk(95, 900)})
    with pytest.raises(Unusable) as ran_out:
        read_release(Limits(case_seconds=0.3), folder=slow)
    assert ran_out.value.status == "too complex"
    read_release()  # a new reader
    (reader,) = helper_pids()
    threading.Timer(0.3, os.kill, (reader, signal.SIGTERM)).start()
    with pytest.raises(RuntimeError, match="exit status -15"):
        read_release(Limits(case_seconds=60), folder=slow)
    with pytest.raises(RuntimeError, match="SyntaxError"):
        read_release(given={"toolbox.py": "def (:", "nn.py": ""})
    assert read_release()[1] is None and helper_pids() != {reader}


def test_a_hand_in_is_read_by_a_lean_process_not_a_fork_of_the_grading_one():
    """Forking the grading process (numpy, the checks, a hand-in's answers) cost milliseconds
    and made it fault on every page it wrote afterwards."""
    from grader.reading import helper_pids

    read_release()
    (reader,) = helper_pids()
    read_release()
    assert helper_pids() == {reader} and reader != os.getpid()  # one reader serves on
    assert "_multiarray_umath" not in Path(f"/proc/{reader}/maps").read_text()  # no numpy


def test_a_worker_stopped_outside_bubblewrap_leaves_the_reader_alone():
    """Outside bubblewrap, stopping a worker kills the processes it left behind: never the
    reader, which would cost a restart, and a reading, per hand-in."""
    from grader.reading import helper_pids

    worker = Worker(choose_sandbox("process"), FAST, BACKPROP)
    worker.start()
    read_release()  # the reader starts after the worker
    (reader,) = helper_pids()
    worker.close()
    read_release()
    assert helper_pids() == {reader}


def test_code_far_larger_than_its_source_is_too_complex(tmp_path):
    """Folded constants can make a small file compile to a hundred MB of code, which the
    judge would hold, and send to every check."""
    files = solution()
    files["toolbox.py"] += folded_sums(8, 40)  # 19 kB of source, 190 kB of code
    costly = write_handin(tmp_path / "costly", files)
    with pytest.raises(Unusable, match=r" 0\.2 MB of code, more than the 0\.1 MB") as costs:
        read_release(Limits(source_kb=20), folder=costly)
    assert costs.value.status == "too complex"
    assert read_release(Limits(source_kb=20), folder=write_handin(tmp_path / "ok", solution()))


@pytest.mark.parametrize("pause", [0.002, 0], ids=["drained slowly", "drained at once"])
def test_writing_a_request_keeps_to_the_checks_time(pause):
    """A worker that keeps reading, slowly, must not hold the judge past the check's time; one
    that reads at once gets even a large request within it (copying the rest of it after every
    64 kB written took the judge seconds a hundred MB)."""
    worker = Worker(choose_sandbox("process"), Limits(case_seconds=3), BACKPROP)
    read_end, worker.request_fd = os.pipe()
    os.set_blocking(worker.request_fd, False)
    done = threading.Event()

    def drain():
        while not done.wait(pause):
            try:
                if not os.read(read_end, 1 << 16):
                    return
            except OSError:
                return

    threading.Thread(target=drain, daemon=True).start()
    start = time.monotonic()
    try:
        if pause:
            with pytest.raises(WorkerFailed, match="no answer within 3 s"):
                worker._write(b"x" * (128 << 20))
        else:
            worker._write(b"x" * (128 << 20))
    finally:
        done.set()
        os.close(worker.request_fd)
        os.close(read_end)
    assert time.monotonic() - start < 6


def test_a_reader_closed_twice_closes_nothing_of_anyone_else(tmp_path):
    """Its pipes' numbers are handed out again once it closed them."""
    from grader.reading import Reader

    reader = Reader()
    number = reader.jobs
    reader.close()
    opened = os.open(tmp_path / "other", os.O_CREAT | os.O_WRONLY)
    other = os.dup2(opened, number)  # another file under the number the reader had
    try:
        reader.close()
        os.write(other, b"still open")
    finally:
        os.close(other)
        os.close(opened)


def test_an_answer_arriving_in_pieces_is_read_whole_and_what_follows_it_is_left_over():
    """The payload goes straight into an array of its size, piece by piece; a byte written
    after it is never taken for part of it, and makes the answer one too many."""
    worker = Worker(choose_sandbox("process"), Limits(case_seconds=5), BACKPROP)
    worker.deadline = time.monotonic() + 5
    worker.response_fd, write_end = os.pipe()
    worker.notice_fd, notice_write = os.pipe()
    worker.buffer, worker.notices, worker.header = bytearray(), bytearray(), None
    payload = np.random.default_rng(0).random(50000).tobytes()
    sent = json.dumps({"id": 1, "payload": len(payload)}).encode() + b"\n" + payload + b"{"

    def trickle():
        for start in range(0, len(sent), 7001):
            os.write(write_end, sent[start : start + 7001])
            time.sleep(0.001)

    writer = threading.Thread(target=trickle, daemon=True)
    writer.start()
    try:
        header, received = worker._read_answer(max_payload=len(payload))
        writer.join(timeout=5)
        assert header == {"id": 1, "payload": len(payload)}
        assert bytes(received) == payload
        with pytest.raises(ProtocolError, match="more answers than requests"):
            worker._no_stray_answer()
    finally:
        for fd in (worker.response_fd, write_end, worker.notice_fd, notice_write):
            os.close(fd)
