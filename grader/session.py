"""Talk to a sandboxed worker: send a check's cases, get its answers, or fail the check.

A `Worker` is started once per grading slot (bubblewrap, Python and numpy start once) and
serves hand-in after hand-in: each check runs in a fresh fork of it, which runs the hand-in's
code (compiled here, sent with the check's first request) and then its cases, so nothing of
one check, or one student, is in the memory the next fork starts from. A `WorkerSession` is
one hand-in's use of it: the hand-in's compiled code, its grading time, and whether it imports.

A worker that crashes, exits, hangs or garbles the protocol is killed, the check that was
running fails with a message the student can act on, and the next check gets a fresh worker.
Outside bubblewrap, closing a worker also kills the processes it left behind
(see `grader.sandbox.reaper`).
"""

import ctypes
import functools
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from base.text import student_text
from grader.reading import code_or_error, helper_pids
from grader.sandbox.reaper import adopt_orphans, children, kill_adopted
from grader.sandbox.worker import (
    CHECK_STARTS,
    HANDIN_FOLDER,
    ProtocolError,
    waiting_bytes,
    widen_pipe,
)
from grader.submission import Unusable

# an answer's JSON line is a few kB; json.loads of a forged one costs ~50 times its size
MAX_LINE_BYTES = 1 << 20
# how much is read at a time while an answer's line is not whole: the payload after the line,
# megabytes, goes straight into its own array instead (see `_receive_answer`)
LINE_READ_BYTES = 1 << 16
# how long a worker may take to start (numpy loaded, nothing of a hand-in yet): the grader's
# time, not a hand-in's
START_SECONDS = 60


class WorkerFailed(Exception):
    """The worker gave no usable answer; the message says why, in the student's terms.

    `kind` says it without anything the hand-in chose (an exit status, a size): what feedback
    on hidden cases may show, since a hidden case's fork could choose those to spell its inputs.
    """

    def __init__(self, message, kind):
        super().__init__(message)
        self.kind = kind


class ForkEnded(WorkerFailed):
    """The fork running a check ended without answering; the worker itself is fine."""


class ImportFailed(Exception):
    """Running the hand-in's modules raised; the message is the error, as the student reads it."""


class WorkerSession:
    """One hand-in's checks on a worker: its code, its grading time, whether it imports.

    Without a `worker` of the grading slot's, the session starts one of its own and stops it at
    `close`; with one, `close` leaves it ready for the next hand-in.
    """

    def __init__(self, copy_dir, sandbox, limits, assignment, worker=None, compiled=None):
        self.limits, self.assignment = limits, assignment
        self.own_worker = worker is None
        self.worker = worker or Worker(sandbox, limits, assignment)
        self.deadline = time.monotonic() + limits.submission_seconds
        self.imported = False
        self.code, self.import_error = compiled or code_or_error(
            copy_dir, assignment.files, HANDIN_FOLDER
        )

    @property
    def process(self):
        return self.worker.process

    def run(self, request):
        """The worker's answer to a `grader.cases.Request`: (one {"value", "grads"} or {"error"} per
        case, the payload their arrays lie in), still untrusted.

        An error, an end or a hang while a check's fork runs the hand-in's modules makes the
        whole hand-in unusable, said once, not once per check: until a fork has said it ran them,
        each first request asks it to.
        """
        if self.import_error:
            raise Unusable("import error", self.import_error)
        try:
            return self.worker.run(request, self.code, self.deadline, trial=not self.imported)
        except ImportFailed as error:
            self.import_error = f"{error}"
            raise Unusable("import error", self.import_error) from None
        finally:
            self.imported = self.imported or self.worker.said_imported

    def end_check(self):
        """The check's fork has ended and left nothing behind (else `WorkerFailed`)."""
        self.worker.end_check(self.deadline)

    def close(self):
        """Done with this hand-in: its last fork must end before the worker serves another hand-in,
        and a worker of its own, or one its sandbox does not let serve another, is stopped."""
        if self.own_worker or not self.worker.sandbox.reuses_workers:
            self.worker.close()
        else:
            self.worker.settle(self.deadline)


def kill_group(process):
    """Kill a worker's process group: its pid stays its own until its parent reaps it."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class Adopted:
    """A worker started by the process this one was forked from (see `Worker.adopt`)."""

    def __init__(self, process):
        self.pid, self.cgroup, self.stage = process.pid, process.cgroup, process.stage
        # it stays this pid until that process reaps it: never before it has ended
        self.pidfd = os.pidfd_open(self.pid)

    def wait(self, timeout=None):
        """Wait until it has ended; its exit status is its parent's to know, so None."""
        if not select.select([self.pidfd], [], [], timeout)[0]:
            raise subprocess.TimeoutExpired("worker", timeout)
        return None


@functools.cache
def keep_freed_memory():
    """Let glibc reuse the memory of one answer's arrays for the next (Linux, else nothing).

    A hand-in's answers are megabytes of gradients; by default each large buffer is mapped
    anew and returned when freed, so every page of every answer is faulted in again, which
    costs the judge more than reading them.
    """
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(-3, 32 << 20)  # M_MMAP_THRESHOLD (its most): buffers below come from the heap
        libc.mallopt(-1, 512 << 20)  # M_TRIM_THRESHOLD: which keeps up to 512 MB it freed
    except (OSError, AttributeError):  # no glibc
        pass


class Worker:
    """A sandboxed worker: started on first use, restarted after a failure, kept between hand-ins
    while every fork it ran has ended and left no stray byte in its pipes."""

    def __init__(self, sandbox, limits, assignment):
        keep_freed_memory()
        self.sandbox, self.limits, self.assignment = sandbox, limits, assignment
        self.process = None
        self.greeted = False  # whether the running worker said it is ready
        self.requests = 0
        self.said_imported = False  # whether the last request's fork said the hand-in's code ran
        self.renew = False  # whether the worker ended itself after a fork changed its scratch
        self.deadline = float("inf")  # the hand-in's, while one is graded
        # "open" while a check's fork may still answer, "ending" once it answered the last request
        self.fork = None

    def run(self, request, code, deadline, trial=False):
        """The answer to `request`, sent with `code` (see `grader.reading.compiled_code`) when it
        starts a fork, which then first says whether the code ran if this is a `trial`.

        A check's requests go to one fork of the worker, the next only once the last has its
        answer; a new check's first request only once the worker says the last fork ended and
        nothing is left in either pipe, so a fork that saw one check's inputs never reads another's.
        """
        self.deadline = deadline
        if time.monotonic() >= deadline:
            raise self._timeout()
        self.requests += 1
        self.said_imported = False
        try:
            if self.fork == "ending":
                self._await_end()
            if self.renew:
                self.close()
            self.start()
            if not self.greeted:
                self._await_greeting()
            carried = self.fork is None
            trial = trial and carried
            sizes = {name: len(data) for name, data in code.items()} if carried else None
            self._write(
                (CHECK_STARTS if carried else b"")
                + f'{{"id": {self.requests}, "last": {json.dumps(request.last)}, '
                f'{f""""code": {json.dumps(sizes)}, """ if carried else ""}'
                f'{""""trial": true, """ if trial else ""}"payload": {len(request.payload)}, '
                f'"cases": {request.wire}}}\n'.encode()
                + (b"".join(code.values()) if carried else b"")
                + request.payload
            )
            self.fork = "open"
            if trial:
                self._await_import()
            answer, payload = self._read_answer(request.max_payload)
            if not isinstance(answer, dict) or answer.get("id") != self.requests:
                raise ProtocolError("an answer to a different request")
            if "import_error" in answer:
                if not carried:  # only a fork's first answer may say so: it holds no hidden input
                    raise ProtocolError("an import error after the import")
                self.fork = "ending"
                raise ImportFailed(
                    f"importing your code failed: {student_text(answer['import_error'])}"
                )
            if request.last and self.fork == "open":
                self.fork = "ending"
            results = answer.get("results")
            if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
                raise ProtocolError("not one result per case")
            return results, payload
        except ProtocolError as error:
            raise self._broke_protocol(error) from None
        except ForkEnded:  # costs its check only
            if not carried:
                # The fork may have ended before it read this request, and the worker then took
                # it for a new check's: what that fork says would answer the next request.
                self.close()
            raise
        except WorkerFailed:
            self.close()
            raise

    def _await_import(self):
        """The trial fork's word that the hand-in's modules ran. An error, or the fork's end or
        silence before it, is the import's failure (`ImportFailed`), not the check's."""
        importing = f"while importing your {' and '.join(self.assignment.files)}"
        try:
            said, _ = self._read_answer(0)
        except ForkEnded as error:
            raise ImportFailed(f"{importing}: {error}") from None
        except WorkerFailed as error:
            self.close()
            raise ImportFailed(f"{importing}: {error}") from None
        if not isinstance(said, dict) or said.get("id") != self.requests:
            raise ProtocolError("an answer to a different request")
        if "import_error" in said:
            self.fork = "ending"
            raise ImportFailed(f"importing your code failed: {student_text(said['import_error'])}")
        if said.get("imported") is not True:
            raise ProtocolError("no word on the import")
        self.said_imported = True

    def _broke_protocol(self, error):
        self.close()
        return WorkerFailed(
            f"the worker's answer did not follow the protocol ({error}); it was stopped.",
            "did not follow the protocol",
        )

    def end_check(self, deadline):
        """Wait for the check's fork to end, within `deadline`: a fork that leaves a stray answer
        or an unread request behind costs its own check, not the next one."""
        if self.fork != "ending":
            return
        self.deadline = deadline
        try:
            self._await_end()
        except ProtocolError as error:
            raise self._broke_protocol(error) from None
        except WorkerFailed:
            self.close()
            raise

    def settle(self, deadline):
        """Wait for the last fork to end, within `deadline`; stop the worker if it does not, or if
        a check was left half-answered (the grader stopped it)."""
        if self.process is None:
            return
        self.deadline = deadline
        try:
            if self.fork == "open":
                raise ProtocolError("a check left unfinished")
            if self.fork == "ending":
                self._await_end()
        except (ProtocolError, WorkerFailed):
            self.close()
        if self.renew:
            self.close()

    def _await_end(self):
        """Wait for the worker's notice that the last check's fork ended; an answer nobody asked
        for, still in the pipe, is a forgery."""
        self._notice(time.monotonic() + self._time_left(), wanted="ended")
        self._no_stray_answer()

    def _no_stray_answer(self):
        """The check's fork ended: it must have read every request and written no more answers
        than it was sent requests."""
        self.fork = None
        if self.buffer or waiting_bytes(self.response_fd):
            raise ProtocolError("more answers than requests")
        if waiting_bytes(self.request_fd):
            raise ProtocolError("a check ended before it read its requests")

    def start(self):
        """Start the worker, if it is not running, without waiting for its greeting (`run` waits):
        it loads numpy while the grading slot copies and reads a hand-in."""
        if self.process is not None:
            return
        self.scratch_dir = None  # bubblewrap's is its own /tmp, another account's is in its stage
        if not self.sandbox.use_bwrap and self.sandbox.account is None:
            self.scratch_dir = Path(tempfile.mkdtemp(prefix="grader-scratch-"))
        request_read, self.request_fd = os.pipe()
        self.response_fd, response_write = os.pipe()
        self.notice_fd, notice_write = os.pipe()
        os.set_blocking(self.request_fd, False)
        widen_pipe(self.response_fd)
        self.buffer, self.notices, self.header = bytearray(), bytearray(), None
        if not self.sandbox.use_bwrap:  # bubblewrap's pid namespace does this job
            adopt_orphans()
            self.known_children = children()
        try:
            self.process = self.sandbox.start(
                self.scratch_dir,
                (request_read, response_write, notice_write),
                self.limits,
                self.assignment,
            )
        except BaseException:
            for fd in (self.request_fd, self.response_fd, self.notice_fd):
                os.close(fd)
            self._remove_scratch()
            raise
        finally:
            for fd in (request_read, response_write, notice_write):
                os.close(fd)

    def greet(self):
        """Wait for the worker's greeting: numpy and the assignment's compute file are loaded,
        nothing of a hand-in. None once it came; else what came instead, and the worker is
        stopped."""
        try:
            hello = self._notice(time.monotonic() + START_SECONDS, wanted="ready")
        except (WorkerFailed, ProtocolError) as error:
            hello = error
        if hello == {"ready": True}:
            self.greeted = True
            return None
        self.close()
        return student_text(hello)

    def _await_greeting(self):
        """`greet`, or fail: a worker that cannot get that far is the grader's problem, not the
        student's: the hand-in's row says "grader error"."""
        problem = self.greet()
        if problem is not None:
            raise RuntimeError(
                f"the sandboxed worker did not start ({problem}); run `pytest grader "
                "--submission FOLDER` on one hand-in to see it fail, or grade with --sandbox "
                "process"
            )

    def adopt(self):
        """Use a worker the process this one was forked from started: it is not this process's
        child, so it is waited for through a pidfd, and how it ended is not known here."""
        if self.process is not None:
            self.process = Adopted(self.process)

    def release(self):
        """Leave the worker to another process (a grading slot forked with it): close this
        process's ends of its pipes, without stopping it."""
        if self.process is not None:
            for fd in (self.request_fd, self.response_fd, self.notice_fd):
                os.close(fd)
            self.process = None

    def _remove_scratch(self):
        if self.scratch_dir is not None and self.scratch_dir.exists():
            wipe(str(self.scratch_dir))
            self.scratch_dir.rmdir()
        self.scratch_dir = None

    def _time_left(self):
        return min(self.limits.case_seconds, self.deadline - time.monotonic())

    def _write(self, data):
        """Write `data` to the request pipe within the time left, however quickly it drains."""
        until = time.monotonic() + self._time_left()
        data = memoryview(data)
        while data:
            left = until - time.monotonic()
            if left <= 0 or not select.select([], [self.request_fd], [], left)[1]:
                raise self._timeout()
            try:
                data = data[os.write(self.request_fd, data) :]
            except BrokenPipeError:
                raise self._stopped() from None

    def _read_answer(self, max_payload):
        """A check's answer, within the time left: its JSON line and the payload of at most
        `max_payload` bytes of arrays it announces. If the worker says the fork ended first,
        what the fork wrote before it ended still counts; without an answer it is `ForkEnded`."""
        until = time.monotonic() + self._time_left()
        while True:
            message = self._complete_answer(max_payload)
            if message is not None:
                return message
            readable = self._wait([self.response_fd, self.notice_fd], until)
            if self.response_fd in readable:
                self._receive_answer()
                continue
            status = self._notice(until, wanted="ended")
            self.fork = None
            # all it wrote is in the pipe by now
            while message is None and waiting_bytes(self.response_fd):
                self._receive_answer()
                message = self._complete_answer(max_payload)
            if message is None:
                # a cut-off answer of a fork that ended: nothing to read on
                self.buffer.clear()
                self.header = None
                raise ForkEnded(self._ended_text(status), "the process running your code ended")
            return message

    def _complete_answer(self, max_payload):
        """The answer once it is all in, else None. Its line is read once, however slowly its
        payload comes; the payload's bytes then go straight into an array of its size (see
        `_receive_answer`), not through the line's buffer: megabytes a check, copied once."""
        if self.header is None:
            if b"\n" not in self.buffer[:MAX_LINE_BYTES]:
                if len(self.buffer) > MAX_LINE_BYTES:
                    raise ProtocolError(f"an answer line longer than {MAX_LINE_BYTES >> 20} MB")
                return None
            end = self.buffer.index(b"\n") + 1
            try:
                header = json.loads(self.buffer[:end])
            except (ValueError, RecursionError):  # RecursionError: a line nested thousands deep
                raise ProtocolError("a line that is not JSON") from None
            size = header.get("payload", 0) if isinstance(header, dict) else 0
            if type(size) is not int or not 0 <= size <= max_payload:
                raise ProtocolError(
                    f"an answer of {student_text(size, limit=20)} bytes of arrays, where "
                    f"{max_payload} would hold twice the expected ones (gradients of the wrong "
                    "shape?)"
                )
            payload = bytearray(size)
            arrived = min(size, len(self.buffer) - end)
            payload[:arrived] = memoryview(self.buffer)[end : end + arrived]
            del self.buffer[: end + arrived]
            self.header = header, payload, arrived
        header, payload, arrived = self.header
        if arrived < len(payload):
            return None
        self.header = None
        return header, payload

    def _receive_answer(self):
        """Read what the fork wrote: into the payload while one is due, else into the buffer of
        the answer's line. Never past the payload's end: bytes after an answer stay in the pipe,
        where `_no_stray_answer` finds them."""
        if self.header is None:
            self._receive(self.response_fd, self.buffer)
            return
        header, payload, arrived = self.header
        count = os.readv(self.response_fd, [memoryview(payload)[arrived:]])
        if not count:
            raise self._stopped()
        self.header = header, payload, arrived + count

    def _notice(self, until, wanted):
        """The worker's next notice, which must be `wanted` ("ready": its greeting, or "ended": the
        exit status of the fork that ran the last check)."""
        while b"\n" not in self.notices:
            if len(self.notices) > 1 << 16:
                raise ProtocolError("a notice longer than 64 kB")
            self._wait([self.notice_fd], until)
            self._receive(self.notice_fd, self.notices)
        end = self.notices.index(b"\n") + 1
        try:
            notice = json.loads(self.notices[:end])
        except (ValueError, RecursionError):
            raise ProtocolError("a notice that is not JSON") from None
        del self.notices[:end]
        if wanted == "ready":
            return notice
        if isinstance(notice, dict) and notice.get("out_of_turn"):
            raise ProtocolError("a check ended before it read its requests")
        if not isinstance(notice, dict) or "ended" not in notice:
            raise ProtocolError("a notice out of turn")
        if notice.get("smuggled"):
            raise ProtocolError("a check wrote into its own request pipe")
        if notice.get("tampered"):
            raise ProtocolError("a check changed the worker's pipes, limits or priority")
        self.renew = notice.get("renew") is True  # the fork changed the scratch folder
        return notice["ended"]

    def _wait(self, fds, until):
        """The `fds` readable before `until`. Past it, a notice already waiting is still read,
        but no more of an answer, however much keeps arriving: a fork that trickles its answer a
        byte at a time runs out of time as a silent one does."""
        left = until - time.monotonic()
        readable = select.select(fds, [], [], max(0.0, left))[0]
        if not readable or (left <= 0 and self.response_fd in readable):
            raise self._timeout()
        return readable

    def _receive(self, fd, buffer, size=LINE_READ_BYTES):
        chunk = os.read(fd, size)
        if not chunk:
            raise self._stopped()
        buffer += chunk

    def _timeout(self):
        if time.monotonic() >= self.deadline:
            return WorkerFailed(
                f"stopped: the whole submission used up its {self.limits.submission_seconds:g} s "
                "of grading time.",
                "the hand-in's grading time ran out",
            )
        return WorkerFailed(
            f"no answer within {self.limits.case_seconds:g} s, so the worker was stopped: an "
            "endless loop or very slow code?",
            f"no answer within {self.limits.case_seconds:g} s",
        )

    def _stopped(self):
        try:
            code = self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            code = None
        return WorkerFailed(self._ended_text(code), "the process running your code ended")

    def _ended_text(self, code):
        status = "" if code is None else f" (exit status {student_text(code, limit=20)})"
        return (
            f"the process running your code ended{status}: "
            "sys.exit, "
            f"os._exit, a crash, or a limit (CPU {self.limits.cpu_seconds} s, memory "
            f"{self.limits.memory_mb} MB, "
            f"{self.limits.processes} processes)."
        )

    def close(self):
        """Kill the worker and everything it started: it has nothing to save, so there is no need to
        wait for it."""
        if self.process is None:
            return
        kill_group(self.process)  # before the request pipe closes: it would go on to a next step
        os.close(self.request_fd)
        self.process.wait()
        if isinstance(self.process, Adopted):
            os.close(self.process.pidfd)
        if not self.sandbox.use_bwrap:
            kill_adopted(self.known_children | helper_pids())
        if getattr(self.process, "cgroup", None):
            self.process.cgroup.remove()
        if getattr(self.process, "stage", None):
            shutil.rmtree(self.process.stage, ignore_errors=True)
        os.close(self.response_fd)
        os.close(self.notice_fd)
        self._remove_scratch()
        self.process = None
        self.greeted = False
        self.fork = None
        self.renew = False


def wipe(folder):
    """Empty `folder`, whatever checks left there (folders they made unreadable, nested thousands
    deep): a process worker's scratch folder, once the worker has ended."""
    os.chmod(folder, 0o700)
    stack, folders = [folder], []
    while stack:
        for entry in os.scandir(stack.pop()):
            if entry.is_dir(follow_symlinks=False):
                os.chmod(entry.path, 0o700)
                stack.append(entry.path)
                folders.append(entry.path)
            else:
                os.unlink(entry.path)
    for path in reversed(folders):  # each after the folders found inside it
        os.rmdir(path)
