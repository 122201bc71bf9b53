"""Make sure no process a submission starts outlives its grading, even outside bubblewrap.

A worker's processes can leave its process group (setsid, a double fork), and
a plain process can even kill the process that grades it. The process that
starts workers therefore becomes a Linux "child subreaper": every orphan among
its descendants is re-parented to it instead of init, so it can find them in
/proc and kill them. (Bubblewrap's pid namespace makes this unnecessary.)
"""

import ctypes
import os
import signal

PR_SET_CHILD_SUBREAPER = 36  # from <linux/prctl.h>


def adopt_orphans():
    """Make this process the parent of any orphan among its descendants."""
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")


def children():
    """Pids of this process's children, read from /proc."""
    found, me = set(), os.getpid()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):  # gone meanwhile
            continue
        if parent == me:
            found.add(int(entry.name))
    return found


def kill_adopted(known):
    """Kill and reap every child not in `known`, and the orphans their deaths hand over, until none
    is left."""
    for _ in range(100):  # each round reaps the orphans the previous round's deaths handed over
        strays = children() - set(known)
        if not strays:
            return
        for pid in strays:  # stop them all first, so none forks while the others die
            _signal(pid, signal.SIGSTOP)
        for pid in strays:
            _signal(pid, signal.SIGKILL)
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:  # reaped meanwhile
                pass


def _signal(pid, number):
    try:
        os.kill(pid, number)
    except ProcessLookupError:
        pass
