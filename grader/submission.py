"""Prepare a hand-in for grading: a private copy, and the problems visible without running it.

Grading never touches the hand-in itself: the worker gets a copy of the files students complete,
and nothing else. The copy follows a symbolic link only when it points inside the hand-in, so a
link to the instructor's solution gives the student nothing. The rules (missing files, sizes,
encodings, syntax, changed given code) are base.handin's, which students run too.
"""

import functools
import math
import os
import pickle
import resource
import shutil
import signal
from pathlib import Path

from base.handin import Unusable, check_given_code_unchanged, found_files, students_functions
from base.nbgrader_settings import load_config
from base.paths import COURSE_ROOT

__all__ = ["Unusable", "check_given_code", "given_texts", "private_copy", "within_limits"]


def private_copy(folder, destination, files, max_kb):
    """Copy the `files` students complete from the hand-in `folder` into `destination`; raise
    `Unusable` when one is missing, larger than `max_kb` or a link to a file outside the hand-in.

    Nothing else is copied: a module of the student's own beside them could shadow one
    numpy imports and change the given code from outside, and data sets would only cost time.
    """
    Path(destination).mkdir(parents=True)
    for name, real in found_files(folder, files, max_kb).items():
        shutil.copyfile(real, Path(destination) / name)


@functools.cache
def code_stub(root=COURSE_ROOT):
    """nbgrader's stub for a solution region, which marks the bodies that are the students'."""
    return load_config(root).ClearSolutions.code_stub["python"]


@functools.cache
def given_texts(release_dir, names):
    """{name: the released text} of the files `names`, each parsed here once (base.handin keeps
    what it needs of it): a hand-in is read in a fork (see `within_limits`), which would parse
    them again every time."""
    given = {}
    for name in names:
        if not (release_dir / name).is_file():
            raise FileNotFoundError(
                f"{release_dir / name} is missing: run `course release {release_dir.name}` before "
                "grading."
            )
        given[name] = (release_dir / name).read_text(encoding="utf-8")
        students_functions(given[name], code_stub())
    return given


def check_given_code(trees, release_dir):
    """Raise `Unusable` when a hand-in's file ({name: syntax tree}) differs from the release's
    outside the stubbed bodies."""
    check_given_code_unchanged(trees, given_texts(release_dir, tuple(trees)), code_stub())


def within_limits(read, limits, files):
    """`read()`'s result, computed in a fork of this process with at most `limits.memory_mb` more
    memory and `limits.case_seconds` of CPU; `Unusable` if it needed more.

    Reading a hand-in (parsing it, checking its given code, compiling it) runs none of its code,
    but Python's parser and compiler do as much work as the text asks: code nested hundreds
    deep, or constants the compiler builds from constants ('x' * 4096 + 'x' * 4096 + ...), can
    ask a few kB of source for minutes and gigabytes, in the grader's own process.
    """
    seconds = max(1, math.ceil(limits.case_seconds))
    _mallinfo2()
    read_end, write_end = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        raise
    if pid == 0:  # pragma: no cover (a fork; its result is what the tests see)
        try:
            os.close(read_end)
            _limit_child(limits.memory_mb, seconds)
            try:
                outcome = ("done", read())
            except Unusable as error:
                outcome = ("unusable", error.status, str(error))
            except MemoryError:
                outcome = ("too large",)
            except Exception as error:  # the grader's: raised again in the parent
                outcome = ("raised", RuntimeError(f"{type(error).__name__}: {error}"))
            with os.fdopen(write_end, "wb") as out:
                pickle.dump(outcome, out)
        finally:
            os._exit(0)
    os.close(write_end)
    try:
        with os.fdopen(read_end, "rb") as pipe:
            data = pipe.read()
    finally:
        status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    if data:
        outcome = pickle.loads(data)
    elif status in (-signal.SIGKILL, -signal.SIGXCPU):  # out of CPU time (or of memory, killed)
        outcome = ("too large",)
    else:
        raise RuntimeError(f"reading the hand-in ended with exit status {status} and no word")
    if outcome[0] == "done":
        return outcome[1]
    if outcome[0] == "unusable":
        raise Unusable(outcome[1], outcome[2])
    if outcome[0] == "raised":
        raise outcome[1]
    raise Unusable(
        "too complex",
        f"reading {' and '.join(files)} (parsing, checking the given code, compiling) took more "
        f"than {seconds} s of CPU or {limits.memory_mb} MB: simplify what makes it large (code "
        "nested very deep, constants built from constants such as 'x' * 4096 + 'x' * 4096) and "
        "hand it in again.",
    )


def _limit_child(memory_mb, seconds):
    """This process's limits: `seconds` of CPU, no core file, and `memory_mb` of memory on top of
    what it holds (where Linux says how much that is). Memory the heap freed but kept (see
    grader.session.keep_freed_memory) is address space already taken: it counts in the
    `memory_mb`, or a class run that once freed gigabytes would give reading gigabytes."""
    resource.setrlimit(resource.RLIMIT_CPU, _within_hard(resource.RLIMIT_CPU, seconds))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crash here leaves no core file
    try:
        with open("/proc/self/statm") as statm:
            size = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return
    allowed = size + max(64 << 20, (memory_mb << 20) - _heap_kept())
    resource.setrlimit(resource.RLIMIT_AS, _within_hard(resource.RLIMIT_AS, allowed))


def _within_hard(kind, value):
    """(soft, hard) limits of `value`, or of the hard limit already set where that is lower (a
    grading container may set one): a process may lower its hard limits, never raise them."""
    hard = resource.getrlimit(kind)[1]
    value = value if hard == resource.RLIM_INFINITY else min(value, hard)
    return value, value


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
