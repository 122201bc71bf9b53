"""Read a hand-in (parse it, check its given code, compile it) in a lean process, within limits.

Reading runs none of a hand-in's code, but Python's parser and compiler do as much work as the
text asks: code nested hundreds deep, or constants the compiler builds from constants ('x' * 4096
+ 'x' * 4096 + ...), can ask a few kB of source for minutes, gigabytes, or a hundred MB of code.
So a hand-in is read with the worker's memory and a case's CPU time at most, and its code may be
at most four times the largest source allowed, by a reader: a process of its own per grading
process, which imports the standard library and `base` only (this module runs as its script). A
hand-in that runs out ends the reader (the next hand-in gets a new one) and costs only its own
row.

Reading in a fork of the grading process, as before, cost a few milliseconds a hand-in, and made
the grading process fault on every page it wrote afterwards; the reader forks nothing. Jobs and
outcomes cross as a JSON line and raw bytes, as the worker's requests and answers do: nothing
is unpickled on either side.
"""

import atexit
import functools
import json
import marshal
import os
import resource
import signal
import struct
import subprocess
import sys
from pathlib import Path

from base.handin import Unusable, check_given_code_unchanged, check_readable, students_functions
from base.text import student_text

ROOT = Path(__file__).resolve().parent.parent  # what the reader imports from


def compiled_code(folder, files, origin, sources=None):
    """{module name: its code object, marshalled} of the hand-in's `files` in `folder`, compiled
    as files of the folder `origin` (the worker's `HANDIN_FOLDER`). Compiling runs nothing of the
    hand-in: the worker's forks run the code, one per check, so no file of the hand-in enters the
    sandbox. Sent as it is, after a request's line: neither compressed nor encoded, which every
    check's fork would undo again. `sources` ({name: bytes}), if given, are the files, read
    already."""
    code = {}
    for name in files:
        source = sources[name] if sources else (Path(folder) / name).read_bytes()
        compiled = compile(source, f"{origin}/{name}", "exec", dont_inherit=True)
        try:
            code[Path(name).stem] = marshal.dumps(compiled)
        except ValueError:  # "object too deeply nested": code the worker could not be sent
            raise Unusable(
                "too complex",
                f"{name} nests functions or constants too deeply for Python to pass its code "
                "on: simplify it and hand it in again.",
            ) from None
    return code


def code_or_error(folder, files, origin, sources=None):
    """(`compiled_code`, None), or (None, why Python cannot compile it, as the student reads it)."""
    try:
        return compiled_code(folder, files, origin, sources), None
    except (SyntaxError, ValueError, RecursionError) as error:  # MemoryError: the reader says
        return None, f"Python cannot compile your code: {student_text(error)}"


def read_handin(job):
    """`code_or_error` of the hand-in a job describes: its `files` in `folder`, compiled as files
    of `origin`. Raises `Unusable` when they cannot be read, when (unless `given` is None) they
    differ from the release's texts `given` ({name: text}) outside the bodies marked by
    nbgrader's `stub`, or when their code is larger than `max_code_bytes`."""
    files = job["files"]
    # read once, for the trees, the given-code rule and the compiler alike
    sources = {name: (Path(job["folder"]) / name).read_bytes() for name in files}
    trees = check_readable(job["folder"], files, sources)
    if job["given"] is not None:
        check_given_code_unchanged(trees, job["given"], job["stub"], sources)
    code, error = code_or_error(job["folder"], files, job["origin"], sources)
    size = sum(map(len, (code or {}).values()))
    if size > job["max_code_bytes"]:
        raise Unusable(
            "too complex",
            f"compiled, {' and '.join(files)} come to {size / 2**20:.1f} MB of code, more than "
            f"the {job['max_code_bytes'] / 2**20:.1f} MB allowed: long code, or constants built "
            "from constants (such as 'x' * 4096 + 'x' * 4096), make it large. Shorten it and hand "
            "it in again.",
        )
    return code, error


def read_within_limits(folder, files, origin, given, stub, limits):
    """(`compiled_code`, None) or (None, why it does not compile) of the hand-in's `files` in
    `folder`, read by this process's reader with at most `limits.memory_mb` more memory and
    `limits.case_seconds` of CPU; `Unusable` when it cannot be graded (see `read_handin`), or
    needed more. `given` and `stub`: see `read_handin`."""
    job = {
        "folder": str(folder),
        "files": list(files),
        "origin": origin,
        "given": given,
        "stub": stub,
        "memory_mb": limits.memory_mb,
        "seconds": limits.case_seconds,
        "max_code_bytes": limits.source_kb << 12,
    }
    outcome, code = _reader().run(job)
    if outcome["kind"] == "done":
        return code, outcome["error"]
    if outcome["kind"] == "unusable":
        raise Unusable(outcome["status"], outcome["message"])
    if outcome["kind"] == "raised":
        raise RuntimeError(outcome["message"])
    raise Unusable(
        "too complex",
        f"reading {' and '.join(files)} (parsing, checking the given code, compiling) took more "
        f"than {limits.case_seconds:g} s of CPU or {limits.memory_mb} MB: simplify what makes it "
        "large (code nested very deep, constants built from constants such as 'x' * 4096 + "
        "'x' * 4096) and hand it in again.",
    )


class Reader:
    """The reader process of the process that started it: one job at a time, over two pipes."""

    def __init__(self):
        jobs_read, self.jobs = os.pipe()
        self.outcomes, outcomes_write = os.pipe()
        script = (
            f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
            f"from grader.reading import serve; serve({jobs_read}, {outcomes_write})"
        )
        try:
            self.process = subprocess.Popen(
                # -W ignore: a compiler warning per line of a hand-in would flood the
                # instructor's terminal, and stall the reader where nobody reads its stderr
                [sys.executable, "-I", "-S", "-W", "ignore", "-c", script],
                stdin=subprocess.DEVNULL,
                pass_fds=(jobs_read, outcomes_write),
                start_new_session=True,  # Ctrl-C reaches the grader, which stops it
            )
        except BaseException:
            os.close(self.jobs)
            os.close(self.outcomes)
            raise
        finally:
            os.close(jobs_read)
            os.close(outcomes_write)

    def run(self, job):
        """The reader's (outcome, code) for `job` (see `serve`). A reader that ended without an
        outcome ran out of CPU time (the hand-in's doing: "too large") or failed (the grader's:
        RuntimeError)."""
        try:
            _send(self.jobs, job)
            answer = _receive(self.outcomes)
        except OSError:
            answer = None
        if answer is not None:
            if answer[0]["kind"] == "too large":  # the reader ends: the next hand-in starts another
                self.close()
            return answer
        self.close()
        status = self.process.returncode
        if status in (-signal.SIGKILL, -signal.SIGPROF):  # out of CPU time, or killed for memory
            return {"kind": "too large"}, None
        raise RuntimeError(f"reading the hand-in ended with exit status {status}")

    def close(self):
        """Stop the reader; again, it does nothing (its pipes' numbers may be another file's by
        then)."""
        if self.jobs is None:
            return
        os.close(self.jobs)
        os.close(self.outcomes)
        self.jobs = self.outcomes = None
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
    """This process's reader, started on first use or again after it ended. A grading process
    forked from this one starts its own: a reader serves the process that started it."""
    reader = _readers.get(os.getpid())
    if reader is not None and reader.process.poll() is not None:
        reader.close()
        reader = None
    if reader is None:
        reader = _readers[os.getpid()] = Reader()
    return reader


def helper_pids():
    """The pids of this process's own helpers (its reader): children that are no stray of a
    hand-in's, whatever `grader.sandbox.reaper` finds."""
    reader = _readers.get(os.getpid())
    return {reader.process.pid} if reader is not None and reader.process.poll() is None else set()


def serve(jobs, outcomes):
    """The reader: for each job (see `read_within_limits`), parse the release's texts once, then
    read the hand-in within the job's memory and CPU time, and send the outcome: "done" (its code
    after the line, or the compile error), "unusable" (status, message), "raised" for an error of
    the grader's own, or "too large" when it ran out of memory, after which the reader ends. Out
    of CPU time, the kernel ends it (SIGPROF). Ends when the jobs pipe closes."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crash here leaves no core file
    signal.signal(signal.SIGPROF, signal.SIG_DFL)  # its default ends the process
    while True:
        answer = _receive(jobs)
        if answer is None:
            return
        outcome, code = _read_within(answer[0])
        _send(outcomes, outcome, code)
        if outcome["kind"] == "too large":
            return


def _read_within(job):
    try:
        for text in (job["given"] or {}).values():  # once: the cache keeps them parsed
            students_functions(text, job["stub"])
    except Exception as error:
        return {"kind": "raised", "message": f"{type(error).__name__}: {error}"}, None
    limit = resource.getrlimit(resource.RLIMIT_AS)
    # memory the heap freed but kept counts in the memory allowed: it is address space taken
    allowed = max(64 << 20, (job["memory_mb"] << 20) - _heap_kept())
    _soft_limit(resource.RLIMIT_AS, _memory_now() + allowed)
    signal.setitimer(signal.ITIMER_PROF, job["seconds"])  # CPU time, user and system
    try:
        code, error = read_handin(job)
        return {"kind": "done", "error": error}, code
    except Unusable as error:
        return {"kind": "unusable", "status": error.status, "message": str(error)}, None
    except MemoryError:
        return {"kind": "too large"}, None
    except Exception as error:  # the grader's: raised again in the grading process
        return {"kind": "raised", "message": f"{type(error).__name__}: {error}"}, None
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        resource.setrlimit(resource.RLIMIT_AS, limit)


LENGTH = struct.Struct("!Q")


def _send(fd, header, code=None):
    """Send `header` (JSON) and, after it, `code` ({name: bytes}, its sizes in the header)."""
    header = {**header, "code": None if code is None else {n: len(c) for n, c in code.items()}}
    line = json.dumps(header).encode()
    data = memoryview(b"".join([LENGTH.pack(len(line)), line, *(code or {}).values()]))
    while data:
        data = data[os.write(fd, data) :]


def _receive(fd):
    """The next (header, {name: bytes} or None) on `fd`, or None once it closed."""
    size = _read_exactly(fd, LENGTH.size)
    line = None if size is None else _read_exactly(fd, LENGTH.unpack(size)[0])
    if line is None:
        return None
    header = json.loads(line)
    if header.get("code") is None:
        return header, None
    code = {}
    for name, length in header["code"].items():
        code[name] = _read_exactly(fd, length)
        if code[name] is None:
            return None
    return header, code


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
    """glibc's mallinfo2, found once (None without it)."""
    try:
        import ctypes

        class MallInfo2(ctypes.Structure):
            _fields_ = [(name, ctypes.c_size_t) for name in "abcdefghij"]

        mallinfo2 = ctypes.CDLL(None).mallinfo2
        mallinfo2.restype = MallInfo2
        return mallinfo2
    except (OSError, AttributeError):
        return None
