"""Talk to one submission's sandboxed worker: send a check's cases, get its answers, or fail the
check.

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

MAX_LINE_BYTES = (
    1 << 20
)  # an answer's JSON line is a few kB; json.loads of a forged one costs ~50 times its size


class WorkerFailed(Exception):
    """The worker gave no usable answer; the message says why, in the student's terms."""


class ForkEnded(WorkerFailed):
    """The fork running a check ended without answering; the worker itself is fine."""


class WorkerSession:
    """The worker of one submission: started on first use, restarted after a failure."""

    def __init__(self, copy_dir, sandbox, limits):
        self.copy_dir, self.sandbox, self.limits = Path(copy_dir), sandbox, limits
        self.checked = {
            path.name: path.read_bytes() for path in self.copy_dir.iterdir()
        }  # the files grading read
        self.scratch_dir = self.copy_dir.with_name(
            self.copy_dir.name + ".scratch"
        )  # outside bubblewrap only
        self.deadline = time.monotonic() + limits.submission_seconds
        self.process = None
        self.import_error = None
        self.requests = 0
        self.fork = (
            None  # "open" while a check's fork awaits its next request, "ending" after its last
        )

    def run(self, request):
        """The worker's answer to a `grader.cases.Request`: (one {"value", "grads"} or {"error"} per
        case, the payload their arrays lie in), still untrusted.

        A check's requests go to one fork of the worker, the next only once the last has its
        answer; a new check's first request only once the worker says the last fork ended,
        so a fork that saw one check's inputs never reads another's.
        """
        if self.import_error:
            raise Unusable("import error", self.import_error)
        if time.monotonic() >= self.deadline:
            raise self._timeout()
        if self.process is None:
            self._start()
        self.requests += 1
        try:
            if self.fork == "ending":
                self._await_end()
            self._write(
                f'{{"id": {self.requests}, "last": {json.dumps(request.last)}, "cases": '
                f"{request.wire}}}\n".encode()
            )
            kind, answer, payload = self._read(request.max_payload)
            if kind == "ended":
                self.fork = None
                raise ForkEnded(self._ended_text(answer))
            if kind != "check" or not isinstance(answer, dict) or answer.get("id") != self.requests:
                raise ProtocolError("an answer to a different request")
            self.fork = "ending" if request.last else "open"
            results = answer.get("results")
            if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
                raise ProtocolError("not one result per case")
            return results, payload
        except ProtocolError as error:
            self.close()
            raise WorkerFailed(
                f"the worker's answer did not follow the protocol ({error}); it was stopped."
            ) from None
        except ForkEnded:  # costs its check only: the worker goes on
            raise
        except WorkerFailed:
            self.close()
            raise

    def _await_end(self):
        """Read the worker's notice that the last check's fork ended: anything else is a forgery."""
        kind, _, _ = self._read(max_payload=0)
        if kind != "ended":
            raise ProtocolError("more answers than requests")
        self.fork = None

    def _restore_copy(self):
        """Put back the files grading checked, and only those: outside bubblewrap the copy is
        writable,
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
            self.process = self.sandbox.start(
                self.copy_dir, self.scratch_dir, request_read, response_write, self.limits
            )
        except BaseException:
            os.close(self.request_fd)
            os.close(self.response_fd)
            raise
        finally:
            os.close(request_read)
            os.close(response_write)
        try:
            _, hello, _ = self._read(max_payload=0)
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
                data = data[os.write(self.request_fd, data) :]
            except BrokenPipeError:
                raise self._stopped() from None

    def _read(self, max_payload):
        """The worker's next message, within the time left, as (kind, JSON, payload): a check's
        answer
        with at most `max_payload` bytes of arrays ("check"), the end of a check's fork ("ended",
        its exit status), or the worker's greeting ("ready")."""
        until = time.monotonic() + self._time_left()
        line = self._take_line(until, limit=MAX_LINE_BYTES)
        try:
            frame = json.loads(line)
        except (ValueError, RecursionError):
            raise ProtocolError("a line that is not JSON") from None
        if not isinstance(frame, dict):
            raise ProtocolError("a message that is not an object")
        if "ended" in frame:
            return "ended", frame["ended"], b""
        if "check" not in frame:
            return "ready", frame, b""
        line_size, size = frame["check"], frame.get("payload")
        if type(line_size) is not int or not 0 < line_size <= MAX_LINE_BYTES:
            raise ProtocolError(f"an answer line longer than {MAX_LINE_BYTES >> 20} MB")
        if type(size) is not int or not 0 <= size <= max_payload:
            raise ProtocolError(
                f"an answer of {student_text(size, limit=20)} bytes of arrays, where "
                f"{max_payload} would hold twice the expected ones (gradients of the wrong shape?)"
            )
        message = self._take(line_size + size, until)
        try:
            header = json.loads(message[:line_size])
        except (ValueError, RecursionError):  # RecursionError: a forged line nested thousands deep
            raise ProtocolError("a line that is not JSON") from None
        if not isinstance(header, dict) or header.get("payload", 0) != size:
            raise ProtocolError("an answer whose arrays do not fit what it announces")
        return "check", header, memoryview(message)[line_size:]

    def _take(self, count, until):
        """The next `count` bytes from the worker, read straight into one buffer (answers are
        megabytes)."""
        message = bytearray(count)
        have = min(count, len(self.buffer))
        message[:have] = self.buffer[:have]
        del self.buffer[:have]
        view = memoryview(message)
        while have < count:
            if not select.select([self.response_fd], [], [], max(0.0, until - time.monotonic()))[0]:
                raise self._timeout()
            got = os.readv(self.response_fd, [view[have:]])
            if not got:
                raise self._stopped()
            have += got
        return message

    def _take_line(self, until, limit):
        """The worker's next line (its own frames are short), as bytes."""
        while b"\n" not in self.buffer:
            if len(self.buffer) > limit:
                raise ProtocolError(f"an answer line longer than {limit >> 20} MB")
            self._receive(until)
        end = self.buffer.index(b"\n") + 1
        if end > limit:
            raise ProtocolError(f"an answer line longer than {limit >> 20} MB")
        line = bytes(self.buffer[:end])
        del self.buffer[:end]
        return line

    def _receive(self, until):
        if not select.select([self.response_fd], [], [], max(0.0, until - time.monotonic()))[0]:
            raise self._timeout()
        chunk = os.read(self.response_fd, 1 << 20)
        if not chunk:
            raise self._stopped()
        self.buffer += chunk

    def _timeout(self):
        if time.monotonic() >= self.deadline:
            return WorkerFailed(
                f"stopped: the whole submission used up its {self.limits.submission_seconds:g} s "
                "of grading time."
            )
        return WorkerFailed(
            f"no answer within {self.limits.case_seconds:g} s, so the worker was stopped: an "
            "endless loop or very slow code?"
        )

    def _stopped(self):
        try:
            code = self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            code = None
        return WorkerFailed(self._ended_text(code))

    def _ended_text(self, code):
        return (
            f"the process running your code ended (exit status {student_text(code, limit=20)}): "
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
        os.close(self.request_fd)
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        if not self.sandbox.use_bwrap:
            kill_adopted(self.known_children)
        if getattr(self.process, "cgroup", None):
            self.process.cgroup.remove()
        os.close(self.response_fd)
        self.process = None
        self.fork = None
