"""Measure a command as a whole process tree: wall seconds, CPU seconds and peak memory.

`course grade` runs student code in bubblewrap's pid namespace, whose processes are reaped inside
the namespace: the parent's getrusage(RUSAGE_CHILDREN) never sees their CPU time. So each run
happens in a fresh cgroup of its own, entered by the child before it runs the command: the
kernel charges the cgroup with the CPU time and memory of every process below it, whoever reaps
them. cgroup v1 (cpuacct.usage, memory.max_usage_in_bytes) is used where its hierarchies are
mounted, else cgroup v2 (cpu.stat usage_usec, memory.peak); cgroups nested below ours (the
grader's per-worker ones) count in ours. Where no cgroup can be made (not root, say), the CPU
figure falls back to RUSAGE_CHILDREN, and the printout says it misses the sandboxed workers.

Peak memory is the cgroup's: every page its processes touched at once, page cache they read in
included. Measure a command from the shell (the rusage figure beside it shows what a parent's
accounting sees):

    .venv/bin/python benchmarks/measure.py [--runs N] -- COMMAND [ARGUMENT ...]
"""

import argparse
import contextlib
import itertools
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

MOUNTINFO = Path("/proc/self/mountinfo")
OWN_CGROUPS = Path("/proc/self/cgroup")
NAME = f"bench-{os.getpid()}"
COUNTER = itertools.count()
_warned = []


@dataclass(frozen=True)
class Measurement:
    """One run of a command. `cpu` is in seconds, user and system, of every process below it as
    `counted` says; `rusage_cpu` is what the parent's RUSAGE_CHILDREN saw, for comparison."""

    command: tuple
    returncode: int
    wall: float
    cpu: float
    rusage_cpu: float
    peak_mb: float | None
    counted: str
    stdout: str
    stderr: str

    def check(self):
        """Stop the benchmark, showing the command's output, when the command failed."""
        if self.returncode != 0:
            sys.exit(
                f"{' '.join(self.command)} failed (exit {self.returncode}); fix that before "
                f"benchmarking.\n{self.stdout[-3000:]}\n{self.stderr[-3000:]}"
            )
        return self


class V1Group:
    """Fresh cgroups in the v1 cpuacct and (when mounted) memory hierarchies, below ours."""

    version = "cgroup v1"

    def __init__(self, homes):
        self.folders = make_folders(homes)
        memory = self.folders.get("memory")
        if memory and (memory / "memory.use_hierarchy").exists():
            # older kernels: let the grader's per-worker cgroups below count in this one
            with contextlib.suppress(OSError):
                (memory / "memory.use_hierarchy").write_text("1")

    def cpu_seconds(self):
        return int(read(self.folders["cpuacct"] / "cpuacct.usage")) / 1e9

    def peak_bytes(self):
        memory = self.folders.get("memory")
        return int(read(memory / "memory.max_usage_in_bytes")) if memory else None


class V2Group:
    """A fresh cgroup in the v2 hierarchy, below ours; memory.peak exists only where our cgroup
    delegates the memory controller (and the kernel is 5.19 or newer)."""

    version = "cgroup v2"

    def __init__(self, home):
        self.folders = make_folders({"unified": home})

    def cpu_seconds(self):
        stat = dict(
            line.split() for line in read(self.folders["unified"] / "cpu.stat").splitlines()
        )
        return int(stat["usage_usec"]) / 1e6

    def peak_bytes(self):
        peak = self.folders["unified"] / "memory.peak"
        return int(read(peak)) if peak.exists() else None


def read(path):
    return Path(path).read_text(encoding="ascii").strip()


def make_folders(homes):
    """{key: a new folder below each home}; none left behind when one cannot be made."""
    name, made = f"{NAME}-{next(COUNTER)}", {}
    try:
        for key, home in homes.items():
            (home / name).mkdir()
            made[key] = home / name
    except OSError:
        remove(made.values(), patience=0)
        raise
    return made


def hierarchies(mountinfo, own_cgroups):
    """({v1 controller: our cgroup's folder}, our v2 cgroup's folder or None), read from the texts
    of /proc/self/mountinfo and /proc/self/cgroup."""
    v1_mounts, v2_mount = {}, None
    for line in mountinfo.splitlines():
        if " - " not in line:
            continue
        fields, (kind, _, options) = line.split(), line.split(" - ", 1)[1].split()[:3]
        if kind == "cgroup2":
            v2_mount = (fields[3], Path(fields[4]))
        elif kind == "cgroup":
            for controller in set(options.split(",")) & {"cpuacct", "memory"}:
                v1_mounts[controller] = (fields[3], Path(fields[4]))
    v1, v2 = {}, None
    for line in own_cgroups.splitlines():
        number, controllers, path = line.split(":", 2)
        if number == "0" and v2_mount:
            v2 = inside(v2_mount, path)
        for controller in set(controllers.split(",")) & set(v1_mounts):
            v1[controller] = inside(v1_mounts[controller], path)
    return v1, v2


def inside(mount, path):
    """The folder of cgroup `path` below a mount whose own root is `root` (a cgroup namespace)."""
    root, point = mount
    relative = os.path.relpath(path, root) if path.startswith(root) else path.lstrip("/")
    return point if relative == "." else point / relative


def new_group():
    """A fresh V1Group or V2Group for one run, or (None, why not) where none can be made here."""
    try:
        v1, v2 = hierarchies(MOUNTINFO.read_text(), OWN_CGROUPS.read_text())
    except OSError as error:
        return None, f"cannot read this process's cgroups: {error}"
    reasons = []
    for controllers in (("cpuacct", "memory"), ("cpuacct",)):  # peak memory if it can be had
        if "cpuacct" not in v1:
            break
        try:
            return V1Group({c: v1[c] for c in controllers if c in v1}), ""
        except OSError as error:
            reasons.append(f"cgroup v1 {'+'.join(controllers)}: {error}")
    if v2 is not None and (v2 / "cgroup.procs").exists():
        try:
            return V2Group(v2), ""
        except OSError as error:
            reasons.append(f"cgroup v2: {error}")
    return None, "; ".join(reasons) or "no cgroup v1 cpuacct or cgroup v2 hierarchy is mounted"


def joiner(group):
    """What the child runs between fork and exec: move itself into `group`'s cgroups, so that
    everything it starts is counted there."""

    def join():
        for folder in group.folders.values():
            with open(folder / "cgroup.procs", "w") as procs:
                procs.write(str(os.getpid()))

    return join


def remove(folders, patience=5.0):
    """Remove cgroup `folders` and any left inside them (a run's last processes may still be
    dying), trying for up to `patience` seconds; say which stayed and how to remove them."""
    left, until = list(folders), time.monotonic() + patience
    while left:
        for folder in list(left):
            for below, _, _ in sorted(os.walk(folder), reverse=True):  # the deepest first
                with contextlib.suppress(OSError):
                    os.rmdir(below)
            if not folder.exists():
                left.remove(folder)
        if left and time.monotonic() >= until:
            print(
                f"(could not remove the cgroup(s) {', '.join(map(str, left))}: processes still "
                "in them; remove them with rmdir once those have ended)"
            )
            return
        if left:
            time.sleep(0.05)


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def warn_once(why):
    """Say, the first time only, that the CPU figures miss the sandboxed workers."""
    if not _warned:
        _warned.append(why)
        print(
            f"NOTE: no cgroup could be made ({why}), so CPU seconds come from "
            "getrusage(RUSAGE_CHILDREN) and MISS the sandboxed workers (bubblewrap's pid "
            "namespace reaps them); run as root on a machine with cgroups to count them."
        )


def measure(command, cwd=None, env=None):
    """Run `command` to its end, its output captured, and measure it (a Measurement)."""
    group, why = new_group()
    if group is None:
        warn_once(why)
    before = children_cpu()
    start = time.perf_counter()
    try:
        result = subprocess.run(
            command,
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            preexec_fn=joiner(group) if group else None,
        )
        wall = time.perf_counter() - start
        rusage_cpu = children_cpu() - before
        if group is None:
            cpu, peak, counted = rusage_cpu, None, "RUSAGE_CHILDREN (misses sandboxed workers)"
        else:
            cpu, peak, counted = group.cpu_seconds(), group.peak_bytes(), group.version
    finally:
        if group is not None:
            remove(group.folders.values())
    peak_mb = None if peak is None else peak / 2**20
    return Measurement(
        tuple(map(str, command)),
        result.returncode,
        wall,
        cpu,
        rusage_cpu,
        peak_mb,
        counted,
        result.stdout,
        result.stderr,
    )


def accounting():
    """How measure() counts CPU and memory on this machine, for a benchmark's header."""
    group, why = new_group()
    if group is None:
        return f"CPU from RUSAGE_CHILDREN, MISSING sandboxed workers ({why}); no peak memory"
    memory = "peak memory of the cgroup" if group.peak_bytes() is not None else "no peak memory"
    remove(group.folders.values())
    return f"CPU and {memory} counted over the whole process tree in a fresh {group.version}"


def describe(measurement):
    """One line: wall, CPU and peak memory of a measurement."""
    peak = "?" if measurement.peak_mb is None else f"{measurement.peak_mb:.0f}"
    return (
        f"wall {measurement.wall:7.2f} s  CPU {measurement.cpu:7.2f} s  peak {peak} MB  "
        f"(RUSAGE_CHILDREN saw {measurement.rusage_cpu:.2f} s CPU)"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command, after --")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to measure after --, e.g. -- python -c 'pass'")
    print(accounting())
    for _ in range(args.runs):
        measurement = measure(command)
        print(describe(measurement), "" if measurement.returncode == 0 else "(failed)")


if __name__ == "__main__":
    main()
