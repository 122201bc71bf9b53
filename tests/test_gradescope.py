"""The Gradescope bundle, built and installed in a temporary AUTOGRADER_ROOT, grades each kind of
hand-in as `course grade` does, in bubblewrap and in the fallback, and always leaves a
results.json in Gradescope's format; a hand-in can neither read the solution nor touch the
results."""

import functools
import json
import os
import shutil
import sys
import tempfile
import zipfile
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from handins import (
    FILES,
    MAX_SCORE,
    grade_handin,
    graded,
    only_done,
    prying,
    solution,
    stubs,
    with_regions,
    write_handin,
)
from imports import imported_tops
from system_python import SYSTEM_PYTHON

from base.paths import COURSE_ROOT
from course.cli import main
from course.gradescope.bundle import build_bundle, course_files
from course.gradescope.pins import pinned_requirements
from course.gradescope.trial import install, start_grading
from grader.sandbox import choose_sandbox

VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}


def format_problems(document):
    """How `document` strays from the results.json fields Gradescope documents, and from what the
    bundle promises (a test per check, a summary, stdout hidden, the sandbox named)."""
    number = (int, float)
    problems = []
    top = {
        "score": number,
        "max_score": number,
        "execution_time": number,
        "output": str,
        "output_format": str,
        "visibility": str,
        "stdout_visibility": str,
        "extra_data": dict,
        "tests": list,
    }
    problems += [f"unknown field {key}" for key in document if key not in top]
    problems += [
        f"{key} is not {kind}"
        for key, kind in top.items()
        if key in document and not isinstance(document[key], kind)
    ]
    for key in ("score", "output", "tests", "stdout_visibility", "extra_data"):
        if key not in document:
            problems.append(f"no {key}")
    if document.get("stdout_visibility") != "hidden":
        problems.append("stdout is not hidden")
    if not str(document.get("extra_data", {}).get("sandbox", "")):
        problems.append("the sandbox is not named")
    test_fields = {"name": str, "score": number, "max_score": number, "status": str}
    test_fields |= {"output": str, "visibility": str}
    for test in document.get("tests", []):
        problems += [
            f"test {test.get('name')}: {key} missing or not {kind}"
            for key, kind in test_fields.items()
            if not isinstance(test.get(key), kind)
        ]
        if test.get("visibility") not in VISIBILITIES or test.get("status") not in (
            "passed",
            "failed",
        ):
            problems.append(f"test {test.get('name')}: visibility or status not Gradescope's")
    if document.get("tests") and document.get("score") != sum(
        t["score"] for t in document["tests"]
    ):
        problems.append("the score is not the sum of the tests'")
    return problems


def broken(files, name, text):
    return {**files, name: text}


HANDINS = {
    "solution": solution,
    "stubs": stubs,
    "partial": lambda: only_done({"Mul", "Div", "Pow", "Exp"}),
    "syntax error": lambda: broken(
        solution(), "toolbox.py", solution()["toolbox.py"] + "\ndef (\n"
    ),
    "changed given code": lambda: broken(
        solution(),
        "toolbox.py",
        solution()["toolbox.py"].replace("        return a * b\n", "        return b * a\n", 1),
    ),
}


@pytest.fixture(scope="module")
def autograder(closed_course):
    """An AUTOGRADER_ROOT with the bundle unpacked into source/ and setup.sh run, reusing this
    checkout's packages (no apt, no download), the worker user `nobody`."""
    if os.geteuid() != 0:
        pytest.skip("setup.sh runs as root, as on Gradescope")
    if not SYSTEM_PYTHON.is_file():
        pytest.skip(f"no system Python {sys.version_info[:2]} that every user can run")
    root = Path(tempfile.mkdtemp(prefix="autograder-"))
    try:
        bundle = build_bundle(COURSE_ROOT, graded(), "after_published", root / "autograder.zip")
        install(bundle, root, SYSTEM_PYTHON, "nobody")
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run_autograder(root, upload, sandbox):
    """Grade the files `upload` as Gradescope would; returns results.json, checked."""
    start_grading(root, upload, sandbox).communicate(timeout=300)
    document = json.loads((root / "results" / "results.json").read_text())
    assert format_problems(document) == []
    return document


SANDBOXES = ["bubblewrap", "process"]


def usable(sandbox):
    if sandbox == "bubblewrap" and not choose_sandbox().use_bwrap:
        pytest.skip(f"bubblewrap cannot run here ({choose_sandbox().name})")


@functools.cache
def graded_locally(kind):
    """The hand-in `kind` graded as `course grade` grades it."""
    with tempfile.TemporaryDirectory() as folder:
        return grade_handin(kind, write_handin(Path(folder) / "backprop", HANDINS[kind]()))


@pytest.mark.parametrize("sandbox", SANDBOXES)
@pytest.mark.parametrize("kind", HANDINS)
def test_each_hand_in_scores_as_course_grade_scores_it(autograder, kind, sandbox):
    usable(sandbox)
    document = run_autograder(autograder, HANDINS[kind](), sandbox)
    local = graded_locally(kind)
    assert document["extra_data"]["sandbox"].startswith(sandbox)
    assert document["extra_data"]["status"] == local.status
    assert document["score"] == local.score
    passed = {t["name"]: t["status"] == "passed" for t in document["tests"]}
    assert {c.grade_id: c.passed for c in local.checks}.items() <= passed.items()
    if local.status != "graded":  # a message the student can act on, and nothing scored
        assert local.message in document["output"] and document["score"] == 0


@pytest.mark.parametrize("sandbox", SANDBOXES)
def test_a_hand_in_can_neither_read_the_solution_nor_touch_the_results(autograder, sandbox):
    usable(sandbox)
    results = autograder / "results"
    secret = autograder / "source" / "course" / "source" / "backprop" / "toolbox.py"
    targets = [results / "results.json", results / "forged.txt", autograder / "source" / "x"]
    document = run_autograder(autograder, prying(secret, targets), sandbox)
    assert document["score"] == MAX_SCORE, document["tests"][0]["output"]
    assert sorted(p.name for p in results.iterdir()) == ["results.json"]
    assert "forged" not in (results / "results.json").read_text()


def test_a_hand_in_that_hangs_loses_only_the_check_that_hung(autograder):
    document = run_autograder(
        autograder, with_regions({"Mul": "while True:\n    pass\n"}), "process"
    )
    assert document["score"] == MAX_SCORE - 1
    hung = next(test for test in document["tests"] if test["name"] == "multiplication")
    assert hung["status"] == "failed" and "no answer within" in hung["output"]


def test_an_upload_in_a_folder_or_a_zip_is_found(autograder):
    files = only_done({"Mul", "Div"})
    nested = run_autograder(autograder, {f"work/backprop/{n}": t for n, t in files.items()}, "auto")
    archive = tempfile.SpooledTemporaryFile()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("__MACOSX/backprop/._toolbox.py", "junk")
        for name, text in files.items():
            zipped.writestr(f"backprop/{name}", text)
    archive.seek(0)
    zipped = run_autograder(autograder, {"handin.zip": archive.read()}, "auto")
    assert nested["score"] == zipped["score"] == 2
    assert nested["extra_data"]["status"] == zipped["extra_data"]["status"] == "graded"


def test_a_missing_file_is_named_and_scores_nothing(autograder):
    document = run_autograder(autograder, {"toolbox.py": solution()["toolbox.py"]}, "auto")
    assert document["score"] == 0
    assert document["extra_data"]["status"] == "missing file"
    assert f"{FILES[1]} is missing" in document["output"]


def test_a_crash_of_the_grader_still_leaves_results(autograder, tmp_path):
    root = tmp_path / "autograder"
    shutil.copytree(autograder, root, symlinks=True)
    (root / "source" / "settings.json").write_text("{")  # the grader fails inside
    inside = run_autograder(root, solution(), "auto")
    assert inside["score"] == 0 and "The autograder itself failed" in inside["output"]
    assert inside["extra_data"]["status"] == "grader error"
    (root / "source" / "installed.env").unlink()  # no environment: the grader cannot even start
    outside = run_autograder(root, solution(), "auto")
    assert outside["score"] == 0 and "could not start" in outside["output"]
    assert [t["score"] for t in outside["tests"]] == [0] * len(outside["tests"]) != []


def test_the_command_builds_a_bundle_gradescope_can_run(tmp_path, capsys):
    out = tmp_path / "autograder.zip"
    assert main(["gradescope", "backprop", "--out", str(out), "--hidden-detail", "hidden"]) == 0
    assert "students upload toolbox.py, nn.py and backprop.ipynb" in capsys.readouterr().out
    with zipfile.ZipFile(out) as bundle:
        modes = {info.filename: info.external_attr >> 16 for info in bundle.infolist()}
        settings = json.loads(bundle.read("settings.json"))
        not_started = json.loads(bundle.read("not-started.json"))
    assert modes["setup.sh"] & 0o111 and modes["run_autograder"] & 0o111
    assert "course/source/backprop/toolbox.py" in modes  # the solution, closed to hand-ins
    assert settings["hidden_detail"] == "hidden" and settings["limits"]["memory_mb"] < 768
    assert format_problems(not_started) == [] and not_started["score"] == 0
    assert main(["gradescope", "nothing", "--out", str(tmp_path / "x.zip")]) == 1
    assert "no checks for the assignment 'nothing'" in capsys.readouterr().err


def imported_distributions(paths):
    """The installed distributions whose modules the files at `paths` import when loaded (imports
    inside functions are left out: those are of commands grading never runs)."""
    owners = packages_distributions()
    tops = {top for path in paths for top in imported_tops(path, inside_functions=False)}
    return {distribution for top in tops for distribution in owners.get(top, ())}


def test_the_pinned_packages_hold_all_that_grading_imports():
    paths = [here for _, here in course_files(COURSE_ROOT, "backprop") if here.suffix == ".py"]
    pinned = {line.split("==")[0].lower() for line in pinned_requirements().splitlines()}
    ours = {"backprop-course"}  # this checkout, which the bundle carries as source
    assert {name.lower() for name in imported_distributions(paths)} - ours <= pinned


def test_the_format_check_finds_what_gradescope_would_not_take():
    good = {"score": 1, "output": "", "stdout_visibility": "hidden", "extra_data": {"sandbox": "x"}}
    test = {"name": "a", "score": 1, "max_score": 1, "status": "passed", "output": ""}
    assert format_problems({**good, "tests": [{**test, "visibility": "visible"}]}) == []
    assert format_problems({**good, "tests": [{**test, "visibility": "students"}]}) != []
    assert format_problems({**good, "tests": [{**test, "visibility": "visible", "score": 0}]})
    assert format_problems({**good, "tests": [], "stdout_visibility": "visible"}) != []
    assert format_problems({**good, "tests": [], "points": 1}) != []
