"""Bound a worker's memory and processes where the kernel counts all of them: a cgroup of its own.

An address-space limit (RLIMIT_AS) misses shared memory and files kept in memory, and a process
limit does not bind root. A cgroup counts every page its processes touch, tmpfs and shared memory
included, and every process, root's too. Where this process may make cgroups (cgroup v2 with the
memory and pids controllers enabled below its own cgroup, or the v1 memory and pids hierarchies,
as in many containers), each worker gets one, removed when it ends; elsewhere the other limits
are all there is, and `describe` says so.
"""

import atexit
import functools
import itertools
import os
import time
from dataclasses import dataclass
from pathlib import Path

SANDBOX_PROCESSES = (
    4  # bubblewrap (outside and as the namespace's init), the worker and a check's fork
)


@dataclass(frozen=True)
class Place:
    """Where cgroups of one controller can be made: `folder` holds them; `version` is 1 or 2."""

    controller: str
    folder: Path
    version: int

    def limit_files(self, limits):
        """(file, value) pairs that set this controller's limit for a worker, in the order they must
        be written."""
        if self.controller == "pids":
            return [("pids.max", str(limits.processes + SANDBOX_PROCESSES))]
        memory = str(limits.memory_mb << 20)
        if self.version == 2:
            return [("memory.max", memory), ("memory.swap.max", "0")]
        return [("memory.limit_in_bytes", memory), ("memory.memsw.limit_in_bytes", memory)]


def places(mountinfo, own_cgroups):
    """{controller: Place} for memory and pids, read from the texts of /proc/self/mountinfo and
    /proc/self/cgroup; a controller v2 delegates below our cgroup wins over its v1 hierarchy."""
    v1_mounts, v2_mount = {}, None
    for line in mountinfo.splitlines():
        fields = line.split()
        if " - " not in line or len(fields) < 5:
            continue
        kind, _, options = line.split(" - ", 1)[1].split()[:3]
        if kind == "cgroup2":
            v2_mount = (fields[3], Path(fields[4]))
        elif kind == "cgroup":
            for controller in ("memory", "pids"):
                if controller in options.split(","):
                    v1_mounts[controller] = (fields[3], Path(fields[4]))
    found = {}
    for line in own_cgroups.splitlines():
        number, controllers, path = line.split(":", 2)
        if number == "0" and v2_mount:
            folder = _inside(v2_mount, path)
            try:
                delegated = (folder / "cgroup.subtree_control").read_text().split()
            except OSError:
                continue
            found.update({c: Place(c, folder, 2) for c in ("memory", "pids") if c in delegated})
        for controller in set(controllers.split(",")) & set(v1_mounts):
            found.setdefault(controller, Place(controller, _inside(v1_mounts[controller], path), 1))
    return found


def _inside(mount, path):
    """The folder of cgroup `path` under a mount whose own root is `root` (a cgroup namespace)."""
    root, point = mount
    relative = os.path.relpath(path, root) if path.startswith(root) else path.lstrip("/")
    return point if relative == "." else point / relative


class WorkerCgroup:
    """A worker's own cgroups, one per controller found, with its limits set."""

    counter = itertools.count()
    leftover = []  # folders of ended workers whose last processes were still dying when they closed

    def __init__(self, limits, found):
        sweep(self.leftover)
        self.folders = []
        name = f"grader-{os.getpid()}-{next(self.counter)}"
        try:
            for place in found.values():
                folder = place.folder / name
                folder.mkdir()
                self.folders.append(folder)
                for file, value in place.limit_files(limits):
                    if (folder / file).exists():
                        (folder / file).write_text(value)
        except OSError:
            self.remove()
            raise

    def join(self):
        """Move the calling process into the cgroups (between fork and exec: its children
        follow)."""
        for folder in self.folders:
            with open(folder / "cgroup.procs", "w") as procs:
                procs.write(str(os.getpid()))

    def remove(self):
        """Remove the cgroups, or, while the last processes in them die, leave them for the next
        worker
        (or this process's exit) to remove: waiting here would cost every hand-in some
        milliseconds."""
        self.leftover.extend(self.folders)
        sweep(self.leftover)
        self.folders = []


def sweep(folders, patience=0.0):
    """Remove the empty cgroups among `folders` (in place), trying for up to `patience` seconds."""
    until = time.monotonic() + patience
    while True:
        for folder in list(folders):
            try:
                folder.rmdir()
            except FileNotFoundError:
                pass
            except OSError:  # still busy
                continue
            folders.remove(folder)
        if not folders or time.monotonic() >= until:
            return
        time.sleep(0.005)


atexit.register(lambda: sweep(WorkerCgroup.leftover, patience=2.0))


def sweep_stale(limits):
    """Remove the cgroups left by grading processes that are gone (killed, or ended by os._exit,
    which runs no exit handler): empty folders named after a pid no longer running."""
    for place in usable(limits).values():
        for folder in place.folder.glob("grader-*-*"):
            pid = folder.name.split("-")[1]
            if pid.isdigit() and not Path(f"/proc/{pid}").exists():
                sweep([folder])


def read(path):
    try:
        return Path(path).read_text()
    except OSError:
        return ""


@functools.cache
def usable(limits):
    """{controller: Place} where a trial cgroup with these limits could be made here, or {}."""
    found = places(read("/proc/self/mountinfo"), read("/proc/self/cgroup"))
    try:
        WorkerCgroup(limits, found).remove()
    except OSError:
        return {}
    return found


def describe(limits):
    """Which kernel limits bind a worker's memory and processes here, in a line for the output."""
    found = usable(limits)
    memory = (
        f"memory {limits.memory_mb} MB per worker in all (cgroup v{found['memory'].version})"
        if "memory" in found
        else f"memory {limits.memory_mb} MB of address space per process (no cgroup could be made "
        "here)"
    )
    processes = (
        f"{limits.processes + SANDBOX_PROCESSES} processes (cgroup v{found['pids'].version})"
        if "pids" in found
        else "processes: seccomp and the process limit"
    )
    return f"{memory}; {processes}; shared memory and memfd denied to checks"
