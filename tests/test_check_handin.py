"""The release's check_handin.py: what a student learns before handing in is what grading says."""

import re
import subprocess
import sys

from handins import RELEASE, grade_handin, solution, stubs, write_handin

from grader.sandbox import Limits

SCRIPT = RELEASE / "check_handin.py"
BACKWARD_START = """            raise RuntimeError(
                "backward() was called on a tensor that does not require grad"""


def in_given_code(statement):
    """The solution with `statement` at the top of Tensor.backward's given code."""
    files = solution()
    text = files["toolbox.py"]
    assert BACKWARD_START in text
    indented = f"            {statement}\n"
    files["toolbox.py"] = text.replace(BACKWARD_START, indented + BACKWARD_START, 1)
    return files


def hand_ins():
    """(name, files) of hand-ins grading accepts and refuses for every reason it has."""
    done = solution()
    padding = "# " + "padding " * 150_000 + "\n"
    return [
        ("the solution", done),
        ("the stubs", stubs()),
        ("nn.py missing", {"toolbox.py": done["toolbox.py"]}),
        ("renamed by the browser", {"toolbox (1).py": done["toolbox.py"], "nn.py": done["nn.py"]}),
        ("a coding line", {**done, "nn.py": "# -*- coding: latin-1 -*-\n" + done["nn.py"]}),
        ("a syntax error", {**done, "nn.py": done["nn.py"] + "\ndef broken(:\n"}),
        ("too large", {**done, "nn.py": done["nn.py"] + padding}),
        ("an import grading lacks", {**done, "toolbox.py": "import torch\n" + done["toolbox.py"]}),
        ("changed given code", in_given_code("grad = 0.0")),
        ("a print that calls", in_given_code("print(open('notes.txt').read())")),
        ("a debugging print", in_given_code('print("backward from", self.data.shape)')),
        ("a debugging assert", in_given_code("assert self.data is not None, self.grad")),
    ]


def checked(folder):
    """(what check_handin.py says grading does: "graded" or the refusal's status, its output)."""
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(folder)], capture_output=True, text=True, timeout=300
    )
    refused = re.search(r"NOT READY to hand in: (.+)", done.stdout)
    if refused:
        assert done.returncode == 1, done.stdout
        return refused.group(1), done.stdout
    assert done.returncode == 0 and "Ready to hand in: toolbox.py, nn.py" in done.stdout
    return "graded", done.stdout


def test_the_check_agrees_with_grading_on_every_refusal(tmp_path):
    said, graded = {}, {}
    for name, files in hand_ins():
        folder = write_handin(tmp_path / name / "backprop", files)
        said[name], _ = checked(folder)
        result = grade_handin(name, folder, Limits(case_seconds=5, submission_seconds=30))
        graded[name] = "graded" if result.status == "graded" else result.status
    assert said == graded
    # every kind of refusal is among them, and the harmless debugging lines are not refusals
    assert set(said.values()) == {
        "graded",
        "missing file",
        "bad encoding",
        "syntax error",
        "too large",
        "changed given code",
    }
    assert said["a debugging print"] == said["a debugging assert"] == "graded"


def test_a_refusal_says_what_to_fix_and_shows_the_changed_lines(tmp_path):
    renamed = dict(hand_ins())["renamed by the browser"]
    status, said = checked(write_handin(tmp_path / "renamed", renamed))
    assert status == "missing file" and "Rename toolbox (1).py to toolbox.py." in said
    trap = "toolbox\x1b]0;retitled\x07\x1b[2J.py"  # a file name that would retitle a terminal
    escaping = {trap: renamed["toolbox (1).py"], "nn.py": renamed["nn.py"]}
    status, said = checked(write_handin(tmp_path / "escaping", escaping))
    assert status == "missing file" and "\x1b" not in said and "\x07" not in said, said
    status, said = checked(write_handin(tmp_path / "changed", in_given_code("grad = 0.0")))
    assert status == "changed given code" and "Tensor.backward" in said
    shown = said.split("(- released, + yours):")[1].splitlines()
    added = [" ".join(line.split()) for line in shown if line.strip().startswith("+ ")]
    assert added == ["+ grad = 0.0"]


def test_public_checks_run_on_the_hand_in_and_report_each_check(tmp_path):
    files = solution()
    files["toolbox.py"] = files["toolbox.py"].replace(
        "return (grad * (self.a > 0),)", "return (grad * (self.a >= 0),)"
    )
    status, said = checked(write_handin(tmp_path / "relu", files))
    rows = {line.split()[1]: line.split()[0] for line in said.splitlines() if line[:4] == "  pa"}
    failed = [line for line in said.splitlines() if line.startswith("  FAILED")]
    assert status == "graded" and len(rows) == 10 and set(rows.values()) == {"passed"}
    assert len(failed) == 1 and "relu" in failed[0] and "x > 0, not x >= 0" in failed[0]
    assert "10 of 11 public checks pass (14 of 15 points)." in said
