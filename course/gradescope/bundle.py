"""What goes into the autograder bundle: Gradescope unpacks it into /autograder/source and runs its
setup.sh once, then run_autograder for every hand-in.

The bundle carries the grader as source (base/, grader/, the reference solution, the release and
nbgrader_config.py, under course/), the packages it needs pinned in requirements.txt, how to grade
in settings.json, and not-started.json: the results a student gets should the grader not start.
"""

import json
import os
import tempfile
import zipfile
from dataclasses import asdict
from pathlib import Path

from base.errors import CourseError
from base.nbgrader_settings import CONFIG_NAME
from course.gradescope.pins import pinned_requirements, python_version
from grader.gradescope.autograder import TELL, nothing_ran

SCRIPTS = Path(__file__).resolve().parent
PACKAGES = ("base", "grader", "toolbox_solution")  # what grading imports of ours
# what the bundle leaves out of them: comparing a class's hand-ins is no job for one container
NOT_GRADING = ("grader/similarity", "grader/outputs/similarity_page.py")
NOT_STARTED = f"The autograder could not start. {TELL}"


def course_files(root, assignment):
    """(path in the bundle, file here) for every file of the course that grading reads."""
    root = Path(root)
    found = [(f"course/{CONFIG_NAME}", root / CONFIG_NAME)]
    for package in PACKAGES:
        found += [
            (f"course/{path.relative_to(root).as_posix()}", path)
            for path in sorted((root / package).rglob("*"))
            if path.is_file()
            and "__pycache__" not in path.parts
            and not path.relative_to(root).as_posix().startswith(NOT_GRADING)
        ]
    source = root / "source" / assignment
    found += [
        (f"course/source/{assignment}/{p.name}", p)
        for p in sorted(source.glob("*.py"))
        if p.stem != assignment  # the notebook's pair: grading reads the release's notebook
    ]
    release = root / "release" / assignment
    found += [
        (f"course/release/{assignment}/{p.relative_to(release).as_posix()}", p)
        for p in sorted(release.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    ]
    return found


def bundle_texts(grading, hidden_detail):
    """The bundle's generated files, by name."""
    settings = {
        "assignment": grading.assignment.name,
        "limits": asdict(grading.limits),
        "sandbox": grading.sandbox,
        "allow_changed_code": grading.allow_changed_code,
        "hidden_detail": hidden_detail,
    }
    return {
        "settings.json": json.dumps(settings, indent=1) + "\n",
        "requirements.txt": pinned_requirements(),
        "python-version": python_version() + "\n",
        "not-started.json": json.dumps(nothing_ran(grading, NOT_STARTED), indent=1) + "\n",
    }


def build_bundle(root, grading, hidden_detail, out):
    """Write the bundle for `grading`'s assignment of the course in `root` to the zip `out`, in one
    step (a temporary file renamed), so a failed build leaves any older bundle as it was."""
    name = grading.assignment.name
    if not (Path(root) / "release" / name / f"{name}.ipynb").is_file():
        raise CourseError(
            f"release/{name}/ has no {name}.ipynb; run `course release {name}` before building "
            "the Gradescope bundle."
        )
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    os.close(descriptor)
    try:
        with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as bundle:
            for script in ("setup.sh", "run_autograder"):
                info = zipfile.ZipInfo(script, date_time=(2020, 1, 1, 0, 0, 0))
                info.external_attr = 0o100755 << 16  # executable once unpacked
                bundle.writestr(info, (SCRIPTS / script).read_bytes(), zipfile.ZIP_DEFLATED)
            for member, text in bundle_texts(grading, hidden_detail).items():
                bundle.writestr(member, text)
            for member, path in course_files(root, name):
                bundle.write(path, member)
        os.chmod(temporary, 0o644)
        os.replace(temporary, out)
    except BaseException:
        os.unlink(temporary)
        raise
    return out
