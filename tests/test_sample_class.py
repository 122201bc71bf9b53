"""The synthetic class: solution, stubs and one-region mistakes, as student folders."""

import subprocess
import sys

import pytest
from handins import FILES, MAX_SCORE, grade_handin

from base.paths import COURSE_ROOT
from course.markers import find_regions
from course.sample_class import MISTAKES, NOTEBOOK, make_sample_class

SOURCE = COURSE_ROOT / "source" / "backprop"


@pytest.fixture(scope="module")
def sample_class(tmp_path_factory):
    submitted = tmp_path_factory.mktemp("submitted")
    return submitted, make_sample_class(submitted, release_dir=submitted / "no release")


def folder(submitted, student):
    return submitted / student / "backprop"


def test_every_kind_once_in_a_student_folder(sample_class):
    submitted, roster = sample_class
    assert list(roster.values()) == ["solution", "stubs"] + [m.name for m in MISTAKES]
    assert {"ada lovelace", "Émile Borel"} <= set(roster)
    assert sorted(p.name for p in submitted.iterdir()) == sorted(roster)
    for student in roster:
        assert sorted(p.name for p in folder(submitted, student).iterdir()) == sorted(
            [*FILES, NOTEBOOK]
        )
    solution = folder(submitted, next(s for s, kind in roster.items() if kind == "solution"))
    for name in [*FILES, NOTEBOOK]:
        assert (solution / name).read_bytes() == (SOURCE / name).read_bytes()


def regions_changed(original, handed_in):
    """The solution regions of `original` outside which `handed_in` is identical to it."""
    before, after = original.splitlines(), handed_in.splitlines()
    changed = []
    for region in find_regions(original, "### BEGIN SOLUTION", "### END SOLUTION", "source"):
        start, end = (
            region.start - 1,
            region.stop,
        )  # the region's lines, markers included, as a 0-based slice
        tail = len(before) - end
        if before[:start] == after[:start] and before[end:] == after[len(after) - tail :]:
            changed.append(after[start : len(after) - tail])
    return changed


@pytest.mark.parametrize("mistake", MISTAKES, ids=lambda m: m.cls)
def test_each_mistake_replaces_exactly_one_solution_region(sample_class, mistake):
    submitted, roster = sample_class
    student = next(s for s, kind in roster.items() if kind == mistake.name)
    for name in FILES:
        original, handed_in = (
            (SOURCE / name).read_text(),
            (folder(submitted, student) / name).read_text(),
        )
        if name != mistake.file:
            assert handed_in == original
            continue
        [body] = regions_changed(original, handed_in)
        assert [line.strip() for line in body] == mistake.body.strip().splitlines()
        compile(handed_in, name, "exec")


def test_mistake_naming_a_class_without_a_region_is_an_error():
    from course.sample_class import Mistake, with_mistake

    with pytest.raises(ValueError, match="toolbox.py has no solution region in class Add"):
        with_mistake(
            (SOURCE / "toolbox.py").read_text(),
            Mistake("add", "toolbox.py", "Add", "return grad, grad\n"),
        )


def test_stubs_import_run_forward_and_stop_in_backward(sample_class):
    submitted, roster = sample_class
    student = next(s for s, kind in roster.items() if kind == "stubs")
    for name in FILES:
        assert "### BEGIN SOLUTION" not in (folder(submitted, student) / name).read_text()
    script = (
        "import numpy as np, nn, toolbox as tb\n"
        "x = tb.Tensor(np.ones((2, 3)), requires_grad=True)\n"
        "loss = nn.CrossEntropyLoss().forward(x * 2.0, np.array([0, 1, 0]))\n"
        "try:\n    loss.backward()\nexcept NotImplementedError:\n    print('stub reached', "
        "float(loss.data))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=folder(submitted, student),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("stub reached 0.69")  # log 2: two equal logits per column


def test_a_larger_class_cycles_kinds_with_distinct_names(tmp_path):
    roster = make_sample_class(tmp_path, count=20)
    assert len(roster) == 20 and len(list(tmp_path.iterdir())) == 20
    assert "ada lovelace 2" in roster and roster["ada lovelace 2"] == list(roster.values())[10]


@pytest.fixture(scope="module")
def distinct_class(tmp_path_factory):
    submitted = tmp_path_factory.mktemp("distinct")
    release = submitted / "no release"
    return submitted, make_sample_class(submitted, release_dir=release, count=20, distinct=True)


def test_no_two_files_of_a_distinct_class_are_equal(distinct_class):
    # A grader that caches by content must still grade every hand-in of a benchmark's class.
    submitted, roster = distinct_class
    texts = [(folder(submitted, s) / name).read_text() for s in roster for name in FILES]
    assert len(texts) == 20 * len(FILES) and len(set(texts)) == len(texts)


def test_a_distinct_handin_is_its_kind_with_comments_naming_it(distinct_class, sample_class):
    submitted, roster = distinct_class
    cycled, cycled_roster = sample_class
    first_of_kind = {kind: student for student, kind in reversed(cycled_roster.items())}
    for number, (student, kind) in enumerate(roster.items(), start=1):
        for name in FILES:
            lines = (folder(submitted, student) / name).read_text().splitlines(keepends=True)
            mark = f"# hand-in {number}"
            assert any(line.strip() == mark for line in lines), (student, name)
            kept = "".join(line for line in lines if line.strip() != mark)
            assert kept == (folder(cycled, first_of_kind[kind]) / name).read_text(), (student, name)


def test_a_distinct_solution_still_gets_full_marks(distinct_class):
    submitted, roster = distinct_class
    student = [s for s, kind in roster.items() if kind == "solution"][1]  # the second: hand-in 10
    result = grade_handin(student, folder(submitted, student))
    assert result.status == "graded", result.message
    assert sum(check.score for check in result.checks) == MAX_SCORE
