"""`course grade` against `nbgrader autograde` on the same class of distinct hand-ins, interleaved.

Both grade the same hand-ins, made distinct (course.sample_class with distinct=True: no two
files alike, so nothing can be served from a cache), in a scratch copy of the course. Each round
runs, in turn: `course grade` (only the graded checks, in sandboxed workers), `nbgrader
autograde` (each whole notebook in a fresh kernel, the ungraded training cell included), and
`nbgrader autograde` again on a copy of the class whose notebooks keep only the graded cells and
the code cells they need (benchmarks/graded_cells.py says by which rule), which is nbgrader on
the graded cells alone. Interleaving spreads a busy neighbour over all three. Every run writes
to fresh output folders (nbgrader: a fresh nbgrader-autograded/ and the gradebook as
generate_assignment left it) and is checked to have graded every hand-in. CPU and peak memory
are of each whole process tree (benchmarks/measure.py). Setting up (generate_assignment,
writing the class) is not timed. Target: course grade at least 40x faster.

    .venv/bin/python benchmarks/grade_vs_nbgrader.py [--students 20] [--runs 3]
"""

import argparse
import csv
import os
import re
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from graded_cells import cut, graded_sources  # noqa: E402
from measure import accounting, measure  # noqa: E402

from base.nbgrader_settings import load_config  # noqa: E402
from base.paths import COURSE_ROOT  # noqa: E402
from course.sample_class import MISTAKES, make_sample_class  # noqa: E402

TARGET = 40.0
ASSIGNMENT = "backprop"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
SIDES = ("course grade", "nbgrader autograde", "nbgrader, graded cells only")


def nbgrader_environment():
    """This environment's programs on PATH: nbgrader runs `alembic` to set up its database."""
    path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
    return {**os.environ, "PATH": path}


def set_up(root, students):
    """A scratch course in `root`: the assignment generated, `students` distinct hand-ins, and a
    copy of the fresh gradebook to start every nbgrader run from."""
    shutil.copy(COURSE_ROOT / "nbgrader_config.py", root)
    shutil.copytree(COURSE_ROOT / "source" / ASSIGNMENT, root / "source" / ASSIGNMENT)
    generate = [sys.executable, "-m", "nbgrader", "generate_assignment", ASSIGNMENT, "--force"]
    measure(generate, cwd=root, env=nbgrader_environment()).check()
    shutil.copy(root / "gradebook.db", root / "gradebook.fresh.db")
    return make_sample_class(
        root / "submitted",
        root / "source" / ASSIGNMENT,
        root / "release" / ASSIGNMENT,
        count=students,
        distinct=True,
    )


def graded_cells_only(root, lean):
    """A copy of the course at `root` in `lean` whose hand-ins' notebooks are cut to the graded
    cells and what they need; the code cells dropped, as (index, first line)."""
    shutil.copytree(root, lean)
    sources = graded_sources(lean / "source" / ASSIGNMENT / NOTEBOOK)
    dropped = [cut(path, sources) for path in sorted(lean.glob(f"submitted/*/*/{NOTEBOOK}"))]
    if any(cells != dropped[0] for cells in dropped):
        sys.exit("the hand-ins' notebooks lost different cells; they should all be the release's")
    return dropped[0]


def course_grade(root, out, students):
    """One `course grade` of the class (never into a checkout's gradebook), checked complete."""
    command = [
        *(sys.executable, "-m", "course", "grade", ASSIGNMENT, "--no-nbgrader-gradebook"),
        *(f"--submitted={root / 'submitted'}", f"--out={out}"),
    ]
    measured = measure(command, cwd=COURSE_ROOT).check()
    with open(out / "grades.csv", newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    if len(rows) != students or any(row["status"] != "graded" for row in rows):
        sys.exit(f"course grade graded {len(rows)} hand-ins of {students}; see {out}/grades.csv")
    return measured


def nbgrader_autograde(root, students):
    """One `nbgrader autograde` of the class from fresh outputs, checked complete; with the
    {student: score} its gradebook holds."""
    autograded = root / load_config(root).CourseDirectory.autograded_directory
    shutil.rmtree(autograded, ignore_errors=True)
    shutil.copy(root / "gradebook.fresh.db", root / "gradebook.db")
    command = [sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, "--create", "--force"]
    measured = measure(command, cwd=root, env=nbgrader_environment()).check()
    notebooks = len(list(autograded.glob(f"*/{ASSIGNMENT}/{NOTEBOOK}")))
    scores = nbgrader_scores(root)
    if notebooks != students or len(scores) != students:
        sys.exit(
            f"nbgrader autograde graded {notebooks} notebooks and recorded {len(scores)} scores "
            f"for {students} hand-ins; see its output:\n{measured.stdout[-3000:]}"
            f"{measured.stderr[-3000:]}"
        )
    return measured, scores


def nbgrader_scores(root):
    from nbgrader.api import Gradebook  # here: nbgrader takes a second to import

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        submissions = gradebook.find_assignment(ASSIGNMENT).submissions
        return {s.student.id: s.score for s in submissions if s.score is not None}


def one_round(number, root, lean, students):
    """The three commands in turn; (course, nbgrader, graded cells only) Measurements."""
    course = course_grade(root, root.parent / f"course-out-{number}", students)
    full, full_scores = nbgrader_autograde(root, students)
    cells_only, lean_scores = nbgrader_autograde(lean, students)
    if lean_scores != full_scores:
        changed = sorted(s for s in full_scores if lean_scores.get(s) != full_scores[s])
        sys.exit(
            f"nbgrader scored {', '.join(changed)} differently once the notebooks were cut to "
            "their graded cells: a dropped cell was needed. Make benchmarks/graded_cells.py "
            "keep it."
        )
    print(
        f"run {number}: course grade {course.wall:.2f} s (CPU {course.cpu:.2f}) | nbgrader "
        f"{full.wall:.2f} s (CPU {full.cpu:.2f}) | graded cells only {cells_only.wall:.2f} s (CPU "
        f"{cells_only.cpu:.2f}) | nbgrader / course {full.wall / course.wall:.1f}x, graded cells "
        f"only {cells_only.wall / course.wall:.1f}x"
    )
    return course, full, cells_only


def sandbox_of(measurement):
    found = re.search(r"sandbox: ([\w-]+)", measurement.stdout)
    return found.group(1) if found else "unknown"


def print_header(students, roster, dropped):
    print(
        f"{students} distinct hand-ins of {len(set(roster.values()))} kinds (cycling the solution, "
        f"the stubs and {len(MISTAKES)} one-mistake variants; no two files alike), "
        f"{os.cpu_count()} core(s). {accounting()}."
    )
    print(
        "  course grade: runs only the graded checks, in sandboxed workers, one hand-in per "
        "core at once."
    )
    print(
        "  nbgrader autograde: executes each student's whole notebook in a fresh kernel, one "
        "after another, the ungraded training cell included."
    )
    lines = "; ".join(f"{index}: {line[:24]}" for index, line in dropped)
    print(
        "  nbgrader, graded cells only: the same on notebooks without the code cells the graded "
        f"cells do not need ({len(dropped)} dropped: {lines})."
    )


def spread(values):
    return min(values), statistics.median(values)


def print_summary(rounds, load_before, load_after):
    runs = len(rounds)
    print(f"\n{'':28}  wall min  median   CPU min  median  peak MB")
    for side, measured in zip(SIDES, zip(*rounds)):
        walls, cpus = spread([m.wall for m in measured]), spread([m.cpu for m in measured])
        peak = max((m.peak_mb or 0) for m in measured)
        columns = f"{walls[0]:8.2f} {walls[1]:7.2f}  {cpus[0]:8.2f} {cpus[1]:7.2f}"
        print(f"{side:28}  {columns}  {peak:7.0f}")
    sandbox = sandbox_of(rounds[0][0])
    for what in ("wall", "cpu"):
        full = spread([getattr(n, what) / getattr(c, what) for c, n, _ in rounds])
        lean = spread([getattr(g, what) / getattr(c, what) for c, _, g in rounds])
        print(
            f"ratio to course grade ({what}): nbgrader min {full[0]:.1f}x, median {full[1]:.1f}x; "
            f"graded cells only min {lean[0]:.1f}x, median {lean[1]:.1f}x"
        )
    share = statistics.median(1 - g.wall / n.wall for _, n, g in rounds)
    print(f"the ungraded cells dropped took {share:.0%} of nbgrader's wall time (median)")
    print(f"course grade's sandbox: {sandbox}")
    print(f"load average (1, 5, 15 min) before: {fmt(load_before)}, after: {fmt(load_after)}")
    full = spread([n.wall / c.wall for c, n, _ in rounds])
    lean = spread([g.wall / c.wall for c, _, g in rounds])
    verdict = "met" if full[1] >= TARGET else "NOT met"
    pairs = f"{runs} pair{'s' if runs > 1 else ''}"
    print(
        f"\ncourse grade is {full[1]:.1f}x faster than nbgrader autograde (median of {pairs}; "
        f"min {full[0]:.1f}x) — target {TARGET:g}x: {verdict}; against nbgrader on the graded "
        f"cells alone: {lean[1]:.1f}x (median; min {lean[0]:.1f}x)"
    )


def fmt(load):
    return " ".join(f"{value:.2f}" for value in load)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3, help="rounds of the three commands")
    args = parser.parse_args()
    if args.students < 1 or args.runs < 1:
        parser.error("--students and --runs must be at least 1")
    with tempfile.TemporaryDirectory(prefix="grade-bench-") as scratch:
        root, lean = Path(scratch) / "course", Path(scratch) / "graded-cells-only"
        root.mkdir()
        roster = set_up(root, args.students)
        dropped = graded_cells_only(root, lean)
        print_header(args.students, roster, dropped)
        load_before = os.getloadavg()
        rounds = [one_round(n, root, lean, args.students) for n in range(1, args.runs + 1)]
        print_summary(rounds, load_before, os.getloadavg())


if __name__ == "__main__":
    main()
