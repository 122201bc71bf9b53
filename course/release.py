"""Release an assignment: build release/NAME from source/NAME, check it, then swap it into place.

1. the notebook's jupytext pair is synced (the .py is the truth);
2. nbgrader's generate_assignment removes solutions and hidden tests from the notebook;
3. nbgrader's ClearSolutions replaces the solution regions of the .py helpers by stubs;
4. the release is refused unless no solution or hidden-test line is left in it, every
   graded check fails against the stubs (the first with NotImplementedError, after the
   cells before it ran cleanly) and the whole notebook passes against the solution.
Everything is built in a scratch folder; release/NAME changes only when all checks pass.
"""

import ast
import os
import shutil
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat

from base.errors import CourseError
from base.nbgrader_settings import load_config, student_files
from base.notebook import graded_cells, read_notebook
from base.paths import COURSE_ROOT
from course.checks import run_cells, up_to_last_check
from course.generate import ReleasedFile, build_release
from course.handin_script import SCRIPT_NAME, check_script
from course.leaks import find_leaks, source_fingerprints
from course.pairing import sync_pair
from course.strip import strip_solutions

CELL_TIMEOUT = 300


def add_arguments(parser):
    parser.add_argument("assignment", help="the assignment's folder name in source/, e.g. backprop")
    parser.add_argument(
        "--root",
        type=Path,
        default=COURSE_ROOT,
        help="the course root, holding nbgrader_config.py, source/ and release/ (default: this "
        "checkout)",
    )


def run(args):
    try:
        summary = release(args.assignment, args.root)
    except CourseError as error:
        print(f"error: {error}", file=sys.stderr)
        print("Nothing in release/ was changed.", file=sys.stderr)
        return 1
    print(summary)
    return 0


def release(name, root=COURSE_ROOT):
    """Release assignment `name` of the course in `root`; returns the summary to print."""
    root = Path(root).resolve()

    def show(path):
        path = Path(path)
        return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)

    config = load_config(root)
    source = root / "source" / name
    script = _check_sources(source, name, config, show)
    prints = source_fingerprints(source, script, config, show)  # also refuses malformed markers
    synced = sync_pair(script, show)
    notebook = read_notebook(script)
    try:
        checks = graded_cells(notebook, show(script))
    except ValueError as error:
        raise CourseError(str(error)) from None
    if not checks:
        raise CourseError(
            f"{show(script)} has no graded cells; mark the check cells as nbgrader 'Autograder "
            "tests' with a grade_id and points."
        )

    with (
        ThreadPoolExecutor(max_workers=1) as pool,
        tempfile.TemporaryDirectory(prefix="course-release-") as scratch,
    ):
        # The students' check script is made from the source; the notebook's last cell runs it.
        handin = _write_check_script(notebook, source, name, config, Path(scratch), show)
        # The solution run needs no release, so it goes on while the release is built.
        solution_runs = pool.submit(run_cells, notebook, source, CELL_TIMEOUT, handin.parent)
        built, written = build_release(notebook, source, name, config, scratch, show)
        shutil.copyfile(handin, built / handin.name)
        written.append(ReleasedFile(handin.name, "what grading refuses, and the public checks"))
        written.sort(key=lambda file: file.name)
        problems = [f"leak: {leak}" for leak in find_leaks(built, prints, f"release/{name}")]
        released = nbformat.read(built / f"{name}.ipynb", as_version=4)
        problems += _stub_problems(
            run_cells(up_to_last_check(released), built, CELL_TIMEOUT),
            f"release/{name}/{name}.ipynb",
        )
        problems += _solution_problems(solution_runs.result(), show(script))
        problems += _unreleased_files(root / "release" / name, built, show)
        if problems:
            raise CourseError(
                f"the release of {name} failed {len(problems)} check(s):\n  "
                + "\n  ".join(problems)
            )
        notes = _given_code_changes(
            root / "release" / name, built, student_files(config, name), show
        )
        _swap_into_place(built, root / "release" / name)
    return "\n".join([f"Notebook pair: {synced}.", _summary(name, written, checks), *notes])


def _write_check_script(notebook, source, name, config, scratch, show):
    """Write check_handin.py for the release of `name` into a folder of `scratch`; its path."""
    files = student_files(config, name)
    given = {
        file: strip_solutions((source / file).read_text(encoding="utf-8"), config, show(file))[0]
        for file in files
    }
    stub = config.ClearSolutions.code_stub["python"]
    path = scratch / "handin" / SCRIPT_NAME
    path.parent.mkdir()
    path.write_text(check_script(notebook, files, given, stub, config), encoding="utf-8")
    return path


def _unreleased_files(released, built, show):
    """Files in the current release that the new one would delete: put there by hand, so not ours to
    drop."""
    if not released.is_dir():
        return []
    made_by_tools = {
        "__pycache__",
        ".ipynb_checkpoints",
        ".DS_Store",
        "Thumbs.db",
    }  # Python, Jupyter, file browsers
    extra = [
        path
        for path in sorted(released.rglob("*"))
        if path.is_file()
        and not made_by_tools & set(path.relative_to(released).parts)
        and not (built / path.relative_to(released)).exists()
    ]
    return [
        f"{show(path)} is not made by the release (only what is in source/ is released), and "
        "releasing would "
        f"delete it: move it into {show(released.parent.parent / 'source' / released.name)}/ to "
        "release it, or out "
        "of release/"
        for path in extra
    ]


def _given_code_changes(released, built, file_names, show):
    """Notes on files students complete whose given code differs from the current release's:
    hand-ins
    made from the current one would be refused as 'changed given code'."""
    from base.handin import changed_definition  # the grader's own rule, loaded only here
    from grader.submission import code_stub

    notes = []
    for file_name in file_names:
        if not (released / file_name).is_file():
            continue
        try:
            changed = changed_definition(
                (built / file_name).read_text(encoding="utf-8"),  # graded against the new one
                ast.parse((released / file_name).read_text(encoding="utf-8")),
                code_stub(),
                [Path(name).stem for name in file_names],
            )
        except (
            SyntaxError,
            ValueError,
        ):  # the current release is not Python: anything may have changed
            changed = "module level"
        if changed is not None:
            notes.append(
                f"note: the given code of {file_name} differs from the previous "
                f"{show(released / file_name)} "
                f"({changed}): hand-ins made from the previous release will be refused as "
                "'changed given code'. "
                "Send students the new file, or grade with --allow-changed-code."
            )
    return notes


def _check_sources(source, name, config, show):
    """The notebook script, after making sure it and the files students complete all exist."""
    if name != Path(name).name or name.startswith("."):
        raise CourseError(
            f"{name!r} is not an assignment name; give the name of a folder in source/, such as "
            "backprop."
        )
    if not source.is_dir():
        found = (
            sorted(p.name for p in source.parent.iterdir() if p.is_dir())
            if source.parent.is_dir()
            else []
        )
        raise CourseError(
            f"{show(source)} does not exist; assignments in {show(source.parent)}: "
            f"{', '.join(found) or 'none'}."
        )
    script = source / f"{name}.py"
    if not script.is_file():
        raise CourseError(
            f"{show(script)} is missing: the assignment notebook, in jupytext percent format, is "
            "the source of the release."
        )
    for file_name in student_files(config, name):
        if not (source / file_name).is_file():
            raise CourseError(
                f"{show(source / file_name)} is missing: nbgrader_config.py lists it in "
                f"Autograde.exclude_overwriting['{name}'] as a file students complete. Restore it "
                "or update that list."
            )
    return script


def _stub_problems(runs, shown):
    """What is wrong with the release notebook's run against the stubs (nothing, when all is
    well)."""
    problems, seen_check = [], False
    for cell in runs:
        if cell.grade_id is None:
            if not seen_check and cell.unexpected_error:
                problems.append(
                    f"{shown} cell {cell.number} fails before the first check, against the stubs: "
                    f"{cell.error}. Students would be stuck before any check; make it work "
                    "without their code."
                )
            continue
        if cell.error is None:
            problems.append(
                f"check '{cell.grade_id}' ({shown} cell {cell.number}) passes against the stubs: "
                "it would give points for no work. Make it exercise the code students write."
            )
        elif not seen_check and not cell.error.startswith("NotImplementedError"):
            problems.append(
                f"the first check '{cell.grade_id}' ({shown} cell {cell.number}) should stop at a "
                f"stub with NotImplementedError, but raised {cell.error}."
            )
        seen_check = True
    return problems


def _solution_problems(runs, shown):
    return [
        f"{shown} cell {cell.number}{f' (check {cell.grade_id!r})' if cell.grade_id else ''} "
        f"fails against the solution: {cell.error}"
        for cell in runs
        if cell.unexpected_error
    ]


def _swap_into_place(built, target):
    """Replace `target` by a copy of `built`; the copy is made next to it so the swap is two
    renames."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-new-", dir=target.parent))
    try:
        shutil.copytree(built, staging, dirs_exist_ok=True)
        staging.chmod(0o755)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if not target.exists():
        os.rename(staging, target)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}-old-", dir=target.parent))
    os.rename(target, old)
    os.rename(staging, target)
    shutil.rmtree(old)


def _summary(name, written, checks):
    width = max(len(check.grade_id) for check in checks)
    lines = [f"Released source/{name} as release/{name}:"]
    lines += [
        f"  {file.name:<{max(len(f.name) for f in written)}}  {file.note}" for file in written
    ]
    lines.append("Checks (each fails against the stubs and passes against the solution):")
    lines += [f"  {check.grade_id:<{width}}  {check.points:g} point(s)" for check in checks]
    lines.append(f"  {'total':<{width}}  {sum(check.points for check in checks):g} points")
    lines.append("No line of a solution or hidden test appears in the release.")
    return "\n".join(lines)
