"""`course validate PATH`: the public checks against a folder's code, reported per check."""

import shutil
from pathlib import Path

import pytest

from base.nbgrader_settings import load_config
from base.notebook import graded_cells, public_notebook, read_notebook
from base.paths import COURSE_ROOT
from course.cli import main
from course.sample_class import MISTAKES, with_mistake
from course.validate import public_checks, validate

SOURCE = COURSE_ROOT / "source" / "backprop"
RELEASED = COURSE_ROOT / "release" / "backprop"


def files_of(folder):
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(Path(folder).rglob("*"))
        if path.is_file()
    }


def test_work_in_progress_gets_a_row_per_check_and_the_folder_is_untouched(tmp_path, capsys):
    work = tmp_path / "work"
    shutil.copytree(RELEASED, work)
    # toolbox.py done; nn.py still the stub.
    shutil.copy(SOURCE / "toolbox.py", work / "toolbox.py")
    before = files_of(work)

    assert main(["validate", str(work)]) == 1
    out = capsys.readouterr().out
    rows = {line.split()[1]: line for line in out.splitlines() if line.startswith("  ")}
    for check in [
        "multiplication",
        "division",
        "power",
        "matmul",
        "relu",
        "exp",
        "log",
        "sum",
        "mean",
        "indexing",
    ]:
        assert rows[check].split()[0] == "passed", out
    assert rows["network"].split()[0] == "FAILED"
    assert (
        "NotImplementedError" in rows["network"]
        and "nn.py:" in rows["network"]
        and "backward" in rows["network"]
    )
    assert "10 of 11 checks pass (12 of 15 points)" in out
    assert files_of(work) == before


def test_validate_warns_about_changed_given_code_as_grading_would(tmp_path, capsys):
    work = tmp_path / "work"
    shutil.copytree(
        SOURCE, work, ignore=shutil.ignore_patterns("*.ipynb", "*.py[co]", "__pycache__")
    )
    toolbox = (work / "toolbox.py").read_text()
    (work / "toolbox.py").write_text(
        "import math\n\n\ndef helper(x):\n    return math.fabs(x)\n\n\n" + toolbox
    )
    assert main(["validate", str(work)]) == 0  # an added helper is allowed, as in grading
    assert "changed given code" not in capsys.readouterr().out
    (work / "toolbox.py").write_text(
        toolbox.replace("return np.maximum(a, 0.0)", "return np.maximum(a, 1e-300)")
    )
    assert main(["validate", str(work)]) == 1
    out = capsys.readouterr().out
    assert (
        "Grading would give 0 points, status 'changed given code': toolbox.py: ReLU.forward differs"
        in out
    )
    (work / "toolbox.py").write_text("# coding: latin-1\n" + toolbox)
    assert main(["validate", str(work)]) == 1
    assert (
        "Grading would give 0 points, status 'bad encoding': toolbox.py declares the encoding"
        in capsys.readouterr().out
    )
    (work / "toolbox.py").write_text(toolbox + "# " + "x" * (1100 << 10) + "\n")
    assert main(["validate", str(work)]) == 1
    assert (
        "Grading would give 0 points, status 'too large': toolbox.py is larger than"
        in capsys.readouterr().out
    )


def test_an_import_error_is_shown_once_at_the_top(tmp_path, capsys):
    work = tmp_path / "work"
    shutil.copytree(RELEASED, work)
    with open(work / "nn.py", "a") as file:
        file.write("oops(\n")
    assert main(["validate", str(work)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert (
        lines[1].startswith("  setup   cell") and "SyntaxError" in lines[1] and "nn.py" in lines[1]
    )
    assert "later setup cell(s) failed after it; fix the first error" in lines[2]
    assert sum("setup   cell" in line for line in lines) == 1


def test_a_collected_hand_in_gets_the_release_helpers_and_is_told_grading_accepts_it(
    tmp_path, capsys
):
    handin = (
        tmp_path / "submitted" / "ada" / "backprop"
    )  # as collected: only the files students complete
    handin.mkdir(parents=True)
    for name in ("toolbox.py", "nn.py"):
        shutil.copy(SOURCE / name, handin)
    assert main(["validate", str(handin)]) == 0
    out = capsys.readouterr().out
    assert "11 of 11 checks pass" in out and "Grading would accept these files" in out
    assert sorted(p.name for p in handin.iterdir()) == [
        "nn.py",
        "toolbox.py",
    ]  # helpers went into the copy only


def test_a_folder_without_the_students_files_is_refused(tmp_path, capsys):
    (tmp_path / "toolbox.py").write_text("")
    assert main(["validate", str(tmp_path)]) == 2
    assert "has no nn.py" in capsys.readouterr().err


def test_public_checks_are_the_graded_cells_without_their_hidden_tests():
    notebook = read_notebook(SOURCE / "backprop.py")
    public = public_notebook(notebook, load_config(COURSE_ROOT))
    full, shown = graded_cells(notebook), graded_cells(public)
    assert [cell.grade_id for cell in shown] == [cell.grade_id for cell in full]
    for whole, visible in zip(full, shown):
        assert "HIDDEN TESTS" in whole.source and "HIDDEN TESTS" not in visible.source
        assert whole.source.startswith(visible.source.rstrip())
        assert len(visible.source) < len(whole.source)


def test_a_hanging_check_times_out_and_a_dying_kernel_fails_the_rest(tmp_path, capsys):
    work = tmp_path / "work"
    shutil.copytree(RELEASED, work)
    stub = (
        "    def backward(self, grad):\n        # YOUR CODE HERE\n        raise "
        "NotImplementedError()"
    )
    text = (work / "toolbox.py").read_text()
    assert text.count(stub) >= 2
    hang = "    def backward(self, grad):\n        while True:\n            pass"
    die = "    def backward(self, grad):\n        import os\n        os._exit(3)"
    (work / "toolbox.py").write_text(text.replace(stub, hang, 1).replace(stub, die, 1))

    assert main(["validate", str(work), "--timeout", "3"]) == 1
    rows = {
        line.split()[1]: line
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("  ")
    }
    assert "timed out: still running after 3 s" in rows["multiplication"]
    assert "the kernel died while running this cell" in rows["division"]
    assert all("not run: the kernel died" in rows[check] for check in ["power", "network"])
    assert all(row.split()[0] == "FAILED" for row in rows.values())


def test_without_the_source_the_released_notebook_supplies_the_checks(tmp_path):
    shutil.copytree(RELEASED, tmp_path / "release" / "backprop")
    config = load_config(COURSE_ROOT)
    from_release = graded_cells(public_checks(tmp_path, "backprop", config))
    from_source = graded_cells(public_checks(COURSE_ROOT, "backprop", config))
    assert [(c.grade_id, c.points, c.source) for c in from_release] == [
        (c.grade_id, c.points, c.source) for c in from_source
    ]


def test_without_a_release_it_runs_the_checks_and_says_nothing_about_acceptance(tmp_path, capsys):
    root = tmp_path / "course"  # a course whose assignment was never released
    shutil.copytree(SOURCE, root / "source" / "backprop")
    shutil.copy(COURSE_ROOT / "nbgrader_config.py", root)
    assert main(["validate", str(root / "source" / "backprop"), "--root", str(root)]) == 0
    out = capsys.readouterr().out
    assert "11 of 11 checks pass" in out and "Grading would" not in out


def test_run_in_the_folder_itself_it_still_says_what_grading_would_do(
    tmp_path, capsys, monkeypatch
):
    work = tmp_path / "work"
    shutil.copytree(RELEASED, work)
    toolbox = (work / "toolbox.py").read_text()
    (work / "toolbox.py").write_text(
        toolbox.replace("return np.maximum(a, 0.0)", "return np.maximum(a, 1e-300)")
    )
    monkeypatch.chdir(work)
    assert main(["validate", "."]) == 1
    assert (
        "Grading would give 0 points, status 'changed given code': toolbox.py: ReLU.forward differs"
        in capsys.readouterr().out
    )


def test_files_grading_accepts_but_cannot_import_are_pointed_out(tmp_path, capsys):
    work = tmp_path / "work"
    shutil.copytree(RELEASED, work)
    with open(work / "toolbox.py", "a") as file:
        file.write(
            "from math import no_such_function\n"
        )  # an allowed import that fails when it runs
    assert main(["validate", str(work)]) == 1
    out = capsys.readouterr().out
    assert "Grading would accept these files" in out
    assert (
        "A setup cell failed above, though: if importing toolbox.py or nn.py fails, grading fails "
        "the same way" in out
    )


def test_a_multi_line_error_stays_on_its_row():
    from course.checks import CellRun
    from course.validate import format_table

    runs = [
        CellRun(1, "mean", 1.0, "AssertionError: got [[-1.44e+00]\n [ 3.2e+03]]", False),
        CellRun(2, "sum", 1.0, None, False),
    ]
    rows = format_table(runs).splitlines()
    assert rows[0] == "  FAILED  mean     1  AssertionError: got [[-1.44e+00] [ 3.2e+03]]"
    assert rows[1].startswith("  passed  sum") and len(rows) == 3


# The mistakes students make most, each caught by a public check whose message names the
# operation and the fix: (mistake, check, words the message must hold).
COMMON_MISTAKES = [
    ("ReLU passes the gradient at 0", "relu", ("ReLU", "x > 0, not x >= 0")),
    ("Sum forgets its dim", "sum", ("Sum", "np.expand_dims")),
    ("GetItem assigns instead of accumulating", "indexing", ("GetItem", "np.add.at")),
    (
        "softmax cross-entropy not divided by the batch",
        "network",
        ("CrossEntropyLoss", "divides by the batch size"),
    ),
]


@pytest.mark.parametrize("name, check, words", COMMON_MISTAKES, ids=[m[1] for m in COMMON_MISTAKES])
def test_a_common_mistake_fails_a_public_check_that_names_the_op_and_the_fix(
    tmp_path, name, check, words
):
    (mistake,) = (m for m in MISTAKES if m.name == name)
    work = tmp_path / "work"
    shutil.copytree(RELEASED, work)
    for file in ("toolbox.py", "nn.py"):
        shutil.copy(SOURCE / file, work / file)
    solution = (SOURCE / mistake.file).read_text()
    (work / mistake.file).write_text(with_mistake(solution, mistake))
    failed = {run.grade_id: run.error for run in validate(work) if run.grade_id and run.error}
    assert list(failed) == [check]
    assert all(word in failed[check] for word in words), failed[check]
