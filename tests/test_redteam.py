"""Hostile hand-ins: none earns what its code does not, none leaves anything behind.

Every hand-in below is graded in ONE `course grade --jobs 2` run with short
limits, as a class with a few bad actors would be: once with bubblewrap (skipped,
saying why, where it cannot run) and once in plain processes. Each is the
solution or the stubs plus code that attacks the grader; the points it may
keep are those of the honest code it contains. Attacks only a namespace
sandbox can stop (reading or writing any file this user may) are left out of
the plain-process run: there `course grade` warns that it is unsafe.
"""

import contextlib
import csv
import io
import json
import sys
import sysconfig
import tempfile
import textwrap
from pathlib import Path

import pytest
from handins import (
    BACKPROP,
    CENTRAL_DIFFERENCES,
    MAX_SCORE,
    POINTS,
    REGION_FILES,
    SEED,
    grade_handin,
    processes_mentioning,
    solution,
    stubs,
    tree_digest,
    with_regions,
    write_handin,
)

from base.paths import COURSE_ROOT
from course.cli import main as course
from grader.cases import checks
from grader.outputs.gradebook import spreadsheet_safe
from grader.sandbox import Limits, cgroup, choose_sandbox

LIMITS = [
    "--case-seconds=2",
    "--submission-seconds=20",
    "--cpu-seconds=5",
    "--memory-mb=512",
    "--processes=16",
]
SLEEPER = "3141.5926"  # how long the escaping process sleeps: a marker no other process has
FORMULA = '=HYPERLINK("http:evil.example","full marks")'  # a folder name a spreadsheet would run
TERMINAL_TRAP = (
    "\x1b]0;retitled\x07\x1b[2J\x1b[31mred"  # a folder name that retitles and clears the terminal
)
NEEDS_NAMESPACES = (
    "reads the solution and imports the grader",
    "writes outside its folder",
    "fills memory through files in Mul",
    "uses the machine's Python packages in Mul",
    "opens the worker's memory in Mul",
)
SANDBOXES = [
    pytest.param(
        "bubblewrap",
        marks=pytest.mark.skipif(
            not choose_sandbox().use_bwrap,
            reason=f"bubblewrap cannot run here ({choose_sandbox().name})",
        ),
    ),
    "process",
]


# Module-level code that swaps every backward but Add's and Mul's in the toolbox module `tb` for
# central differences.
RIG_ENGINE = (
    """\
plain_apply = tb.Function.apply.__func__


def remembering_apply(cls, *inputs, **options):
    out = plain_apply(cls, *inputs, **options)
    if out.grad_fn is not None:
        out.grad_fn.options = options
    return out


"""
    + CENTRAL_DIFFERENCES
    + """
tb.Function.apply = classmethod(remembering_apply)
stack = list(tb.Function.__subclasses__())
while stack:
    cls = stack.pop()
    stack += cls.__subclasses__()
    if cls.__name__ not in ("Add", "Mul"):
        cls.backward = numeric
"""
)
# A stub body that rigs the engine the first time it runs: without a fresh fork per check,
# writing Mul.backward this way earned 14 of 15 points.
NUMERIC_FROM_MUL = (
    "import toolbox as tb\nif not hasattr(tb, '_numeric'):\n    tb._numeric = True\n"
    + textwrap.indent(RIG_ENGINE, "    ")
    + "return grad * self.b, grad * self.a\n"
)
# A stub body that appends the rigging to the worker's copy of toolbox.py and kills the worker, so
# that
# the next check's worker imports it: 13 of 15 points outside bubblewrap until restarts restored the
# copy.
RIGGED_TAIL = "import sys as _sys\ntb = _sys.modules[__name__]\n" + RIG_ENGINE
REWRITE_FROM_MUL = f"""\
import os, signal
try:
    with open(os.path.abspath("toolbox.py"), "a") as file:
        file.write({RIGGED_TAIL!r})
    os.kill(os.getppid(), signal.SIGKILL)
    os._exit(0)
except OSError:  # read-only in bubblewrap
    pass
return grad * self.b, grad * self.a
"""


# Ways to hold memory that an address-space limit does not count and that outlive a check's fork:
# SysV shared memory, a memfd file, a POSIX message queue. Each must fail, or Mul's check fails.
HOLDS_MEMORY = """
import ctypes, os
honest_backward = Mul.backward
def hold(self, grad):
    libc = ctypes.CDLL(None, use_errno=True)
    held = []
    if libc.shmget(0, 64 << 20, 0o1600) >= 0:  # IPC_PRIVATE, IPC_CREAT | 0600
        held.append("a SysV segment")
    try:
        os.ftruncate(os.memfd_create("hoard"), 64 << 20)
        held.append("a memfd file")
    except OSError:
        pass
    libc.mq_open.restype = ctypes.c_int
    if libc.mq_open(b"/hoard", 0o102, 0o600, None) >= 0:  # O_RDWR | O_CREAT
        held.append("a message queue")
    if held:
        raise RuntimeError("held " + ", ".join(held))
    return honest_backward(self, grad)
Mul.backward = hold
"""


# A kernel key outlives the fork that added it: a store the next check's fork could read.
KEEPS_A_KEY = """
import ctypes
honest_backward = Mul.backward
def keep(self, grad):
    libc = ctypes.CDLL(None, use_errno=True)
    key = libc.syscall(248, b"user", b"carried", b"hidden", 6, ctypes.c_long(-4))  # add_key
    if key >= 0:
        raise RuntimeError("a key outlives this check")
    return honest_backward(self, grad)
Mul.backward = keep
"""
# Writing into the request pipe (reopened through /proc) would hand the next check's fork a
# request of this one's making, carrying this check's hidden inputs into a visible message.
SMUGGLES = """
import json, os, sys
honest_mul = Mul.backward
def smuggle(self, grad):
    if np.size(self.a) > 1000:  # a large case: hidden, in the check's last fork
        smuggled = {"smuggled": "SMUGGLED" + str(self.a.ravel()[:3])}
        forged = {"id": 3, "last": True, "cases": [smuggled]}
        with open(f"/proc/self/fd/{sys.argv[1]}", "w") as pipe:
            pipe.write(json.dumps(forged) + "\\n")
    return honest_mul(self, grad)
Mul.backward = smuggle
"""


def only_mul_as(body):
    return with_regions(
        {cls: body if cls == "Mul" else "raise NotImplementedError()\n" for cls in REGION_FILES}
    )


def appended(base, code, file="toolbox.py"):
    return {**base, file: base[file] + "\n\n" + textwrap.dedent(code)}


def hostile_handins(paths, sandbox="bubblewrap"):
    """student id -> (files, points the honest part earns), for a run in `sandbox`."""
    ours = repr(str(paths["submitted"] / "writes outside" / "backprop"))
    targets = [
        str(paths["submitted"] / "zz honest" / "backprop" / "toolbox.py"),
        str(paths["out"] / "grades.csv"),
        str(paths["marker"]),
        str(COURSE_ROOT / "pwned.txt"),
        f"{ours[1:-1]}/pwned.txt",
    ]
    solution_files = {
        name: str(COURSE_ROOT / "source" / "backprop" / name) for name in ("toolbox.py", "nn.py")
    }
    site_dirs = [
        sysconfig.get_path(kind, vars={"base": sys.base_prefix, "platbase": sys.base_prefix})
        for kind in ("purelib", "platlib")
    ]
    site_dirs += [str(path) for path in Path("/usr/lib").glob("python3*/dist-packages")]
    all_but = lambda *checks: MAX_SCORE - sum(POINTS[c] for c in checks)  # noqa: E731
    handins = {
        "exits at import": (appended(solution(), "import sys\nsys.exit(0)\n"), 0),
        "spins at import": (appended(solution(), "while True:\n    pass\n"), 0),
        "os._exit in Mul": (
            appended(solution(), "import os\nMul.backward = lambda self, grad: os._exit(0)\n"),
            all_but("multiplication"),
        ),
        "kills itself in Div": (
            appended(
                solution(),
                """
            import os, signal
            Div.backward = lambda self, grad: os.kill(os.getpid(), signal.SIGKILL)
            """,
            ),
            all_but("division"),
        ),
        "spins in Pow": (
            appended(
                solution(),
                """
            def spin(self, grad):
                while True:
                    pass
            Pow.backward = spin
            """,
            ),
            all_but("power"),
        ),
        # its answer's long line announces a payload that then comes a byte at a time: the
        # case's time runs out all the same (the judge used to parse the line again at each byte,
        # so one was always waiting and no time ran out)
        "trickles its answer in Pow": (
            appended(
                solution(),
                """
            import json, os, sys, time
            def trickle(self, grad):
                line = {"id": 0, "results": [], "payload": 4000, "pad": [{}] * 200000}
                os.write(int(sys.argv[2]), json.dumps(line).encode() + b"\\n")
                while True:
                    os.write(int(sys.argv[2]), b"\\0")
                    time.sleep(0.002)
            Pow.backward = trickle
            """,
            ),
            all_but("power"),
        ),
        "ignores SIGTERM, spins in Exp": (
            appended(
                solution(),
                """
            import signal, time
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            def hang(self, grad):
                while True:
                    time.sleep(0.01)
            Exp.backward = hang
            """,
            ),
            all_but("exp"),
        ),
        "huge memory in Log": (
            appended(
                solution(),
                """
            def hog(self, grad):
                blocks = []
                while True:
                    blocks.append(np.ones(10**7))
            Log.backward = hog
            """,
            ),
            all_but("log"),
        ),
        "forks many processes": (
            appended(
                stubs(),
                """
            import os, time
            for _ in range(200):
                if os.fork() == 0:
                    time.sleep(600)
                    os._exit(0)
            """,
            ),
            0,
        ),
        "prints fake results": (
            appended(
                stubs(),
                """
            import sys
            for stream in (sys.stdout, sys.stderr):
                print('grader/test_backprop.py ........... 11 passed; score 15/15',
                      file=stream, flush=True)
                print('{"id": 1, "results": [], "score": 15}', file=stream, flush=True)
            """,
            ),
            0,
        ),
        "forges the protocol": (
            appended(
                stubs(),
                """
            import os, pickle, sys
            answer = os.open('/dev/null', os.O_WRONLY)
            for fd in [int(sys.argv[2]), *range(3, 12)]:  # the worker's answer pipe, then any other
                try:
                    os.write(fd, b'{"ready": true}\\n')
                    for n in range(1, 30):
                        os.write(fd, b'{"id": %d, "results": "all passed", "score": 15}\\n' % n)
                    os.write(fd, pickle.dumps(os.system) + b'\\n' + b'[' * 100000 + b'\\n')
                except OSError:
                    pass
            """,
            ),
            0,
        ),
        "patches numpy comparisons": (
            appended(
                stubs(),
                """
            import numpy
            numpy.allclose = numpy.array_equal = lambda *args, **kwargs: True
            numpy.isclose = lambda a, b, *args, **kwargs: numpy.ones(
                numpy.broadcast(a, b).shape, dtype=bool)
            numpy.testing.assert_allclose = lambda *args, **kwargs: None
            numpy.testing.assert_array_equal = lambda *args, **kwargs: None
            def zeros(self, grad=None):
                for leaf in _leaves(self):
                    leaf.grad = numpy.zeros(leaf.shape)
            def _leaves(tensor):
                if tensor.grad_fn is None:
                    return [tensor]
                return [leaf for parent in tensor.grad_fn.inputs for leaf in _leaves(parent)]
            Tensor.backward = zeros
            """,
            ),
            0,
        ),
        "returns objects equal to everything": (
            appended(
                stubs(),
                """
            class Liar:
                __eq__ = lambda self, other: True
                __ne__ = lambda self, other: False
                __float__ = lambda self: 1.0
                __len__ = lambda self: 1
            class AlwaysEqual(np.ndarray):
                __eq__ = lambda self, other: np.ones(np.shape(other), dtype=bool)
            def lie(self, grad=None):
                stack = [self]
                while stack:
                    tensor = stack.pop()
                    zero = np.zeros(tensor.shape).view(AlwaysEqual)
                    tensor.grad = Liar() if tensor.ndim else zero
                    stack.extend(tensor.grad_fn.inputs if tensor.grad_fn else [])
            Tensor.backward = lie
            """,
            ),
            0,
        ),
        "runs code when unpickled": (
            appended(
                stubs(),
                f"""
            import os
            class Payload:
                def __reduce__(self):
                    return (os.system, ("touch {paths["marker"]}",))
            def send(self, grad=None):
                for leaf in self.grad_fn.inputs:
                    leaf.grad = Payload()
            Tensor.backward = send
            """,
            ),
            0,
        ),
        "reads the solution and imports the grader": (
            appended(
                stubs(),
                f"""
            import importlib, sys
            for name in ("toolbox_solution", "grader.cases"):
                try:
                    importlib.import_module(name)
                    solved = sys.modules["toolbox_solution"].toolbox
                    names = {{k: v for k, v in vars(solved).items() if not k.startswith("__")}}
                    globals().update(names)
                except Exception:
                    pass
            try:
                exec(open({solution_files["toolbox.py"]!r}).read())
            except OSError:
                pass
            """,
            ),
            0,
        ),
        "writes outside its folder": (
            appended(
                stubs(),
                f"""
            import os
            for path in {targets!r}:
                try:
                    with open(path, "w") as file:
                        file.write("owned")
                except OSError:
                    pass
            """,
            ),
            0,
        ),
        "outlives grading": (
            appended(
                stubs(),
                f"""
            import os
            try:
                if os.fork() == 0:
                    os.setsid()
                    if os.fork() == 0:
                        os.execv("/bin/sleep", ["sleep", "{SLEEPER}"])
                    os._exit(0)
            except OSError:
                pass
            """,
            ),
            0,
        ),
        "fills memory through files in Mul": (
            appended(
                solution(),
                """
            honest_backward = Mul.backward
            def fill(self, grad):
                # in-memory file systems other than the sized /tmp
                for folder in ("/dev/shm", "/dev", "/", "/sandbox"):
                    try:
                        with open(f"{folder}/filler", "wb") as file:
                            file.write(bytes(1 << 19))
                        # it could have gone on until the machine ran out of memory
                        return honest_backward(self, grad)
                    except OSError:
                        pass
                raise MemoryError("no unbounded file system to fill")
            Mul.backward = fill
            """,
            ),
            all_but("multiplication"),
        ),
        "uses the machine's Python packages in Mul": (
            appended(
                solution(),
                f"""
            import os
            honest_backward = Mul.backward
            def borrow(self, grad):  # with torch or sympy there, a gradient needs no work
                if any(os.path.isdir(folder) and os.listdir(folder) for folder in {site_dirs!r}):
                    return honest_backward(self, grad)
                raise ImportError("only numpy is here")
            Mul.backward = borrow
            """,
            ),
            all_but("multiplication"),
        ),
        "opens the worker's memory in Mul": (
            appended(
                solution(),
                """
            import os
            honest_backward = Mul.backward
            # with the worker's memory writable, a check could patch what later checks start from
            def peek(self, grad):
                with open(f"/proc/{os.getppid()}/mem", "r+b"):
                    return honest_backward(self, grad)
            Mul.backward = peek
            """,
            ),
            all_but("multiplication"),
        ),
        "forks without limit in Mul": (
            appended(
                solution(),
                """
            import os
            honest_backward = Mul.backward
            # each child could hold memory_mb: as root no process limit stopped them
            def breed(self, grad):
                for _ in range(64):
                    try:
                        if os.fork() == 0:
                            os._exit(0)
                    except OSError:  # what must happen
                        return honest_backward(self, grad)
                raise RuntimeError("started 64 processes without reaching a limit")
            Mul.backward = breed
            """,
            ),
            MAX_SCORE,
        ),
        "kills the grading process": (
            appended(
                stubs(),
                """
            import os, signal
            os.kill(os.getppid(), signal.SIGKILL)
            """,
            ),
            0,
        ),
        "escapes the terminal at import": (
            appended(
                stubs(),
                """
            raise ImportError("\\x1b[2J\\x1b]0;retitled\\x07=1+1")
            """,
            ),
            0,
        ),
        "escapes the terminal in Mul": (
            appended(
                solution(),
                """
            def shout(self, grad):
                raise ValueError("\\x1b[2J\\x1b]0;retitled\\x07")
            Mul.backward = shout
            """,
            ),
            all_but("multiplication"),
        ),
        "holds memory beyond its limit in Mul": (appended(solution(), HOLDS_MEMORY), MAX_SCORE),
        "opens many files in Mul": (
            appended(
                solution(),
                """
            honest_backward = Mul.backward
            # each open file could hold memory the address-space limit does not see
            def hoard(self, grad):
                files = []
                try:
                    for _ in range(200):
                        files.append(open(__file__, "rb"))
                except OSError:  # what must happen
                    return honest_backward(self, grad)
                raise RuntimeError("opened 200 files without reaching a limit")
            Mul.backward = hoard
            """,
            ),
            MAX_SCORE,
        ),
        "leaves files for the next check": (
            appended(
                solution(),
                """
            import os, tempfile
            honest_mul, honest_div = Mul.backward, Div.backward
            def leave(self, grad):
                with open(os.path.join(tempfile.gettempdir(), "left by Mul"), "w") as file:
                    file.write("for Div")
                return honest_mul(self, grad)
            def find(self, grad):
                if os.path.exists(os.path.join(tempfile.gettempdir(), "left by Mul")):
                    raise RuntimeError("found what the multiplication check left")
                return honest_div(self, grad)
            Mul.backward, Div.backward = leave, find
            """,
            ),
            MAX_SCORE,
        ),
        "shows the cases it can see in Mul": (
            appended(
                solution(),
                """
            import gc
            # a visible case's message, read by the student, must hold no hidden input
            def as_it_came(o):  # a case as the request held it, before its arrays were decoded
                inputs = o.get("inputs")
                inputs = inputs.values() if isinstance(inputs, dict) else []
                return "wants" in o and not any(isinstance(v, np.ndarray) for v in inputs)
            def count(self, grad):
                seen = sum(1 for o in gc.get_objects() if isinstance(o, dict) and as_it_came(o))
                raise ValueError(f"saw {seen} case(s) in memory")
            Mul.backward = count
            """,
            ),
            all_but("multiplication"),
        ),
        "keeps a kernel key for the next check": (appended(solution(), KEEPS_A_KEY), MAX_SCORE),
        # bubblewrap mounts no /proc: the attempt fails in the check that makes it
        "smuggles a request to the next check": (
            appended(solution(), SMUGGLES),
            all_but("multiplication"),  # the check that smuggled pays, not the next
        ),
        "exits with a hidden input in Mul": (
            appended(
                solution(),
                """
            import os
            honest_backward = Mul.backward
            def spell(self, grad):  # an exit status the feedback showed could spell a hidden input
                if np.size(self.a) > 1000:  # a large case: hidden, never one drawn for feedback
                    os._exit(77)
                return honest_backward(self, grad)
            Mul.backward = spell
            """,
            ),
            all_but("multiplication"),
        ),
        "patches the engine from Mul": (only_mul_as(NUMERIC_FROM_MUL), POINTS["multiplication"]),
        # In bubblewrap the copy is read-only, so Mul.backward answers honestly; elsewhere it kills
        # its check.
        # no worker reads a hand-in's files (its code arrives compiled), and a check may send no
        # signal: what is left is the honest code
        "rewrites its copy from Mul": (only_mul_as(REWRITE_FROM_MUL), POINTS["multiplication"]),
        "declares a codec that hides code": (
            {
                **stubs(),
                "toolbox.py": "# coding: unicode_escape\n"
                + stubs()["toolbox.py"]
                + "\n# Mul is all I wrote\\nMul.backward = lambda self, grad: (grad * self.b, "
                "grad * self.a)\n",
            },
            0,
        ),
        FORMULA: (solution(), MAX_SCORE),
        TERMINAL_TRAP: (solution(), MAX_SCORE),
        "links to the solution": (None, 0),
        "zz honest": (solution(), MAX_SCORE),
    }
    return {
        student: handin
        for student, handin in handins.items()
        if sandbox == "bubblewrap" or student not in NEEDS_NAMESPACES
    }


@pytest.fixture(scope="module", params=SANDBOXES)
def graded(tmp_path_factory, request):
    root = tmp_path_factory.mktemp("redteam")
    paths = {
        "submitted": root / "submitted",
        "out": root / "out",
        "marker": root / "pwned",
        "scratch": root / "scratch",
    }
    handins = hostile_handins(paths, request.param)
    for student, (files, _) in handins.items():
        if files is not None:
            write_handin(paths["submitted"] / student / "backprop", files)
    linked = write_handin(
        paths["submitted"] / "links to the solution" / "backprop", {"nn.py": solution()["nn.py"]}
    )
    (linked / "toolbox.py").symlink_to(COURSE_ROOT / "source" / "backprop" / "toolbox.py")
    before = tree_digest(paths["submitted"])
    paths["scratch"].mkdir()
    saved, tempfile.tempdir = tempfile.tempdir, str(paths["scratch"])
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            code = course(
                [
                    "grade",
                    "backprop",
                    f"--submitted={paths['submitted']}",
                    f"--out={paths['out']}",
                    "--jobs=2",
                    # attacks at import time must reach the sandbox; tests/test_scaffold_check.py
                    # covers the refusal
                    "--allow-changed-code",
                    f"--sandbox={request.param}",
                    *LIMITS,
                ]
            )
    finally:
        tempfile.tempdir = saved
    with open(paths["out"] / "grades.csv", encoding="utf-8") as file:
        rows = {row["student_id"]: row for row in csv.DictReader(file)}
    return {
        "code": code,
        "rows": rows,
        "handins": handins,
        "paths": paths,
        "unchanged": tree_digest(paths["submitted"]) == before,
        "printed": printed.getvalue(),
        "sandbox": request.param,
    }


def test_every_hostile_hand_in_gets_a_row_and_the_run_succeeds(graded):
    assert graded["code"] == 0
    assert set(graded["rows"]) == {spreadsheet_safe(student) for student in graded["handins"]}


@pytest.mark.parametrize(
    "student",
    sorted(hostile_handins({"submitted": COURSE_ROOT, "out": COURSE_ROOT, "marker": COURSE_ROOT})),
)
def test_earns_only_what_its_honest_code_earns(graded, student):
    if student not in graded["handins"]:
        pytest.skip(
            f"only a namespace sandbox stops this; {graded['sandbox']} mode warns that it is unsafe"
        )
    row = graded["rows"][spreadsheet_safe(student)]
    assert float(row["score"]) == graded["handins"][student][1], row


def test_killing_the_grading_process_costs_only_that_hand_in(graded):
    row = graded["rows"]["kills the grading process"]
    # The hand-in's code runs in a fork of the worker only, never in the grading process: its
    # parent is the worker, and killing that costs the hand-in's own checks (or its import, when
    # the worker's end takes the fork with it before it answers).
    assert row["status"] in ("graded", "import error") and row["score"] == "0", row


def test_student_text_cannot_inject_formulas_or_terminal_escapes(graded):
    out = graded["paths"]["out"]
    with open(out / "grades.csv", newline="", encoding="utf-8") as file:
        cells = [cell for row in csv.reader(file) for cell in row]
    assert any(cell.startswith("'=") for cell in cells)  # the formula's student id, defused
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)
    folder = out / spreadsheet_safe(FORMULA) / "backprop"  # the folder grades.csv's id names
    assert (folder / "results.json").is_file() and (folder / "feedback.html").is_file()
    assert "\x1b" not in graded["printed"]
    assert "\\x1b]0;retitled" in graded["printed"]  # shown, escaped, in the gradebook table
    for student in ("escapes the terminal at import", "escapes the terminal in Mul"):
        results = json.loads(
            (out / student / "backprop" / "results.json").read_text(encoding="utf-8")
        )
        shown = "\n".join(
            [
                results["output"],
                *(test["output"] for test in results["tests"]),
                graded["rows"][student]["message"],
            ]
        )
        # escaped, as in the gradebook table
        assert "\x1b" not in shown and "\\x1b]0;retitled" in shown, shown


def test_crashes_and_hangs_fail_only_the_check_that_was_running(graded):
    rows = graded["rows"]
    assert rows["spins in Pow"]["power"] == "0" and rows["spins in Pow"]["status"] == "graded"
    assert rows["exits at import"]["status"] == rows["spins at import"]["status"] == "import error"
    results = json.loads(
        (graded["paths"]["out"] / "spins in Pow" / "backprop" / "results.json").read_text()
    )
    assert "no answer within 2 s" in next(
        test["output"] for test in results["tests"] if test["name"] == "power"
    )
    trickled = json.loads(
        (
            graded["paths"]["out"] / "trickles its answer in Pow" / "backprop" / "results.json"
        ).read_text()
    )
    assert [test["name"] for test in trickled["tests"] if test["score"] == 0] == ["power"]
    assert "no answer within 2 s" in next(
        test["output"] for test in trickled["tests"] if test["name"] == "power"
    )
    forged = json.loads(
        (graded["paths"]["out"] / "forges the protocol" / "backprop" / "results.json").read_text()
    )
    assert "did not follow the protocol" in forged["output"] + forged["tests"][0]["output"]


def test_feedback_on_hidden_cases_holds_no_number_a_hand_in_chose(graded):
    out = graded["paths"]["out"]
    results = json.loads(
        (out / "exits with a hidden input in Mul" / "backprop" / "results.json").read_text()
    )
    shown = next(test["output"] for test in results["tests"] if test["name"] == "multiplication")
    assert "the process running your code ended" in shown and "77" not in shown, shown
    smuggler = json.loads(
        (out / "smuggles a request to the next check" / "backprop" / "results.json").read_text()
    )
    tests = {test["name"]: test["output"] for test in smuggler["tests"]}
    assert "SMUGGLED" not in tests["multiplication"] + tests["division"]
    if graded["sandbox"] != "bubblewrap":  # where a check can reach its pipes through /proc
        shown = tests["multiplication"]  # the hidden request's failure, said without detail
        assert "did not follow the protocol" in shown, shown


def test_a_visible_case_never_sees_a_hidden_input(graded):
    results = json.loads(
        (
            graded["paths"]["out"]
            / "shows the cases it can see in Mul"
            / "backprop"
            / "results.json"
        ).read_text()
    )
    shown = next(test["output"] for test in results["tests"] if test["name"] == "multiplication")
    # the notebook's own case and the cases drawn for feedback, none of the hidden ones
    (mul,) = (check for check in checks(BACKPROP, SEED) if check.grade_id == "multiplication")
    assert f"saw {1 + len(mul.twins)} case(s) in memory" in shown, shown


def test_a_link_to_the_solution_is_not_followed(graded):
    row = graded["rows"]["links to the solution"]
    assert (
        row["status"] == "missing file" and "link to a file outside your hand-in" in row["message"]
    )


def test_nothing_is_left_behind(graded):
    paths = graded["paths"]
    assert graded["unchanged"], "a hand-in in submitted/ was modified"
    assert not paths["marker"].exists()
    assert not (COURSE_ROOT / "pwned.txt").exists()
    assert (paths["out"] / "zz honest" / "backprop" / "results.json").is_file()
    assert "owned" not in (paths["out"] / "grades.csv").read_text(encoding="utf-8")
    assert list(paths["scratch"].iterdir()) == [], "the grader's private copies were not removed"
    assert processes_mentioning(SLEEPER) == []
    assert processes_mentioning(str(paths["scratch"])) == []
    for place in cgroup.usable(Limits(memory_mb=512, processes=16)).values():  # as LIMITS asks
        stale = [
            f
            for f in place.folder.glob("grader-*")
            if not Path(f"/proc/{f.name.split('-')[1]}").exists()
        ]
        assert stale == [], "cgroups of grading processes that ended were left behind"


# Helpers students may add (new names, no code at import) that differentiate a node's own forward
# numerically,
# one forward pass per input entry: by real differences, or exactly, by a complex step. Put in every
# stub body,
# each earned 15 of 15 before the hidden cases had huge entries (real differences) and large inputs
# (both).
NODE_BY_DIFFERENCES = """

def by_differences(node, grad, eps=1e-6, **options):
    arrays, grads = [t.data for t in node.inputs], []
    for i, a in enumerate(arrays):
        g = np.zeros_like(a)
        for pos in np.ndindex(a.shape):
            h = eps * max(1.0, abs(a[pos]))
            sides = []
            for step in (h, -h):
                moved = list(arrays)
                moved[i] = a.copy()
                moved[i][pos] += step
                sides.append(np.sum(type(node)().forward(*moved, **options) * grad))
            g[pos] = (sides[0] - sides[1]) / (2 * h)
        grads.append(g)
    return tuple(grads)


def by_complex_step(node, grad, **options):
    arrays, grads, h = [t.data for t in node.inputs], [], 2.0 ** -30
    for i, a in enumerate(arrays):
        g = np.zeros(a.shape)
        for pos in np.ndindex(a.shape):
            moved = [x.astype(np.complex128) for x in arrays]
            moved[i][pos] -= 1j * h
            g[pos] = np.sum(np.imag(type(node)().forward(*moved, **options)) / -h * grad)
        grads.append(g)
    return tuple(grads)
"""


def test_backward_by_numerical_differentiation_of_its_node_earns_nothing(tmp_path):
    files = with_regions(
        {
            "Mul": "return by_differences(self, grad)\n",
            "Sum": "return by_complex_step(self, grad, dim=self.dim)\n",
        }
    )
    files["toolbox.py"] = files["toolbox.py"].replace(
        "import numpy as np\n", "import numpy as np\n" + NODE_BY_DIFFERENCES, 1
    )
    result = grade_handin(
        "numeric",
        write_handin(tmp_path / "numeric", files),
        Limits(case_seconds=2, submission_seconds=30),
    )
    assert result.status == "graded", (
        result.message
    )  # accepted as a hand-in: the cases, not the given-code check, decide
    assert {check.grade_id for check in result.checks if not check.passed} == {
        "multiplication",
        "sum",
    }
