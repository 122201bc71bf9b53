"""Read a hand-in (parse it, check its given code, compile it) in a lean process, within limits.

Reading runs none of a hand-in's code, but Python's parser and compiler do as much work as the
text asks: code nested hundreds deep, or constants the compiler builds from constants ('x' * 4096
+ 'x' * 4096 + ...), can ask a few kB of source for minutes and gigabytes. So a hand-in is read
with the worker's memory and a case's CPU time at most, by a reader: a process of its own per
grading process, which imports the standard library and `base` only (this module runs as its
script). A hand-in that runs out ends the reader (the next hand-in gets a new one) and costs only
its own row.

Reading in a fork of the grading process, as before, cost a few milliseconds a hand-in, and made
the grading process fault on every page it wrote afterwards; the reader forks nothing.
`within_limits` sends it the work, pickled: a function of a module it can import, with its
arguments.
"""

import atexit
import functools
import marshal
import math
import os
import pickle
import resource
import signal
import struct
import subprocess
import sys
from pathlib import Path

from base.handin import Unusable, check_given_code_unchanged, check_readable, students_functions
from base.text import student_text

ROOT = Path(__file__).resolve().parent.parent  # what the reader imports from


def compiled_code(folder, files, origin):
    """{module name: its code object, marshalled} of the hand-in's `files` in `folder`, compiled
    as files of the folder `origin` (the worker's `HANDIN_FOLDER`). Compiling runs nothing of the
    hand-in: the worker's forks run the code, one per check, so no file of the hand-in enters the
    sandbox. Sent as it is, after a request's line: neither compressed nor encoded, which every
    check's fork would undo again."""
    code = {}
    for name in files:
        path = Path(folder) / name
        tree = compile(path.read_bytes(), f"{origin}/{name}", "exec", dont_inherit=True)
        code[Path(name).stem] = marshal.dumps(tree)
    return code


def code_or_error(folder, files, origin):
    """(`compiled_code`, None), or (None, why Python cannot compile it, as the student reads it)."""
    try:
        return compiled_code(folder, files, origin), None
    except (SyntaxError, ValueError, RecursionError) as error:  # MemoryError: see within_limits
        return None, f"Python cannot compile your code: {student_text(error)}"


def read_handin(folder, files, origin, given, stub):
    """`code_or_error` of the hand-in's `files` in `folder`; raises `Unusable` when they cannot be
    read or, unless `given` is None, differ from the release's texts `given` ({name: text})
    outside the bodies marked by nbgrader's `stub`."""
    trees = check_readable(folder, files)
    if given is not None:
        check_given_code_unchanged(trees, given, stub)
    return code_or_error(folder, files, origin)


def parse_given(given, stub):
    """Parse the release's texts once, in the reader: its forks then find them parsed."""
    for text in (given or {}).values():
        students_functions(text, stub)


def within_limits(read, limits, files, prepare=None):
    """`read()`'s result, computed by this process's reader with at most `limits.memory_mb` more
    memory and `limits.case_seconds` of CPU; `Unusable` if it needed more. `read` and `prepare`
    are pickled: functions of modules the reader imports (this one, `base`, the standard library),
    with their arguments (`functools.partial`). `prepare()` runs first, without those limits:
    what it caches serves every hand-in."""
    seconds = max(1, math.ceil(limits.case_seconds))
    outcome = _reader().run((prepare, read, limits.memory_mb, seconds))
    if outcome[0] == "done":
        return outcome[1]
    if outcome[0] == "unusable":
        raise Unusable(outcome[1], outcome[2])
    if outcome[0] == "raised":
        raise RuntimeError(outcome[1])
    raise Unusable(
        "too complex",
        f"reading {' and '.join(files)} (parsing, checking the given code, compiling) took more "
        f"than {seconds} s of CPU or {limits.memory_mb} MB: simplify what makes it large (code "
        "nested very deep, constants built from constants such as 'x' * 4096 + 'x' * 4096) and "
        "hand it in again.",
    )


class Reader:
    """The reader process of the process that started it: one job at a time, over two pipes."""

    def __init__(self):
        self.owner = os.getpid()
        jobs_read, self.jobs = os.pipe()
        self.outcomes, outcomes_write = os.pipe()
        script = (
            f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
            f"from grader.reading import serve; serve({jobs_read}, {outcomes_write})"
        )
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", script],
                stdin=subprocess.DEVNULL,
                pass_fds=(jobs_read, outcomes_write),
                start_new_session=True,  # Ctrl-C reaches the grader, which stops it
            )
        finally:
            os.close(jobs_read)
            os.close(outcomes_write)

    def run(self, job):
        """The outcome of `job` (see `serve`). A reader that ended without one ran out of CPU
        time (the hand-in's doing: ("too large",)) or failed (the grader's: RuntimeError)."""
        try:
            _send(self.jobs, pickle.dumps(job))
            data = _receive(self.outcomes)
        except OSError:
            data = None
        if data is not None:
            outcome = pickle.loads(data)
            if outcome == ("too large",):  # the reader ends: the next hand-in starts another
                self.close()
            return outcome
        self.close()
        status = self.process.returncode
        if status in (-signal.SIGKILL, -signal.SIGXCPU):  # out of CPU time, or killed for memory
            return ("too large",)
        raise RuntimeError(f"reading the hand-in ended with exit status {status}")

    def close(self):
        for fd in (self.jobs, self.outcomes):
            try:
                os.close(fd)
            except OSError:
                pass
        self.process.kill()
        self.process.wait()


_readers = {}


@atexit.register
def _close_readers():
    """Stop the reader this process started (a grading process ends without exit handlers: its
    reader ends on its own when the jobs pipe closes)."""
    reader = _readers.pop(os.getpid(), None)
    if reader is not None:
        reader.close()


def _reader():
    """This process's reader, started on first use or again after it failed. A grading process
    forked from this one starts its own: a reader serves the process that started it."""
    reader = _readers.get(os.getpid())
    if reader is None or reader.process.poll() is not None:
        reader = _readers[os.getpid()] = Reader()
    return reader


def serve(jobs, outcomes):
    """The reader: for each job (prepare, read, memory_mb, seconds), run `prepare()`, then
    `read()` within `memory_mb` more memory and `seconds` more CPU time, and send ("done", its
    result), ("unusable", status, message), ("raised", what) for an error of the grader's own, or
    ("too large",) when it ran out of memory, after which the reader ends (the kernel ends it when
    it runs out of CPU time). Ends when the jobs pipe closes."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crash here leaves no core file
    while True:
        data = _receive(jobs)
        if data is None:
            return
        prepare, read, memory_mb, seconds = pickle.loads(data)
        if prepare is not None:
            prepare()
        outcome = _read_within(read, memory_mb, seconds)
        _send(outcomes, pickle.dumps(outcome))
        if outcome == ("too large",):
            return


def _read_within(read, memory_mb, seconds):
    kinds = (resource.RLIMIT_AS, resource.RLIMIT_CPU)
    limits = [(kind, resource.getrlimit(kind)) for kind in kinds]
    used = resource.getrusage(resource.RUSAGE_SELF)
    _soft_limit(resource.RLIMIT_CPU, math.ceil(used.ru_utime + used.ru_stime) + seconds)
    # memory the heap freed but kept counts in the memory allowed: it is address space taken
    allowed = max(64 << 20, (memory_mb << 20) - _heap_kept())
    _soft_limit(resource.RLIMIT_AS, _memory_now() + allowed)
    try:
        return ("done", read())
    except Unusable as error:
        return ("unusable", error.status, str(error))
    except MemoryError:
        return ("too large",)
    except Exception as error:  # the grader's: raised again in the grading process
        return ("raised", f"{type(error).__name__}: {error}")
    finally:
        for kind, limit in limits:
            resource.setrlimit(kind, limit)


HEADER = struct.Struct("!Q")


def _send(fd, data):
    data = HEADER.pack(len(data)) + data
    while data:
        data = data[os.write(fd, data) :]


def _receive(fd):
    """The next message on `fd`, or None once it closed."""
    header = _read_exactly(fd, HEADER.size)
    return None if header is None else _read_exactly(fd, HEADER.unpack(header)[0])


def _read_exactly(fd, size):
    data = bytearray()
    while len(data) < size:
        chunk = os.read(fd, min(size - len(data), 1 << 20))
        if not chunk:
            return None
        data += chunk
    return bytes(data)


def _memory_now():
    """This process's address space in bytes (where Linux says; else 0)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return 0


def _soft_limit(kind, value):
    """Limit this process to `value` until the limit is set back, or to the hard limit already set
    where that is lower (a grading container may set one): a hard limit cannot be raised again."""
    hard = resource.getrlimit(kind)[1]
    resource.setrlimit(kind, (value if hard == resource.RLIM_INFINITY else min(value, hard), hard))


def _heap_kept():
    """Bytes glibc's heap freed and kept for reuse (0 where glibc does not say)."""
    mallinfo2 = _mallinfo2()
    return 0 if mallinfo2 is None else mallinfo2().i  # fordblks: every free chunk


@functools.cache
def _mallinfo2():
    """glibc's mallinfo2, found once (None without it): a fork need not load ctypes again."""
    try:
        import ctypes

        class MallInfo2(ctypes.Structure):
            _fields_ = [(name, ctypes.c_size_t) for name in "abcdefghij"]

        mallinfo2 = ctypes.CDLL(None).mallinfo2
        mallinfo2.restype = MallInfo2
        return mallinfo2
    except (OSError, AttributeError):
        return None
