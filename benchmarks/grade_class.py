"""How fast `course grade` grades large classes of distinct hand-ins, each as one whole process.

Classes of 300 and 1000 hand-ins (course.sample_class with distinct=True: the solution, the stubs
and one-mistake variants, no two files alike, so nothing can be served from a cache) are graded
by the real command line in a subprocess, measured by benchmarks/measure.py: wall seconds, CPU
seconds per hand-in over the whole process tree (the sandboxed workers included) and peak
memory. Every run writes to a fresh folder and must grade every hand-in. Target from the issue:
1000 hand-ins in under 120 s on 2 cores.

With --compare OTHER_CHECKOUT, that checkout's `course grade` (its .venv/bin/python -m course,
run from it) grades the same classes too, interleaved with this one's (A B A B ...), --runs times
each; the wall ratios other/this say which engine is faster.

    .venv/bin/python benchmarks/grade_class.py [--counts 300 1000] [--jobs N] [--runs N]
        [--compare OTHER_CHECKOUT]
"""

import argparse
import csv
import os
import statistics
import sys
import tempfile
from pathlib import Path

from measure import accounting, measure

from base.paths import COURSE_ROOT
from course.sample_class import make_sample_class

TARGET_COUNT, TARGET_SECONDS, TARGET_CORES = 1000, 120.0, 2


def course_grade(python, submitted, out, jobs):
    """The `course grade` command run by `python`, never into a gradebook."""
    return [
        *(str(python), "-m", "course", "grade", "backprop", "--no-nbgrader-gradebook"),
        *(f"--submitted={submitted}", f"--out={out}", f"--jobs={jobs}"),
    ]


def grade(checkout, submitted, out, jobs, roster):
    """One measured `course grade` of the class by `checkout` (its folder and Python), checked to
    have graded every hand-in."""
    folder, python = checkout
    measured = measure(course_grade(python, submitted, out, jobs), cwd=folder).check()
    with open(out / "grades.csv", newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    ungraded = [
        f"{row['student_id']}: {row['status']}" for row in rows if row["status"] != "graded"
    ]
    if len(rows) != len(roster) or ungraded:
        sys.exit(
            f"{folder}'s course grade wrote {len(rows)} rows for {len(roster)} hand-ins, "
            f"{len(ungraded)} not graded ({'; '.join(ungraded[:3])}); see {out}/grades.csv."
        )
    uneven = unevenly_scored(rows, roster)
    if uneven:
        print(f"  WARNING: hand-ins of one kind scored differently ({uneven}): a check timed out")
        print("  or failed under load; see the feedback in", out)
    return measured


def unevenly_scored(rows, roster):
    """The kinds whose hand-ins got different scores (all share the run's seed), as text."""
    scores = {}
    for row in rows:
        scores.setdefault(roster[row["student_id"]], set()).add(row["score"])
    return "; ".join(f"{kind}: {sorted(s)}" for kind, s in scores.items() if len(s) > 1)


def one_count(count, checkouts, args, scratch):
    """Grade a class of `count` hand-ins --runs times with each checkout, interleaved;
    {label: [Measurement per run]}."""
    submitted = Path(scratch) / f"class-{count}"
    roster = make_sample_class(submitted, count=count, distinct=True)
    load = os.getloadavg()
    print(f"\n{count} hand-ins, load average before: {fmt(load)}")
    runs = {label: [] for label in checkouts}
    for run in range(1, args.runs + 1):
        for label, checkout in checkouts.items():
            out = Path(scratch) / f"out-{count}-{label}-{run}"
            measured = grade(checkout, submitted, out, args.jobs, roster)
            runs[label].append(measured)
            print(f"  run {run} {label:5}: {line(measured, count)}")
    return runs


def line(measured, count):
    peak = "?" if measured.peak_mb is None else f"{measured.peak_mb:.0f}"
    return (
        f"{measured.wall:7.1f} s wall, {measured.cpu / count:.3f} s CPU per hand-in "
        f"({measured.cpu:.1f} s), {count / measured.wall:.1f} hand-ins/s, peak {peak} MB"
    )


def summarise(count, runs, checkouts):
    """Medians per checkout and, with two checkouts, the wall ratios other/this per pair."""
    for label in checkouts:
        walls = [m.wall for m in runs[label]]
        cpu = statistics.median(m.cpu / count for m in runs[label])
        print(
            f"  {label:5} wall min {min(walls):.1f} s, median {statistics.median(walls):.1f} s; "
            f"CPU per hand-in median {cpu:.3f} s"
        )
    if "other" in checkouts:
        ratios = [o.wall / t.wall for t, o in zip(runs["this"], runs["other"])]
        print(
            f"  wall ratio other/this: min {min(ratios):.2f}, median "
            f"{statistics.median(ratios):.2f} (above 1: this checkout is faster)"
        )


def target_line(results, jobs):
    """The issue's target, judged on this checkout's median wall time for 1000 hand-ins."""
    goal = f"{TARGET_COUNT} hand-ins in under {TARGET_SECONDS:g} s on {TARGET_CORES} cores"
    if TARGET_COUNT not in results:
        return f"{goal}: not measured (add {TARGET_COUNT} to --counts)"
    wall = statistics.median(m.wall for m in results[TARGET_COUNT])
    verdict = "met" if wall < TARGET_SECONDS else "NOT met"
    setting = f"{jobs} job(s) on {os.cpu_count()} core(s)"
    if os.cpu_count() != TARGET_CORES:
        setting += f", not the target's {TARGET_CORES}"
    return f"{goal}: {verdict} ({wall:.1f} s median, {setting})"


def fmt(load):
    return " ".join(f"{value:.2f}" for value in load)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[300, 1000])
    parser.add_argument("--jobs", type=int, default=os.cpu_count())
    parser.add_argument("--runs", type=int, default=1, help="gradings of each class per checkout")
    parser.add_argument("--compare", metavar="OTHER_CHECKOUT", type=Path)
    args = parser.parse_args()
    checkouts = {"this": (COURSE_ROOT, sys.executable)}
    if args.compare:
        other = args.compare.resolve()
        if not (other / ".venv" / "bin" / "python").is_file():
            parser.error(f"{other} has no .venv/bin/python; run `make install` there first")
        checkouts["other"] = (other, other / ".venv" / "bin" / "python")
        print(f"this: {COURSE_ROOT}\nother: {other}")
    print(f"course grade, --jobs {args.jobs} on {os.cpu_count()} core(s). {accounting()}.")
    results = {}
    with tempfile.TemporaryDirectory(prefix="grade-bench-") as scratch:
        for count in args.counts:
            runs = one_count(count, checkouts, args, scratch)
            summarise(count, runs, checkouts)
            results[count] = runs["this"]
    print(f"\nload average after: {fmt(os.getloadavg())}")
    print(target_line(results, args.jobs))


if __name__ == "__main__":
    main()
