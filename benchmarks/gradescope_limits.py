"""What grading one hand-in with the Gradescope bundle costs, against Gradescope's default
container: about 768 MB of memory, half a CPU and 10 minutes.

Builds the bundle, installs it in a temporary root as run on Gradescope (reusing this machine's
packages), and runs run_autograder on the solution, the stubs and a hand-in whose every backward
hangs, in bubblewrap and in the fallback. Memory is the peak, over the run, of the proportional
set size (PSS: shared pages split between the processes sharing them) summed over run_autograder
and all its descendants, sampled every 20 ms; CPU is their user and system time (the larger of
what was waited for and what the samples saw: a process killed inside bubblewrap's namespace is
never waited for by us). Run as root (as Gradescope runs it):

    .venv/bin/python benchmarks/gradescope_limits.py
"""

import os
import resource
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

from base.paths import COURSE_ROOT
from course.gradescope.bundle import build_bundle
from course.gradescope.command import CONTAINER_MEMORY_MB
from course.gradescope.trial import install, start_grading
from course.sample_class import stubs
from grader.assignments import assignment_named
from grader.grading import Grading
from grader.sandbox import Limits, choose_sandbox

GRADESCOPE = {"memory_mb": 768, "cpus": 0.5, "seconds": 600}
TICKS = os.sysconf("SC_CLK_TCK")
SYSTEM_PYTHON = Path(f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}")


def descendants(pid):
    """`pid` and every process below it, from /proc."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, waiting = [], [pid]
    while waiting:
        found.append(waiting.pop())
        waiting += parents.get(found[-1], [])
    return found


def cpu_seconds(pids, seen):
    """Record in `seen` each process's CPU seconds so far (user and system, from /proc)."""
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seen[pid] = max(seen.get(pid, 0), (int(fields[11]) + int(fields[12])) / TICKS)


def pss_mb(pids):
    total = 0
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:  # ended meanwhile
            continue
        total += next((int(line.split()[1]) for line in text.splitlines() if line[:4] == "Pss:"), 0)
    return total / 1024


def measure(root, upload, sandbox):
    """(peak MB, CPU seconds, wall seconds, score) of one run_autograder."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    process = start_grading(root, upload, sandbox)
    peak, seen = [0.0], {}

    def sample():
        while process.poll() is None:
            pids = descendants(process.pid)
            peak[0] = max(peak[0], pss_mb(pids))
            cpu_seconds(pids, seen)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    output = process.communicate()[0].decode(errors="replace")
    wall = time.perf_counter() - start
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    waited = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    cpu = max(waited, sum(seen.values()))
    return peak[0], cpu, wall, output.splitlines()[0] if output else "(no output)"


def main():
    assignment = assignment_named("backprop")
    solution = {
        name: (COURSE_ROOT / "source" / "backprop" / name).read_text() for name in assignment.files
    }
    stubbed = stubs(solution)
    hanging = {
        name: text.replace("raise NotImplementedError()", "while True: pass")
        for name, text in stubbed.items()
    }
    uploads = {"solution": solution, "stubs": stubbed, "every backward hangs": hanging}
    python = SYSTEM_PYTHON if SYSTEM_PYTHON.is_file() else Path(sys.executable)
    grading = Grading(assignment, Limits(memory_mb=CONTAINER_MEMORY_MB))
    print(
        f"Gradescope's default container: {GRADESCOPE['memory_mb']} MB, "
        f"{GRADESCOPE['cpus']} CPU, {GRADESCOPE['seconds']} s"
    )
    print(
        f"worker limits in the bundle: {grading.limits.memory_mb} MB per worker, a hand-in at most "
        f"{grading.limits.stall_seconds():g} s\n"
    )
    print(
        f"{'hand-in':<22} {'sandbox':<11} {'peak MB':>8} {'CPU s':>6} {'wall s':>7} "
        f"{'wall at 0.5 CPU':>16}  result"
    )
    root = Path(tempfile.mkdtemp(prefix="autograder-bench-"))
    try:
        install(
            build_bundle(COURSE_ROOT, grading, "after_published", root / "autograder.zip"),
            root,
            python,
            "nobody",
        )
        for sandbox in ("bubblewrap", "process"):
            if sandbox == "bubblewrap" and not choose_sandbox().use_bwrap:
                print(f"(bubblewrap cannot run here: {choose_sandbox().name})")
                continue
            for name, upload in uploads.items():
                peak, cpu, wall, result = measure(root, upload, sandbox)
                slowed = max(wall, cpu / GRADESCOPE["cpus"])
                print(
                    f"{name:<22} {sandbox:<11} {peak:8.0f} {cpu:6.1f} {wall:7.1f} "
                    f"{slowed:16.1f}  {result}"
                )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
