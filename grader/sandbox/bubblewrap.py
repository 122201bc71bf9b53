"""The bubblewrap command line: what a sandboxed worker sees of the machine.

The system's shared libraries, the interpreter with its standard library and numpy, read-only
(not the rest of /usr or of the Python installation, where other packages live), the worker
script, the assignment's compute file and an empty /tmp in memory: not the repository, the
solution, the grader's checks, any submission (a hand-in's code arrives compiled, with each
check's request), the outputs, the network or /proc (where a check could reach the worker's
state, its pipes and what its earlier forks cost). Of /sys it sees two files alone, the huge page
settings glibc reads. Its processes live in their own pid namespace, so they all die with it.
"""

import functools
import glob
import importlib.util
import os
import site
import struct
import subprocess
import sys
import sysconfig
from pathlib import Path

WORKER_SCRIPT = Path(__file__).with_name("worker.py")
PYTHON = os.path.realpath(sys.executable)
# found, not imported: the process that grades starts its workers while it loads numpy
NUMPY_DIR = Path(importlib.util.find_spec("numpy").origin).parent
SANDBOX_ROOT = "/sandbox"
# glibc reads these before it asks for huge pages (GLIBC_TUNABLES=glibc.malloc.hugetlb=1): with
# them a large case's arrays take a page fault per 2 MB in a check's fork, not one per 4 kB. Not
# the folder: its stats/ counts every huge page the machine hands out, which one check can raise
# and a later one read (a channel for hidden inputs).
HUGE_PAGE_SETTINGS = tuple(
    f"/sys/kernel/mm/transparent_hugepage/{name}" for name in ("enabled", "hpage_pmd_size")
)
# where the worker finds its files inside bubblewrap
INSIDE = {
    "script": f"{SANDBOX_ROOT}/worker.py",
    "lib": f"{SANDBOX_ROOT}/lib",
    "scratch": "/tmp",
    "compute": f"{SANDBOX_ROOT}/compute.py",
}


@functools.cache
def _package_folders():
    """Folders of installed packages that exist: the interpreter's, another Python's beside it
    (/usr/local may hold several), and the system's (Debian's dist-packages under /usr).

    numpy is bound on its own, so hiding them leaves the worker the standard library and numpy.
    """
    listed = site.getsitepackages([sys.base_prefix])  # the interpreter's, not this venv's
    for top in dict.fromkeys((str(Path(sys.base_prefix).resolve()), "/usr", "/usr/local")):
        for kind in ("site-packages", "dist-packages"):
            listed += sorted(glob.glob(f"{top}/lib*/python3*/{kind}"))
    return tuple(dict.fromkeys(folder for folder in listed if os.path.isdir(folder)))


@functools.cache
def _shown_folders():
    """{path outside: path inside} of what the worker is shown of /usr and of its Python.

    Of /usr, the folder of the shared libraries where the system names one (Debian's multiarch
    /usr/lib/x86_64-linux-gnu) and the dynamic loader the interpreter asks for (elsewhere all of
    /usr); of the Python installation, the interpreter and its lib folder (the standard library,
    libpython, the libraries its modules link to: conda keeps them there), or for a Python
    installed in /usr its standard library. Not the rest: any program may keep Python packages of
    its own in /usr (a cloud SDK's vendored libraries), a conda its pkgs/ and envs/ beside lib/,
    and one that differentiates would do the students' work after a sys.path.append.
    """
    home = Path(sys.base_prefix).resolve()
    multiarch = sysconfig.get_config_var("MULTIARCH")
    libraries = f"/usr/lib/{multiarch}"
    if not multiarch or not os.path.isdir(libraries):
        folders = ["/usr"]
    else:
        folders = [libraries]
    if home == Path("/usr"):
        folders += dict.fromkeys(sysconfig.get_path(name) for name in ("stdlib", "platstdlib"))
    else:
        folders += [str(home / lib) for lib in ("lib", "lib64") if (home / lib).is_dir()]
    shown = {folder: folder for folder in folders}
    loader = _loader(PYTHON)
    if loader is not None and os.path.exists(loader):  # reached through /lib64 or /lib
        inside = os.path.realpath(os.path.dirname(loader))
        shown[loader] = os.path.join(inside, os.path.basename(loader))
    shown[PYTHON] = PYTHON
    return shown


def _loader(program):
    """The dynamic loader the ELF file `program` asks for (its PT_INTERP), or None."""
    try:
        with open(program, "rb") as file:
            head = file.read(64)
            if head[:4] != b"\x7fELF":
                return None
            wide, order = head[4] == 2, "<" if head[5] == 1 else ">"
            table, size, count = struct.unpack_from(
                order + ("Q14xHH" if wide else "I10xHH"), head, 32 if wide else 28
            )
            for index in range(count):
                file.seek(table + index * size)
                entry = file.read(size)
                if struct.unpack_from(order + "I", entry)[0] == 3:  # PT_INTERP
                    at, length = struct.unpack_from(
                        order + ("Q16xQ" if wide else "I8xI"), entry, 8 if wide else 4
                    )
                    file.seek(at)
                    return os.fsdecode(file.read(length).rstrip(b"\0"))
    except (OSError, struct.error):
        pass
    return None


def bwrap_prefix(compute_file, scratch_mb):
    """The bubblewrap command line that exposes only what the worker needs.

    The only writable place is a small /tmp in memory, emptied after every check.
    The root and /dev that bubblewrap makes are in-memory file systems without a size limit,
    so both are remounted read-only: files there could otherwise fill the machine's memory. So
    is /dev/pts, whose modes a check could otherwise change and a later one read.
    """
    command = ["bwrap", "--unshare-all", "--unshare-user", "--uid", "65534", "--gid", "65534"]
    command += ["--cap-drop", "ALL", "--die-with-parent", "--new-session"]
    for outside, inside in _shown_folders().items():
        command += ["--ro-bind", outside, inside]
    command += ["--dev", "/dev"]
    command += ["--size", str(scratch_mb << 20), "--tmpfs", "/tmp"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            command += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            command += ["--ro-bind", top, top]
    # the standard library, not what else is installed (torch or sympy would do the work)
    for folder in _package_folders():
        command += ["--tmpfs", folder, "--remount-ro", folder]
    for lib in (NUMPY_DIR, NUMPY_DIR.with_name("numpy.libs")):
        if lib.is_dir():
            command += ["--ro-bind", str(lib), f"{INSIDE['lib']}/{lib.name}"]
    command += ["--ro-bind", str(WORKER_SCRIPT), INSIDE["script"]]
    if compute_file is not None:
        command += ["--ro-bind", str(compute_file), INSIDE["compute"]]
    for settings in HUGE_PAGE_SETTINGS:
        if os.path.isfile(settings):
            command += ["--ro-bind", settings, settings]
    command += ["--chdir", INSIDE["scratch"]]
    command += ["--remount-ro", "/dev/pts", "--remount-ro", "/dev", "--remount-ro", "/"]
    return command


def trial_problem():
    """Why bubblewrap cannot start Python with numpy here (its last words), or None if it can."""
    try:
        trial = bwrap_prefix(None, 1) + [PYTHON, "-I", "-S", "-c"]
        trial.append(f"import sys; sys.path[:0] = ['{INSIDE['lib']}']; import numpy")
        done = subprocess.run(trial, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        return str(error)
    if done.returncode == 0:
        return None
    return " ".join(done.stderr.strip().splitlines()[-1:]) or "trial run failed"
