"""Start `worker.py` where a submission can do no harm: bubblewrap, or a limited process.

Where bubblewrap is missing or does not work, the worker is a plain process with the same
resource limits, and the report says so; when the grader is root, that process drops to an
unprivileged account first (see `grader.sandbox.account`).
"""

import functools
import glob
import os
import resource
import shutil
import subprocess
import sys
import types
from dataclasses import dataclass
from pathlib import Path

from base.paths import COURSE_ROOT
from grader.sandbox import cgroup
from grader.sandbox.account import Account, make_stage, worker_account
from grader.sandbox.bubblewrap import (
    INSIDE,
    NUMPY_DIR,
    PYTHON,
    WORKER_SCRIPT,
    bwrap_prefix,
    trial_problem,
)
from grader.sandbox.cgroup import WorkerCgroup
from grader.sandbox.worker import in_a_fork, process_guard

# numpy's linear algebra in one thread, whichever library it was built with: a check may start no
# thread (see grader.sandbox.worker.process_guard), and a library that tried would hang or abort.
# A check's large arrays come from memory its fork has never touched, a page fault per 4 kB: glibc
# then keeps them in its heap, asks for 2 MB pages there and keeps what was freed for the next
# array (each a fresh mapping by default), which spares a tenth of a check's time.
WORKER_ENV = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "GLIBC_TUNABLES": "glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=33554432"
    ":glibc.malloc.trim_threshold=134217728",
}


@functools.cache
def given_names(release_dir, files):
    """The identifiers of the code students were given (`files` in `release_dir`, those there
    that compile), which the worker interns before its first fork (see `worker.intern_names`):
    only a saving, so a file that cannot be read is no reason to stop."""
    names, codes = set(), []
    for name in files:
        try:
            code = compile((Path(release_dir) / name).read_bytes(), name, "exec", dont_inherit=True)
            codes.append(code)
        except (OSError, SyntaxError, ValueError):
            pass
    while codes:
        code = codes.pop()
        names.update(code.co_names, code.co_varnames, code.co_cellvars, code.co_freevars)
        for constant in code.co_consts:
            if isinstance(constant, types.CodeType):
                codes.append(constant)
            elif isinstance(constant, str) and constant.isidentifier():
                names.add(constant)
    return tuple(sorted(names))


def _apply_limits(limits, group=None, account=None):
    """Runs in the child between fork and exec, so the limits bind the worker and all it starts.

    The process limit is not among them: the kernel counts it over every thread of the user
    (the grader's and the instructor's own too) and not at all for root. Where it is needed at all,
    the worker sets it on itself (see `Sandbox.process_limit`). The account is dropped to last:
    joining the cgroup takes root.
    """

    def set_limits():
        if group is not None:
            group.join()
        for name, value in (
            ("RLIMIT_CPU", limits.cpu_seconds),
            ("RLIMIT_AS", limits.memory_mb << 20),
            ("RLIMIT_FSIZE", limits.output_mb << 20),
            ("RLIMIT_CORE", 0),
        ):
            resource.setrlimit(getattr(resource, name), (value, value))
        if account is not None:
            account.become()

    return set_limits


@dataclass(frozen=True)
class Sandbox:
    """How workers are started: `name` is what results and reports record."""

    name: str
    use_bwrap: bool
    account: Account | None = None  # who a process worker runs as, when not the grader's user

    @property
    def reuses_workers(self):
        """Whether one worker may grade hand-in after hand-in: only where a check can start no
        process (one could outlive its hand-in), and not where checks run as root outside
        bubblewrap (root may write the worker's memory through /proc)."""
        as_root = not self.use_bwrap and self.account is None and os.geteuid() == 0
        return checks_cannot_start_processes() and not as_root

    def process_limit(self, limits):
        """The RLIMIT_NPROC the worker sets on itself, or 0 for none.

        Where the seccomp guard works (see `checks_cannot_start_processes`), a check's code can
        start no process at all, and the kernel's limit would only get in the way: it counts every
        process and thread of the user (inside bubblewrap's user namespace too, before Linux 5.14)
        and none of root's. Elsewhere it is the only limit: bubblewrap's namespace, or this user's
        threads now plus the limit outside it.
        """
        if checks_cannot_start_processes():
            return 0
        if self.use_bwrap:
            return limits.processes
        uid = self.account.uid if self.account else os.getuid()
        return _threads_of_user(uid) + limits.processes

    def command(self, scratch_dir, pipes, limits, assignment):
        """The worker's command line; `pipes` are its (request, response, notice) descriptors.
        Outside bubblewrap and as another account, `scratch_dir` lies in the worker's stage."""
        if self.use_bwrap:
            where = INSIDE
            prefix = bwrap_prefix(assignment.compute_file, limits.scratch_mb)
            prefix += ["--clearenv", "--setenv", "HOME", "/tmp", "--setenv", "TMPDIR", "/tmp"]
            for name, value in WORKER_ENV.items():
                prefix += ["--setenv", name, value]
        else:
            home = scratch_dir.parent if self.account is not None else None  # the stage
            where = {
                "script": str(home / WORKER_SCRIPT.name if home else WORKER_SCRIPT),
                "lib": str(NUMPY_DIR.parent),
                "scratch": str(scratch_dir),
                "compute": str(
                    home / assignment.compute_file.name if home else assignment.compute_file
                ),
            }
            prefix = []
        return prefix + [
            PYTHON,
            "-I",
            "-S",
            where["script"],
            *(str(fd) for fd in pipes),
            where["lib"],
            where["scratch"],
            where["compute"],
            ",".join(assignment.modules),
            str(self.process_limit(limits)),
            str(limits.open_files),
            ",".join(given_names(assignment.release_dir, assignment.files)),
        ]

    def start(self, scratch_dir, pipes, limits, assignment):
        """Start a worker in its own process group, in a cgroup of its own where one can be made
        (`process.cgroup`); the caller owns killing it and removing the cgroup. `scratch_dir` is
        where its checks may write outside bubblewrap (inside, its own /tmp); `pipes` are the
        worker's ends of its (request, response, notice) pipes. A worker that runs as another
        account gets a stage of its own (`process.stage`, removed by the caller)."""
        stage = None
        if self.account is not None:
            stage = make_stage(self.account, (WORKER_SCRIPT, assignment.compute_file))
            scratch_dir = stage / "scratch"
        places = cgroup.usable(limits)
        group = WorkerCgroup(limits, places) if places else None
        try:
            process = subprocess.Popen(
                self.command(scratch_dir, pipes, limits, assignment),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                pass_fds=pipes,
                cwd=scratch_dir,
                start_new_session=True,
                env={
                    **WORKER_ENV,
                    "HOME": str(scratch_dir),
                    "TMPDIR": str(scratch_dir),
                    "PATH": "/usr/bin:/bin",
                },
                preexec_fn=_apply_limits(limits, group, self.account),
            )
        except BaseException:
            if group:
                group.remove()
            if stage:
                shutil.rmtree(stage, ignore_errors=True)
            raise
        process.cgroup, process.stage = group, stage
        return process


def _threads_of_user(uid):
    """What RLIMIT_NPROC counts for the user `uid` now: every thread of every process."""
    uid, count = str(uid), 0
    for status in glob.glob("/proc/[0-9]*/status"):
        try:
            with open(status) as file:
                fields = dict(line.split(":", 1) for line in file if ":" in line)
        except OSError:  # the process ended meanwhile
            continue
        if fields.get("Uid", "").split()[:1] == [uid]:
            count += int(fields.get("Threads", "1"))
    return count


@functools.cache
def checks_cannot_start_processes():
    """Whether the worker's seccomp guard works here: tried once, in a fork of the grader."""
    guard = process_guard()

    def try_to_fork():
        guard()
        try:
            if os.fork() == 0:
                os._exit(0)
        except OSError:
            return "refused"
        return "forked"

    return in_a_fork(try_to_fork, ())[0] == b'"refused"\n'


# what `choose_sandbox` decided, per sandbox asked for: once a run, as every grading slot must agree
_chosen = {}


def choose_sandbox(wanted="auto", worker_greeted=False):
    """Bubblewrap if it is installed and a trial run works here, else a plain process (saying
    why); decided by the first call. `worker_greeted`: a worker already started here under
    bubblewrap and said it is ready, which is trial run enough (see `grader.first_workers`).
    """
    if wanted not in _chosen:
        _chosen[wanted] = decide_sandbox(wanted, worker_greeted)
    return _chosen[wanted]


def decide_sandbox(wanted="auto", worker_greeted=False):
    """`choose_sandbox`'s decision, made anew."""
    if wanted == "process":
        return process_sandbox("bubblewrap not requested")
    if shutil.which("bwrap") is None:
        if wanted == "bubblewrap":
            raise RuntimeError(
                "--sandbox bubblewrap was asked for, but bwrap is not on PATH; install bubblewrap."
            )
        return process_sandbox("bubblewrap not installed")
    problem = None if worker_greeted else trial_problem()
    if problem is None:
        return Sandbox("bubblewrap", True)
    if wanted == "bubblewrap":
        raise RuntimeError(f"bubblewrap does not work here: {problem}")
    print(
        f"note: bubblewrap is installed but does not work here ({problem}); "
        "grading in plain processes with resource limits.",
        file=sys.stderr,
    )
    return process_sandbox("bubblewrap does not work here")


def process_sandbox(why):
    """A plain limited process, run as an unprivileged account when the grader is root."""
    account = worker_account((PYTHON, NUMPY_DIR / "__init__.py"), course=COURSE_ROOT)
    user = f"; student code as {account.name}" if account else ""
    return Sandbox(f"process ({why}{user})", False, account)
