"""Grade the hand-in in AUTOGRADER_ROOT/submission and write AUTOGRADER_ROOT/results/results.json,
always: a hand-in that cannot be graded, and a failure of the grader itself, still get a
results.json that scores what could not run 0 and says what to do.

Run by the bundle's run_autograder as `python -m grader.gradescope.autograder`. It grades with
`grader.run.grade_class` (one hand-in: `grade_submission` in a grading process of its own, so a
worker that takes that process down costs a row, not the results), in the sandbox GRADER_SANDBOX
asks for (else what the bundle was built with). Only this process writes the results.
"""

import json
import os
import sys
import tempfile
import traceback
from pathlib import Path

from base.paths import COURSE_ROOT
from grader.assignments import assignment_named
from grader.gradescope.handin import find_handin
from grader.grading import Grading
from grader.outputs.gradebook import gradescope_json, write_atomically
from grader.run import grade_class, not_graded
from grader.sandbox import Limits
from grader.submission import Unusable

STUDENT = "submission"  # the one hand-in of a run; Gradescope knows whose it is
SANDBOXES = ("auto", "bubblewrap", "process")
TELL = "Your files were not graded; please tell the instructor (the autograder's log says more)."


def root_folder():
    return Path(os.environ.get("AUTOGRADER_ROOT") or "/autograder")


def read_grading(source):
    """The Grading and the hidden-case visibility that `course gradescope` put in settings.json."""
    settings = json.loads((source / "settings.json").read_text(encoding="utf-8"))
    sandbox = os.environ.get("GRADER_SANDBOX") or settings["sandbox"]
    if sandbox not in SANDBOXES:
        raise ValueError(f"GRADER_SANDBOX={sandbox} is none of {', '.join(SANDBOXES)}")
    grading = Grading(
        assignment_named(settings["assignment"], COURSE_ROOT),
        Limits(**settings["limits"]),
        sandbox,
        settings["allow_changed_code"],
    )
    return grading, settings["hidden_detail"]


def grade_upload(upload, grading):
    """The SubmissionResult of the hand-in found in `upload`."""
    with tempfile.TemporaryDirectory(prefix="upload-") as unpacked:
        try:
            folder = find_handin(
                upload,
                grading.assignment.files,
                Path(unpacked) / grading.assignment.name,
                grading.limits.source_kb,
            )
        except Unusable as error:
            return not_graded(STUDENT, grading, str(error), error.status)
        return grade_class([(STUDENT, folder)], grading, jobs=1, progress=False)[0]


NOTHING_RAN = "none: the grader failed before student code ran"


def failed(error, grading):
    """results.json for a failure of the grader itself: every check 0 where the checks are known."""
    message = f"The autograder itself failed ({type(error).__name__}: {error}). {TELL}"
    try:
        return nothing_ran(grading, message)
    except Exception:  # the checks themselves cannot be built: a document without tests
        return {
            "score": 0,
            "output": message,
            "tests": [],
            "extra_data": {"status": "grader error", "sandbox": NOTHING_RAN},
        }


def nothing_ran(grading, message):
    """results.json of a hand-in none of whose checks ran, each scored 0 with `message`."""
    document = gradescope_json(not_graded(STUDENT, grading, message, sandbox=NOTHING_RAN))
    document["stdout_visibility"] = "hidden"
    return document


def results_document(root):
    grading = None
    try:
        grading, hidden_detail = read_grading(root / "source")
        document = gradescope_json(grade_upload(root / "submission", grading), hidden_detail)
    except Exception as error:
        traceback.print_exc()
        document = failed(error, grading)
    document["stdout_visibility"] = "hidden"
    return document


def main():
    root = root_folder()
    document = results_document(root)
    write_atomically(root / "results" / "results.json", json.dumps(document, indent=1))
    print(f"{document['output']}\nsandbox: {document['extra_data']['sandbox']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
