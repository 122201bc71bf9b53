"""nbgrader's autograde keeps the student's toolbox.py and nn.py, thanks to the course's config,
and writes beside `course grade`'s results, not over them.

By default autograde copies every source file over the student's, which would
grade the solution instead of the student's engine. The second case removes
the setting from a copy of the config and shows the overwrite happening, so
the first case cannot pass by accident.
"""

import re
import shutil

import pytest
from handins import FILES
from nbgrader_commands import nbgrader

from base.paths import COURSE_ROOT
from course.sample_class import make_sample_class

CONFIG = "nbgrader_config.py"
IPC = "--KernelManager.transport=ipc"
SETTING = re.compile(r"^c\.Autograde\.exclude_overwriting\b.*$", re.M)


@pytest.fixture(scope="module")
def generated_course(tmp_path_factory):
    """A copy of the course root after nbgrader's generate_assignment, with one student who handed
    in the stubs."""
    root = tmp_path_factory.mktemp("course")
    shutil.copy(COURSE_ROOT / CONFIG, root / CONFIG)
    shutil.copytree(COURSE_ROOT / "source" / "backprop", root / "source" / "backprop")
    nbgrader(root, "generate_assignment", "backprop", "--force")
    roster = make_sample_class(
        root / "submitted",
        source_dir=root / "source" / "backprop",
        release_dir=root / "release" / "backprop",
        count=2,
    )
    for student, kind in roster.items():
        if kind != "stubs":
            shutil.rmtree(root / "submitted" / student)
    [student] = [s for s, kind in roster.items() if kind == "stubs"]
    return root, student


@pytest.mark.parametrize("keep_setting", [True, False], ids=["course config", "setting removed"])
def test_autograde_grades_the_students_engine_not_the_solution(
    generated_course, tmp_path, keep_setting
):
    template, student = generated_course
    root = tmp_path / "course"
    shutil.copytree(template, root)
    config = (root / CONFIG).read_text()
    assert len(SETTING.findall(config)) == 1, (
        f"{CONFIG} should set Autograde.exclude_overwriting once"
    )
    if not keep_setting:
        (root / CONFIG).write_text(SETTING.sub("", config))

    # what course grade left for this student: nbgrader's autograde --force must not delete it
    ours = root / "autograded" / student / "backprop" / "results.json"
    ours.parent.mkdir(parents=True)
    ours.write_text('{"score": 0}')

    # the kernel on a Unix socket, not a TCP port another test process might take first
    kernel = f"--KernelManager.ip={tmp_path / 'kernel'}"
    nbgrader(root, "autograde", "backprop", "--create", "--force", IPC, kernel)

    assert ours.read_text() == '{"score": 0}'
    for name in FILES:
        graded = (root / "nbgrader-autograded" / student / "backprop" / name).read_text()
        handed_in = (root / "submitted" / student / "backprop" / name).read_text()
        solution = (root / "source" / "backprop" / name).read_text()
        assert handed_in != solution
        assert graded == (handed_in if keep_setting else solution)
