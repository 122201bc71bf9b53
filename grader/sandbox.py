"""Start `grader/worker.py` where a submission can do no harm: bubblewrap, or a limited process.

With bubblewrap the worker sees the system read-only, the Python installation
and numpy read-only, the worker script, its private copy of the submission
and an empty /tmp: not the repository, the solution, the grader's checks,
other submissions, the outputs or the network. Its processes live in their
own pid namespace, so they all die with it. Where bubblewrap is missing or
does not work, the worker is a plain process with the same resource limits,
and the report says so.
"""

import argparse
import functools
import glob
import os
import resource
import shutil
import site
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy

from grader import ASSIGNMENT, cgroup
from grader.assignments import compute_file
from grader.cgroup import WorkerCgroup
from grader.submission import REQUIRED_FILES
from grader.worker import in_a_fork, process_guard

WORKER_SCRIPT = Path(__file__).with_name("worker.py")
COMPUTE_FILE = compute_file(ASSIGNMENT)  # what the worker computes, beside it in the sandbox
# numpy's linear algebra in one thread, whichever library it was built with: a check may start no
# thread (see grader.worker.process_guard), and a library that tried would hang or abort.
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
PYTHON = os.path.realpath(sys.executable)
NUMPY_DIR = Path(numpy.__file__).parent
SANDBOX_ROOT = "/sandbox"
SCRATCH_MB = 64  # the in-memory /tmp, the only place a sandboxed worker can write


@dataclass(frozen=True)
class Limits:
    """Resource limits for one submission; tests shrink the times to stay fast."""

    case_seconds: float = field(
        default=1.5,
        metadata={
            "help": "wall-clock seconds for one check's cases (the chain "
            "rule needs milliseconds; the large hidden cases rely on "
            "this limit to fail numerical backwards)"
        },
    )
    submission_seconds: float = field(
        default=60.0, metadata={"help": "wall-clock seconds for all of a hand-in's checks"}
    )
    cpu_seconds: int = field(
        default=30, metadata={"help": "CPU seconds of each process running student code"}
    )
    memory_mb: int = field(
        default=1024, metadata={"help": "address space in MB of each process running student code"}
    )
    processes: int = field(
        default=8,
        metadata={
            "help": "processes and threads student code may run at once, where "
            "seccomp is missing (elsewhere checks may start none)"
        },
    )
    output_mb: int = field(
        default=1,
        metadata={"help": "largest file in MB student code may write (prints are discarded)"},
    )


def positive(kind):
    """An argparse type: a number of `kind` above 0 (a limit of 0 would fail every check)."""

    def parse(text):
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text} is not above 0")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its error message
    return parse


def add_limit_options(add_option):
    """Declare one command-line option per limit, for argparse and pytest alike."""
    for limit in fields(Limits):
        add_option(
            f"--{limit.name.replace('_', '-')}",
            type=positive(limit.type),
            default=limit.default,
            metavar="N",
            help=f"limit: {limit.metadata['help']} (default {limit.default})",
        )


def add_grading_options(add_option):
    """Declare how a hand-in is graded, for `course grade` (argparse) and `pytest grader` alike."""
    add_option(
        "--sandbox",
        choices=("auto", "bubblewrap", "process"),
        default="auto",
        help="isolate student code with bubblewrap, or plain limited processes (default: "
        "bubblewrap when it works)",
    )
    add_option(
        "--allow-changed-code",
        action="store_true",
        help="grade hand-ins that changed the engine code outside the stubbed functions (by "
        "default they are "
        "refused with a message: a rewritten Tensor.backward can fake every gradient)",
    )
    add_limit_options(add_option)


def limits_from(options):
    """Limits read from parsed options (argparse's or pytest's)."""
    return Limits(**{limit.name: getattr(options, limit.name) for limit in fields(Limits)})


def _apply_limits(limits, group=None):
    """Runs in the child between fork and exec, so the limits bind the worker and all it starts.

    The process limit is not among them: the kernel counts it over every thread of the user
    (the grader's and the instructor's own too) and not at all for root. Where it is needed at all,
    the worker sets it on itself (see `Sandbox.process_limit`).
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

    return set_limits


@functools.cache
def _package_folders():
    """Folders of installed packages that exist: the interpreter's, and the system's (Debian's
    dist-packages under /usr).

    numpy is bound on its own, so hiding them leaves the worker the standard library and numpy.
    """
    listed = site.getsitepackages(
        [sys.base_prefix]
    )  # the interpreter's, not this virtual environment's
    listed += sorted(
        glob.glob("/usr/lib/python3*/dist-packages")
        + glob.glob("/usr/local/lib/python3*/dist-packages")
    )
    return tuple(dict.fromkeys(folder for folder in listed if os.path.isdir(folder)))


def _bwrap_prefix(copy_dir):
    """The bubblewrap command line that exposes only what the worker needs.

    The submission's copy is read-only; the only writable place is a small /tmp in memory.
    The root and /dev that bubblewrap makes are in-memory file systems without a size limit,
    so both are remounted read-only: files there could otherwise fill the machine's memory.
    """
    python_home = Path(sys.base_prefix).resolve()
    command = [
        "bwrap",
        "--unshare-all",
        "--unshare-user",
        "--uid",
        "65534",
        "--gid",
        "65534",
        "--cap-drop",
        "ALL",
        "--die-with-parent",
        "--new-session",
        "--ro-bind",
        "/usr",
        "/usr",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--size",
        str(SCRATCH_MB << 20),
        "--tmpfs",
        "/tmp",
    ]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            command += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            command += ["--ro-bind", top, top]
    command += ["--ro-bind", str(python_home), str(python_home)]
    for folder in (
        _package_folders()
    ):  # the standard library, not what else is installed (torch or sympy would do the work)
        command += ["--tmpfs", folder, "--remount-ro", folder]
    for lib in (NUMPY_DIR, NUMPY_DIR.with_name("numpy.libs")):
        if lib.is_dir():
            command += ["--ro-bind", str(lib), f"{SANDBOX_ROOT}/lib/{lib.name}"]
    command += [
        "--ro-bind",
        str(WORKER_SCRIPT),
        f"{SANDBOX_ROOT}/worker.py",
        "--ro-bind",
        str(COMPUTE_FILE),
        f"{SANDBOX_ROOT}/compute.py",
        "--ro-bind",
        str(copy_dir),
        f"{SANDBOX_ROOT}/submission",
        "--chdir",
        f"{SANDBOX_ROOT}/submission",
        "--remount-ro",
        "/dev",
        "--remount-ro",
        "/",
    ]
    return command


@dataclass(frozen=True)
class Sandbox:
    """How workers are started: `name` is what results and reports record."""

    name: str
    use_bwrap: bool

    def process_limit(self, limits):
        """The RLIMIT_NPROC the worker sets on itself, or 0 for none.

        Where the seccomp guard works (see `checks_cannot_start_processes`), a check's code can
        start
        no process at all, and the kernel's limit would only get in the way: it counts every process
        and thread of the user (inside bubblewrap's user namespace too, before Linux 5.14) and none
        of
        root's. Elsewhere it is the only limit: bubblewrap's namespace, or this user's threads now
        plus
        the limit outside it.
        """
        if checks_cannot_start_processes():
            return 0
        return limits.processes if self.use_bwrap else _threads_of_this_user() + limits.processes

    def command(self, copy_dir, scratch_dir, pipes, processes):
        """The worker's command line; `pipes` are its (request, response, notice) file
        descriptors."""
        request_fd, response_fd, notice_fd = pipes
        if self.use_bwrap:
            where = [
                f"{SANDBOX_ROOT}/worker.py",
                f"{SANDBOX_ROOT}/lib",
                f"{SANDBOX_ROOT}/submission",
                "/tmp",
                f"{SANDBOX_ROOT}/compute.py",
            ]
            prefix = _bwrap_prefix(copy_dir) + [
                "--clearenv",
                "--setenv",
                "HOME",
                "/tmp",
                "--setenv",
                "TMPDIR",
                "/tmp",
            ]
            prefix += [
                part for name, value in ONE_THREAD.items() for part in ("--setenv", name, value)
            ]
        else:
            where = [str(WORKER_SCRIPT), str(NUMPY_DIR.parent), str(copy_dir), str(scratch_dir)]
            where.append(str(COMPUTE_FILE))
            prefix = []
        script, lib, submission, scratch, compute = where
        return prefix + [
            PYTHON,
            "-I",
            "-S",
            script,
            str(request_fd),
            str(response_fd),
            lib,
            submission,
            str(processes),
            scratch,
            str(notice_fd),
            compute,
            ",".join(Path(name).stem for name in REQUIRED_FILES),
        ]

    def start(self, copy_dir, scratch_dir, pipes, limits):
        """Start a worker for `copy_dir` in its own process group, in a cgroup of its own where one
        can be made (`process.cgroup`); the caller owns killing it and removing the cgroup.
        `scratch_dir` is where its checks may write outside bubblewrap (inside, its own /tmp);
        `pipes` are the worker's ends of its (request, response, notice) pipes."""
        group = WorkerCgroup(limits, cgroup.usable(limits)) if cgroup.usable(limits) else None
        try:
            process = subprocess.Popen(
                self.command(copy_dir, scratch_dir, pipes, self.process_limit(limits)),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                pass_fds=pipes,
                cwd=copy_dir,
                start_new_session=True,
                env={
                    **ONE_THREAD,
                    "HOME": str(scratch_dir),
                    "TMPDIR": str(scratch_dir),
                    "PATH": "/usr/bin:/bin",
                },
                preexec_fn=_apply_limits(limits, group),
            )
        except BaseException:
            if group:
                group.remove()
            raise
        process.cgroup = group
        return process


def _threads_of_this_user():
    """What RLIMIT_NPROC counts for this user now: every thread of every process."""
    uid, count = str(os.getuid()), 0
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
    """Whether the worker's seccomp guard works on this machine: tried once, in a fork of the
    grader."""
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


@functools.cache
def choose_sandbox(wanted="auto"):
    """Bubblewrap if it is installed and a trial run works here, else a plain process (saying
    why)."""
    if wanted == "process":
        return Sandbox("process (bubblewrap not requested)", False)
    if shutil.which("bwrap") is None:
        if wanted == "bubblewrap":
            raise RuntimeError(
                "--sandbox bubblewrap was asked for, but bwrap is not on PATH; install bubblewrap."
            )
        return Sandbox("process (bubblewrap not installed)", False)
    try:
        with tempfile.TemporaryDirectory(prefix="grader-trial-") as empty:
            trial = _bwrap_prefix(Path(empty)) + [
                PYTHON,
                "-I",
                "-S",
                "-c",
                f"import sys; sys.path[:0] = ['{SANDBOX_ROOT}/lib']; import numpy",
            ]
            done = subprocess.run(trial, capture_output=True, text=True, timeout=60)
        problem = done.stderr.strip().splitlines()[-1:] if done.returncode else None
    except (OSError, subprocess.TimeoutExpired) as error:
        problem = [str(error)]
    if problem is None:
        return Sandbox("bubblewrap", True)
    if wanted == "bubblewrap":
        raise RuntimeError(
            f"bubblewrap does not work here: {' '.join(problem) or 'trial run failed'}"
        )
    print(
        "note: bubblewrap is installed but does not work here "
        f"({' '.join(problem) or 'trial run failed'}); "
        "grading in plain processes with resource limits.",
        file=sys.stderr,
    )
    return Sandbox("process (bubblewrap does not work here)", False)
