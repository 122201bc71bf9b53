"""Grade every hand-in of an assignment in a sandbox: grades.csv, results.json and reports."""

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from base.paths import COURSE_ROOT, known_assignments, outside_course
from base.text import some_of, student_text
from course.demo_marker import MARKER, demo_students
from grader.cases import checks
from grader.grading import add_grading_options, grading_from
from grader.outputs import (
    NOT_WRITABLE,
    gradebook_conflict,
    gradebook_differences,
    id_problem,
    shown_id,
    stale_results,
    write_gradebook,
    write_grades_csv,
)
from grader.run import find_submissions, grade_class, not_graded
from grader.sandbox import cgroup, checks_cannot_start_processes, choose_sandbox, positive

TABLE_ROWS = 20


def add_arguments(parser):
    parser.add_argument("assignment", help="assignment name, e.g. backprop")
    parser.add_argument(
        "--submitted",
        type=Path,
        default=Path("submitted"),
        help="folder of <student_id>/<assignment>/ hand-ins (default submitted/)",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("autograded"), help="output folder (default autograded/)"
    )
    parser.add_argument(
        "--jobs",
        type=positive(int),
        default=os.cpu_count() or 1,
        help="hand-ins graded at once (default: one per core)",
    )
    add_grading_options(parser.add_argument)


def print_gradebook(results, grades_path):
    width = max([len(student_text(r.student_id)) for r in results[:TABLE_ROWS]] + [7])
    print(f"\n{'student':<{width}}  {'score':>9}  status")
    for result in results[:TABLE_ROWS]:
        print(
            f"{student_text(result.student_id):<{width}}  {result.score:>4g} / "
            f"{result.max_score:<2g}  {result.status}"
        )
    if len(results) > TABLE_ROWS:
        print(f"... and {len(results) - TABLE_ROWS} more in {grades_path}")


def print_kept_gradebook(grades, kept):
    """Say where the replaced grades.csv went, and which of its cells differ from the new one."""
    print(
        f"note: the {grades} replaced was not the one grading last wrote (edited by hand, or from "
        "an older "
        f"version of this kit), so it is kept in {kept}: copy any corrections from there."
    )
    differences = gradebook_differences(kept, grades)
    if differences is None:
        print(
            f"  (the two files could not be compared cell by cell: {kept} has no student_id "
            "column or cannot be read)"
        )
        return
    for student, column, was, now in differences[:TABLE_ROWS]:
        change = (
            "not in the new gradebook"
            if now is None
            else f"{column} was {student_text(was)!r} there, is {student_text(now)!r} now"
        )
        print(f"  {student_text(student)}: {change}")
    if len(differences) > TABLE_ROWS:
        print(f"  ... and {len(differences) - TABLE_ROWS} more differences")


def refusal(args, submissions):
    """Why this class cannot be graded as asked (a message), or None: checked before anything
    is written."""
    known = known_assignments()
    if args.assignment not in known:
        return (
            f"there is no assignment {args.assignment!r} in source/ or release/ (there is: "
            f"{', '.join(known)}); "
            "nothing was graded and the gradebook is unchanged."
        )
    if args.out.exists() and not args.out.is_dir():
        return f"--out {args.out} is a file; pass a folder for the results."
    out, submitted = args.out.resolve(), args.submitted.resolve()
    if out == submitted or submitted in out.parents or out in submitted.parents:
        return (
            f"--out {args.out} and --submitted {args.submitted} overlap: results would be written "
            "among the "
            "hand-ins (or hand-ins read from the results); pass a separate folder for each."
        )
    conflict = gradebook_conflict(args.out, args.assignment)
    if conflict:
        return f"{conflict}. Nothing was graded."
    if not args.submitted.is_dir():
        return (
            f"{args.submitted}/ is not a folder{outside_course(args.submitted)}; put hand-ins in "
            f"{args.submitted}/<student_id>/{args.assignment}/ (course collect does this) or pass "
            "--submitted DIR."
        )
    if not submissions:
        return (
            f"no hand-ins in {args.submitted}/: expected "
            f"{args.submitted}/<student_id>/{args.assignment}/."
        )
    if (args.submitted / args.assignment).is_dir() and not any(
        folder.is_dir() for _, folder in submissions
    ):
        return (
            f"{args.submitted}/ looks like one student's folder (it holds {args.assignment}/, no "
            "student folder does); "
            f"pass the folder holding every student's, e.g. --submitted {args.submitted.parent}, "
            "or grade one hand-in "
            f"with: pytest grader --submission {args.submitted / args.assignment}"
        )
    synthetic = demo_students(args.submitted)
    if synthetic and any(student not in synthetic for student, _ in submissions):
        return (
            f"{args.submitted}/ mixes the {len(synthetic)} synthetic students of `course demo` "
            "(listed in "
            f"{args.submitted / MARKER}) with real hand-ins; delete the demo's folders, or the "
            f"whole {args.submitted}/ "
            "and collect again, before grading."
        )
    try:
        # bubblewrap's trial run waits on a process: build meanwhile
        with ThreadPoolExecutor(max_workers=1) as pool:
            trial = pool.submit(choose_sandbox, args.sandbox)
            grading = grading_from(args, args.assignment, COURSE_ROOT)
            checks(grading.assignment)  # built once here, shared by every grading process
            trial.result()
        checks_cannot_start_processes()  # likewise tried once here
        cgroup.usable(grading.limits)
    except (RuntimeError, FileNotFoundError, ValueError) as error:
        return str(error)
    return None


def run(args):
    submissions = (
        find_submissions(args.submitted, args.assignment) if args.submitted.is_dir() else []
    )
    refused = refusal(args, submissions)
    if refused:
        print(f"error: {refused}", file=sys.stderr)
        return 1
    start = time.perf_counter()
    bad_ids = {}
    # checked before grading: such a student's row says why, the class goes on
    for student, _ in submissions:
        problem = id_problem(student)
        if problem:
            bad_ids[student] = (
                f"the student folder {student_text(shown_id(student))!r} in {args.submitted}/ was "
                "not graded: "
                f"{problem}. Rename the folder (keep the student's number) and grade again."
            )
    grading = grading_from(args, args.assignment, COURSE_ROOT)  # refusal() made it once already
    graded = grade_class([s for s in submissions if s[0] not in bad_ids], grading, jobs=args.jobs)
    by_student = {result.student_id: result for result in graded}
    results = [
        by_student.get(student) or not_graded(student, grading, bad_ids[student], NOT_WRITABLE)
        for student, _ in submissions
    ]
    seconds = time.perf_counter() - start
    results, grades, kept = write_gradebook(args.out, args.assignment, results)
    from grader.outputs.pages import write_pages  # loaded after grading: nothing before needs it

    paged, report = write_pages(args.out, args.assignment, results)
    if paged != results:  # a feedback page that could not be written is that student's row
        results = paged
        grades, _ = write_grades_csv(args.out, args.assignment, results)
    print_gradebook(results, grades)
    print(f"\nGraded {len(results)} hand-in(s) in {seconds:.1f} s; sandbox: {results[0].sandbox}.")
    print(f"Limits that held: {cgroup.describe(grading.limits)}.")
    account = choose_sandbox(args.sandbox).account
    if not results[0].sandbox.startswith("bubblewrap"):
        who, harm = (
            (account.name, "read what that user can (the solution, if it is readable to all)")
            if account
            else ("this user", "read the solution, write where you can and stop the grader")
        )
        print(
            f"warning: without bubblewrap, student code ran as {who}: it could {harm}. Install "
            "bubblewrap (apt install bubblewrap) before grading real hand-ins."
        )
    if os.geteuid() == 0 and not account and not checks_cannot_start_processes():
        print(
            "warning: graded as root on a machine where checks cannot be kept from starting "
            "processes (no seccomp), "
            "and the kernel ignores the process limit for root: a hand-in could start processes "
            "until the machine "
            f"runs out of memory (each may use {args.memory_mb} MB). Grade as an ordinary user."
        )
    changed = sum(result.status == "changed given code" for result in results)
    if changed:
        print(
            f"note: {changed} hand-in(s) changed the engine code outside the stubbed functions "
            "and got 0. If you "
            "changed that code after students downloaded the release, their files differ from it "
            "through no fault "
            "of theirs: grade again with --allow-changed-code (the sandbox still applies)."
        )
    stale = stale_results(args.out, args.assignment, results)
    if stale:
        print(
            f"note: {args.out}/ still holds results of {len(stale)} student(s) with no hand-in in "
            f"{args.submitted}/ "
            f"({some_of(map(student_text, stale))}), from an earlier run; they are not in "
            "grades.csv or the report. Move them away if they left the class."
        )
    if kept is not None:
        print_kept_gradebook(grades, kept)
    if bad_ids:
        print(
            f"note: {len(bad_ids)} student folder(s) could not be graded under their names, which "
            "their rows in "
            f"grades.csv explain: {some_of(student_text(shown_id(s)) for s in bad_ids)}. Rename "
            "them and grade again."
        )
    print(
        f"Gradebook: {grades}; per student: {args.out}/<student_id>/{args.assignment}/results.json"
    )
    print(f"Reports: {report} and {args.out}/<student_id>/{args.assignment}/feedback.html")
    return 1 if bad_ids else 0
