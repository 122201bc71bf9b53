"""The packages grading needs, pinned to the versions installed here, so the container grades with
what the instructor tested."""

import sys
from importlib.metadata import PackageNotFoundError, distribution

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from base.errors import CourseError

# what base/, grader/ and the reference solution import beyond the standard library
GRADER_NEEDS = ("numpy", "pytest", "tqdm", "jinja2", "traitlets")


def python_version():
    """The interpreter's major.minor: the container installs the same, for the same wheels."""
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def pinned_requirements(names=GRADER_NEEDS):
    """requirements.txt text: `name==version` for each of `names` and all they need, sorted."""
    pins, waiting = {}, list(names)
    while waiting:
        name = canonicalize_name(waiting.pop())
        if name in pins:
            continue
        try:
            found = distribution(name)
        except PackageNotFoundError:
            raise CourseError(
                f"{name} is not installed here, so its version cannot be pinned for the grader; "
                "install the course (pip install -e .) and build again."
            ) from None
        pins[name] = f"{found.metadata['Name']}=={found.version}"
        for text in found.requires or []:
            needed = Requirement(text)
            if needed.marker is None or needed.marker.evaluate({"extra": ""}):
                waiting.append(needed.name)
    return "".join(f"{pins[name]}\n" for name in sorted(pins))
