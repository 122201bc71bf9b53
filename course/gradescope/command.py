"""Build the Gradescope autograder bundle (autograder.zip) that grades each hand-in in a sandbox.

Upload the zip as the assignment's autograder ("Zip file upload", Ubuntu 22.04 base image).
Gradescope runs its setup.sh once, then its run_autograder for every hand-in, with the same
worker and judge as `course grade`; docs/gradescope.md says what students upload and see.
"""

from pathlib import Path

from base.errors import CourseError
from base.paths import COURSE_ROOT
from course.gradescope.bundle import build_bundle
from grader.grading import add_grading_options, grading_from
from grader.sandbox import Limits

# Gradescope's default container has about 768 MB for everything; a worker stays well inside it
CONTAINER_MEMORY_MB = 512


def add_arguments(parser):
    parser.add_argument("assignment", help="the assignment to grade, e.g. backprop")
    parser.add_argument(
        "--out", type=Path, default=Path("autograder.zip"), help="the bundle (default: %(default)s)"
    )
    parser.add_argument(
        "--hidden-detail",
        choices=("after_published", "hidden", "visible"),
        default="after_published",
        help="when students see how many hidden cases of a check failed (Gradescope's "
        "visibility; default: after_published, once grades are published)",
    )
    add_grading_options(parser.add_argument, limits=Limits(memory_mb=CONTAINER_MEMORY_MB))


def run(args):
    try:
        grading = grading_from(args, args.assignment, COURSE_ROOT)
    except ValueError as error:  # no grading for that assignment
        raise CourseError(str(error)) from None
    out = build_bundle(COURSE_ROOT, grading, args.hidden_detail, args.out)
    print(
        f"Built {out}: upload it as the autograder of {args.assignment} on Gradescope (Ubuntu "
        "22.04); students upload "
        f"{', '.join(grading.assignment.files)} and {grading.assignment.notebook.name}."
    )
    return 0
