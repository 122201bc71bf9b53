"""Talk to one submission's sandboxed worker: send a check's cases, get its answers, or fail the check.

One worker answers all of a submission's checks (numpy and the student's
modules are imported once, each check runs in a fork of it), so grading a
class is fast. A worker that crashes, exits, hangs or garbles the
protocol is killed, the check that was running fails with a message the
student can act on, and the next check gets a fresh worker. If importing the
student's modules fails, that failure is remembered and makes the hand-in unusable.
Outside bubblewrap, closing a worker also kills the processes it left behind
(see `grader.reaper`).
"""
import json
import os
import select
import shutil
import signal
import subprocess
import time
from pathlib import Path

from grader.judge import student_text
from grader.reaper import adopt_orphans, children, kill_adopted
from grader.submission import Unusable
from grader.worker import ProtocolError, widen_pipe, wipe

MAX_LINE_BYTES = 1 << 20  # an answer's JSON line is a few kB; json.loads of a forged one costs ~50 times its size


class WorkerFailed(Exception):
    """The worker gave no usable answer; the message says why, in the student's terms."""


class WorkerSession:
    """The worker of one submission: started on first use, restarted after a failure."""

    def __init__(self, copy_dir, sandbox, limits):
        self.copy_dir, self.sandbox, self.limits = Path(copy_dir), sandbox, limits
        self.checked = {path.name: path.read_bytes() for path in self.copy_dir.iterdir()}  # the files grading read
        self.scratch_dir = self.copy_dir.with_name(self.copy_dir.name + ".scratch")  # outside bubblewrap only
        self.deadline = time.monotonic() + limits.submission_seconds
        self.process = None
        self.import_error = None
        self.requests = 0

    def run(self, request):
        """The worker's answer to a `grader.cases.Request`: (one {"value", "grads"} or {"error"} per
        case, the payload their arrays lie in), still untrusted."""
        if self.import_error:
            raise Unusable("import error", self.import_error)
        if time.monotonic() >= self.deadline:
            raise self._timeout()
        if self.process is None:
            self._start()
        self.requests += 1
        try:
            self._write(f'{{"id": {self.requests}, "cases": {request.wire}}}\n'.encode())
            answer, payload = self._read(request.max_payload)
            if not isinstance(answer, dict) or answer.get("id") != self.requests:
                raise ProtocolError("an answer to a different request")
            results = answer.get("results")
            if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
                raise ProtocolError("not one result per case")
            return results, payload
        except ProtocolError as error:
            self.close()
            raise WorkerFailed(f"the worker's answer did not follow the protocol ({error}); it was stopped.") from None
        except WorkerFailed:
            self.close()
            raise

    def _restore_copy(self):
        """Put back the files grading checked, and only those: outside bubblewrap the copy is writable,
        and a check that rewrote it must not hand a restarted worker code nobody checked."""
        for path in self.copy_dir.iterdir():
            shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
        for name, data in self.checked.items():
            (self.copy_dir / name).write_bytes(data)

    def _start(self):
        if not self.sandbox.use_bwrap:
            self._restore_copy()
            self.scratch_dir.mkdir(exist_ok=True)
            wipe(str(self.scratch_dir))
        request_read, self.request_fd = os.pipe()
        self.response_fd, response_write = os.pipe()
        os.set_blocking(self.request_fd, False)
        widen_pipe(self.response_fd)
        self.buffer = bytearray()
        if not self.sandbox.use_bwrap:  # bubblewrap's pid namespace does this job
            adopt_orphans()
            self.known_children = children()
        try:
            self.process = self.sandbox.start(self.copy_dir, self.scratch_dir, request_read, response_write, self.limits)
        except BaseException:
            os.close(self.request_fd)
            os.close(self.response_fd)
            raise
        finally:
            os.close(request_read)
            os.close(response_write)
        try:
            hello, _ = self._read(max_payload=0)
        except WorkerFailed as error:
            self.import_error = f"while importing your toolbox.py and nn.py: {error}"
        except ProtocolError as error:
            self.import_error = f"while importing your toolbox.py and nn.py the worker broke the protocol ({error})."
        else:
            if hello == {"ready": True}:
                return
            detail = hello.get("error") if isinstance(hello, dict) else None
            self.import_error = f"importing your code failed: {student_text(detail)}"
        self.close()
        raise Unusable("import error", self.import_error)

    def _time_left(self):
        return min(self.limits.case_seconds, self.deadline - time.monotonic())

    def _write(self, data):
        until = time.monotonic() + self._time_left()
        while data:
            if not select.select([], [self.request_fd], [], max(0.0, until - time.monotonic()))[1]:
                raise self._timeout()
            try:
                data = data[os.write(self.request_fd, data):]
            except BrokenPipeError:
                raise self._stopped() from None

    def _read(self, max_payload):
        """The next message, within the time left: its JSON line and the payload of at most
        `max_payload` bytes it announces (`grader.worker.frame`)."""
        until = time.monotonic() + self._time_left()
        while b"\n" not in self.buffer:
            if len(self.buffer) > MAX_LINE_BYTES:
                raise ProtocolError(f"an answer line longer than {MAX_LINE_BYTES >> 20} MB")
            self._receive(until)
        end = self.buffer.index(b"\n")
        try:
            header = json.loads(self.buffer[:end])
        except (ValueError, RecursionError):  # RecursionError: a forged line nested thousands deep
            raise ProtocolError("a line that is not JSON") from None
        size = header.get("payload", 0) if isinstance(header, dict) else 0
        if type(size) is not int or not 0 <= size <= max_payload:
            raise ProtocolError(f"an answer of {student_text(size, limit=20)} bytes of arrays, where "
                                f"{max_payload} would hold twice the expected ones (gradients of the wrong shape?)")
        while len(self.buffer) < end + 1 + size:
            self._receive(until)
        payload = bytes(self.buffer[end + 1:end + 1 + size])
        del self.buffer[:end + 1 + size]
        return header, payload

    def _receive(self, until):
        if not select.select([self.response_fd], [], [], max(0.0, until - time.monotonic()))[0]:
            raise self._timeout()
        chunk = os.read(self.response_fd, 1 << 20)
        if not chunk:
            raise self._stopped()
        self.buffer += chunk

    def _timeout(self):
        if time.monotonic() >= self.deadline:
            return WorkerFailed(f"stopped: the whole submission used up its {self.limits.submission_seconds:g} s of grading time.")
        return WorkerFailed(
            f"no answer within {self.limits.case_seconds:g} s, so the worker was stopped: an endless loop or very slow code?"
        )

    def _stopped(self):
        try:
            code = self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            code = None
        return WorkerFailed(
            f"the process running your code ended (exit status {code}): sys.exit, os._exit, a crash, or a limit "
            f"(CPU {self.limits.cpu_seconds} s, memory {self.limits.memory_mb} MB, {self.limits.processes} processes)."
        )

    def close(self):
        """Kill the worker and everything it started: it has nothing to save, so there is no need to wait for it."""
        if self.process is None:
            return
        os.close(self.request_fd)
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        if not self.sandbox.use_bwrap:
            kill_adopted(self.known_children)
        os.close(self.response_fd)
        self.process = None
