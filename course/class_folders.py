"""What the commands that read a class's hand-ins and write beside them (`course grade`,
`course similarity`) share: their folder options, and the refusals checked before anything is read
or written."""

from pathlib import Path

from base.paths import COURSE_ROOT, known_assignments, outside_course


def add_class_arguments(parser, out_help="output folder (default autograded/)"):
    """The assignment, --submitted and --out."""
    parser.add_argument("assignment", help="assignment name, e.g. backprop")
    parser.add_argument(
        "--submitted",
        type=Path,
        default=Path("submitted"),
        help="folder of <student_id>/<assignment>/ hand-ins (default submitted/)",
    )
    parser.add_argument("--out", type=Path, default=Path("autograded"), help=out_help)


def assignment_refusal(assignment, consequence, root=COURSE_ROOT):
    """Why `assignment` is not one of the course's in `root`, or None; `consequence` says what was
    left undone."""
    known = known_assignments(root)
    if assignment in known:
        return None
    return (
        f"there is no assignment {assignment!r} in source/ or release/ (there is: "
        f"{', '.join(known)}); {consequence}"
    )


def output_refusal(out, submitted):
    """Why `out` cannot take what a command writes about the hand-ins in `submitted`, or None."""
    if out.exists() and not out.is_dir():
        return f"--out {out} is a file; pass a folder for the results."
    resolved_out, resolved_submitted = out.resolve(), submitted.resolve()
    if (
        resolved_out == resolved_submitted
        or resolved_submitted in resolved_out.parents
        or resolved_out in resolved_submitted.parents
    ):
        return (
            f"--out {out} and --submitted {submitted} overlap: results would be written among the "
            "hand-ins (or hand-ins read from the results); pass a separate folder for each."
        )
    return None


def handins_refusal(assignment, submitted, submissions, one_handin_hint=""):
    """Why `submitted` holds no class of hand-ins of `assignment` ([(student, folder)] found in
    it), or None; `one_handin_hint` ends the message when it looks like one student's folder."""
    if not submitted.is_dir():
        return (
            f"{submitted}/ is not a folder{outside_course(submitted)}; put hand-ins in "
            f"{submitted}/<student_id>/{assignment}/ (course collect does this) or pass "
            "--submitted DIR."
        )
    if not submissions:
        return f"no hand-ins in {submitted}/: expected {submitted}/<student_id>/{assignment}/."
    if (submitted / assignment).is_dir() and not any(folder.is_dir() for _, folder in submissions):
        return (
            f"{submitted}/ looks like one student's folder (it holds {assignment}/, no student "
            f"folder does); pass the folder holding every student's, e.g. --submitted "
            f"{submitted.parent}{one_handin_hint}"
        )
    return None
