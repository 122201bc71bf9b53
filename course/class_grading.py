"""Grade a class as `course grade` asks: refuse what cannot be graded, grade the rest in the
sandbox, write grades.csv, results.json and the reports, and say what happened.

`course.grade` imports this module only once the grading slots' first workers are starting: it
loads numpy and the checks meanwhile, on the other core.
"""

import os
import sys
import time

from base.nbgrader_settings import gradebook_file, load_config
from base.text import some_of, student_text
from course.class_folders import assignment_refusal, handins_refusal, output_refusal
from course.demo_marker import MARKER, demo_students
from course.late import deadline, penalty_plugin, with_lateness
from course.record_gradebook import record_in_gradebook
from grader.checking import prepare
from grader.first_workers import close_all, ready_workers
from grader.grading import grading_from
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
from grader.run import grade_class, not_graded
from grader.sandbox import cgroup, checks_cannot_start_processes, choose_sandbox
from grader.sandbox.account import refuse_readable
from grader.submission import find_submissions

TABLE_ROWS = 20


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
    refused = assignment_refusal(
        args.assignment, "nothing was graded and the gradebook is unchanged.", args.root
    ) or output_refusal(args.out, args.submitted)
    if refused:
        return refused
    conflict = gradebook_conflict(args.out, args.assignment)
    if conflict:
        return f"{conflict}. Nothing was graded."
    refused = handins_refusal(
        args.assignment,
        args.submitted,
        submissions,
        ", or grade one hand-in with: pytest grader --submission "
        f"{args.submitted / args.assignment}",
    )
    if refused:
        return refused
    synthetic = demo_students(args.submitted)
    if synthetic and any(student not in synthetic for student, _ in submissions):
        return (
            f"{args.submitted}/ mixes the {len(synthetic)} synthetic students of `course demo` "
            "(listed in "
            f"{args.submitted / MARKER}) with real hand-ins; delete the demo's folders, or the "
            f"whole {args.submitted}/ "
            "and collect again, before grading."
        )
    return None


def ready_to_grade(args, grading=None, workers=()):
    """The Grading, with the checks built, and the grading slots' first workers of those given
    (`course.grade.start_early`); raises what makes the class ungradable as asked, having stopped
    them. Without a `grading` it is built here, and raises what stopped it there."""
    try:
        grading = grading or grading_from(args, args.assignment, args.root)
        prepare(grading)  # built once here, shared by every grading process
        workers = ready_workers(grading, workers)
        account = choose_sandbox(grading.sandbox).account
        if account is not None:  # outside bubblewrap, student code could read what it may
            gradebook = gradebook_file(load_config(args.root))
            places = (args.submitted, args.out, *([gradebook] if gradebook else []))
            found = [path for path in places if path.exists()]
            refuse_readable(account, found, "classmates' hand-ins or grades")
        checks_cannot_start_processes()  # likewise tried once here
        cgroup.usable(grading.limits)
    except BaseException:
        close_all(workers)
        raise
    return grading, workers


def grade_and_report(args, grading, workers):
    """`course grade`, from the Grading and the workers `course.grade.start_early` made (None and
    none where it could not): its exit status."""
    submissions = (
        find_submissions(args.submitted, args.assignment) if args.submitted.is_dir() else []
    )
    refused = refusal(args, submissions)
    if not refused:
        try:
            grading, workers = ready_to_grade(args, grading, workers)
        except (RuntimeError, FileNotFoundError, ValueError) as error:
            refused, workers = str(error), []  # stopped already
    if refused:
        close_all(workers)
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
    graded = grade_class(
        [s for s in submissions if s[0] not in bad_ids], grading, args.jobs, workers=workers
    )
    by_student = {result.student_id: result for result in graded}
    results = [
        by_student.get(student) or not_graded(student, grading, bad_ids[student], NOT_WRITABLE)
        for student, _ in submissions
    ]
    seconds = time.perf_counter() - start
    config = load_config(args.root)
    results, late_problems = with_lateness(
        results,
        dict(submissions),
        deadline(config, args.assignment),
        lambda: penalty_plugin(config, args.root),
    )
    results, grades, kept = write_gradebook(args.out, args.assignment, results)
    # loaded after grading: nothing before needs them
    from grader.outputs.exchange_feedback import write_exchange_feedback
    from grader.outputs.pages import write_pages

    paged, report = write_pages(args.out, args.assignment, results)
    paged, exchanged = write_exchange_feedback(
        config, args.assignment, paged, dict(submissions), grading.assignment.notebook.name
    )
    if paged != results:  # a feedback page that could not be written is that student's row
        results = paged
        grades, _ = write_grades_csv(args.out, args.assignment, results)
    recorded = record_in_gradebook(config, args, grading.assignment, results, dict(submissions))
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
    for student, problem in late_problems:
        print(f"note: {student_text(student)}: {problem}.")
    print(
        f"Gradebook: {grades}; per student: {args.out}/<student_id>/{args.assignment}/results.json"
    )
    print(f"Reports: {report} and {args.out}/<student_id>/{args.assignment}/feedback.html")
    if exchanged:
        print(
            f"Feedback of {len(exchanged)} hand-in(s) from nbgrader's exchange is ready: "
            f"`nbgrader release_feedback {args.assignment}` hands it to the students."
        )
    return 1 if bad_ids or recorded is False else 0
