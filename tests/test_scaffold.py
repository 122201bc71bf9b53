"""The promises a newcomer relies on: one dependency list in two formats, two commands, a CLI."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from base.paths import COURSE_ROOT

CONDA_ONLY = {"python", "pip"}


def pinned(requirements):
    """{normalised name: version specifier} for PEP 508 style requirement strings."""
    parsed = [Requirement(text) for text in requirements]
    return {canonicalize_name(r.name): r.specifier for r in parsed}


def pyproject():
    return tomllib.loads((COURSE_ROOT / "pyproject.toml").read_text())


def conda_dependencies():
    listed = yaml.safe_load((COURSE_ROOT / "environment.yml").read_text())["dependencies"]
    return [entry for entry in listed if isinstance(entry, str)]


def test_pyproject_and_environment_list_the_same_dependencies():
    conda = [
        entry for entry in conda_dependencies() if re.split(r"[=<>!~ ]", entry)[0] not in CONDA_ONLY
    ]
    assert pinned(conda) == pinned(pyproject()["project"]["dependencies"]), (
        "environment.yml and pyproject.toml must list the same packages with the same version "
        "specifiers"
    )


def test_environment_python_satisfies_requires_python():
    python = next(entry for entry in conda_dependencies() if re.match(r"python\b", entry))
    version = python.split("=")[-1]
    assert version in SpecifierSet(pyproject()["project"]["requires-python"])


def test_readme_quick_start_is_exactly_make_demo_and_make_test():
    readme = (COURSE_ROOT / "README.md").read_text()
    section = re.search(r"^## Quick start\n(.*?)(?=^## )", readme, flags=re.S | re.M)
    assert section, "README.md needs a '## Quick start' section"
    blocks = re.findall(r"^```[^\n]*\n(.*?)^```", section.group(1), flags=re.S | re.M)
    commands = [line.strip() for block in blocks for line in block.splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]


def test_readme_front_page_fits_on_a_screen_and_its_links_lead_somewhere():
    readme = (COURSE_ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 45
    links = re.findall(r"\]\(([^)]+)\)", readme)
    assert {"docs/students.md", "docs/instructors.md", "docs/maintainers.md"} <= set(links)
    assert all((COURSE_ROOT / link).is_file() for link in links)


def test_ci_runs_make_test():
    lines = [line.strip() for line in (COURSE_ROOT / ".ci" / "run").read_text().splitlines()]
    assert "make test" in lines


def console_script():
    beside_python = Path(sys.executable).parent / "course"
    return str(beside_python) if beside_python.exists() else shutil.which("course")


@pytest.mark.parametrize(
    "command",
    [
        pytest.param([sys.executable, "-m", "course"], id="python -m course"),
        pytest.param(None, id="course"),
    ],
)
def test_command_line_help_lists_the_commands(command):
    command = command or [console_script()]
    assert command[0], "the `course` console script is not installed; run `pip install -e .`"
    result = subprocess.run(
        command + ["--help"], capture_output=True, text=True, cwd=COURSE_ROOT, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "usage: course" in result.stdout and "demo" in result.stdout
