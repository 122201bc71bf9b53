"""The worker answers each check in a fork: the answer comes back, and a child that dies says how,
at once."""

import fcntl
import json
import marshal
import os
import resource
import signal
import struct
import subprocess
import sys
import sysconfig
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from handins import BACKPROP, SEED

from grader.sandbox import Limits, Sandbox, choose_sandbox
from grader.sandbox.worker import (
    SYSCALLS,
    _read_request,
    decode_case,
    in_a_fork,
    process_guard,
    waiting_bytes,
)


@pytest.fixture
def sleepers(tmp_path):
    """Where a child notes its sleeper; every sleeper of the test is killed at the end."""
    yield tmp_path
    for note in tmp_path.glob("*.pid"):
        for pid in map(int, note.read_text().split()):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def noting_sleeper(folder, name):
    """Fork a sleeper and note its pid in folder/name.pid."""
    pid = os.fork()
    if pid == 0:
        time.sleep(20)
        os._exit(0)
    (folder / f"{name}.pid").write_text(str(pid))


def test_the_answer_comes_back_even_if_a_process_left_behind_holds_the_pipe(sleepers):
    def work():
        noting_sleeper(sleepers, "answered")
        return {"answer": 42}

    start = time.monotonic()
    line, status = in_a_fork(work, ())
    assert (line, status) == (b'{"answer": 42}\n', 0)
    assert time.monotonic() - start < 5


def test_a_child_that_dies_without_answering_is_reported_at_once(sleepers):
    def work():
        noting_sleeper(sleepers, "died")
        os._exit(7)

    start = time.monotonic()
    assert in_a_fork(work, ()) == (None, 7)
    assert time.monotonic() - start < 5  # not once the sleeper lets go of the pipe, 20 s later


@pytest.mark.parametrize("code, status", [(3, 3), (None, 0), ("a message", 1), (2**40 + 3, 3)])
def test_sys_exit_ends_the_check_with_its_status(code, status):
    assert in_a_fork(lambda: sys.exit(code), ()) == (None, status)


def test_a_killed_child_reports_its_signal():
    assert in_a_fork(lambda: os.kill(os.getpid(), signal.SIGKILL), ()) == (None, -signal.SIGKILL)


def test_the_guard_stops_a_check_from_starting_processes_or_threads():
    guard = process_guard()

    def try_to_start():
        guard()
        refused = []
        for start in (os.fork, threading.Thread(target=time.sleep, args=(0,)).start):
            try:
                if start() == 0:
                    os._exit(0)
            except (OSError, RuntimeError) as error:
                refused.append(type(error).__name__)
        return refused

    line, status = in_a_fork(try_to_start, ())
    assert (line, status) == (b'["BlockingIOError", "RuntimeError"]\n', 0)
    pid = os.fork()  # the guard binds the check's process only
    if pid == 0:
        os._exit(0)
    assert os.waitpid(pid, 0)[1] == 0


def system_call(number_or_name, *arguments):
    """Make a call Python has no function for; raise its error."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if isinstance(number_or_name, str):
        done = getattr(libc, number_or_name)(*arguments)
    else:
        done = libc.syscall(number_or_name, *arguments)
    if done < 0:
        raise OSError(ctypes.get_errno(), f"system call {number_or_name} failed")


def test_the_guard_refuses_what_would_reach_the_worker_and_allows_a_checks_own_business(tmp_path):
    """What a check could set that outlives its fork, on the worker, its pipes, the files it shares
    with the machine or the machine itself, and a later check read; and what it may still do."""
    guard = process_guard()
    read_end, write_end = os.pipe()
    shared = tmp_path / "shared"
    shared.write_bytes(b"x" * 4096)

    def try_everything():
        import ctypes

        guard()
        file = os.open(shared, os.O_RDONLY)
        tries = {
            "limit the parent": lambda: resource.prlimit(
                os.getppid(), resource.RLIMIT_NOFILE, (64, 64)
            ),
            "signal the parent": lambda: os.kill(os.getppid(), signal.SIGCONT),
            "set a pipe's flags": lambda: fcntl.fcntl(read_end, fcntl.F_SETFL, os.O_NONBLOCK),
            "resize a pipe": lambda: fcntl.fcntl(read_end, 1031, 4096),
            "own a pipe's signals": lambda: fcntl.fcntl(read_end, fcntl.F_SETOWN, os.getppid()),
            "renice the parent": lambda: os.setpriority(os.PRIO_PROCESS, os.getppid(), 19),
            "date a folder": lambda: os.utime(".", ns=(0, 0)),
            "read the machine's free memory and load": lambda: system_call(
                "sysinfo", ctypes.create_string_buffer(256)
            ),
            "lock a shared file": lambda: fcntl.flock(file, fcntl.LOCK_SH),
            "lock a shared file for its open description": lambda: fcntl.fcntl(
                file, 37, struct.pack("hhqqi4x", fcntl.F_RDLCK, 0, 0, 1, 0)
            ),
            "lock a shared file for the process": lambda: fcntl.lockf(file, fcntl.LOCK_SH),
            "hint a shared file's writes": lambda: fcntl.fcntl(file, 1036, struct.pack("Q", 2)),
            "ioctl a shared file": lambda: fcntl.ioctl(file, 0x80086601, b"\0" * 8),
            "make an unnamed file": lambda: os.open(tmp_path, os.O_TMPFILE | os.O_WRONLY),
            "evict a file from memory": lambda: os.posix_fadvise(
                file, 0, 0, os.POSIX_FADV_DONTNEED
            ),
            "read a file only if in memory": lambda: os.preadv(
                file, [bytearray(16)], 0, os.RWF_NOWAIT
            ),
            "ask which pages are in memory": lambda: system_call(
                "mincore", None, 4096, ctypes.create_string_buffer(1)
            ),
            "count a file's pages in memory": lambda: system_call(451, file, None, None, 0),
            "make a pipe (a number from a counter the machine shares)": os.pipe,
            "count its reads from disk": lambda: resource.getrusage(resource.RUSAGE_SELF),
            "read the kernel's log": lambda: system_call("klogctl", 3, None, 0),
            "make itself dumpable": lambda: system_call("prctl", 4, 1, 0, 0, 0),
            "run a program (dumpable again)": lambda: os.execv("/bin/true", ["true"]),
            "name itself": lambda: system_call("prctl", 15, b"check", 0, 0, 0),
            "make a userfaultfd (a number from the same counter)": lambda: system_call(
                SYSCALLS[os.uname().machine][1]["userfaultfd"], 1
            ),
            "hold the parent by a descriptor": lambda: os.pidfd_open(os.getppid()),
            "change a pipe's mode": lambda: os.fchmod(read_end, 0o600),
            "change a shared file's mode": lambda: os.chmod(shared, 0o600),
            "change a shared file's owner": lambda: os.chown(shared, -1, -1),
            "limit itself": lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64)),
            "read a pipe's flags": lambda: fcntl.fcntl(read_end, fcntl.F_GETFL),
            "ask whether a file is a terminal": lambda: os.isatty(file),
            "open a file by name": lambda: os.close(os.open(shared, os.O_RDONLY)),
        }
        outcome = {}
        for name, attempt in tries.items():
            try:
                attempt()
                outcome[name] = "done"
            except PermissionError:
                outcome[name] = "refused"
            except OSError as error:
                outcome[name] = f"failed: {error}"
        return outcome

    outcome = json.loads(in_a_fork(try_everything, ())[0])
    os.close(read_end), os.close(write_end)
    allowed = {
        "limit itself",
        "read a pipe's flags",
        "ask whether a file is a terminal",
        "open a file by name",
        "name itself",
    }
    assert outcome == {name: "done" if name in allowed else "refused" for name in outcome}


def test_an_answer_is_handed_on_before_the_child_is_reaped():
    handed = []
    assert in_a_fork(lambda: {"answer": 42}, (), answered=handed.append) == (b'{"answer": 42}\n', 0)
    assert handed == [b'{"answer": 42}\n']
    assert in_a_fork(lambda: os._exit(3), (), answered=handed.append) == (None, 3)
    assert len(handed) == 1  # a child that died without answering hands on nothing


def memory_of(pid):
    """The bytes of every writable mapping of process `pid` (needs the right to trace it)."""
    found = bytearray()
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            span, perms = line.split()[:2]
            if "w" not in perms:
                continue
            start, end = (int(x, 16) for x in span.split("-"))
            try:
                mem.seek(start)
                found += mem.read(end - start)
            except OSError:  # a mapping that cannot be read (a guard page)
                pass
    return bytes(found)


@pytest.mark.skipif(
    os.geteuid() != 0, reason="reading the worker's memory needs root (it is undumpable)"
)
def test_nothing_a_check_writes_passes_through_the_workers_memory(tmp_path):
    """Each later fork starts from the worker's memory, where freed bytes are not cleared: an
    answer the worker had read or relayed could be found there by a fork making visible feedback."""
    from handins import solution, write_handin

    from grader.cases import checks
    from grader.sandbox import Limits, choose_sandbox
    from grader.session import WorkerSession

    marker = (
        "answer-" + "only-in-the-fork-" + "4f1c"
    )  # joined at run time: not in the source as one
    files = solution()
    files["toolbox.py"] += (
        f"\n\ndef shout(self, grad):\n    raise ValueError('-'.join({marker.split('-')!r}))\n\n\n"
        "Mul.backward = shout\n"
    )
    copy = write_handin(tmp_path / "backprop", files)
    session = WorkerSession(copy, choose_sandbox("process"), Limits(), BACKPROP)
    try:
        for request in checks(BACKPROP, SEED)[0].requests:
            results, _ = session.run(request)
            assert marker in results[0]["error"]
        # the worker has started the next check's fork
        session.run(checks(BACKPROP, SEED)[1].requests[0])
        assert marker.encode() not in memory_of(session.process.pid)
    finally:
        session.close()


@pytest.mark.parametrize("sandbox", ["process", "bubblewrap"])
def test_forks_start_from_frozen_objects_and_a_heap_top_nobody_wrote(sandbox):
    """What keeps a check's page faults few: no collection walks the worker's objects, and its
    large arrays come from heap the worker never touched (glibc's mallinfo2 counts it), starting
    on a huge page of their own, which the worker has not written either (its resident pages).
    Inside bubblewrap too, where the worker has no /proc to look at; and whatever freed chunks
    the worker's heap holds below its top."""
    from grader.sandbox.bubblewrap import INSIDE, PYTHON, bwrap_prefix
    from grader.sandbox.workers import WORKER_ENV

    script = """\
import ctypes, gc, sys
sys.path[:0] = sys.argv[1:]
from worker import huge_page_bytes, ready_for_forks
class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split())]
libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Info
libc.sbrk.restype = ctypes.c_void_p
libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]
hole = bytearray(4 << 20)
kept = bytearray(1 << 20)  # more than any freed chunk: from the top, so the hole stays apart
del hole  # a freed chunk below the top, larger than any gap up to a huge page
before = libc.mallinfo2().keepcost
freed = bytearray(8 << 20)  # the worker's own temporaries, written and given back to the top
del freed
ready_for_forks()
notices = [bytearray(2000) for _ in range(8)]  # what the worker writes between checks
end, top = libc.sbrk(0), libc.mallinfo2().keepcost
resident = ctypes.create_string_buffer(top // 4096 + 1)
huge = huge_page_bytes()
above = end - top + 64
libc.mincore(above, end - above, resident)
print(gc.get_freeze_count(), before, top, above % huge, sum(b & 1 for b in resident.raw[:-1]))
"""
    if sandbox == "process":
        folder = os.path.dirname(sys.modules[process_guard.__module__].__file__)
        command = [sys.executable, "-I", "-c", script, folder]
    elif not choose_sandbox().use_bwrap:
        pytest.skip(f"bubblewrap cannot run here ({choose_sandbox().name})")
    else:
        settings = [arg for name, value in WORKER_ENV.items() for arg in ("--setenv", name, value)]
        inside = [INSIDE["lib"], os.path.dirname(INSIDE["script"])]
        command = [*bwrap_prefix(None, 1), *settings, PYTHON, "-I", "-S", "-c", script, *inside]
    done = subprocess.run(
        command, env={**os.environ, **WORKER_ENV}, capture_output=True, text=True, check=True
    )
    frozen, top_before, top_after, offset, resident_pages = map(int, done.stdout.split())
    assert frozen > 1000
    # 30 MB grown, less the chunk that fills up to a huge page: larger than the freed chunks
    assert top_after - top_before >= 20 << 20
    assert offset == 0 and resident_pages == 0


def test_the_heap_check_reads_only_memory_it_knows_is_mapped():
    import ctypes

    from grader.sandbox.worker import _mapped

    libc = ctypes.CDLL(None)
    kept = bytearray(64)
    assert _mapped(libc, ctypes.addressof(ctypes.c_char.from_buffer(kept)))
    assert not _mapped(libc, 8)  # the first page is never mapped


def test_a_heap_that_had_to_grow_elsewhere_is_left_whole(tmp_path):
    """Where the break cannot move (a mapping just above it), glibc grows its heap elsewhere, and
    the break no longer marks the end of its free top: nothing the worker holds may be given back
    to the kernel then."""
    from grader.sandbox.workers import WORKER_ENV

    script = """\
import ctypes, mmap, sys
sys.path.insert(0, sys.argv[1])
import numpy
from worker import ready_for_forks
libc = ctypes.CDLL(None)
libc.sbrk.restype, libc.sbrk.argtypes = ctypes.c_void_p, [ctypes.c_ssize_t]
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t] + [ctypes.c_int] * 3 + [ctypes.c_long]
above = (libc.sbrk(0) + (1 << 20)) & ~4095
flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | 0x100000  # MAP_FIXED_NOREPLACE
assert libc.mmap(above, 4096, 0, flags, -1, 0) == above
kept = [bytes(range(256)) * 64 for _ in range(2000)]  # 32 MB the worker holds, in that heap
before = hash(b"".join(kept))
ready_for_forks()
print(hash(b"".join(kept)) == before, float(numpy.arange(10.0).sum()))
"""
    folder = os.path.dirname(sys.modules[process_guard.__module__].__file__)
    done = subprocess.run(
        [sys.executable, "-I", "-c", script, folder],
        env={**os.environ, **WORKER_ENV},
        capture_output=True,
        text=True,
    )
    assert (done.returncode, done.stdout.split()) == (0, ["True", "45.0"]), done.stderr[-2000:]


def test_the_worker_interns_the_given_codes_names_so_a_fork_loading_a_hand_in_adds_none(tmp_path):
    """A fork that interns new names writes to the worker's table of them (and may make it grow):
    after `intern_names`, loading the release's code (what a hand-in keeps) finds every name it
    interns already there, the very objects the worker kept."""
    from grader.reading import compiled_code
    from grader.sandbox.workers import given_names

    names = given_names(BACKPROP.release_dir, BACKPROP.files)
    assert {"Tensor", "backward", "grad", "LinearLayer"} <= set(names)
    code = compiled_code(BACKPROP.release_dir, BACKPROP.files, "/hand-in")
    (tmp_path / "code").write_bytes(marshal.dumps(code))
    script = """\
import marshal, sys, types
sys.path.insert(0, sys.argv[1])
from worker import intern_names
names = intern_names(sys.argv[2].split(","))  # kept, as the worker keeps them
kept = {id(name) for name in names}
codes = [marshal.loads(data) for data in marshal.loads(open(sys.argv[3], "rb").read()).values()]
missing = set()
while codes:
    code = codes.pop()
    for name in (*code.co_names, *code.co_varnames, *code.co_cellvars, *code.co_freevars):
        if id(name) not in kept:
            missing.add(name)
    codes += [c for c in code.co_consts if isinstance(c, types.CodeType)]
print(sorted(missing))
"""
    folder = os.path.dirname(sys.modules[process_guard.__module__].__file__)
    done = subprocess.run(
        [sys.executable, "-I", "-c", script, folder, ",".join(names), tmp_path / "code"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "[]"
    command = Sandbox("process", False).command(tmp_path, (3, 4, 5), Limits(), BACKPROP)
    assert command[-1] == ",".join(names)
    (tmp_path / "release").mkdir()
    (tmp_path / "release" / "toolbox.py").write_text("def broken(:\n")
    (tmp_path / "release" / "nn.py").write_text("def helper(layer):\n    return layer\n")
    assert given_names(tmp_path / "release", ("toolbox.py", "nn.py", "gone.py")) == (
        "helper",
        "layer",
    )


@pytest.mark.parametrize("machine", sorted(SYSCALLS))
def test_every_call_the_guard_names_has_a_number_where_the_machine_has_it(machine):
    """A name missing from a machine's table would be left out of its filter without a word;
    only calls that machine's kernel does not have (aarch64: fork, open, utime...) may be."""
    from grader.sandbox.worker import DENIED, NARROWED, REFUSED_VALUES, check_filter_program

    named = {name for names in DENIED.values() for name in names}
    named |= {name for name, *_ in NARROWED} | {name for name, *_ in REFUSED_VALUES}
    absent_on_aarch64 = {"fork", "vfork", "open", "utime", "utimes", "futimesat", "pipe"}
    absent_on_aarch64 |= {"chmod", "chown", "lchown"}
    missing = named - set(SYSCALLS[machine][1])
    assert missing <= (absent_on_aarch64 if machine == "aarch64" else set())
    assert check_filter_program(machine)[-1] == (0x06, 0, 0, 0x7FFF0000)  # ends by allowing


def test_a_request_carries_the_hand_in_code_and_its_arrays_after_its_line_read_to_the_last_byte():
    """Marshalled code and raw arrays hold newlines and arrive in pieces; a fork reads exactly its
    request."""
    code = {"toolbox": b"\x00line\nbreaks\n" * 5000 + b"odd", "nn": b"\n\xff" * 300}
    arrays = np.linspace(0, 1, 9000).tobytes()
    sizes = {name: len(data) for name, data in code.items()}
    line = json.dumps({"id": 1, "code": sizes, "payload": len(arrays)})
    sent = line.encode() + b"\n" + b"".join(code.values()) + arrays
    read_end, write_end = os.pipe()

    def trickle():
        for start in range(0, len(sent), 7001):
            os.write(write_end, sent[start : start + 7001])
            time.sleep(0.001)

    writer = threading.Thread(target=trickle)
    writer.start()
    request = _read_request(read_end)
    writer.join()
    try:
        payload = request.pop("payload")
        assert bytes(payload) == arrays
        # after code of any length, the arrays still start aligned
        assert decode_case({"dtype": "float64", "shape": [9000], "at": 0}, payload).flags.aligned
        assert request == {"id": 1, "code": code}
        assert waiting_bytes(read_end) == 0
    finally:
        os.close(read_end)
        os.close(write_end)


def test_the_sandbox_shows_no_python_code_but_its_own_standard_library():
    """Any program may keep Python packages of its own under /usr (a cloud SDK's vendored
    libraries, another Python's site-packages), a conda its pkgs/ and envs/; one that
    differentiates would do the students' work after a sys.path.append. Of /usr and of the
    Python installation the sandbox shows no Python code but the standard library."""
    from grader.sandbox.bubblewrap import PYTHON, bwrap_prefix

    multiarch = sysconfig.get_config_var("MULTIARCH")
    if not choose_sandbox().use_bwrap:
        pytest.skip(f"bubblewrap cannot run here ({choose_sandbox().name})")
    if not multiarch or not os.path.isdir(f"/usr/lib/{multiarch}"):
        pytest.skip("no multiarch folder of shared libraries: the sandbox shows all of /usr")
    stdlib = sysconfig.get_path("stdlib")
    script = f"""\
import os
for top in ("/usr", {str(Path(sys.base_prefix).resolve())!r}):
    for folder, folders, files in os.walk(top):
        folders[:] = [f for f in folders if os.path.join(folder, f) != {stdlib!r}]
        code = [f for f in files if f.endswith((".py", ".pyc")) or ".cpython-" in f]
        print(*(os.path.join(folder, f) for f in code))
"""
    done = subprocess.run(
        [*bwrap_prefix(None, 1), PYTHON, "-I", "-S", "-c", script],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.split() == []
