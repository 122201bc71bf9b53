"""What grading one hand-in with the Gradescope bundle costs, against Gradescope's default
container: about 768 MB of memory, half a CPU and 10 minutes.

Builds the bundle, installs it in a temporary root as run on Gradescope (reusing this machine's
packages), and runs run_autograder on the solution, the stubs and a hand-in whose every backward
hangs, in bubblewrap and in the fallback. Where the cgroup v1 cpu and memory controllers allow it
(as root), each run happens in a cgroup with Gradescope's default limits, half a CPU and 768 MB,
whose peak memory is printed; elsewhere it runs unbounded. Memory is also the peak, over the run,
of the proportional set size (PSS: shared pages split between the processes sharing them) summed
over run_autograder and all its descendants, sampled every 20 ms; CPU is their user and system
time (the larger of what was waited for and what the samples saw: a process killed inside
bubblewrap's namespace is never waited for by us). Run as root (as Gradescope runs it):

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
CONTROLLERS = ("cpu", "memory")
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


class Container:
    """A cgroup v1 pair (cpu, memory) with Gradescope's default limits; run_autograder is started
    inside it (this process joins for the start, then leaves)."""

    def __init__(self):
        owned = dict(
            line.split(":", 2)[1:] for line in Path("/proc/self/cgroup").read_text().split()
        )
        name = f"gradescope-bench-{os.getpid()}"
        self.homes = {c: Path(f"/sys/fs/cgroup/{c}{owned[c].rstrip('/')}") for c in CONTROLLERS}
        self.groups = {c: home / name for c, home in self.homes.items()}
        for group in self.groups.values():
            group.mkdir()
        period = int((self.groups["cpu"] / "cpu.cfs_period_us").read_text())
        (self.groups["cpu"] / "cpu.cfs_quota_us").write_text(str(int(period * GRADESCOPE["cpus"])))
        memory = str(GRADESCOPE["memory_mb"] << 20)
        (self.groups["memory"] / "memory.limit_in_bytes").write_text(memory)

    def start(self, *arguments):
        (self.groups["memory"] / "memory.max_usage_in_bytes").write_text("0")
        for group in self.groups.values():
            (group / "cgroup.procs").write_text(str(os.getpid()))
        try:
            return start_grading(*arguments)
        finally:
            for home in self.homes.values():
                (home / "cgroup.procs").write_text(str(os.getpid()))

    def peak_mb(self):
        return int((self.groups["memory"] / "memory.max_usage_in_bytes").read_text()) / 2**20

    def remove(self):
        for group in self.groups.values():
            for _ in range(50):  # the last processes may still be leaving
                try:
                    group.rmdir()
                    break
                except OSError:
                    time.sleep(0.1)


def container():
    """A Container, or None (saying why) where cgroups cannot be made here."""
    try:
        return Container()
    except (OSError, KeyError, ValueError) as error:
        print(f"(runs not bounded like Gradescope's container: {error})")
        return None


def measure(root, upload, sandbox, bound):
    """(peak MB summed, peak MB of the container or None, CPU seconds, wall seconds, result) of
    one run_autograder, in the Container `bound` if any."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    process = (bound.start if bound else start_grading)(root, upload, sandbox)
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
    summary = output.splitlines()[0] if output else "(no output)"
    return peak[0], bound.peak_mb() if bound else None, cpu, wall, summary


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
    bound = container()
    print(
        f"{'hand-in':<22} {'sandbox':<11} {'PSS MB':>7} {'cgroup MB':>9} {'CPU s':>6} "
        f"{'wall s':>7}  result"
    )
    root = Path(tempfile.mkdtemp(prefix="autograder-bench-"))
    try:
        bundle = build_bundle(COURSE_ROOT, grading, "after_published", root / "autograder.zip")
        install(bundle, root, python, "nobody")
        for sandbox in ("bubblewrap", "process"):
            if sandbox == "bubblewrap" and not choose_sandbox().use_bwrap:
                print(f"(bubblewrap cannot run here: {choose_sandbox().name})")
                continue
            for name, upload in uploads.items():
                pss, peak, cpu, wall, result = measure(root, upload, sandbox, bound)
                held = f"{peak:9.0f}" if peak is not None else f"{'-':>9}"
                print(
                    f"{name:<22} {sandbox:<11} {pss:7.0f} {held} {cpu:6.1f} {wall:7.1f}  {result}"
                )
    finally:
        shutil.rmtree(root, ignore_errors=True)
        if bound:
            bound.remove()
    if bound:
        print(f"(wall times at {GRADESCOPE['cpus']} CPU and {GRADESCOPE['memory_mb']} MB at most)")


if __name__ == "__main__":
    main()
