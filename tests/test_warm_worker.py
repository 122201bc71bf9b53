"""One warm worker grades hand-in after hand-in: nothing of one hand-in reaches the next."""

import os

import pytest
from handins import BACKPROP, MAX_SCORE, SEED, graded, solution, with_regions, write_handin
from test_worker_fork import memory_of

import grader.checking
import grader.run
from grader.cases import checks
from grader.reading import compiled_code
from grader.sandbox import Limits, Sandbox, choose_sandbox
from grader.sandbox.worker import HANDIN_FOLDER
from grader.session import Worker, WorkerSession
from grader.submission import given_texts

HONEST_MUL = "return grad * self.b, grad * self.a\n"

# Mul's check of the first hand-in leaves what it can: a file where it runs and in the
# temporary folder, an environment variable, a patched numpy and a patched builtin.
LEAVES_TRACES = f"""\
import builtins, os, tempfile
for folder in (".", tempfile.gettempdir()):
    with open(os.path.join(folder, "left-behind"), "w") as file:
        file.write("x")
os.environ["LEFT_BEHIND"] = "1"
np.left_behind = True
builtins.left_behind = True
{HONEST_MUL}"""

# Mul's check of the next hand-in fails if it finds any of it.
FINDS_TRACES = f"""\
import builtins, os, tempfile
found = [
    os.path.exists(os.path.join(folder, "left-behind"))
    for folder in (".", tempfile.gettempdir())
]
found += ["LEFT_BEHIND" in os.environ, hasattr(np, "left_behind"), hasattr(builtins, "left_behind")]
if any(found):
    raise RuntimeError(f"traces of the last hand-in: {{found}}")
{HONEST_MUL}"""


# Mul's check tries to change what every later fork inherits from the worker: its memory
# limit and priority, its pipes' flags, size and signal owner (a SIGIO at the next request would
# kill it), and the scratch folder's own times and extended attributes (a channel for hidden
# inputs). Each must be refused, or the next hand-in loses points.
TAMPERS = f"""\
import fcntl, os, resource
def add_flag(fd, flag):
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | flag)
attempts = [
    lambda: resource.prlimit(os.getppid(), resource.RLIMIT_AS, (64 << 20, 64 << 20)),
    lambda: os.setpriority(os.PRIO_PROCESS, os.getppid(), 19),
    lambda: os.utime(".", ns=(0, 123456789)),
    lambda: os.setxattr(".", "user.stash", b"hidden"),
]
for fd in range(3, 12):
    attempts += [
        lambda fd=fd: add_flag(fd, os.O_NONBLOCK),
        lambda fd=fd: fcntl.fcntl(fd, 1031, 4096),
        lambda fd=fd: fcntl.fcntl(fd, fcntl.F_SETOWN, os.getppid()),
        lambda fd=fd: add_flag(fd, fcntl.FASYNC),
    ]
for attempt in attempts:
    try:
        attempt()
    except OSError:
        pass
{HONEST_MUL}"""

# ... and the next hand-in's check fails if it finds the scratch folder's times or attributes set.
FINDS_STASH = f"""\
import os
if os.stat(".").st_mtime_ns == 123456789 or "user.stash" in os.listxattr("."):
    raise RuntimeError("the scratch folder carries what the last hand-in left")
{HONEST_MUL}"""


@pytest.mark.parametrize("sandbox", ["bubblewrap", "process"])
@pytest.mark.parametrize(
    "first, second",
    [(LEAVES_TRACES, FINDS_TRACES), (TAMPERS, FINDS_STASH)],
    ids=["leaves traces", "tampers with the worker"],
)
def test_the_next_hand_in_on_a_warm_worker_finds_nothing_of_the_last(
    tmp_path, sandbox, first, second
):
    if sandbox == "bubblewrap" and not choose_sandbox().use_bwrap:
        pytest.skip(f"bubblewrap cannot run here ({choose_sandbox().name})")
    class_ = [
        (name, write_handin(tmp_path / name / "backprop", with_regions({"Mul": body})))
        for name, body in (("first", first), ("second", second))
    ]
    grading = graded(Limits(case_seconds=10, submission_seconds=60), sandbox, True)
    for result in grader.run.grade_class(class_, grading, jobs=1, progress=False):
        assert result.score == MAX_SCORE, [c.output for c in result.checks if not c.passed]


def test_without_the_seccomp_guard_every_hand_in_gets_a_worker_of_its_own(tmp_path, monkeypatch):
    """Where a check could start a process, one could outlive its hand-in: no worker is kept."""
    monkeypatch.setattr("grader.sandbox.workers.checks_cannot_start_processes", lambda: False)
    worker = Worker(choose_sandbox("process"), Limits(), BACKPROP)
    handin = write_handin(tmp_path / "a", solution())
    first = WorkerSession(handin, None, Limits(), BACKPROP, worker)
    first.run(checks(BACKPROP, SEED)[0].requests[0])
    first.close()
    assert worker.process is None


@pytest.mark.skipif(os.geteuid() != 0, reason="the grader runs as root here")
def test_checks_running_as_root_outside_bubblewrap_get_a_worker_per_hand_in():
    """Root may write another process's memory through /proc, the worker's too."""
    assert not Sandbox("process (as root)", False, None).reuses_workers


WRITES_A_FILE = f"""\
with open("notes.txt", "w") as file:
    file.write("x")
{HONEST_MUL}"""


# Listing the folder sets its access time, once, at a time the check chooses.
LISTS_THE_FOLDER = f"""\
import os
os.listdir(".")
{HONEST_MUL}"""


@pytest.mark.parametrize(
    "body, workers", [(HONEST_MUL, 1), (WRITES_A_FILE, 2), (LISTS_THE_FOLDER, 2)]
)
def test_a_check_that_changes_the_scratch_folder_costs_a_new_worker(
    tmp_path, monkeypatch, body, workers
):
    """Its names, times and inode numbers would otherwise reach the next check."""
    if not choose_sandbox().reuses_workers:
        pytest.skip(f"workers are not reused here ({choose_sandbox().name})")
    starts = tmp_path / "starts"  # written by the grading process, read here
    real_start = Worker.start

    def counted_start(worker):
        if worker.process is None:  # not one already running
            with open(starts, "a") as file:
                file.write("started\n")
        real_start(worker)

    monkeypatch.setattr(Worker, "start", counted_start)
    class_ = [("ada", write_handin(tmp_path / "ada" / "backprop", with_regions({"Mul": body})))]
    (result,) = grader.run.grade_class(class_, graded(), jobs=1, progress=False)
    assert result.score == MAX_SCORE
    assert len(starts.read_text().splitlines()) == workers


@pytest.mark.skipif(
    os.geteuid() != 0, reason="reading the worker's memory needs root (it is undumpable)"
)
def test_a_warm_worker_never_holds_the_code_of_a_hand_in_it_served(tmp_path):
    """Each check's fork reads the hand-in's code itself: the worker the next student's forks
    start from has never seen it."""
    marker = "code-" + "only-of-the-first-" + "hand-in"  # joined at run time: not in this file
    files = solution()
    files["toolbox.py"] += f"\n\ndef note():\n    return {marker!r}\n"
    first = write_handin(tmp_path / "first" / "backprop", files)
    sent = compiled_code(first, BACKPROP.files, HANDIN_FOLDER)["toolbox"]  # as the judge sends it
    sent = sent[sent.index(marker.encode()) - 60 :][:80]
    worker = Worker(choose_sandbox("process"), Limits(), BACKPROP)
    try:
        session = WorkerSession(first, None, Limits(), BACKPROP, worker)
        for check in checks(BACKPROP, SEED)[:3]:
            for request in check.requests:
                session.run(request)
        session.close()
        second = write_handin(tmp_path / "second" / "backprop", solution())
        WorkerSession(second, None, Limits(), BACKPROP, worker).run(
            checks(BACKPROP, SEED)[0].requests[0]
        )  # the second hand-in's first fork is open
        memory = memory_of(worker.process.pid)
        assert marker.encode() not in memory and sent not in memory
    finally:
        worker.close()


def test_a_check_in_bubblewrap_sees_no_proc(tmp_path):
    """Through /proc a check could read what earlier forks cost the worker, or reopen its pipes."""
    if not choose_sandbox().use_bwrap:
        pytest.skip(f"bubblewrap cannot run here ({choose_sandbox().name})")
    looks = f"""\
import os
if os.path.exists("/proc/self") or os.path.exists("/proc/1"):
    raise RuntimeError("/proc is there")
{HONEST_MUL}"""
    handin = write_handin(tmp_path / "ada" / "backprop", with_regions({"Mul": looks}))
    (result,) = grader.run.grade_class([("ada", handin)], graded(), jobs=1, progress=False)
    assert result.score == MAX_SCORE, [c.output for c in result.checks if not c.passed]


def test_a_check_in_bubblewrap_sees_the_huge_page_settings_and_no_other_sys(tmp_path):
    """glibc gives a fork's large arrays huge pages only where it can read these settings; the
    counters beside them (how many huge pages the machine handed out) would be a channel from one
    check to the next."""
    folder = "/sys/kernel/mm/transparent_hugepage"
    settings = f"{folder}/enabled"
    if not choose_sandbox().use_bwrap:
        pytest.skip(f"bubblewrap cannot run here ({choose_sandbox().name})")
    if not os.path.exists(settings):
        pytest.skip("this kernel has no transparent huge pages")
    looks = f"""\
import os
with open({settings!r}) as file:
    file.read()
if sorted(os.listdir({folder!r})) != ["enabled", "hpage_pmd_size"] or os.path.exists("/sys/class"):
    raise RuntimeError("more of /sys is there")
{HONEST_MUL}"""
    handin = write_handin(tmp_path / "ada" / "backprop", with_regions({"Mul": looks}))
    (result,) = grader.run.grade_class([("ada", handin)], graded(), jobs=1, progress=False)
    assert result.score == MAX_SCORE, [c.output for c in result.checks if not c.passed]


def test_bubblewrap_leaves_no_device_folder_a_process_could_change(tmp_path):
    """bubblewrap's /dev/pts is a file system of its own: read-only too, or a mode changed there
    by one check (with the seccomp guard missing) would be there for the next to read."""
    import subprocess

    from grader.sandbox.bubblewrap import PYTHON, bwrap_prefix

    if not choose_sandbox().use_bwrap:
        pytest.skip(f"bubblewrap cannot run here ({choose_sandbox().name})")
    tries = """\
import os
for path in ("/dev", "/dev/pts", "/dev/pts/ptmx", "/dev/shm", "/"):
    try:
        os.chmod(path, os.stat(path).st_mode & 0o7777)
        print(path, "changed")
    except OSError as error:
        print(path, error.strerror)
"""
    done = subprocess.run(
        bwrap_prefix(None, 1) + [PYTHON, "-I", "-S", "-c", tries],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "changed" not in done.stdout, done.stdout


def test_grading_processes_start_from_frozen_objects(monkeypatch, tmp_path):
    """A collection in a grading process would walk, and so copy, every object it inherited."""
    import gc

    def report_frozen(connection, scratch, grading, worker, others):
        for _ in iter(connection.recv, None):
            connection.send(gc.get_freeze_count())

    monkeypatch.setattr(grader.run, "_serve", report_frozen)
    frozen_before = gc.get_freeze_count()
    (frozen,) = grader.run.grade_class([("ada", tmp_path)], graded(), jobs=1, progress=False)
    assert frozen > frozen_before
    assert gc.get_freeze_count() == frozen_before  # the objects are the caller's again


def test_a_grading_slot_starts_its_worker_before_it_reads_the_first_hand_in(tmp_path, monkeypatch):
    """The worker loads numpy while the hand-in is copied and read: neither waits for the other."""
    events = tmp_path / "events"  # written by the grading process, read here
    real_start, real_read = Worker.start, grader.checking.read_within_limits

    def log(event):
        with open(events, "a") as file:
            file.write(f"{event}\n")

    def logged_start(worker):
        if worker.process is None:
            log("worker started")
        real_start(worker)

    def logged_read(*args, **kwargs):
        log(f"read, worker {'greeted' if slot_workers[-1].greeted else 'starting'}")
        return real_read(*args, **kwargs)

    slot_workers = []
    real_init = Worker.__init__

    def kept_init(worker, *args):
        real_init(worker, *args)
        slot_workers.append(worker)

    monkeypatch.setattr(Worker, "__init__", kept_init)
    monkeypatch.setattr(Worker, "start", logged_start)
    monkeypatch.setattr(grader.checking, "read_within_limits", logged_read)
    class_ = [(name, write_handin(tmp_path / name / "backprop", solution())) for name in "ab"]
    results = grader.run.grade_class(class_, graded(), jobs=1, progress=False)
    assert [r.score for r in results] == [MAX_SCORE, MAX_SCORE]
    # the worker's greeting is awaited only by the first check, after the reading
    assert events.read_text().splitlines() == [
        "worker started",
        "read, worker starting",
        "read, worker greeted",
    ]


def test_the_release_is_parsed_once_before_the_grading_slots_fork(tmp_path):
    """Parsed in each slot, it cost each a hundredth of a second before its first hand-in."""
    given_texts.cache_clear()
    class_ = [("ada", write_handin(tmp_path / "ada" / "backprop", solution()))]
    grader.run.grade_class(class_, graded(), jobs=1, progress=False)
    assert given_texts.cache_info().currsize == 1  # here, in the process the slots fork from


# What the hostile checks below share: they find the request their fork is answering.
FINDS_ITS_REQUEST = """\
import builtins, json, os, sys
frame = sys._getframe()
while "request" not in frame.f_locals or "compute" not in frame.f_locals:
    frame = frame.f_back
request = frame.f_locals["request"]
"""

# The check answers its visible request itself, with a line that takes the judge a while to
# parse, and ends before the judge sends the hidden one: the worker must not take that request
# for a new check's, whose answer the next check, or the next hand-in's, would read.
ENDS_BEFORE_ITS_HIDDEN_REQUEST = (
    FINDS_ITS_REQUEST
    + """\
forged = {"id": request["id"], "results": [{"error": "x"}] * len(request["cases"])}
forged["pad"] = [{}] * 200000
os.write(int(sys.argv[2]), json.dumps(forged).encode() + b"\\n")
os._exit(0)
"""
)

# ... and answers the hidden request ahead too, announcing as payload the line a fork the worker
# started for that request would write (which the judge would then take for it).
ANSWERS_AHEAD = (
    FINDS_ITS_REQUEST
    + """\
stray = json.dumps({"id": request["id"] + 1, "import_error": "KeyError: 'code'"}) + "\\n"
forged = {"id": request["id"], "results": [{"error": "x"}] * len(request["cases"])}
ahead = {"id": request["id"] + 1, "results": [], "payload": len(stray), "pad": [{}] * 100000}
forged["pad"] = [{}] * 100000
os.write(int(sys.argv[2]), (json.dumps(forged) + "\\n" + json.dumps(ahead) + "\\n").encode())
os._exit(0)
"""
)

# The check answers its hidden request honestly, through the worker's own code, then writes one
# byte more: the protocol error is its own, not the next check's.
HONEST_THEN_A_STRAY_BYTE = (
    FINDS_ITS_REQUEST
    + """\
if request.get("last") and not getattr(builtins, "answered", False):
    builtins.answered = True
    found = frame.f_globals
    message = found["answer"](frame.f_locals["compute"], frame.f_locals["modules"], request)
    found["_send"](int(sys.argv[2]), message)
    os.write(int(sys.argv[2]), b"x")
    os._exit(0)
return grad * self.b, grad * self.a
"""
)


@pytest.mark.parametrize("sandbox", ["bubblewrap", "process"])
@pytest.mark.parametrize(
    "region, body, check",
    [
        ("Mul", ENDS_BEFORE_ITS_HIDDEN_REQUEST, "multiplication"),
        ("SoftmaxCrossEntropy", ENDS_BEFORE_ITS_HIDDEN_REQUEST, "network"),
        ("Mul", ANSWERS_AHEAD, "multiplication"),
        ("GetItem", ANSWERS_AHEAD, "indexing"),
        ("SoftmaxCrossEntropy", ANSWERS_AHEAD, "network"),
        ("Mul", HONEST_THEN_A_STRAY_BYTE, "multiplication"),
    ],
    ids=[
        "ends early in the first check",
        "ends early in the last check",
        "answers ahead in the first check",
        "answers ahead before the last check",
        "answers ahead in the last check",
        "a stray byte after honest answers",
    ],
)
def test_a_check_out_of_step_with_the_judge_costs_only_itself(
    tmp_path, sandbox, region, body, check
):
    """Whatever a check's fork writes, and whenever it ends, the next check and the next hand-in
    on the same worker lose nothing."""
    if sandbox == "bubblewrap" and not choose_sandbox().use_bwrap:
        pytest.skip(f"bubblewrap cannot run here ({choose_sandbox().name})")
    class_ = [("first", write_handin(tmp_path / "first", with_regions({region: body})))]
    class_ += [(name, write_handin(tmp_path / name, solution())) for name in ("second", "third")]
    grading = graded(Limits(case_seconds=10, submission_seconds=60), sandbox, True)
    first, *honest = grader.run.grade_class(class_, grading, jobs=1, progress=False)
    assert [c.grade_id for c in first.checks if not c.passed] == [check]
    for result in honest:
        assert result.score == MAX_SCORE, [c.output for c in result.checks if not c.passed]
