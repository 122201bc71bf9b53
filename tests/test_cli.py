"""The command line imports only the command it runs (some commands load nbgrader, which is
slow)."""

import os
import subprocess
import sys

import pytest

import course.grade  # noqa: F401  (so the test can replace its run)
from base.errors import CourseError
from base.paths import COURSE_ROOT
from course.cli import COMMANDS, build_parser, main


def imported_modules_after(code):
    script = f"import sys\n{code}\nprint(' '.join(sorted(sys.modules)))"
    return set(
        subprocess.run(
            [sys.executable, "-c", script], check=True, capture_output=True, text=True
        ).stdout.split()
    )


def test_a_command_imports_only_its_own_module():
    modules = imported_modules_after("from course.cli import build_parser\nbuild_parser('collect')")
    assert "course.collect" in modules
    assert not {"course.grade", "course.release", "course.demo", "course.validate"} & modules


def test_help_lists_every_command_with_its_summary():
    text = build_parser().format_help()
    for name in COMMANDS:
        assert name in text
    assert "Grade every hand-in" in text
    assert "Parse the command line" not in text  # the module's docstring is for developers
    assert "course release backprop; course collect" in " ".join(
        text.split()
    )  # the order of a term


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_explains_its_options(command, capsys):
    with pytest.raises(SystemExit) as stopped:
        main([command, "--help"])
    assert stopped.value.code == 0 and "--help" in capsys.readouterr().out


def test_reading_notebooks_does_not_compile_unused_schema_grammars():
    assert "lark" in imported_modules_after("import jupytext")  # what course/__init__.py prevents
    modules = imported_modules_after("import course, jupytext")
    assert "nbformat" in modules and "lark" not in modules


def test_grading_imports_neither_jupytext_nor_matplotlib():
    modules = imported_modules_after(
        "import course.class_grading, grader.cases, grader.assignments\n"
        "grader.cases.checks(grader.assignments.assignment_named('backprop'), 0)"
    )
    assert not {"jupytext", "nbformat", "matplotlib"} & modules


def test_course_grade_starts_its_workers_before_it_loads_numpy_and_the_checks(tmp_path):
    """They start on the core that loading leaves idle (see grader.first_workers)."""
    (tmp_path / "submitted").mkdir()
    loaded_at_start = imported_modules_after(
        "import course.grade\n"
        "from course.cli import main\n"
        "def starts(grading, count):\n"
        "    print(' '.join(sys.modules))\n"
        "    sys.exit(0)\n"
        "course.grade.start_workers = starts\n"
        f"main(['grade', 'backprop', '--submitted', {str(tmp_path / 'submitted')!r}])"
    )
    assert "grader.first_workers" in loaded_at_start
    assert not {"numpy", "grader.cases", "course.class_grading"} & loaded_at_start


def test_a_course_error_from_any_command_is_one_line_without_traceback(monkeypatch, capsys):
    def fails(args):
        raise CourseError("nbgrader_config.py does not exist; run this in the course root")

    monkeypatch.setattr("course.grade.run", fails)
    assert main(["grade", "backprop"]) == 1
    assert (
        capsys.readouterr().err
        == "course grade: error: nbgrader_config.py does not exist; run this in the course root\n"
    )


def test_assignments_are_folders_of_source_or_release_but_not_hidden_ones(tmp_path):
    from base.paths import known_assignments

    (tmp_path / "source" / "backprop").mkdir(parents=True)
    (tmp_path / "release" / "softmax").mkdir(parents=True)
    (
        tmp_path / "release" / ".backprop-new-1a2b"
    ).mkdir()  # what an interrupted `course release` leaves
    assert known_assignments(tmp_path) == ["backprop", "softmax"]


def test_relative_folders_outside_the_course_folder_are_pointed_out(tmp_path, monkeypatch, capsys):
    from base.paths import COURSE_ROOT

    monkeypatch.chdir(tmp_path)  # a TA running the command from another folder
    assert main(["grade", "backprop"]) == 1
    assert (
        f"submitted/ is not a folder (here: {tmp_path / 'submitted'}; the course folder is "
        f"{COURSE_ROOT})" in capsys.readouterr().err
    )
    monkeypatch.chdir(COURSE_ROOT)
    assert main(["grade", "backprop", "--submitted", str(tmp_path / "none")]) == 1
    assert "(here:" not in capsys.readouterr().err


@pytest.mark.parametrize("package", ["course.cli", "grader"])
def test_the_graders_own_process_keeps_numpy_to_one_thread(package):
    """BLAS threads spin after every call, on the cores the sandboxed workers need."""
    import os

    if not os.path.isdir("/proc/self/task") or (os.cpu_count() or 1) < 2:
        pytest.skip("needs Linux's /proc and two cores to tell one thread from several")
    script = (
        f"import {package}, numpy, os\n"
        "a = numpy.ones((300, 300))\n"
        "a @ a\n"
        "print(len(os.listdir('/proc/self/task')))"
    )
    variables = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
    env = {name: value for name, value in os.environ.items() if name not in variables}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["1"]


def test_running_a_command_reads_no_other_commands_summary(monkeypatch):
    """Each summary costs a parse of its module's source: only `course --help` shows them."""

    def read(module_name):
        raise AssertionError(f"read the summary of {module_name}")

    monkeypatch.setattr("course.cli.summary", read)
    parser = build_parser("grade")
    assert parser.parse_args(["grade", "backprop"]).run is course.grade.run


def test_the_program_ends_at_once_yet_after_its_threads_exit_handlers_and_output(tmp_path):
    """`exit_now` skips Python's teardown, and nothing else an ordinary exit would do."""
    script = f"""
import atexit, sys, threading, time
from course.cli import exit_now
atexit.register(lambda: open({str(tmp_path / "handler")!r}, "w").close())
threading.Thread(target=lambda: (time.sleep(0.2), open({str(tmp_path / "thread")!r}, "w"))).start()
sys.stdout.write("printed, no newline")
exit_now(3)
raise AssertionError("exit_now returned")
"""
    ended = subprocess.run(
        [sys.executable, "-c", script], cwd=COURSE_ROOT, capture_output=True, text=True
    )
    assert (ended.returncode, ended.stdout, ended.stderr) == (3, "printed, no newline", "")
    assert (tmp_path / "handler").exists() and (tmp_path / "thread").exists()


FULL_DISK = """
import errno, io, sys
class Full(io.RawIOBase):
    def writable(self):
        return True
    def write(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")
sys.stdout = io.TextIOWrapper(io.BufferedWriter(Full()))
"""


@pytest.mark.parametrize("where, status", [("a full disk", 120), ("a closed stdout", 3)])
def test_the_program_says_when_its_output_was_cut_short(where, status):
    """Output lost at the end fails the run, as a plain Python exit would; no output is no loss."""
    script = (
        (FULL_DISK if where == "a full disk" else "")
        + "import sys\nfrom course.cli import exit_now\n"
        + "if sys.stdout:\n    sys.stdout.write('buffered, not yet written')\nexit_now(3)\n"
    )
    ended = subprocess.run(
        [sys.executable, "-c", script],
        cwd=COURSE_ROOT,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=(lambda: os.close(1)) if where == "a closed stdout" else None,
    )
    assert ended.returncode == status, ended.stderr
    assert ("could not write all of the output" in ended.stderr) == (status == 120)
